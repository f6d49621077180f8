"""The bookkeeping of the reorder emails: which alert, and which day's digest of a space,
has gone out.

The jobs in ``tasks.py`` send the emails, acting as the system actor. Each email is
claimed before it is sent and released when sending fails, so a job that runs twice (a
retry, a redelivery) sends it once. The emails tell the people who buy what is low and
what to order, so writing them down needs the right to restock in the space.
"""

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.permissions import require_makerspace_permission
from apps.inventory.models import LowStockDigest, ReorderAlert

REORDER_PERMISSION = "inventory.restock"


def _require(acting_user: User, makerspace_id: Any) -> None:
    require_makerspace_permission(
        acting_user,
        makerspace_id,
        REORDER_PERMISSION,
        message="You may not send reorder emails of this makerspace.",
    )


def reorder_alert_claim(*, alert: ReorderAlert, acting_user: User) -> bool:
    """Whether this run sends the alert's email: only the run that marks it sent does."""
    _require(acting_user, alert.item.makerspace_id)
    claimed = ReorderAlert.objects.filter(pk=alert.pk, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    return bool(claimed)


def reorder_alert_release(*, alert: ReorderAlert, acting_user: User) -> None:
    """The email did not go out: the next try may claim it again."""
    _require(acting_user, alert.item.makerspace_id)
    ReorderAlert.objects.filter(pk=alert.pk).update(sent_at=None)


def low_stock_digest_claim(
    *, makerspace_id: Any, day: date, item_count: int, acting_user: User
) -> LowStockDigest | None:
    """The space's digest of ``day``, or None when that day's digest is already out."""
    _require(acting_user, makerspace_id)
    try:
        with transaction.atomic():
            return LowStockDigest.objects.create(
                makerspace_id=makerspace_id, day=day, item_count=item_count
            )
    except IntegrityError:
        return None


def low_stock_digest_sent(*, digest: LowStockDigest, acting_user: User) -> None:
    _require(acting_user, digest.makerspace_id)
    LowStockDigest.objects.filter(pk=digest.pk).update(sent_at=timezone.now())


def low_stock_digest_release(*, digest: LowStockDigest, acting_user: User) -> None:
    """The digest did not go out: the next run of the day may send it."""
    _require(acting_user, digest.makerspace_id)
    digest.delete()
