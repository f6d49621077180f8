"""Weekly recurring bookings: a preview of every occurrence, then booking the picked ones.

Occurrences repeat the first window's wall-clock time in the space's timezone, so a
10:00 booking in Kyiv stays at 10:00 when the clocks change. The preview writes
nothing; it answers, for each week, whether the booking would go through and if
not, the same error a single booking would get.

Booking the picked weeks books each through ``reservation_create`` in its own
transaction, so every rule and the machine's lock apply as for a single booking.
A week that cannot be booked any more (someone took it after the preview) is
reported and does not undo the others: the member chose those dates one by one
from the preview, and losing all of them because one was taken meanwhile would
send them back to a preview whose other dates may be gone by then.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, ConflictError, validation_error
from apps.equipment.models import (
    HOLDING_STATUSES,
    Equipment,
    EquipmentStatus,
    Reservation,
    ReservationStatus,
    WaitlistEntry,
)
from apps.equipment.rules import EffectiveRules, rules_for
from apps.equipment.selectors import missing_skill_slugs, overlapping
from apps.equipment.services.holds import live_offers
from apps.equipment.services.reservations import (
    check_window,
    require_booking_permission,
    require_owner_or_staff,
    reservation_cancel,
    reservation_create,
)

# Two years of weeks: a bound on the work of one request whatever the horizon says.
MAX_OCCURRENCES = 104


@dataclass(frozen=True)
class Occurrence:
    start: datetime
    end: datetime
    # Why this week cannot be booked; None when it can.
    reason: ApplicationError | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class RecurringPreview:
    equipment: Equipment
    occurrences: list[Occurrence]
    horizon_end: datetime
    # The asked-for ``until`` or ``count`` reaches past the booking horizon.
    capped_by_horizon: bool
    requires_approval: bool
    booking_limit: int
    upcoming_bookings: int

    @property
    def bookable_count(self) -> int:
        return sum(1 for occurrence in self.occurrences if occurrence.ok)


@dataclass
class RecurringBooking:
    series_id: uuid.UUID
    booked: list[Reservation] = field(default_factory=list)
    refused: list[Occurrence] = field(default_factory=list)


def occurrence_as_dict(occurrence: Occurrence) -> dict[str, Any]:
    """An occurrence as the API shows it: its window, and why it cannot be booked."""
    reason = occurrence.reason
    return {
        "start_time": occurrence.start,
        "end_time": occurrence.end,
        "ok": reason is None,
        "reason": (
            {"code": reason.code, "message": reason.message, "details": reason.details}
            if reason is not None
            else None
        ),
    }


def _rule_error(rule: str, message: str, **details: object) -> ApplicationError:
    return ApplicationError("BOOKING_RULE_VIOLATION", message, details={"rule": rule, **details})


def _on_the_wall(wall: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """The aware moment of a local wall-clock time, and whether that time exists.

    On the night the clocks go forward an hour of wall time is skipped; such a time
    is reported as missing rather than silently moved by an hour.
    """
    aware = wall.replace(tzinfo=zone)
    exists = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
    return aware, exists


def _weekly_windows(
    *,
    equipment: Equipment,
    start: datetime,
    end: datetime,
    horizon_end: datetime,
    until: date | None = None,
    count: int | None = None,
) -> tuple[list[tuple[datetime, datetime, bool]], bool]:
    """(start, end, exists) of each week from ``start`` up to the horizon, ``until``
    (a local date, inclusive) or ``count``; and whether the horizon cut the request."""
    if start.tzinfo is None or end.tzinfo is None:
        raise _rule_error(
            "timezone", "Times must carry a UTC offset, e.g. 2026-05-01T10:00:00+03:00."
        )
    zone = ZoneInfo(equipment.makerspace.timezone)
    wall_start = start.astimezone(zone).replace(tzinfo=None)
    wall_end = end.astimezone(zone).replace(tzinfo=None)
    windows: list[tuple[datetime, datetime, bool]] = []
    limited = until is not None or count is not None
    for week in range(MAX_OCCURRENCES):
        if count is not None and week >= count:
            return windows, False
        step = timedelta(weeks=week)
        if until is not None and (wall_start + step).date() > until:
            return windows, False
        occurrence_start, start_exists = _on_the_wall(wall_start + step, zone)
        occurrence_end, end_exists = _on_the_wall(wall_end + step, zone)
        if occurrence_start > horizon_end:
            return windows, limited
        windows.append((occurrence_start, occurrence_end, start_exists and end_exists))
    return windows, limited


def _missing_time_error(start: datetime, end: datetime, zone: ZoneInfo) -> ApplicationError:
    return _rule_error(
        "local_time_exists",
        f"The clocks go forward that night, so {start:%H:%M}–{end:%H:%M} on "
        f"{start:%Y-%m-%d} does not exist in {zone.key}.",
    )


def _upcoming_count(*, user: User, equipment: Equipment, now: datetime) -> int:
    """Bookings that count against ``max_active_per_member``, as reservation_create counts."""
    return Reservation.objects.filter(
        user=user,
        makerspace_id=equipment.makerspace_id,
        status__in=HOLDING_STATUSES,
        end_time__gt=now,
    ).count()


def _shared_refusal(*, equipment: Equipment, user: User) -> ApplicationError | None:
    """A reason that refuses every week alike: the machine or the member's training."""
    if equipment.status != EquipmentStatus.AVAILABLE:
        return ConflictError(
            "EQUIPMENT_UNAVAILABLE",
            f"{equipment.name} cannot be booked now ({equipment.get_status_display()}).",
            details={"status": equipment.status},
        )
    missing = missing_skill_slugs(equipment=equipment, user=user)
    if missing:
        return ApplicationError(
            "SKILL_REQUIRED",
            f"Booking {equipment.name} needs training you do not hold yet: {', '.join(missing)}.",
            details={"missing": missing},
            status_code=403,
        )
    return None


