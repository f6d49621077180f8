"""Booking machines safely.

A booking is checked in one transaction that holds the machine's row lock, so two
requests for one machine are decided one after the other; on PostgreSQL an exclusion
constraint over (machine, blocked time range) is the last word even if they race.
"""

import math
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import (
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    UUIDField,
)
from django.utils import timezone

from apps.accounts.models import User
from apps.core.audit import audit_record
from apps.core.exceptions import (
    ApplicationError,
    ConflictError,
    permission_denied,
    validation_error,
)
from apps.core.models import AuditLogEntry
from apps.core.permissions import has_makerspace_permission, require_makerspace_permission
from apps.core.prepared import Param, PreparedQuery, count_of_rows
from apps.equipment.emails import send_reservation_email
from apps.equipment.models import (
    HOLDING_STATUSES,
    Equipment,
    EquipmentStatus,
    Reservation,
    ReservationStatus,
    WaitlistEntry,
)
from apps.equipment.rules import EffectiveRules, rules_for
from apps.equipment.selectors import (
    closed_days,
    lacking_a_skill,
    missing_skill_slugs,
    overlapping,
)
from apps.equipment.services.holds import live_offers, waitlist_offer_freed_slot
from apps.equipment.services.maintenance import record_usage
from apps.inventory.models import MovementKind, MovementSource
from apps.inventory.services import Withdrawal, stock_consume_many
from apps.makerspaces.hours import is_open_between
from apps.makerspaces.services import skills_renew_on_use

Action = AuditLogEntry.Action
NO_OVERLAP_CONSTRAINT = "reservation_no_overlap"
OUT_OF_SERVICE = (EquipmentStatus.MAINTENANCE, EquipmentStatus.OFFLINE)
# A booking may start this long "in the past", so a form filled in at 10:00 for
# 10:00 still goes through a few seconds later.
PAST_SLACK = timedelta(minutes=5)


def _rule_error(rule: str, message: str, **details: Any) -> ApplicationError:
    return ApplicationError("BOOKING_RULE_VIOLATION", message, details={"rule": rule, **details})


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _duration_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def check_window(
    *,
    equipment: Equipment,
    start: datetime,
    end: datetime,
    rules: EffectiveRules,
    now: datetime | None = None,
) -> None:
    """Raise a 400 naming the rule a window breaks; checks only the window itself."""
    now = now or timezone.now()
    if start.tzinfo is None or end.tzinfo is None:
        raise _rule_error(
            "timezone", "Times must carry a UTC offset, e.g. 2026-05-01T10:00:00+03:00."
        )
    if end <= start:
        raise _rule_error("end_after_start", "The booking must end after it starts.")
    if start < now - PAST_SLACK:
        raise _rule_error("not_in_past", "The booking cannot start in the past.")
    length = _minutes(end - start)
    if length < rules.min_minutes:
        raise _rule_error(
            "min_minutes",
            f"A booking of {equipment.name} lasts at least {_duration_text(rules.min_minutes)}.",
            limit=rules.min_minutes,
        )
    if length > rules.max_minutes:
        raise _rule_error(
            "max_minutes",
            f"A booking of {equipment.name} lasts at most {_duration_text(rules.max_minutes)}.",
            limit=rules.max_minutes,
        )
    zone = equipment.makerspace.timezone
    from zoneinfo import ZoneInfo

    local_start = start.astimezone(ZoneInfo(zone))
    local_end = end.astimezone(ZoneInfo(zone))
    step = rules.granularity_minutes
    for moment in (local_start, local_end):
        if moment.second or moment.microsecond or (moment.hour * 60 + moment.minute) % step:
            raise _rule_error(
                "granularity_minutes",
                f"Bookings start and end on {step}-minute steps (e.g. 10:00, 10:{step:02d}).",
                limit=step,
            )
    if start > now + timedelta(days=rules.horizon_days):
        raise _rule_error(
            "horizon_days",
            f"Bookings can be made at most {rules.horizon_days} days ahead.",
            limit=rules.horizon_days,
        )
    if rules.within_business_hours:
        space = equipment.makerspace
        closed = closed_days(space, local_start.date(), local_end.date())
        if not is_open_between(space.business_hours, space.timezone, start, end, closed):
            raise _rule_error(
                "business_hours",
                f"{space.name} is not open for the whole of that time "
                f"({local_start:%a %H:%M}–{local_end:%H:%M} local time).",
            )


