"""The waitlist: members queue for a taken slot, claim an offer, or leave."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.audit import audit_record
from apps.core.exceptions import ConflictError, permission_denied
from apps.core.models import AuditLogEntry
from apps.core.permissions import require_makerspace_permission
from apps.equipment.models import (
    Equipment,
    Reservation,
    WaitlistEntry,
    WaitlistStatus,
)
from apps.equipment.rules import rules_for
from apps.equipment.selectors import overlapping
from apps.equipment.services.holds import offer_window
from apps.equipment.services.reservations import (
    check_window,
    require_booking_permission,
    require_in_every_space,
    reservation_create,
)


def _require_own_entry(entry: WaitlistEntry, acting_user: User) -> None:
    if entry.user_id != acting_user.pk:
        raise permission_denied("This is not your waitlist entry.")


def waitlist_join(
    *, equipment: Equipment, user: User, start: datetime, end: datetime, acting_user: User
) -> WaitlistEntry:
    """Queue for a slot that is taken now (a free slot is simply booked)."""
    # Waiting is a step towards booking: the same people may do it.
    require_booking_permission(
        acting_user=acting_user, makerspace_id=equipment.makerspace_id, user=user
    )
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


def waitlist_leave(*, entry: WaitlistEntry, acting_user: User) -> WaitlistEntry:
    """The member leaves their own entry (staff take members off with waitlist_remove)."""
    _require_own_entry(entry, acting_user)
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        was_offered = entry.status == WaitlistStatus.OFFERED
        if entry.status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
            entry.status = WaitlistStatus.CANCELLED
            entry.save(update_fields=["status", "updated_at"])
        if was_offered:
            equipment_id, start, end = entry.equipment_id, entry.start_time, entry.end_time
            transaction.on_commit(lambda: offer_window(equipment_id, start, end))
    return entry


def waitlist_claim(*, entry: WaitlistEntry, acting_user: User) -> Reservation:
    """Book the slot the member was offered, while the offer holds.

    An offer that lapsed answers OFFER_EXPIRED whether or not the expiry job has
    turned the entry to "expired" yet; NOT_OFFERED is for an entry never offered.
    """
    _require_own_entry(entry, acting_user)
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .select_related("equipment__makerspace")
            .get(pk=entry.pk)
        )
        was_offered = entry.offered_at is not None
        lapsed = entry.status == WaitlistStatus.EXPIRED or (
            entry.status == WaitlistStatus.OFFERED
            and (entry.offer_expires_at is None or entry.offer_expires_at <= timezone.now())
        )
        if was_offered and lapsed:
            raise ConflictError(
                "OFFER_EXPIRED",
                "The offer has expired.",
                details={
                    "offer_expires_at": (
                        entry.offer_expires_at.isoformat() if entry.offer_expires_at else None
                    )
                },
            )
        if entry.status != WaitlistStatus.OFFERED:
            raise ConflictError("NOT_OFFERED", "This slot has not been offered to you.")
        reservation = reservation_create(
            equipment=entry.equipment,
            user=acting_user,
            start=entry.start_time,
            end=entry.end_time,
            acting_user=acting_user,
        )
        entry.status = WaitlistStatus.BOOKED
        entry.reservation = reservation
        entry.save(update_fields=["status", "reservation", "updated_at"])
    return reservation


def waitlist_expire_offers(*, acting_user: User, now: datetime | None = None) -> int:
    """Offers not claimed in time lapse, and the slot goes to the next in line."""
    now = now or timezone.now()
    expired = list(
        WaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED, offer_expires_at__lte=now)
    )
    passed = WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, start_time__lte=now)
    require_in_every_space(
        acting_user,
        [entry.makerspace_id for entry in expired]
        + list(passed.values_list("makerspace_id", flat=True).distinct()),
        "reservations.manage",
        "You may not expire waitlist offers in this makerspace.",
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
    passed.update(status=WaitlistStatus.EXPIRED)
    return len(expired)


def waitlist_remove(*, entry: WaitlistEntry, acting_user: User) -> WaitlistEntry:
    """Staff take a member off the waitlist; a slot offered to them passes to the next
    one in line."""
    require_makerspace_permission(
        acting_user,
        entry.makerspace_id,
        "reservations.manage",
        message="Only the space's staff take members off the waitlist.",
    )
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
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
