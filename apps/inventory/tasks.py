"""Reorder emails. Each one is claimed before it is sent, so a job that runs twice
(a retry, a redelivery) still sends one email."""

from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone


def _staff_emails(makerspace_id: Any) -> list[str]:
    from apps.core.permissions import STAFF_ROLES
    from apps.makerspaces.models import Membership, MembershipStatus

    return sorted(
        Membership.objects.filter(
            makerspace_id=makerspace_id, role__in=STAFF_ROLES, status=MembershipStatus.ACTIVE
        ).values_list("user__email", flat=True)
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_reorder_alert(alert_id: str) -> bool:
    from apps.inventory.models import ReorderAlert

    # Claim the alert; only the run that flips sent_at from empty sends the email.
    claimed = ReorderAlert.objects.filter(pk=alert_id, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return False
    alert = ReorderAlert.objects.select_related("item__makerspace").get(pk=alert_id)
    recipients = _staff_emails(alert.item.makerspace_id)
    if not recipients:
        return False
    context = {"alert": alert, "item": alert.item, "space": alert.item.makerspace}
    try:
        subject = render_to_string("inventory/email/reorder_subject.txt", context).strip()
        body = render_to_string("inventory/email/reorder.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except OSError:
        # Not sent: release the claim so the retry can send it.
        ReorderAlert.objects.filter(pk=alert_id).update(sent_at=None)
        raise
    return True


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_low_stock_digests() -> int:
    """Daily: one digest per space with low items, at most once per day."""
    from django.db import IntegrityError, transaction
    from django.db.models import F

    from apps.inventory.models import InventoryItem, LowStockDigest

    today = timezone.localdate()
    low = (
        InventoryItem.objects.filter(is_active=True, current_stock__lte=F("min_stock_level"))
        .select_related("makerspace")
        .order_by("makerspace_id", "name")
    )
    by_space: dict[Any, list[InventoryItem]] = {}
    for item in low:
        by_space.setdefault(item.makerspace_id, []).append(item)
    sent = 0
    for space_id, items in by_space.items():
        try:
            with transaction.atomic():
                digest = LowStockDigest.objects.create(
                    makerspace_id=space_id, day=today, item_count=len(items)
                )
        except IntegrityError:
            continue  # today's digest of this space went out already
        recipients = _staff_emails(space_id)
        if not recipients:
            continue
        context = {"space": items[0].makerspace, "items": items, "day": today}
        subject = render_to_string("inventory/email/digest_subject.txt", context).strip()
        body = render_to_string("inventory/email/digest.txt", context)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except OSError:
            digest.delete()
            raise
        LowStockDigest.objects.filter(pk=digest.pk).update(sent_at=timezone.now())
        sent += 1
    return sent