def _conflict(equipment: Equipment, start: datetime, end: datetime) -> ConflictError:
    return ConflictError(
        "RESERVATION_CONFLICT",
        f"{equipment.name} is already booked at that time.",
        details={
            "equipment": str(equipment.pk),
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
        },
    )


def require_booking_permission(*, acting_user: User, makerspace_id: Any, user: User) -> None:
    """Members book for themselves; booking for someone else is the staff's."""
    require_makerspace_permission(
        acting_user, makerspace_id, "equipment.book", message="You may not book machines here."
    )
    if user.pk != acting_user.pk:
        require_makerspace_permission(
            acting_user,
            makerspace_id,
            "reservations.manage",
            message="Only the space's staff book for another member.",
        )


class _Obstacles(NamedTuple):
    """What stands in the way of a booking, read in one query under the machine's lock."""

    lacks_a_skill: bool
    upcoming: int
    slot_taken: bool
    held_for_another: bool


def _obstacles() -> QuerySet[Any]:
    user = Param("user", UUIDField())
    start, end = Param("start", DateTimeField()), Param("end", DateTimeField())
    now = Param("now", DateTimeField())
    upcoming = (
        Reservation.objects.filter(
            user_id=user,
            makerspace_id=OuterRef("makerspace_id"),
            status__in=HOLDING_STATUSES,
            end_time__gt=now,
        )
        .order_by()
        .annotate(n=count_of_rows())
        .values("n")
    )
    return (
        Equipment.objects.filter(pk=Param("equipment", UUIDField()))
        .order_by()
        .annotate(
            lacks_a_skill=lacking_a_skill(
                makerspace_id=Param("makerspace", UUIDField()), user_id=user, now=now
            ),
            upcoming=Subquery(upcoming, output_field=IntegerField()),
            slot_taken=Exists(
                Reservation.objects.filter(equipment=OuterRef("pk")).filter(overlapping(start, end))
            ),
            held_for_another=Exists(
                WaitlistEntry.objects.filter(
                    live_offers(equipment=OuterRef("pk"), start=start, end=end, now=now)
                ).exclude(user_id=user)
            ),
        )
        .values_list(*_Obstacles._fields)
    )


_OBSTACLES = PreparedQuery(_obstacles)


def _obstacles_to_booking(
    *, equipment: Equipment, user: User, start: datetime, end: datetime
) -> _Obstacles:
    found = _OBSTACLES.rows(
        {
            "equipment": equipment.pk,
            "makerspace": equipment.makerspace_id,
            "user": user.pk,
            "start": start,
            "end": end,
            "now": timezone.now(),
        }
    )
    return _Obstacles._make(found[0])


