"""Reorder emails. Each one is claimed before it is sent, so a job that runs twice
(a retry, a redelivery) still sends one email; the jobs act as the system actor."""

from typing import Any
from zoneinfo import ZoneInfo

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from apps.makerspaces.selectors import staff_emails_of


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_reorder_alert(alert_id: str) -> bool:
    from apps.accounts.system import system_actor
    from apps.inventory import reorder
    from apps.inventory.models import ReorderAlert

    alert = ReorderAlert.objects.select_related("item__makerspace").filter(pk=alert_id).first()
    if alert is None:
        return False
    actor = system_actor()
    if not reorder.reorder_alert_claim(alert=alert, acting_user=actor):
        return False
    recipients = staff_emails_of(alert.item.makerspace_id)
    if not recipients:
        return False
    context = {"alert": alert, "item": alert.item, "space": alert.item.makerspace}
    try:
        subject = render_to_string("inventory/email/reorder_subject.txt", context).strip()
        body = render_to_string("inventory/email/reorder.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except OSError:
        reorder.reorder_alert_release(alert=alert, acting_user=actor)
        raise
    return True


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_low_stock_digests() -> int:
    """Daily: one digest per space with low items, at most once per day."""
    from apps.accounts.system import system_actor
    from apps.inventory import reorder
    from apps.inventory.models import LOW_STOCK, InventoryItem

    actor = system_actor()
    low = (
        InventoryItem.objects.filter(LOW_STOCK, is_active=True)
        .select_related("makerspace")
        .order_by("makerspace_id", "name")
    )
    by_space: dict[Any, list[InventoryItem]] = {}
    for item in low:
        by_space.setdefault(item.makerspace_id, []).append(item)
    sent = 0
    for space_id, items in by_space.items():
        # The space's own date, the one its staff read in the email: just after midnight
        # in Kyiv the UTC date is still yesterday's.
        today = timezone.now().astimezone(ZoneInfo(items[0].makerspace.timezone)).date()
        digest = reorder.low_stock_digest_claim(
            makerspace_id=space_id, day=today, item_count=len(items), acting_user=actor
        )
        if digest is None:
            continue  # today's digest of this space went out already
        recipients = staff_emails_of(space_id)
        if not recipients:
            continue
        context = {"space": items[0].makerspace, "items": items, "day": today}
        subject = render_to_string("inventory/email/digest_subject.txt", context).strip()
        body = render_to_string("inventory/email/digest.txt", context)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except OSError:
            reorder.low_stock_digest_release(digest=digest, acting_user=actor)
            raise
        reorder.low_stock_digest_sent(digest=digest, acting_user=actor)
        sent += 1
    return sent