def _window_refusal(
    *,
    equipment: Equipment,
    start: datetime,
    end: datetime,
    rules: EffectiveRules,
    taken: list[Reservation],
    offers: list[WaitlistEntry],
    now: datetime,
) -> ApplicationError | None:
    try:
        check_window(equipment=equipment, start=start, end=end, rules=rules, now=now)
    except ApplicationError as exc:
        return exc
    block_end = end + timedelta(minutes=rules.buffer_minutes)
    if any(other.start_time < block_end and other.block_end > start for other in taken):
        return ConflictError(
            "RESERVATION_CONFLICT",
            f"{equipment.name} is already booked at that time.",
            details={
                "equipment": str(equipment.pk),
                "start_time": start.isoformat(),
                "end_time": end.isoformat(),
            },
        )
    if any(offer.start_time < block_end and offer.end_time > start for offer in offers):
        return ConflictError(
            "RESERVATION_CONFLICT",
            f"{equipment.name} is held at that time for a member from the waitlist.",
            details={"held": True},
        )
    return None


def recurring_preview(
    *,
    equipment: Equipment,
    user: User,
    start: datetime,
    end: datetime,
    until: date | None = None,
    count: int | None = None,
    now: datetime | None = None,
) -> RecurringPreview:
    """Every weekly occurrence of [start, end) and whether it can be booked; writes nothing.

    Without ``until`` or ``count`` the series runs to the booking horizon, and never
    past it. Weeks beyond the member's ``max_active_per_member`` are refused in date
    order, as booking them all would refuse them.
    """
    if until is not None and count is not None:
        raise validation_error("until", "Give until or count, not both.")
    now = now or timezone.now()
    rules = rules_for(equipment)
    horizon_end = now + timedelta(days=rules.horizon_days)
    windows, capped = _weekly_windows(
        equipment=equipment,
        start=start,
        end=end,
        horizon_end=horizon_end,
        until=until,
        count=count,
    )
    zone = ZoneInfo(equipment.makerspace.timezone)
    shared = _shared_refusal(equipment=equipment, user=user)
    upcoming = _upcoming_count(user=user, equipment=equipment, now=now)
    taken: list[Reservation] = []
    offers: list[WaitlistEntry] = []
    if windows:
        # One read of what holds the machine over the whole series, not one per week.
        span_start = windows[0][0]
        span_end = windows[-1][1] + timedelta(minutes=rules.buffer_minutes)
        taken = list(
            Reservation.objects.filter(equipment=equipment).filter(
                overlapping(span_start, span_end)
            )
        )
        offers = list(
            WaitlistEntry.objects.filter(
                live_offers(equipment=equipment, start=span_start, end=span_end)
            ).exclude(user=user)
        )
    occurrences = []
    would_hold = upcoming
    for occurrence_start, occurrence_end, exists in windows:
        reason = _missing_time_error(occurrence_start, occurrence_end, zone) if not exists else None
        reason = reason or shared
        reason = reason or _window_refusal(
            equipment=equipment,
            start=occurrence_start,
            end=occurrence_end,
            rules=rules,
            taken=taken,
            offers=offers,
            now=now,
        )
        if reason is None and would_hold >= rules.max_active_per_member:
            reason = _rule_error(
                "max_active_per_member",
                f"Booking this week too would pass your limit of "
                f"{rules.max_active_per_member} upcoming bookings here "
                f"(you have {upcoming}).",
                limit=rules.max_active_per_member,
            )
        if reason is None:
            would_hold += 1
        occurrences.append(Occurrence(start=occurrence_start, end=occurrence_end, reason=reason))
    return RecurringPreview(
        equipment=equipment,
        occurrences=occurrences,
        horizon_end=horizon_end,
        capped_by_horizon=capped,
        requires_approval=rules.requires_approval,
        booking_limit=rules.max_active_per_member,
        upcoming_bookings=upcoming,
    )