def reservation_create(
    *,
    equipment: Equipment,
    user: User,
    start: datetime,
    end: datetime,
    acting_user: User,
    notes: str = "",
    series_id: uuid.UUID | None = None,
) -> Reservation:
    """Book ``equipment`` for ``user``; every rule is checked under the machine's lock."""
    require_booking_permission(
        acting_user=acting_user, makerspace_id=equipment.makerspace_id, user=user
    )
    rules = rules_for(equipment)
    check_window(equipment=equipment, start=start, end=end, rules=rules)
    block_end = end + timedelta(minutes=rules.buffer_minutes)
    try:
        with transaction.atomic():
            # One booking decision per machine at a time: the row lock orders them.
            makerspace = equipment.makerspace
            equipment = Equipment.objects.select_for_update(of=("self",)).get(pk=equipment.pk)
            # The space's row is neither locked nor needed afresh: the caller's serves.
            equipment.makerspace = makerspace
            # "In use" is someone's session now; only a machine out of service is closed
            # to bookings.
            if equipment.status in OUT_OF_SERVICE:
                raise ConflictError(
                    "EQUIPMENT_UNAVAILABLE",
                    f"{equipment.name} cannot be booked now ({equipment.get_status_display()}).",
                    details={"status": equipment.status},
                )
            # Every check below in one statement, taken after the lock so it sees the
            # bookings of whoever held the lock before.
            obstacles = _obstacles_to_booking(
                equipment=equipment, user=user, start=start, end=block_end
            )
            missing = (
                missing_skill_slugs(equipment=equipment, user=user)
                if obstacles.lacks_a_skill
                else []
            )
            if missing:
                raise ApplicationError(
                    "SKILL_REQUIRED",
                    f"Booking {equipment.name} needs training you do not hold yet: "
                    f"{', '.join(missing)}.",
                    details={"missing": missing},
                    status_code=403,
                )
            upcoming = obstacles.upcoming
            if upcoming >= rules.max_active_per_member:
                raise _rule_error(
                    "max_active_per_member",
                    f"You already have {upcoming} upcoming bookings here; "
                    f"the limit is {rules.max_active_per_member}.",
                    limit=rules.max_active_per_member,
                )
            if obstacles.slot_taken:
                raise _conflict(equipment, start, end)
            if obstacles.held_for_another:
                raise ConflictError(
                    "RESERVATION_CONFLICT",
                    f"{equipment.name} is held at that time for a member from the waitlist.",
                    details={"held": True},
                )
            reservation = Reservation.objects.create(
                makerspace_id=equipment.makerspace_id,
                equipment=equipment,
                user=user,
                start_time=start,
                end_time=end,
                block_end=block_end,
                status=(
                    ReservationStatus.PENDING
                    if rules.requires_approval
                    else ReservationStatus.CONFIRMED
                ),
                notes=notes,
                series_id=series_id,
            )
            audit_record(
                actor=acting_user,
                instance=reservation,
                action=Action.CREATE,
                makerspace_id=equipment.makerspace_id,
                changes={
                    "equipment": equipment.name,
                    "user": user.email,
                    "start_time": start,
                    "end_time": end,
                    "status": reservation.status,
                },
            )
            reservation_id = str(reservation.pk)
            kind = "pending" if reservation.status == ReservationStatus.PENDING else "confirmed"
            transaction.on_commit(lambda: send_reservation_email.delay(reservation_id, kind))
    except IntegrityError as exc:
        if NO_OVERLAP_CONSTRAINT in str(exc):
            raise _conflict(equipment, start, end) from None
        raise
    return reservation


def _locked(reservation: Reservation) -> Reservation:
    return (
        Reservation.objects.select_for_update(of=("self",))
        .select_related("equipment", "makerspace", "user")
        .get(pk=reservation.pk)
    )


def _is_staff(user: User, reservation: Reservation) -> bool:
    return has_makerspace_permission(user, reservation.makerspace_id, "reservations.manage")


def require_owner_or_staff(*, acting_user: User, reservation: Reservation) -> None:
    """A member acts on their own booking; the space's staff on anyone's."""
    if reservation.user_id != acting_user.pk and not _is_staff(acting_user, reservation):
        raise permission_denied("This is not your booking.")


def _transition(
    reservation: Reservation,
    *,
    acting_user: User,
    status: str,
    action: str,
    extra: dict[str, Any] | None = None,
) -> Reservation:
    old = reservation.status
    reservation.status = status
    for field, value in (extra or {}).items():
        setattr(reservation, field, value)
    reservation.save()
    audit_record(
        actor=acting_user,
        instance=reservation,
        action=action,
        makerspace_id=reservation.makerspace_id,
        changes={"status": [old, status], **(extra or {})},
    )
    return reservation


def reservation_cancel(
    *, reservation: Reservation, acting_user: User, reason: str = ""
) -> Reservation:
    """Members cancel their own bookings before they start; staff cancel any time."""
    with transaction.atomic():
        reservation = _locked(reservation)
        require_owner_or_staff(acting_user=acting_user, reservation=reservation)
        staff = _is_staff(acting_user, reservation)
        if reservation.status not in (
            ReservationStatus.PENDING,
            ReservationStatus.CONFIRMED,
        ) and not (staff and reservation.status == ReservationStatus.ACTIVE):
            raise ConflictError(
                "INVALID_STATE",
                f"A {reservation.get_status_display().lower()} booking cannot be cancelled.",
            )
        if not staff and reservation.start_time <= timezone.now():
            raise ConflictError("TOO_LATE", "The booking has started; ask the staff to cancel it.")
        _transition(
            reservation,
            acting_user=acting_user,
            status=ReservationStatus.CANCELLED,
            action=Action.UPDATE,
            extra={
                "cancelled_at": timezone.now(),
                "cancelled_by": acting_user,
                "cancel_reason": reason[:300],
            },
        )
        if reservation.equipment.status == EquipmentStatus.IN_USE and reservation.checked_in_at:
            Equipment.objects.filter(pk=reservation.equipment_id).update(
                status=EquipmentStatus.AVAILABLE
            )
        reservation_id = str(reservation.pk)
        transaction.on_commit(lambda: send_reservation_email.delay(reservation_id, "cancelled"))
        transaction.on_commit(lambda: _after_slot_freed(reservation_id))
    return reservation


