"""The lean reads of the equipment API.

The machine and booking lists are built from plain rows (prepared queries) by the
presenters, not by the serializers: on varied rows they give exactly the serializers'
JSON, the endpoints answer as the serializers would, and each list costs the same
queries for a page of 2 rows as for a page of 25.
"""

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework.utils.encoders import JSONEncoder

from apps.accounts.models import User
from apps.core.concurrency import etag_for
from apps.equipment import selectors
from apps.equipment.api import presenters
from apps.equipment.api.serializers import EquipmentSerializer, ReservationSerializer
from apps.equipment.feeds import equipment_feed_urls
from apps.equipment.models import BookingRules, Equipment, EquipmentRules, Reservation
from apps.equipment.rules import EffectiveRules, rules_for
from apps.makerspaces.models import Makerspace, Skill
from tests.factories import (
    ClosureFactory,
    EquipmentFactory,
    MakerspaceFactory,
    MembershipFactory,
    UserFactory,
)
from tests.lean import assert_lean_matches

pytestmark = pytest.mark.django_db

KYIV = ZoneInfo("Europe/Kyiv")
# Microseconds in "now" reach every moment computed from it.
NOW = datetime(2026, 6, 10, 9, 7, 12, 345678, tzinfo=KYIV)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def booking(
    machine: Equipment,
    user: User,
    start: datetime,
    end: datetime,
    status: str = "confirmed",
    buffer_minutes: int = 0,
    **fields: Any,
) -> Reservation:
    return Reservation.objects.create(
        makerspace_id=machine.makerspace_id,
        equipment=machine,
        user=user,
        start_time=start,
        end_time=end,
        block_end=end + timedelta(minutes=buffer_minutes),
        status=status,
        **fields,
    )


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=JSONEncoder))


@pytest.fixture
def machines(space: Makerspace, laser: Equipment, member: User) -> list[Equipment]:
    """The laser (one skill) and machines unlike it: in maintenance with two skills, a
    schedule and odd specifications; offline without skills; busy now until a chain of
    bookings ends; used earlier and booked later; in a session checked in early."""
    printer = EquipmentFactory.create(
        makerspace=space,
        name="Prusa",
        type="3d_printer",
        status="maintenance",
        location="Bench 2",
        description="Two nozzles, ünïcode.",
        specifications={"bed": [250, 210], "nozzle": 0.4, "notes": None},
        hourly_rate=Decimal("12.5"),
        maintenance_interval_hours=200,
        maintenance_interval_days=None,
        usage_minutes_since_maintenance=125,
        maintenance_due=True,
    )
    for slug in ("zeta-skill", "alpha_skill", "alpha-skill"):
        printer.skill_requirements.add(Skill.objects.create(makerspace=space, slug=slug, name=slug))
    drill = EquipmentFactory.create(
        makerspace=space, name="Drill", type="tool", status="offline", hourly_rate=Decimal("0")
    )
    cnc = EquipmentFactory.create(makerspace=space, name="CNC", type="cnc_machine")
    other = UserFactory.create()
    booking(cnc, other, NOW - timedelta(minutes=20), NOW + timedelta(minutes=40))
    booking(cnc, other, NOW + timedelta(minutes=40), NOW + timedelta(hours=2), buffer_minutes=10)
    booking(cnc, member, NOW - timedelta(days=3), NOW - timedelta(days=3, hours=-5), "completed")
    router = EquipmentFactory.create(makerspace=space, name="Router", type="workstation")
    booking(router, member, NOW - timedelta(days=31), NOW - timedelta(days=29), "completed")
    booking(router, member, NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1))
    oven = EquipmentFactory.create(makerspace=space, name="Oven", type="tool", status="in_use")
    booking(
        oven,
        member,
        NOW + timedelta(minutes=10),
        NOW + timedelta(hours=1),
        "active",
        checked_in_at=NOW - timedelta(minutes=5),
    )
    return [laser, printer, drill, cnc, router, oven]


