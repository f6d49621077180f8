"""The booking list's filters, declared once in a FilterSet: each narrows the list, and a
value that means nothing is a 400 naming the parameter rather than silently ignored."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.equipment.models import Equipment, Reservation
from apps.makerspaces.models import Makerspace
from tests.factories import EquipmentFactory

pytestmark = pytest.mark.django_db

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=KYIV)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _booking(machine: Equipment, user: User, hours_ahead: int, status: str) -> Reservation:
    start = NOW + timedelta(hours=hours_ahead)
    end = start + timedelta(hours=1)
    return Reservation.objects.create(
        makerspace_id=machine.makerspace_id,
        equipment=machine,
        user=user,
        start_time=start,
        end_time=end,
        block_end=end,
        status=status,
    )


@pytest.fixture
def bookings(space: Makerspace, laser: Equipment, member: User, manager: User) -> dict[str, Any]:
    drill = EquipmentFactory.create(makerspace=space, name="Drill")
    return {
        "drill": drill,
        "mine_pending": _booking(laser, manager, 2, "pending"),
        "member_confirmed": _booking(laser, member, 4, "confirmed"),
        "member_drill": _booking(drill, member, 24, "confirmed"),
        "member_cancelled": _booking(laser, member, 30, "cancelled"),
    }


def _ids(manager: User, space: Makerspace, query: dict[str, str]) -> Any:
    client = APIClient()
    client.force_authenticate(manager)
    response = client.get(f"/api/v1/makerspaces/{space.pk}/reservations/", query)
    return response


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            {}, ["mine_pending", "member_confirmed", "member_drill", "member_cancelled"], id="all"
        ),
        pytest.param(
            {"status": "pending,cancelled"}, ["mine_pending", "member_cancelled"], id="statuses"
        ),
        pytest.param({"mine": "true"}, ["mine_pending"], id="mine"),
        pytest.param(
            {"status": ""},
            ["mine_pending", "member_confirmed", "member_drill", "member_cancelled"],
            id="no-statuses-is-all",
        ),
        pytest.param(
            {"mine": "false"},
            ["mine_pending", "member_confirmed", "member_drill", "member_cancelled"],
            id="not-only-mine",
        ),
        pytest.param(
            {"start": (NOW + timedelta(hours=5)).isoformat()},
            ["member_drill", "member_cancelled"],
            id="ending-after",
        ),
        pytest.param(
            {"end": (NOW + timedelta(hours=4)).isoformat()}, ["mine_pending"], id="starting-before"
        ),
        # An offset past what PostgreSQL takes (15:59) names the same moment in UTC.
        pytest.param(
            {
                "end": (NOW + timedelta(hours=4)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
                + "+00:00"
            },
            ["mine_pending"],
            id="starting-before-in-utc",
        ),
        pytest.param(
            {"end": "2026-06-10T00:00:00-18:47"},  # 18:47 UTC
            ["mine_pending", "member_confirmed"],
            id="offset-beyond-the-database",
        ),
    ],
)
def test_the_booking_list_narrows_by_each_filter(
    space: Makerspace,
    manager: User,
    bookings: dict[str, Any],
    query: dict[str, str],
    expected: list[str],
) -> None:
    response = _ids(manager, space, query)

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["data"]] == [
        str(bookings[name].pk) for name in expected
    ]


def test_the_booking_list_narrows_by_machine(
    space: Makerspace, manager: User, bookings: dict[str, Any]
) -> None:
    response = _ids(manager, space, {"equipment": str(bookings["drill"].pk)})

    assert [row["id"] for row in response.json()["data"]] == [str(bookings["member_drill"].pk)]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"status": "pending,lost"}, "status", "Unknown status: lost."),
        ({"mine": "perhaps"}, "mine", "Must be a valid boolean."),
        ({"mine": ""}, "mine", "May not be blank."),
        ({"equipment": "not-a-uuid"}, "equipment", None),
        ({"start": "yesterday"}, "start", None),
    ],
)
def test_a_meaningless_filter_value_is_a_400_naming_it(
    space: Makerspace,
    manager: User,
    bookings: dict[str, Any],
    query: dict[str, str],
    field: str,
    message: str | None,
) -> None:
    response = _ids(manager, space, query)

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "VALIDATION_ERROR"
    assert field in body["details"]
    if message:
        assert body["details"][field] == [message]


def test_an_empty_machine_filter_is_a_400_too(space: Makerspace, manager: User) -> None:
    client = APIClient()
    client.force_authenticate(manager)

    response = client.get(f"/api/v1/makerspaces/{space.pk}/equipment/", {"type": ""})

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"type": ["May not be blank."]}
