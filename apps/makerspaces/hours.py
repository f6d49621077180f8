"""Business hours: several opening windows per weekday, in the space's timezone,
plus dated closures. Later apps (booking rules, market hours) reuse this."""

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def default_business_hours() -> dict[str, list[list[str]]]:
    """A new space is open every day 08:00–22:00 until it says otherwise."""
    return {day: [["08:00", "22:00"]] for day in WEEKDAYS}


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def validate_business_hours(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Business hours must be an object keyed by weekday (mon … sun).")
    unknown = set(value) - set(WEEKDAYS)
    if unknown:
        raise ValidationError(f"Unknown weekday(s): {', '.join(sorted(unknown))}; use mon … sun.")
    for day, windows in value.items():
        if not isinstance(windows, list):
            raise ValidationError(f"{day}: a list of [open, close] windows is expected.")
        previous_end = -1
        for window in windows:
            if (
                not isinstance(window, list | tuple)
                or len(window) != 2
                or not all(isinstance(part, str) and _HHMM.match(part) for part in window)
            ):
                raise ValidationError(f'{day}: each window is ["HH:MM", "HH:MM"], got {window!r}.')
            start, end = (_minutes(part) for part in window)
            if end <= start:
                raise ValidationError(f"{day}: a window must close after it opens ({window!r}).")
            if start < previous_end:
                raise ValidationError(f"{day}: windows must be in order and must not overlap.")
            previous_end = end


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA timezone (e.g. Europe/Kyiv).")


def opening_windows(
    business_hours: dict[str, list[list[str]]],
    timezone_name: str,
    day: date,
    closed_dates: Iterable[date] = (),
) -> list[tuple[datetime, datetime]]:
    """The aware (local) datetimes a space is open on ``day``; empty on a closure."""
    if day in set(closed_dates):
        return []
    zone = ZoneInfo(timezone_name)
    windows = []
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    for start, end in business_hours.get(WEEKDAYS[day.weekday()], []):
        # Aware + timedelta is wall-clock arithmetic with ZoneInfo, so "09:00" stays
        # 09:00 local on the days the clocks change.
        windows.append(
            (
                midnight + timedelta(minutes=_minutes(start)),
                midnight + timedelta(minutes=_minutes(end)),
            )
        )
    return windows


def is_open_between(
    business_hours: dict[str, list[list[str]]],
    timezone_name: str,
    start: datetime,
    end: datetime,
    closed_dates: Iterable[date] = (),
) -> bool:
    """Whether [start, end) lies inside one opening window (times in any offset)."""
    zone = ZoneInfo(timezone_name)
    local_start = start.astimezone(zone)
    for opens, closes in opening_windows(
        business_hours, timezone_name, local_start.date(), closed_dates
    ):
        if opens <= start and end <= closes:
            return True
    return False