def _context(space: Makerspace, open_seconds: float | None = None) -> dict[str, Any]:
    if open_seconds is None:
        since = NOW - timedelta(days=selectors.UTILIZATION_DAYS)
        open_seconds = selectors.open_seconds(space, since, NOW)
    return {"open_seconds": {space.pk: open_seconds}}


@pytest.mark.parametrize("closed", [False, True], ids=["open", "never-open"])
def test_machine_rows_present_exactly_as_the_equipment_serializer(
    space: Makerspace, machines: list[Equipment], closed: bool
) -> None:
    # Given the space's machines as the API's rows, and as the serializer's instances
    rows = {row.id: row for row in selectors.machine_rows_of_space(space, now=NOW)[0:50]}
    context = _context(space, 0.0 if closed else None)
    feed_url = equipment_feed_urls()

    def lean(machine: Equipment) -> dict[str, Any]:
        row = rows[machine.pk]
        return presenters.machine_json(
            row,
            skill_slugs=row.skill_slugs,
            currency=space.currency,
            open_seconds=context["open_seconds"][space.pk],
            feed_url=feed_url,
        )

    # When both are shown, Then they match key for key on every machine
    instances = selectors.equipment_of_space(space, now=NOW)
    assert assert_lean_matches(lean, EquipmentSerializer, instances, context) == len(machines)
    assert set(rows[machines[1].pk].skill_slugs) == {"zeta-skill", "alpha_skill", "alpha-skill"}


def test_booking_rows_present_exactly_as_the_reservation_serializer(
    space: Makerspace, laser: Equipment, member: User, manager: User
) -> None:
    # Given bookings in every state, with notes, times with microseconds, a series
    start = NOW + timedelta(days=1)
    booking(laser, member, start, start + timedelta(hours=1), "pending", notes="Bring MDF")
    booking(
        laser,
        manager,
        NOW - timedelta(hours=3),
        NOW - timedelta(hours=1),
        "completed",
        checked_in_at=NOW - timedelta(hours=3, microseconds=-17),
        checked_out_at=NOW - timedelta(hours=1, seconds=7),
        used_minutes=120,
    )
    booking(
        laser,
        member,
        start + timedelta(hours=2),
        start + timedelta(hours=3),
        "cancelled",
        cancel_reason="Ill",
        series_id=UUID("12345678-1234-5678-1234-567812345678"),
    )
    booking(laser, member, NOW - timedelta(minutes=5), NOW + timedelta(hours=1), "active")
    rows = {row.id: row for row in selectors.reservation_rows_of_space(space)[0:50]}
    instances = list(selectors.reservations_of_space(space))

    # When each is shown from its row (the list) and from the loaded booking (a write's
    # answer), Then both match the serializer
    assert (
        assert_lean_matches(
            lambda reservation: presenters.reservation_json(rows[reservation.pk]),
            ReservationSerializer,
            instances,
        )
        == len(rows)
        == 4
    )
    assert (
        assert_lean_matches(
            lambda reservation: presenters.reservation_json(selectors.reservation_row(reservation)),
            ReservationSerializer,
            instances,
        )
        == 4
    )


def test_the_machine_endpoints_answer_as_the_serializer_would(
    space: Makerspace, machines: list[Equipment], member: User
) -> None:
    # Given a closure in the last 30 days, which the utilization leaves out
    ClosureFactory.create(makerspace=space, date=(NOW - timedelta(days=4)).date())
    context = _context(space)
    api = f"/api/v1/makerspaces/{space.pk}/equipment/"
    client = client_of(member)

    # When a member lists the machines, reads one and asks what is free tomorrow
    listed = client.get(api, {"limit": 4, "page": 2})
    cnc = machines[3]
    detail = client.get(f"{api}{cnc.pk}/")
    window = {"start": (NOW + timedelta(days=1)).isoformat(), "end": ""}
    window["end"] = (NOW + timedelta(days=1, hours=1)).isoformat()
    available = client.get(f"{api}available/", window)

    # Then each answer is the serializer's over the same machines
    instances = list(selectors.equipment_of_space(space, now=NOW))
    assert listed.status_code == 200
    assert listed.json() == {
        "data": as_json(EquipmentSerializer(instances[4:8], many=True, context=context).data),
        "meta": {"total": 6, "page": 2, "limit": 4, "has_next": False},
    }
    fresh = Equipment.objects.get(pk=cnc.pk)
    assert detail.json() == as_json(EquipmentSerializer(instances[0], context=context).data)
    assert detail["ETag"] == etag_for(fresh)
    bookable = selectors.bookable_equipment(
        makerspace=space,
        user=member,
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=1, hours=1),
    )
    assert available.json()["data"] == as_json(
        EquipmentSerializer(list(bookable), many=True, context=context).data
    )
    # (the oven is in use now, which does not keep it from being booked tomorrow)
    assert [row["name"] for row in available.json()["data"]] == [
        "CNC",
        "Laser cutter",
        "Oven",
        "Router",
    ]


