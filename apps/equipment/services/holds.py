"""Slots held by waitlist offers, and offering a freed slot to whoever waits for it.

Booking checks these holds and cancelling frees them, while the waitlist's own
services book a claimed offer: this module sits below both.
"""

from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.equipment.emails import send_waitlist_offer_email
from apps.equipment.models import Equipment, Reservation, WaitlistEntry, WaitlistStatus
from apps.equipment.rules import rules_for
from apps.equipment.selectors import overlapping


def live_offers(*, equipment: Any, start: Any, end: Any, now: Any = None) -> Q:
    """Offers that still hold a slot meeting [start, end) of this machine (now, unless
    ``now`` says when; any of them may be an expression)."""
    return Q(
        equipment=equipment,
        status=WaitlistStatus.OFFERED,
        offer_expires_at__gt=timezone.now() if now is None else now,
        start_time__lt=end,
        end_time__gt=start,
    )


def offer_window(equipment_id: UUID | str, start: datetime, end: datetime) -> int:
    """Offer the free parts of [start, end) to the first waiting members, in order."""
    offered = 0
    now = timezone.now()
    with transaction.atomic():
        equipment = (
            Equipment.objects.select_for_update(of=("self",))
            .select_related("makerspace")
            .get(pk=equipment_id)
        )
        hold = timedelta(minutes=rules_for(equipment).waitlist_hold_minutes)
        queue = WaitlistEntry.objects.filter(
            equipment=equipment,
            status=WaitlistStatus.WAITING,
            start_time__lt=end,
            end_time__gt=start,
            start_time__gt=now,
        ).order_by("created_at")
        for entry in queue:
            taken = Reservation.objects.filter(equipment=equipment).filter(
                overlapping(entry.start_time, entry.end_time)
            )
            held = WaitlistEntry.objects.filter(
                live_offers(equipment=equipment, start=entry.start_time, end=entry.end_time)
            )
            if taken.exists() or held.exists():
                continue
            entry.status = WaitlistStatus.OFFERED
            entry.offered_at = now
            entry.offer_expires_at = min(now + hold, entry.start_time)
            entry.save(update_fields=["status", "offered_at", "offer_expires_at", "updated_at"])
            transaction.on_commit(partial(send_waitlist_offer_email.delay, str(entry.pk)))
            offered += 1
    return offered


def waitlist_offer_freed_slot(*, reservation_id: str) -> int:
    """A booking stopped holding its slot: offer it to whoever waits for it."""
    reservation = Reservation.objects.filter(pk=reservation_id).first()
    if reservation is None or reservation.is_holding:
        return 0
    return offer_window(reservation.equipment_id, reservation.start_time, reservation.block_end)