def recurring_book(
    *,
    equipment: Equipment,
    user: User,
    start: datetime,
    end: datetime,
    occurrences: list[datetime],
    acting_user: User,
    notes: str = "",
) -> RecurringBooking:
    """Book the weeks the member picked (starts of weekly repeats of [start, end)).

    The booked ones share a new ``series_id``; a week that cannot be booked is
    returned with its reason and the others stay booked (see the module's note).
    Nothing booked at all is a 409 ``NOTHING_BOOKED`` listing each week's reason.
    """
    # Each week is checked again as it is booked; refusing up front keeps a caller who
    # may not book from seeing every week refused one by one.
    require_booking_permission(
        acting_user=acting_user, makerspace_id=equipment.makerspace_id, user=user
    )
    if not occurrences:
        raise validation_error("occurrences", "Pick at least one date.")
    rules = rules_for(equipment)
    zone = ZoneInfo(equipment.makerspace.timezone)
    windows, _ = _weekly_windows(
        equipment=equipment,
        start=start,
        end=end,
        horizon_end=timezone.now() + timedelta(days=rules.horizon_days),
    )
    by_start = {window[0]: window for window in windows}
    unknown = [picked for picked in occurrences if picked not in by_start]
    if unknown:
        raise validation_error(
            "occurrences",
            *[
                f"{picked.isoformat()} is not a weekly repeat of the booking "
                "within the booking horizon."
                for picked in unknown
            ],
        )
    shared = _shared_refusal(equipment=equipment, user=user)
    if shared is not None:
        raise shared
    series = RecurringBooking(series_id=uuid.uuid4())
    for occurrence_start, occurrence_end, exists in sorted({by_start[p] for p in occurrences}):
        if not exists:
            missing = _missing_time_error(occurrence_start, occurrence_end, zone)
            series.refused.append(Occurrence(occurrence_start, occurrence_end, missing))
            continue
        try:
            reservation = reservation_create(
                equipment=equipment,
                user=user,
                start=occurrence_start,
                end=occurrence_end,
                acting_user=acting_user,
                notes=notes,
                series_id=series.series_id,
            )
        except ApplicationError as exc:
            series.refused.append(Occurrence(occurrence_start, occurrence_end, exc))
        else:
            series.booked.append(reservation)
    if not series.booked:
        raise ConflictError(
            "NOTHING_BOOKED",
            "None of the picked dates could be booked.",
            details={"refused": [occurrence_as_dict(refused) for refused in series.refused]},
        )
    return series


def reservation_series_cancel(
    *, reservation: Reservation, acting_user: User, reason: str = ""
) -> list[Reservation]:
    """Cancel every booking of ``reservation``'s series that has not started yet.

    All or none: each goes through ``reservation_cancel`` (the owner or staff), and a
    refusal of one leaves the whole series as it was.
    """
    require_owner_or_staff(acting_user=acting_user, reservation=reservation)
    if reservation.series_id is None:
        raise ConflictError("NOT_A_SERIES", "This booking is not part of a recurring series.")
    with transaction.atomic():
        upcoming = Reservation.objects.filter(
            makerspace_id=reservation.makerspace_id,
            series_id=reservation.series_id,
            status__in=(ReservationStatus.PENDING, ReservationStatus.CONFIRMED),
            start_time__gt=timezone.now(),
        ).order_by("start_time", "pk")
        return [
            reservation_cancel(reservation=booking, acting_user=acting_user, reason=reason)
            for booking in upcoming
        ]