def test_the_list_filters_apply_to_one_machine_as_well(
    space: Makerspace, machines: list[Equipment], member: User
) -> None:
    # Given the printer, under maintenance
    printer = machines[1]
    url = f"/api/v1/makerspaces/{space.pk}/equipment/{printer.pk}/"
    client = client_of(member)

    # When it is read with the list's filters, matching, not matching and unknown
    matching = client.get(url, {"status": "maintenance", "type": "3d_printer"})
    other = client.get(url, {"status": "available"})
    unknown = client.get(url, {"status": "broken"})
    hex_id = client.get(f"/api/v1/makerspaces/{space.pk}/equipment/{printer.pk.hex}/")

    # Then they narrow it as they narrow the list
    assert matching.status_code == 200
    assert other.status_code == 404
    assert unknown.status_code == 400
    assert hex_id.json()["id"] == str(printer.pk)


def test_another_spaces_machine_is_not_found(space: Makerspace, member: User) -> None:
    # Given a machine of another space
    elsewhere = EquipmentFactory.create(makerspace=MakerspaceFactory.create())

    # When a member of this space asks for it by its id
    response = client_of(member).get(f"/api/v1/makerspaces/{space.pk}/equipment/{elsewhere.pk}/")

    # Then it does not exist for them
    assert response.status_code == 404


def test_rules_are_the_overrides_over_the_spaces_over_the_defaults(
    space: Makerspace, laser: Equipment
) -> None:
    # Given a machine with no rules anywhere, then a space rule, then an override
    defaults = rules_for(laser)
    BookingRules.objects.create(makerspace=space, max_minutes=240, requires_approval=True)
    of_space = rules_for(laser)
    EquipmentRules.objects.create(equipment=laser, max_minutes=90, buffer_minutes=None)
    overridden = rules_for(laser)

    # Then each layer wins where it says something
    assert defaults == EffectiveRules()
    assert (of_space.max_minutes, of_space.requires_approval) == (240, True)
    assert (overridden.max_minutes, overridden.requires_approval) == (90, True)
    assert overridden.buffer_minutes == BookingRules.objects.get().buffer_minutes
    assert rules_for(Equipment(makerspace=space)) == of_space


# --- queries per page ----------------------------------------------------------------------