def _after_slot_freed(reservation_id: str) -> None:
    """Hook run after a booking stops holding its slot (the waitlist offers it on)."""
    waitlist_offer_freed_slot(reservation_id=reservation_id)


def reservation_decide(
    *, reservation: Reservation, acting_user: User, approve: bool, reason: str = ""
) -> Reservation:
    """A manager approves or rejects a booking that waits for approval."""
    require_makerspace_permission(
        acting_user,
        reservation.makerspace_id,
        "reservations.manage",
        message="Only the space's staff decide on bookings.",
    )
    with transaction.atomic():
        reservation = _locked(reservation)
        if reservation.status != ReservationStatus.PENDING:
            raise ConflictError("INVALID_STATE", "This booking is not waiting for approval.")
        if approve:
            _transition(
                reservation,
                acting_user=acting_user,
                status=ReservationStatus.CONFIRMED,
                action=Action.APPROVE,
                extra={"decided_by": acting_user},
            )
        else:
            _transition(
                reservation,
                acting_user=acting_user,
                status=ReservationStatus.CANCELLED,
                action=Action.UPDATE,
                extra={
                    "decided_by": acting_user,
                    "cancelled_at": timezone.now(),
                    "cancelled_by": acting_user,
                    "cancel_reason": reason[:300] or "Not approved",
                },
            )
        reservation_id = str(reservation.pk)
        kind = "approved" if approve else "rejected"
        transaction.on_commit(lambda: send_reservation_email.delay(reservation_id, kind))
        if not approve:
            transaction.on_commit(lambda: _after_slot_freed(reservation_id))
    return reservation


def reservation_check_in(*, reservation: Reservation, acting_user: User) -> Reservation:
    with transaction.atomic():
        reservation = _locked(reservation)
        require_owner_or_staff(acting_user=acting_user, reservation=reservation)
        if reservation.status != ReservationStatus.CONFIRMED:
            raise ConflictError(
                "INVALID_STATE",
                f"Only a confirmed booking can be checked in (this one is {reservation.status}).",
            )
        if reservation.equipment.status in OUT_OF_SERVICE:
            raise ConflictError(
                "EQUIPMENT_UNAVAILABLE",
                f"{reservation.equipment.name} is out of service "
                f"({reservation.equipment.get_status_display()}); ask the staff.",
                details={"status": reservation.equipment.status},
            )
        grace = timedelta(minutes=rules_for(reservation.equipment).check_in_grace_minutes)
        now = timezone.now()
        if now < reservation.start_time - grace:
            raise ConflictError(
                "TOO_EARLY",
                f"Check-in opens {int(_minutes(grace))} minutes before the booking starts.",
            )
        if now > min(reservation.start_time + grace, reservation.end_time):
            raise ConflictError(
                "TOO_LATE", "The check-in window has passed; the booking counts as a no-show."
            )
        _transition(
            reservation,
            acting_user=acting_user,
            status=ReservationStatus.ACTIVE,
            action=Action.UPDATE,
            extra={"checked_in_at": now},
        )
        Equipment.objects.filter(pk=reservation.equipment_id).exclude(
            status__in=OUT_OF_SERVICE
        ).update(status=EquipmentStatus.IN_USE)
    return reservation


