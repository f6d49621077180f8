"""The day/week timetable of one machine, laid out in the space's local time.

A read like a selector: three queries (bookings, waitlist holds, closures) whatever the
number of bookings, then plain arithmetic. Positions are wall-clock minutes of each
local day, so a booking at 10:00 Kyiv time sits at 10:00 on the days the clocks change.
"""

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.equipment.models import (
    HOLDING_STATUSES,
    Equipment,
    Reservation,
    ReservationStatus,
    WaitlistEntry,
)
from apps.equipment.rules import EffectiveRules
from apps.equipment.services.holds import live_offers
from apps.makerspaces.hours import opening_windows
from apps.makerspaces.models import Closure

DAY_MINUTES = 24 * 60
# Shown when nothing is open or booked in the whole range, so the grid is never empty.
FALLBACK_HOURS = (8, 20)
SHOWN_STATUSES = (*HOLDING_STATUSES, ReservationStatus.COMPLETED)


@dataclass(frozen=True)
class Block:
    """A span of one day column: an opening window or a booking."""

    start_minute: int
    end_minute: int
    kind: str = "open"  # open, booked, yours, held, offered
    label_start: time | None = None
    label_end: time | None = None
    status: str = ""
    style: str = ""


@dataclass
class Day:
    date: date
    is_today: bool
    is_past: bool = False
    closure: Closure | None = None
    open_windows: list[Block] = field(default_factory=list)
    bookings: list[Block] = field(default_factory=list)


@dataclass
class Timetable:
    view: str
    first_day: date
    last_day: date
    today: date
    timezone_name: str
    first_hour: int
    last_hour: int
    days: list[Day]

    @property
    def hours(self) -> list[time]:
        return [time(hour) for hour in range(self.first_hour, self.last_hour)]

    @property
    def hour_count(self) -> int:
        return self.last_hour - self.first_hour

    @property
    def previous_day(self) -> date:
        return self.first_day - timedelta(days=len(self.days))

    @property
    def next_day(self) -> date:
        return self.first_day + timedelta(days=len(self.days))


def first_day_of(view: str, day: date) -> date:
    """A week starts on Monday; a day view starts on the day itself."""
    return day - timedelta(days=day.weekday()) if view == "week" else day


def _wall_minute(moment: datetime, day: date, zone: ZoneInfo) -> int:
    """Minutes from the local midnight that starts ``day``, by the wall clock."""
    local = moment.astimezone(zone)
    return (local.date() - day).days * DAY_MINUTES + local.hour * 60 + local.minute


def _segment(start: datetime, end: datetime, day: date, zone: ZoneInfo) -> tuple[int, int] | None:
    """The part of [start, end) that falls on ``day``, in wall-clock minutes."""
    day_start = datetime.combine(day, time(0), tzinfo=zone)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    clipped_start, clipped_end = max(start, day_start), min(end, day_end)
    if clipped_end <= clipped_start:
        return None
    first = _wall_minute(clipped_start, day, zone)
    last = DAY_MINUTES if clipped_end == day_end else _wall_minute(clipped_end, day, zone)
    # In the repeated hour of an autumn night the wall clock runs backwards.
    return first, max(last, first + 1)


def machine_timetable(
    *,
    equipment: Equipment,
    viewer_id: Any,
    rules: EffectiveRules,
    view: str,
    day: date,
    now: datetime | None = None,
) -> Timetable:
    makerspace = equipment.makerspace
    zone = ZoneInfo(makerspace.timezone)
    now = now or timezone.now()
    first_day = first_day_of(view, day)
    dates = [first_day + timedelta(days=offset) for offset in range(7 if view == "week" else 1)]
    window_start = datetime.combine(dates[0], time(0), tzinfo=zone)
    window_end = datetime.combine(dates[-1] + timedelta(days=1), time(0), tzinfo=zone)

    reservations = list(
        Reservation.objects.filter(
            equipment=equipment,
            status__in=SHOWN_STATUSES,
            start_time__lt=window_end,
            end_time__gt=window_start,
        )
        # Only what the grid shows: nobody's name reaches the page.
        .only("id", "user_id", "start_time", "end_time", "status")
        .order_by("start_time")
    )
    holds = list(
        WaitlistEntry.objects.filter(
            live_offers(equipment=equipment, start=window_start, end=window_end)
        ).only("id", "user_id", "start_time", "end_time")
    )
    closures = {
        closure.date: closure
        for closure in Closure.objects.filter(
            makerspace=makerspace, date__range=(dates[0], dates[-1])
        )
    }
    status_labels = dict(ReservationStatus.choices)

    days: list[Day] = []
    today = now.astimezone(zone).date()
    for current in dates:
        column = Day(
            date=current,
            is_today=current == today,
            is_past=current < today,
            closure=closures.get(current),
        )
        if rules.within_business_hours:
            windows = opening_windows(
                makerspace.business_hours, makerspace.timezone, current, closures.keys()
            )
            for opens, closes in windows:
                span = _segment(opens, closes, current, zone)
                if span:
                    column.open_windows.append(Block(*span))
        else:
            column.open_windows.append(Block(0, DAY_MINUTES))
        for reservation in reservations:
            span = _segment(reservation.start_time, reservation.end_time, current, zone)
            if span is None:
                continue
            is_own = reservation.user_id == viewer_id
            column.bookings.append(
                Block(
                    *span,
                    kind="yours" if is_own else "booked",
                    label_start=reservation.start_time.astimezone(zone).time(),
                    label_end=reservation.end_time.astimezone(zone).time(),
                    status=str(status_labels[reservation.status]) if is_own else "",
                )
            )
        for hold in holds:
            span = _segment(hold.start_time, hold.end_time, current, zone)
            if span is None:
                continue
            column.bookings.append(
                Block(
                    *span,
                    kind="offered" if hold.user_id == viewer_id else "held",
                    label_start=hold.start_time.astimezone(zone).time(),
                    label_end=hold.end_time.astimezone(zone).time(),
                )
            )
        days.append(column)

    first_hour, last_hour = _visible_hours(days)
    offset, length = first_hour * 60, (last_hour - first_hour) * 60
    for column in days:
        column.open_windows = [_placed(block, offset, length) for block in column.open_windows]
        column.bookings = [_placed(block, offset, length) for block in column.bookings]
    return Timetable(
        view=view,
        first_day=dates[0],
        last_day=dates[-1],
        today=today,
        timezone_name=makerspace.timezone,
        first_hour=first_hour,
        last_hour=last_hour,
        days=days,
    )


def _visible_hours(days: list[Day]) -> tuple[int, int]:
    """Whole hours covering every opening window and booking of the range."""
    blocks = [block for column in days for block in (*column.open_windows, *column.bookings)]
    if not blocks:
        return FALLBACK_HOURS
    first = min(block.start_minute for block in blocks) // 60
    last = math.ceil(max(block.end_minute for block in blocks) / 60)
    return first, max(last, first + 1)


def _placed(block: Block, offset: int, length: int) -> Block:
    top = (block.start_minute - offset) / length * 100
    height = (block.end_minute - block.start_minute) / length * 100
    # An f-string, not the template: a localized "41,667" is not CSS.
    style = f"top: {top:.3f}%; height: {height:.3f}%;"
    return replace(block, style=style)
