"""Business hours in the space's timezone, across DST changes and closures."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from apps.makerspaces.hours import (
    default_business_hours,
    is_open_between,
    opening_windows,
    validate_business_hours,
)

KYIV = ZoneInfo("Europe/Kyiv")
HOURS = {"mon": [["09:00", "13:00"], ["14:00", "20:00"]], "sun": [["10:00", "24:00"]]}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_windows_are_local_wall_clock_times() -> None:
    windows = opening_windows(HOURS, "Europe/Kyiv", date(2026, 7, 6))  # a Monday, UTC+3

    assert [(start.isoformat(), end.isoformat()) for start, end in windows] == [
        ("2026-07-06T09:00:00+03:00", "2026-07-06T13:00:00+03:00"),
        ("2026-07-06T14:00:00+03:00", "2026-07-06T20:00:00+03:00"),
    ]


def test_utc_and_local_times_get_the_same_answer() -> None:
    local = (datetime(2026, 7, 6, 9, 30, tzinfo=KYIV), datetime(2026, 7, 6, 12, 0, tzinfo=KYIV))
    in_utc = (utc(2026, 7, 6, 6, 30), utc(2026, 7, 6, 9, 0))

    assert is_open_between(HOURS, "Europe/Kyiv", *local) is True
    assert is_open_between(HOURS, "Europe/Kyiv", *in_utc) is True


def test_a_slot_over_the_lunch_break_is_outside_hours() -> None:
    assert (
        is_open_between(HOURS, "Europe/Kyiv", utc(2026, 7, 6, 9, 30), utc(2026, 7, 6, 11, 30))
        is False
    )


def test_dst_spring_forward_keeps_local_opening_time() -> None:
    # 2026-03-29 is a Sunday: Kyiv goes from UTC+2 to UTC+3 at 03:00 local.
    windows = opening_windows(HOURS, "Europe/Kyiv", date(2026, 3, 29))

    assert windows[0][0].utcoffset() == timedelta(hours=3)
    assert windows[0][0].astimezone(UTC) == utc(2026, 3, 29, 7, 0)
    # The day before, 10:00 local was 08:00 UTC.
    assert opening_windows(HOURS, "Europe/Kyiv", date(2026, 3, 22))[0][0].astimezone(UTC) == utc(
        2026, 3, 22, 8, 0
    )


def test_dst_fall_back_keeps_local_opening_time() -> None:
    # 2026-10-25 is a Sunday: Kyiv goes back to UTC+2 at 04:00 local.
    opens, closes = opening_windows(HOURS, "Europe/Kyiv", date(2026, 10, 25))[0]

    assert opens.astimezone(UTC) == utc(2026, 10, 25, 8, 0)
    assert closes.astimezone(UTC) == utc(2026, 10, 25, 22, 0)  # "24:00" is next midnight


def test_closures_close_the_whole_day() -> None:
    monday = date(2026, 7, 6)

    assert opening_windows(HOURS, "Europe/Kyiv", monday, closed_dates=[monday]) == []
    assert (
        is_open_between(
            HOURS, "Europe/Kyiv", utc(2026, 7, 6, 7), utc(2026, 7, 6, 8), closed_dates=[monday]
        )
        is False
    )


def test_a_day_without_windows_is_closed() -> None:
    assert opening_windows(HOURS, "Europe/Kyiv", date(2026, 7, 7)) == []  # Tuesday not listed


def test_default_is_open_every_day_eight_to_ten() -> None:
    hours = default_business_hours()

    assert set(hours) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    assert all(windows == [["08:00", "22:00"]] for windows in hours.values())
    validate_business_hours(hours)


@pytest.mark.parametrize(
    "hours",
    [
        [],
        {"mon": "9-5"},
        {"mon": [["9:00", "17:00"]]},
        {"mon": [["09:00", "25:00"]]},
        {"mon": [["17:00", "09:00"]]},
        {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
        {"mon": [["09:00"]]},
        {"someday": []},
    ],
)
def test_bad_hours_are_refused(hours: object) -> None:
    with pytest.raises(ValidationError):
        validate_business_hours(hours)