def reservation_check_out(
    *,
    reservation: Reservation,
    acting_user: User,
    notes: str = "",
    materials: Sequence[Withdrawal] = (),
) -> Reservation:
    """End a session: records the real usage, frees the machine, feeds its maintenance count,
    and deducts the material used from the space's stock, linked to this booking.

    The material is taken in the same transaction: if any of it is short, the session
    is not checked out and nothing is deducted (400 INSUFFICIENT_STOCK).
    """
    with transaction.atomic():
        reservation = _locked(reservation)
        require_owner_or_staff(acting_user=acting_user, reservation=reservation)
        if reservation.status != ReservationStatus.ACTIVE:
            raise ConflictError("INVALID_STATE", "Only a checked-in booking can be checked out.")
        now = timezone.now()
        assert reservation.checked_in_at is not None
        used = max(1, math.ceil(_minutes(now - reservation.checked_in_at)))
        _transition(
            reservation,
            acting_user=acting_user,
            status=ReservationStatus.COMPLETED,
            action=Action.UPDATE,
            extra={
                "checked_out_at": now,
                "used_minutes": used,
                "notes": (reservation.notes + "\n" + notes).strip() if notes else reservation.notes,
            },
        )
        # Only a session ends here; a machine staff took out of service meanwhile stays so.
        Equipment.objects.filter(pk=reservation.equipment_id, status=EquipmentStatus.IN_USE).update(
            status=EquipmentStatus.AVAILABLE
        )
        if materials:
            foreign = [
                w.item.sku for w in materials if w.item.makerspace_id != reservation.makerspace_id
            ]
            if foreign:
                raise validation_error(
                    "materials", f"Not stock of this makerspace: {', '.join(foreign)}."
                )
            stock_consume_many(
                withdrawals=materials,
                reason=f"Used on {reservation.equipment.name}",
                acting_user=acting_user,
                source_type=MovementSource.RESERVATION,
                source_id=reservation.pk,
                kind=MovementKind.CONSUME,
            )
        record_usage(equipment_id=reservation.equipment_id, minutes=used)
        skills_renew_on_use(
            user=reservation.user,
            makerspace=reservation.makerspace,
            skill_ids=list(reservation.equipment.skill_requirements.values_list("pk", flat=True)),
            acting_user=acting_user,
        )
    return reservation


def require_in_every_space(
    acting_user: User, makerspace_ids: Iterable[Any], permission: str, message: str
) -> None:
    """A job's guard: the actor may act in each space it touches, checked before anything
    is written (the system actor may everywhere)."""
    for makerspace_id in sorted({str(space_id) for space_id in makerspace_ids}):
        require_makerspace_permission(acting_user, makerspace_id, permission, message=message)


def reservations_mark_no_shows(*, acting_user: User, now: datetime | None = None) -> int:
    """Confirmed bookings nobody checked in to, past the grace window, become no-shows."""
    now = now or timezone.now()
    marked = 0
    candidates = list(
        Reservation.objects.filter(
            status=ReservationStatus.CONFIRMED, checked_in_at__isnull=True, start_time__lt=now
        ).select_related("equipment")
    )
    require_in_every_space(
        acting_user,
        (candidate.makerspace_id for candidate in candidates),
        "reservations.manage",
        "You may not mark no-shows in this makerspace.",
    )
    for candidate in candidates:
        grace = timedelta(minutes=rules_for(candidate.equipment).check_in_grace_minutes)
        if now <= min(candidate.start_time + grace, candidate.end_time):
            continue
        with transaction.atomic():
            reservation = _locked(candidate)
            if reservation.status != ReservationStatus.CONFIRMED:
                continue
            _transition(
                reservation,
                acting_user=acting_user,
                status=ReservationStatus.NO_SHOW,
                action=Action.UPDATE,
            )
            marked += 1
    return marked


def reservation_update_notes(
    *, reservation: Reservation, acting_user: User, notes: str
) -> Reservation:
    """Staff add to or correct a booking's notes; its status moves only through the
    services above, so this touches nothing else."""
    require_makerspace_permission(
        acting_user,
        reservation.makerspace_id,
        "reservations.manage",
        message="Only the space's staff edit the notes of a booking.",
    )
    with transaction.atomic():
        reservation = _locked(reservation)
        if notes != reservation.notes:
            old = reservation.notes
            reservation.notes = notes
            reservation.save(update_fields=["notes", "updated_at"])
            audit_record(
                actor=acting_user,
                instance=reservation,
                action=Action.UPDATE,
                makerspace_id=reservation.makerspace_id,
                changes={"notes": [old, notes]},
            )
    return reservation