def _queries(client: APIClient, url: str, params: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.fixture
def busy_space(space: Makerspace, laser_skill: Skill, member: User) -> Makerspace:
    """30 machines needing a skill the member holds, each booked by the member before,
    now and after; a closure; machine rules."""
    ClosureFactory.create(makerspace=space, date=(NOW - timedelta(days=2)).date())
    for index in range(30):
        machine = EquipmentFactory.create(makerspace=space, name=f"Machine {index:02}")
        machine.skill_requirements.add(laser_skill)
        EquipmentRules.objects.create(equipment=machine, max_minutes=60 + index)
        booking(machine, member, NOW - timedelta(hours=3), NOW - timedelta(hours=2), "completed")
        booking(machine, member, NOW + timedelta(days=3), NOW + timedelta(days=3, hours=1))
    return space


# The space with the caller's role (1 query, makerspaces), then the page of rows with
# the count of them all, and the space's closures (utilization); skills and live state
# come with the rows.
MACHINE_LIST_QUERIES = 3
# The space, then a member's own bookings counted with the page; the staff's list of
# the whole space counts apart (a page of it is read by index, all of it to count).
MEMBER_BOOKING_LIST_QUERIES = 2
STAFF_BOOKING_LIST_QUERIES = 3


@pytest.mark.parametrize(
    ("route", "who", "expected"),
    [
        pytest.param("equipment/", "member", MACHINE_LIST_QUERIES, id="machines"),
        pytest.param("equipment/available/", "member", MACHINE_LIST_QUERIES, id="available"),
        pytest.param("reservations/", "member", MEMBER_BOOKING_LIST_QUERIES, id="bookings-member"),
        pytest.param("reservations/", "manager", STAFF_BOOKING_LIST_QUERIES, id="bookings-manager"),
    ],
)
def test_a_page_of_25_costs_the_queries_of_a_page_of_2(
    busy_space: Makerspace,
    member: User,
    manager: User,
    route: str,
    who: str,
    expected: int,
) -> None:
    # Given a space with 30 machines and 60 bookings
    client = client_of(member if who == "member" else manager)
    url = f"/api/v1/makerspaces/{busy_space.pk}/{route}"
    params: dict[str, Any] = {}
    if "available" in route:
        start = NOW.replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=1)
        params = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}

    # When a page of 2 and a page of 25 are read
    small = _queries(client, url, {**params, "limit": 2})
    large = _queries(client, url, {**params, "limit": 25})

    # Then both cost the same few queries
    assert small == large == expected


def test_a_booking_list_filtered_every_way_costs_no_more(
    busy_space: Makerspace, manager: User
) -> None:
    # Given the busy space, When a manager filters the bookings by everything at once
    machine = Equipment.objects.filter(makerspace=busy_space).order_by("name").first()
    assert machine is not None
    query = {
        "status": "confirmed,completed,confirmed",
        "equipment": str(machine.pk),
        "start": (NOW - timedelta(days=1)).isoformat(),
        "end": (NOW + timedelta(days=5)).isoformat(),
        "mine": "false",
        "limit": "25",
    }
    client = client_of(manager)
    url = f"/api/v1/makerspaces/{busy_space.pk}/reservations/"
    queries = _queries(client, url, query)
    response = client.get(url, query)

    # Then the machine's two bookings in the window come back, for the same queries
    assert queries == STAFF_BOOKING_LIST_QUERIES
    assert [row["status"] for row in response.json()["data"]] == ["completed", "confirmed"]


def test_a_booking_is_decided_in_a_fixed_number_of_statements(
    space: Makerspace, laser: Equipment, member: User
) -> None:
    # Given a trained member and a free slot tomorrow
    start = (NOW + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    body = {
        "equipment": str(laser.pk),
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
    }
    client = client_of(member)

    # (content types are cached once per process; a test's cache starts empty)
    ContentType.objects.get_for_model(Reservation)

    # When they book it
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/api/v1/makerspaces/{space.pk}/reservations/", body)

    # Then: the space, the machine, its rules, the closures; under the lock (savepoint,
    # lock, one read of every obstacle) the booking and its audit entry (and release)
    assert response.status_code == 201, response.content
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) == 10, "\n".join(statements)
    assert response.json() == as_json(
        ReservationSerializer(Reservation.objects.get(pk=response.json()["id"])).data
    )


def test_a_member_without_the_skill_hears_which_ones_are_missing(
    space: Makerspace, laser: Equipment
) -> None:
    # Given an untrained member of the space, and a second skill on the laser
    untrained = MembershipFactory.create(makerspace=space, role="member").user
    laser.skill_requirements.add(Skill.objects.create(makerspace=space, slug="fire", name="Fire"))
    start = (NOW + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)

    # When they try to book it
    response = client_of(untrained).post(
        f"/api/v1/makerspaces/{space.pk}/reservations/",
        {
            "equipment": str(laser.pk),
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=1)).isoformat(),
        },
    )

    # Then they are told every skill they lack, and nothing is booked
    assert response.status_code == 403
    assert response.json()["error"]["details"] == {"missing": ["fire", "laser-basic"]}
    assert not Reservation.objects.exists()
