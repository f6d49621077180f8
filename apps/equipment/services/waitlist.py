"""The waitlist: members queue for a taken slot, claim an offer, or leave."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.audit import audit_record
from apps.core.exceptions import ApplicationError, ConflictError
from apps.core.models import AuditLogEntry
from apps.core.permissions import has_makerspace_permission
from apps.equipment.models import (
    Equipment,
    Reservation,
    WaitlistEntry,
    WaitlistStatus,
)
from apps.equipment.rules import rules_for
from apps.equipment.selectors import overlapping
from apps.equipment.services.holds import offer_window
from apps.equipment.services.reservations import check_window, reservation_create


def waitlist_join(
    *, equipment: Equipment, user: User, start: datetime, end: datetime
) -> WaitlistEntry:
    """Queue for a slot that is taken now (a free slot is simply booked)."""
    check_window(equipment=equipment, start=start, end=end, rules=rules_for(equipment))
    if not Reservation.objects.filter(equipment=equipment).filter(overlapping(start, end)).exists():
        raise ConflictError("SLOT_FREE", "This slot is free: book it instead of waiting.")
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(
                makerspace_id=equipment.makerspace_id,
                equipment=equipment,
                user=user,
                start_time=start,
                end_time=end,
            )
    except IntegrityError:
        raise ConflictError(
            "ALREADY_WAITING", "You are already on the waitlist for this slot."
        ) from None


def waitlist_leave(*, entry: WaitlistEntry, user: User) -> WaitlistEntry:
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.user_id != user.pk:
            raise ApplicationError("NOT_FOUND", "No such waitlist entry.", status_code=404)
        was_offered = entry.status == WaitlistStatus.OFFERED
        if entry.status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
            entry.status = WaitlistStatus.CANCELLED
            entry.save(update_fields=["status", "updated_at"])
        if was_offered:
            equipment_id, start, end = entry.equipment_id, entry.start_time, entry.end_time
            transaction.on_commit(lambda: offer_window(equipment_id, start, end))
    return entry


def waitlist_claim(*, entry: WaitlistEntry, user: User) -> Reservation:
    """Book the slot the member was offered, while the offer holds."""
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .select_related("equipment__makerspace")
            .get(pk=entry.pk)
        )
        if entry.user_id != user.pk:
            raise ApplicationError("NOT_FOUND", "No such waitlist entry.", status_code=404)
        if entry.status != WaitlistStatus.OFFERED:
            raise ConflictError("NOT_OFFERED", "This slot has not been offered to you.")
        if entry.offer_expires_at is None or entry.offer_expires_at <= timezone.now():
            raise ConflictError("OFFER_EXPIRED", "The offer has expired.")
        reservation = reservation_create(
            equipment=entry.equipment,
            user=user,
            start=entry.start_time,
            end=entry.end_time,
            acting_user=user,
        )
        entry.status = WaitlistStatus.BOOKED
        entry.reservation = reservation
        entry.save(update_fields=["status", "reservation", "updated_at"])
    return reservation


def waitlist_expire_offers(*, now: datetime | None = None) -> int:
    """Offers not claimed in time lapse, and the slot goes to the next in line."""
    now = now or timezone.now()
    expired = list(
        WaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED, offer_expires_at__lte=now)
    )
    for entry in expired:
        with transaction.atomic():
            locked = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
            if locked.status != WaitlistStatus.OFFERED:
                continue
            locked.status = WaitlistStatus.EXPIRED
            locked.save(update_fields=["status", "updated_at"])
        offer_window(entry.equipment_id, entry.start_time, entry.end_time)
    # Waiting entries whose slot has begun will never be offered.
    WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, start_time__lte=now).update(
        status=WaitlistStatus.EXPIRED
    )
    return len(expired)


def waitlist_remove(*, entry: WaitlistEntry, acting_user: User) -> WaitlistEntry:
    """Staff take a member off the waitlist; a slot offered to them passes to the next
    one in line."""
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if not has_makerspace_permission(acting_user, entry.makerspace_id, "reservations.manage"):
            raise ApplicationError(
                "PERMISSION_DENIED",
                "Only the space's staff take members off the waitlist.",
                status_code=403,
            )
        if entry.status not in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
            raise ConflictError(
                "INVALID_STATE",
                f"This entry is no longer waiting ({entry.get_status_display().lower()}).",
            )
        old = entry.status
        entry.status = WaitlistStatus.CANCELLED
        entry.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=acting_user,
            instance=entry,
            action=AuditLogEntry.Action.UPDATE,
            makerspace_id=entry.makerspace_id,
            changes={"status": [old, WaitlistStatus.CANCELLED]},
        )
        if old == WaitlistStatus.OFFERED:
            equipment_id, start, end = entry.equipment_id, entry.start_time, entry.end_time
            transaction.on_commit(lambda: offer_window(equipment_id, start, end))
    return entry
