"""The equipment and reservations API: machines, availability, utilization, upkeep,
the life of a booking, the periodic jobs and the waitlist."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.system import system_actor
from apps.equipment import tasks
from apps.equipment.models import (
    Equipment,
    EquipmentRules,
    MaintenanceLog,
    Reservation,
    WaitlistEntry,
)
from apps.equipment.selectors import open_seconds
from apps.equipment.services.reservations import reservation_cancel
from apps.equipment.services.waitlist import (
    waitlist_claim,
    waitlist_expire_offers,
    waitlist_join,
)
from apps.makerspaces.hours import WEEKDAYS
from apps.makerspaces.models import Makerspace, MemberSkill, Skill
from tests.equipment.conftest import ALWAYS_OPEN, slot
from tests.factories import EquipmentFactory, MakerspaceFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def machines_url(space: Makerspace, suffix: str = "") -> str:
    return f"/api/v1/makerspaces/{space.pk}/equipment/{suffix}"


def reservations_url(space: Makerspace, suffix: str = "") -> str:
    return f"/api/v1/makerspaces/{space.pk}/reservations/{suffix}"


def booking(
    machine: Equipment,
    user: User,
    start: datetime,
    end: datetime,
    status: str = "confirmed",
    buffer_minutes: int = 0,
    **fields: Any,
) -> Reservation:
    """A booking written straight to the table (past ones cannot be made through the API)."""
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


def trained(space: Makerspace, skill: Skill) -> User:
    membership = MembershipFactory.create(makerspace=space, role="member")
    MemberSkill.objects.create(membership=membership, skill=skill)
    return membership.user


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


# --- machines -----------------------------------------------------------------------------


def test_a_member_lists_the_spaces_machines_with_their_live_state(
    space: Makerspace, laser: Equipment, member: User
) -> None:
    # Given a laser and a printer under maintenance
    EquipmentFactory.create(makerspace=space, name="Prusa", type="3d_printer", status="maintenance")

    # When a member lists the machines
    response = client_of(member).get(machines_url(space))

    # Then both are listed by name with what the API promises
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"] == {"total": 2, "page": 1, "limit": 20, "has_next": False}
    laser_row, printer_row = body["data"]
    assert laser_row["name"] == "Laser cutter"
    assert laser_row["skill_requirements"] == ["laser-basic"]
    assert laser_row["hourly_rate"] == "10.00"
    assert laser_row["currency"] == space.currency
    assert laser_row["is_available"] is True
    assert laser_row["utilization_rate"] == 0.0
    assert printer_row["is_available"] is False
    assert printer_row["next_available_time"] is None


def test_a_manager_creates_a_machine_with_skills_and_a_schedule(
    space: Makerspace, laser_skill: Skill, manager: User
) -> None:
    # Given a manager of the space
    url = machines_url(space)

    # When they add a machine needing the laser skill, and one needing an unknown skill
    created = client_of(manager).post(
        url,
        {
            "name": "Big laser",
            "type": "laser_cutter",
            "skill_requirements": ["laser-basic"],
            "hourly_rate": "25.50",
            "maintenance_schedule": {"interval_hours": 50},
            "specifications": {"bed_mm": [900, 600]},
        },
        format="json",
    )
    unknown = client_of(manager).post(
        url, {"name": "Mill", "type": "cnc_machine", "skill_requirements": ["cnc"]}, format="json"
    )

    # Then the first is created as sent, the second names the unknown skill
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["skill_requirements"] == ["laser-basic"]
    assert body["hourly_rate"] == "25.50"
    assert body["maintenance_schedule"] == {"interval_hours": 50, "interval_days": None}
    assert body["status"] == "available"
    machine = Equipment.objects.get(pk=body["id"])
    assert machine.hourly_rate == Decimal("25.50")
    assert machine.maintenance_interval_hours == 50
    assert unknown.status_code == 400
    assert "cnc" in unknown.json()["error"]["details"]["skill_requirements"][0]
    assert not Equipment.objects.filter(name="Mill").exists()


def test_an_update_with_a_stale_etag_is_refused(laser: Equipment, manager: User) -> None:
    # Given a manager who loaded the laser, and then changed it once
    url = machines_url(laser.makerspace, f"{laser.pk}/")
    etag = client_of(manager).get(url)["ETag"]
    first = client_of(manager).patch(url, {"location": "Room 1"}, format="json", HTTP_IF_MATCH=etag)

    # When they send another change against the version they loaded first
    stale = client_of(manager).patch(url, {"location": "Room 2"}, format="json", HTTP_IF_MATCH=etag)

    # Then the first change stands and the second is a 412
    assert first.status_code == 200, first.content
    assert first["ETag"] != etag
    assert stale.status_code == 412
    assert error_code(stale) == "PRECONDITION_FAILED"
    laser.refresh_from_db()
    assert laser.location == "Room 1"


def test_a_machine_with_bookings_on_record_is_not_deleted(
    space: Makerspace, laser: Equipment, member: User, manager: User
) -> None:
    # Given a laser that was booked once and a saw that never was
    booking(laser, member, *slot(days=-3), status="completed")
    saw = EquipmentFactory.create(makerspace=space, name="Saw", type="tool")

    # When the manager deletes both
    kept = client_of(manager).delete(machines_url(space, f"{laser.pk}/"))
    deleted = client_of(manager).delete(machines_url(space, f"{saw.pk}/"))

    # Then the booked one stays (409), the other is gone
    assert kept.status_code == 409
    assert error_code(kept) == "EQUIPMENT_HAS_BOOKINGS"
    assert deleted.status_code == 204
    assert list(Equipment.objects.values_list("name", flat=True)) == ["Laser cutter"]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("status=maintenance", ["Prusa"]),
        ("type=laser_cutter", ["Laser cutter"]),
        ("type=3d_printer&status=available", []),
        ("", ["Laser cutter", "Prusa"]),
    ],
)
def test_machines_filter_by_status_and_type(
    space: Makerspace, laser: Equipment, member: User, query: str, names: list[str]
) -> None:
    # Given a laser and a printer under maintenance
    EquipmentFactory.create(makerspace=space, name="Prusa", type="3d_printer", status="maintenance")

    # When a member filters the list
    response = client_of(member).get(f"{machines_url(space)}?{query}")

    # Then only the matching machines come back
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["data"]] == names


@pytest.mark.parametrize(("query", "field"), [("status=broken", "status"), ("type=oven", "type")])
def test_unknown_filter_values_are_a_400(
    space: Makerspace, member: User, query: str, field: str
) -> None:
    # Given a member, When they filter by a value that does not exist
    response = client_of(member).get(f"{machines_url(space)}?{query}")

    # Then the field is named
    assert response.status_code == 400
    assert error_code(response) == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]


# --- availability -------------------------------------------------------------------------


def test_available_lists_what_the_caller_may_book_in_the_window(
    space: Makerspace, laser: Equipment, laser_skill: Skill, member: User
) -> None:
    # Given machines that are free, in use now, booked, cancelled-on, under maintenance,
    # and one needing a skill the member lacks
    start, end = slot(days=1, hour=10)
    EquipmentFactory.create(makerspace=space, name="A free printer", type="3d_printer")
    EquipmentFactory.create(makerspace=space, name="B busy now", type="tool", status="in_use")
    taken = EquipmentFactory.create(makerspace=space, name="C taken", type="tool")
    booking(taken, UserFactory.create(), start + timedelta(minutes=30), end + timedelta(hours=1))
    cancelled_on = EquipmentFactory.create(makerspace=space, name="D cancelled on", type="tool")
    booking(cancelled_on, UserFactory.create(), start, end, status="cancelled")
    EquipmentFactory.create(makerspace=space, name="E resting", type="tool", status="maintenance")
    mill = EquipmentFactory.create(makerspace=space, name="F mill", type="cnc_machine")
    mill.skill_requirements.add(Skill.objects.create(makerspace=space, slug="cnc", name="CNC"))
    # When the member asks what is available in that window
    response = client_of(member).get(
        machines_url(space, "available"), {"start": start.isoformat(), "end": end.isoformat()}
    )

    # Then only machines they could book then are listed
    assert response.status_code == 200, response.content
    assert [row["name"] for row in response.json()["data"]] == [
        "A free printer",
        "B busy now",
        "D cancelled on",
        "Laser cutter",
    ]


def test_available_leaves_out_a_slot_held_for_someone_elses_waitlist_offer(
    space: Makerspace, laser: Equipment, member: User
) -> None:
    # Given the laser's slot is held for another member's waitlist offer
    start, end = slot(days=1, hour=10)
    WaitlistEntry.objects.create(
        makerspace=space,
        equipment=laser,
        user=UserFactory.create(),
        start_time=start,
        end_time=end,
        status="offered",
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(minutes=30),
    )
    window = {"start": start.isoformat(), "end": end.isoformat()}

    # When the member asks what they can book then, and tries to book it anyway
    listed = client_of(member).get(machines_url(space, "available"), window)
    booked = client_of(member).post(
        f"/api/v1/makerspaces/{space.pk}/reservations/",
        {"equipment": str(laser.pk), "start_time": window["start"], "end_time": window["end"]},
    )

    # Then the listing and the booking agree: the slot is not theirs to take
    assert listed.status_code == 200
    assert "Laser cutter" not in [row["name"] for row in listed.json()["data"]]
    assert booked.status_code == 409


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "start"),
        ({"start": "2030-01-01T10:00:00Z"}, "end"),
        ({"start": "tomorrow", "end": "2030-01-01T11:00:00Z"}, "start"),
        ({"start": "2030-01-01T11:00:00Z", "end": "2030-01-01T10:00:00Z"}, "end"),
    ],
)
def test_available_needs_a_proper_window(
    space: Makerspace, member: User, params: dict[str, str], field: str
) -> None:
    # Given a member, When they ask for availability with a bad window
    response = client_of(member).get(machines_url(space, "available"), params)

    # Then the bad parameter is named
    assert response.status_code == 400
    assert error_code(response) == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]


def test_next_available_time_is_the_end_of_a_chain_of_bookings(
    space: Makerspace, laser: Equipment, member: User
) -> None:
    # Given a laser booked back to back from before now, the last with a 15-minute buffer,
    # and a later booking after a gap; and a printer booked only later
    now = timezone.now().replace(second=0, microsecond=0)
    chain = [
        (now - timedelta(minutes=30), now + timedelta(minutes=30), 0),
        (now + timedelta(minutes=30), now + timedelta(minutes=90), 0),
        (now + timedelta(minutes=90), now + timedelta(minutes=150), 15),
    ]
    for start, end, buffer in chain:
        booking(laser, UserFactory.create(), start, end, buffer_minutes=buffer)
    booking(laser, member, now + timedelta(hours=5), now + timedelta(hours=6))
    printer = EquipmentFactory.create(makerspace=space, name="Printer", type="3d_printer")
    booking(printer, member, now + timedelta(hours=1), now + timedelta(hours=2))
    asked_at = timezone.now()

    # When a member reads both machines
    laser_row = client_of(member).get(machines_url(space, f"{laser.pk}/")).json()
    printer_row = client_of(member).get(machines_url(space, f"{printer.pk}/")).json()

    # Then the laser frees up after the chain and its buffer, the printer now
    assert laser_row["is_available"] is False
    assert datetime.fromisoformat(laser_row["next_available_time"]) == now + timedelta(minutes=165)
    assert printer_row["is_available"] is True
    printer_next = datetime.fromisoformat(printer_row["next_available_time"])
    assert asked_at <= printer_next <= timezone.now()


def test_utilization_is_booked_hours_over_open_hours_of_the_last_30_days(
    space: Makerspace, laser: Equipment, member: User
) -> None:
    # Given a space open around the clock, and 72 hours of completed, confirmed and
    # running bookings in the last 30 days, besides bookings that do not count
    now = timezone.now()
    since = now - timedelta(days=30)
    for days_ago in range(2, 10):  # 8 × 8 h
        start = now - timedelta(days=days_ago)
        booking(laser, member, start, start + timedelta(hours=8), status="completed")
    booking(laser, member, now - timedelta(days=12), now - timedelta(days=12, hours=-5))  # 5 h
    booking(laser, member, now - timedelta(hours=1), now + timedelta(hours=1), status="active")
    booking(
        laser, member, since - timedelta(hours=2), since + timedelta(hours=2), status="completed"
    )
    for status in ("cancelled", "no_show", "pending"):
        start = now - timedelta(days=15)
        booking(laser, member, start, start + timedelta(hours=8), status=status)
    booking(laser, member, now - timedelta(days=40), now - timedelta(days=39), status="completed")
    booking(laser, member, now + timedelta(days=1), now + timedelta(days=1, hours=8))

    # When a member reads the laser
    response = client_of(member).get(machines_url(space, f"{laser.pk}/"))

    # Then 72 booked hours over 720 open hours is 10 %
    assert response.status_code == 200
    assert response.json()["utilization_rate"] == 0.1


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2026-03-29", 23), ("2026-10-25", 25), ("2026-11-01", 24)],
)
def test_open_hours_count_real_time_on_days_the_clocks_change(day: str, hours: int) -> None:
    # Given a Kyiv space open around the clock
    space = MakerspaceFactory.create(timezone="Europe/Kyiv", business_hours=ALWAYS_OPEN)
    midnight = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo("Europe/Kyiv"))

    # When its open time is counted over one local day
    counted = open_seconds(space, midnight, midnight + timedelta(days=1))

    # Then a spring-forward day has 23 hours and a fall-back day 25
    assert counted == hours * 3600


def test_open_hours_follow_business_hours_and_closures() -> None:
    # Given a space open 09:00–13:00 and 14:00–18:00 on weekdays, closed one Monday
    hours = {day: [["09:00", "13:00"], ["14:00", "18:00"]] for day in WEEKDAYS[:5]}
    space = MakerspaceFactory.create(timezone="Europe/Kyiv", business_hours=hours)
    space.closures.create(date=datetime(2026, 6, 1).date(), reason="Holiday")
    kyiv = ZoneInfo("Europe/Kyiv")

    # When a week from Monday 00:00 to Wednesday 10:30 is counted
    counted = open_seconds(
        space, datetime(2026, 6, 1, tzinfo=kyiv), datetime(2026, 6, 3, 10, 30, tzinfo=kyiv)
    )

    # Then Monday is closed, Tuesday has 8 hours, Wednesday 1.5 so far
    assert counted == 9.5 * 3600


# --- maintenance ----------------------------------------------------------------------------


def test_a_routine_maintenance_entry_resets_the_usage_counter(
    laser: Equipment, member: User, manager: User
) -> None:
    # Given a laser due for maintenance after 60 hours of use
    Equipment.objects.filter(pk=laser.pk).update(
        maintenance_interval_hours=50, usage_minutes_since_maintenance=3600, maintenance_due=True
    )
    url = machines_url(laser.makerspace, f"{laser.pk}/maintenance")

    # When a manager logs a repair and then a routine service, and a member reads the log
    repair = client_of(manager).post(
        url, {"kind": "repair", "notes": "New belt", "cost": "40.00"}, format="json"
    )
    laser.refresh_from_db()
    due_after_repair = (laser.usage_minutes_since_maintenance, laser.maintenance_due)
    routine = client_of(manager).post(url, {"kind": "routine", "notes": "Optics"}, format="json")
    log = client_of(member).get(url)

    # Then only the routine entry resets the counter, and the log lists both, newest first
    assert repair.status_code == 201, repair.content
    assert due_after_repair == (3600, True)
    assert routine.status_code == 201, routine.content
    assert routine.json()["performed_by"]["email"] == manager.email
    laser.refresh_from_db()
    assert (laser.usage_minutes_since_maintenance, laser.maintenance_due) == (0, False)
    assert laser.last_maintained_at is not None
    assert log.status_code == 200
    assert [row["kind"] for row in log.json()["data"]] == ["routine", "repair"]
    assert log.json()["data"][1]["cost"] == "40.00"
    assert MaintenanceLog.objects.count() == 2


def test_a_bad_maintenance_kind_is_a_400(laser: Equipment, manager: User) -> None:
    # Given a manager, When they log maintenance of an unknown kind
    response = client_of(manager).post(
        machines_url(laser.makerspace, f"{laser.pk}/maintenance"), {"kind": "oiling"}, format="json"
    )

    # Then nothing is logged
    assert response.status_code == 400
    assert "kind" in response.json()["error"]["details"]
    assert not MaintenanceLog.objects.exists()


# --- the life of a booking ----------------------------------------------------------------


def test_check_in_opens_shortly_before_the_start(laser: Equipment, member: User) -> None:
    # Given a booking in an hour and one in ten minutes (check-in opens 15 minutes ahead)
    now = timezone.now().replace(second=0, microsecond=0)
    later = booking(laser, member, now + timedelta(hours=1), now + timedelta(hours=2))
    soon = booking(laser, member, now + timedelta(minutes=10), now + timedelta(minutes=40))
    client = client_of(member)

    # When the member checks in to both
    early = client.post(reservations_url(laser.makerspace, f"{later.pk}/check-in"))
    on_time = client.post(reservations_url(laser.makerspace, f"{soon.pk}/check-in"))

    # Then the later one is too early, the soon one starts and the machine is in use
    assert early.status_code == 409
    assert error_code(early) == "TOO_EARLY"
    assert "15 minutes" in early.json()["error"]["message"]
    assert on_time.status_code == 200, on_time.content
    assert on_time.json()["status"] == "active"
    assert on_time.json()["checked_in_at"] is not None
    laser.refresh_from_db()
    assert laser.status == "in_use"
    later.refresh_from_db()
    assert later.status == "confirmed"
    row = client.get(machines_url(laser.makerspace, f"{laser.pk}/")).json()
    assert row["is_available"] is False
    assert datetime.fromisoformat(row["next_available_time"]) == soon.end_time


def test_check_in_to_a_machine_out_of_service_is_refused(laser: Equipment, member: User) -> None:
    # Given a booking starting now on a laser that has just gone into maintenance
    now = timezone.now().replace(second=0, microsecond=0)
    reservation = booking(laser, member, now, now + timedelta(hours=1))
    Equipment.objects.filter(pk=laser.pk).update(status="maintenance")

    # When the member checks in
    response = client_of(member).post(
        reservations_url(laser.makerspace, f"{reservation.pk}/check-in")
    )

    # Then the machine stays in maintenance and the booking is not started
    assert response.status_code == 409
    assert error_code(response) == "EQUIPMENT_UNAVAILABLE"
    laser.refresh_from_db()
    assert laser.status == "maintenance"
    reservation.refresh_from_db()
    assert reservation.status == "confirmed"


def test_check_out_records_usage_and_frees_the_machine(
    space: Makerspace, laser: Equipment, member: User
) -> None:
    # Given a session checked in 90 minutes ago on a laser in use
    now = timezone.now()
    reservation = booking(
        laser,
        member,
        now - timedelta(minutes=90),
        now + timedelta(minutes=30),
        status="active",
        checked_in_at=now - timedelta(minutes=90),
    )
    Equipment.objects.filter(pk=laser.pk).update(status="in_use")

    # When the member checks out
    response = client_of(member).post(
        reservations_url(space, f"{reservation.pk}/check-out"), {"notes": "Cut 3 boxes"}
    )

    # Then the booking is completed with its real usage (a started minute counts),
    # and the machine is free again
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed"
    assert body["used_minutes"] == 91
    assert "Cut 3 boxes" in body["notes"]
    laser.refresh_from_db()
    assert laser.status == "available"
    assert laser.usage_minutes_since_maintenance == 91
    assert client_of(member).get(machines_url(space, f"{laser.pk}/")).json()["is_available"]


def test_check_out_leaves_a_machine_put_out_of_service_meanwhile(
    space: Makerspace, laser: Equipment, member: User
) -> None:
    # Given a running session on a laser that staff have since put into maintenance
    now = timezone.now()
    reservation = booking(
        laser, member, now - timedelta(minutes=20), now + timedelta(minutes=40),
        status="active", checked_in_at=now - timedelta(minutes=20),
    )  # fmt: skip
    Equipment.objects.filter(pk=laser.pk).update(status="maintenance")

    # When the member checks out
    response = client_of(member).post(reservations_url(space, f"{reservation.pk}/check-out"))

    # Then the session ends, but the laser stays in maintenance
    assert response.status_code == 200, response.content
    laser.refresh_from_db()
    assert laser.status == "maintenance"


def test_usage_past_the_interval_flags_maintenance_and_emails_staff_once(
    django_capture_on_commit_callbacks: Any,
    space: Makerspace,
    laser: Equipment,
    laser_skill: Skill,
    member: User,
    manager: User,
) -> None:
    # Given a laser serviced every 2 hours of use, already used for 100 minutes, and an admin
    admin = MembershipFactory.create(makerspace=space, role="admin").user
    Equipment.objects.filter(pk=laser.pk).update(
        maintenance_interval_hours=2, usage_minutes_since_maintenance=100
    )
    second_member = trained(space, laser_skill)

    def check_out_a_session(user: User, minutes: int) -> Any:
        now = timezone.now()
        session = booking(
            laser, user, now - timedelta(minutes=minutes), now + timedelta(minutes=10),
            status="active", checked_in_at=now - timedelta(minutes=minutes),
        )  # fmt: skip
        Equipment.objects.filter(pk=laser.pk).update(status="in_use")
        with django_capture_on_commit_callbacks(execute=True):
            return client_of(user).post(reservations_url(space, f"{session.pk}/check-out"))

    # When a member checks out after 30 minutes, passing the interval, and another after 5
    first = check_out_a_session(member, 30)
    second = check_out_a_session(second_member, 5)

    # Then the laser is flagged, and the staff were emailed once
    assert (first.status_code, second.status_code) == (200, 200)
    laser.refresh_from_db()
    assert laser.maintenance_due is True
    assert laser.usage_minutes_since_maintenance == 100 + 31 + 6
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([manager.email, admin.email])
    assert mail.outbox[0].subject.startswith("Maintenance due: Laser cutter")
    assert "2 hours" in mail.outbox[0].body
    row = client_of(member).get(machines_url(space, f"{laser.pk}/")).json()
    assert row["maintenance_due"] is True


def test_cancelling_before_and_after_the_start(
    django_capture_on_commit_callbacks: Any,
    space: Makerspace,
    laser: Equipment,
    member: User,
    manager: User,
) -> None:
    # Given a member's booking tomorrow and one that started ten minutes ago
    now = timezone.now()
    tomorrow = booking(laser, member, *slot(days=1))
    started = booking(laser, member, now - timedelta(minutes=10), now + timedelta(minutes=50))

    # When the member cancels both, and then a manager cancels the started one
    with django_capture_on_commit_callbacks(execute=True):
        ahead = client_of(member).post(
            reservations_url(space, f"{tomorrow.pk}/cancel"), {"reason": "Ill"}
        )
    too_late = client_of(member).post(reservations_url(space, f"{started.pk}/cancel"))
    by_staff = client_of(manager).post(reservations_url(space, f"{started.pk}/cancel"))

    # Then the member could cancel only before the start, staff any time
    assert ahead.status_code == 200, ahead.content
    assert ahead.json()["status"] == "cancelled"
    assert ahead.json()["cancel_reason"] == "Ill"
    assert [message.subject.split(" ·")[0] for message in mail.outbox] == [
        "Cancelled: Laser cutter"
    ]
    assert too_late.status_code == 409
    assert error_code(too_late) == "TOO_LATE"
    assert by_staff.status_code == 200, by_staff.content
    started.refresh_from_db()
    assert (started.status, started.cancelled_by_id) == ("cancelled", manager.pk)


def test_booking_another_spaces_machine_is_refused(space: Makerspace, member: User) -> None:
    # Given a machine of a space the member does not belong to
    elsewhere = EquipmentFactory.create(makerspace=MakerspaceFactory.create())
    start, end = slot(days=1)

    # When the member books it through their own space
    response = client_of(member).post(
        reservations_url(space),
        {"equipment": str(elsewhere.pk), "start_time": start, "end_time": end},
        format="json",
    )

    # Then it is not found there, and nothing is booked
    assert response.status_code == 400
    assert "equipment" in response.json()["error"]["details"]
    assert not Reservation.objects.exists()


# --- periodic jobs ------------------------------------------------------------------------


def test_the_no_show_job_marks_bookings_nobody_checked_in_to(
    laser: Equipment, member: User
) -> None:
    # Given bookings that started 30 and 5 minutes ago unattended, and a running session
    now = timezone.now()
    missed = booking(laser, member, now - timedelta(minutes=30), now + timedelta(minutes=30))
    other = EquipmentFactory.create(makerspace=laser.makerspace)
    in_grace = booking(other, member, now - timedelta(minutes=5), now + timedelta(minutes=55))
    third = EquipmentFactory.create(makerspace=laser.makerspace)
    running = booking(
        third, member, now - timedelta(minutes=30), now + timedelta(minutes=30),
        status="active", checked_in_at=now - timedelta(minutes=29),
    )  # fmt: skip

    # When the job runs twice
    marked = [tasks.mark_no_shows(), tasks.mark_no_shows()]

    # Then only the booking past its check-in window became a no-show, once
    assert marked == [1, 0]
    statuses = {row.pk: row.status for row in Reservation.objects.all()}
    assert statuses == {missed.pk: "no_show", in_grace.pk: "confirmed", running.pk: "active"}


def test_the_reminder_job_reminds_once_per_booking(laser: Equipment, member: User) -> None:
    # Given a booking in 30 minutes, one in 3 hours and a pending one in 40 minutes
    now = timezone.now()
    soon = booking(laser, member, now + timedelta(minutes=30), now + timedelta(minutes=90))
    other = EquipmentFactory.create(makerspace=laser.makerspace)
    booking(other, member, now + timedelta(hours=3), now + timedelta(hours=4))
    third = EquipmentFactory.create(makerspace=laser.makerspace)
    booking(
        third, member, now + timedelta(minutes=40), now + timedelta(minutes=70), status="pending"
    )

    # When the reminder job runs twice
    sent = [tasks.send_reminders(), tasks.send_reminders()]

    # Then the booking starting soon got one reminder
    assert sent == [1, 0]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert mail.outbox[0].subject.startswith("Reminder: Laser cutter soon")
    soon.refresh_from_db()
    assert soon.reminder_sent_at is not None


# --- the waitlist ----------------------------------------------------------------------------


def test_a_freed_slot_is_offered_to_the_first_in_line_and_held_for_them(
    django_capture_on_commit_callbacks: Any,
    space: Makerspace,
    laser: Equipment,
    laser_skill: Skill,
    member: User,
) -> None:
    # Given a booked hour and two members waiting for it, in order
    start, end = slot(days=1)
    taken = booking(laser, member, start, end)
    first, second, passer_by = (trained(space, laser_skill) for _ in range(3))
    waitlist_join(equipment=laser, user=first, start=start, end=end, acting_user=first)
    waitlist_join(equipment=laser, user=second, start=start, end=end, acting_user=second)

    # When the booking is cancelled
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=taken, acting_user=member)

    # Then the first in line is offered it by email, and it is held for them
    offered = WaitlistEntry.objects.get(user=first)
    assert offered.status == "offered"
    assert offered.offer_expires_at is not None
    assert WaitlistEntry.objects.get(user=second).status == "waiting"
    assert [message.to for message in mail.outbox] == [[member.email], [first.email]]
    assert mail.outbox[1].subject.startswith("A slot you waited for is free: Laser cutter")
    for other in (passer_by, second):
        held = client_of(other).post(
            reservations_url(space),
            {"equipment": str(laser.pk), "start_time": start, "end_time": end},
            format="json",
        )
        assert held.status_code == 409
        assert error_code(held) == "RESERVATION_CONFLICT"
        assert held.json()["error"]["details"]["held"] is True

    # And when the first claims it, it is theirs
    claimed = waitlist_claim(entry=offered, acting_user=first)
    assert (claimed.user_id, claimed.start_time, claimed.status) == (first.pk, start, "confirmed")
    offered.refresh_from_db()
    assert (offered.status, offered.reservation_id) == ("booked", claimed.pk)


def test_an_expired_offer_moves_on_to_the_next_in_line(
    django_capture_on_commit_callbacks: Any,
    space: Makerspace,
    laser: Equipment,
    laser_skill: Skill,
    member: User,
) -> None:
    # Given a freed slot offered to the first of two waiting members
    start, end = slot(days=1)
    taken = booking(laser, member, start, end)
    first, second = (trained(space, laser_skill) for _ in range(2))
    waitlist_join(equipment=laser, user=first, start=start, end=end, acting_user=first)
    waitlist_join(equipment=laser, user=second, start=start, end=end, acting_user=second)
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=taken, acting_user=member)
    mail.outbox.clear()

    # When the offer runs out unclaimed and the expiry job runs
    WaitlistEntry.objects.filter(user=first).update(
        offer_expires_at=timezone.now() - timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        expired = waitlist_expire_offers(acting_user=system_actor())

    # Then the first offer lapsed, the second member is offered the slot, and the
    # first can no longer claim it
    assert expired == 1
    assert WaitlistEntry.objects.get(user=first).status == "expired"
    assert WaitlistEntry.objects.get(user=second).status == "offered"
    assert [message.to for message in mail.outbox] == [[second.email]]
    claimed = waitlist_claim(entry=WaitlistEntry.objects.get(user=second), acting_user=second)
    assert claimed.user_id == second.pk


# --- query counts ---------------------------------------------------------------------------

# The space with the caller's role, the page's rows with their count (skills and live
# state come with them), then the space's closures (equipment); a staff's list of the
# space's bookings counts them apart (reservations).
EQUIPMENT_LIST_QUERIES = 3
RESERVATION_LIST_QUERIES = 3


def _machines_with_bookings(space: Makerspace, skill: Skill, member: User, count: int) -> None:
    now = timezone.now()
    for index in range(count):
        machine = EquipmentFactory.create(makerspace=space)
        machine.skill_requirements.add(skill)
        booking(machine, member, now - timedelta(hours=2), now - timedelta(hours=1), "completed")
        booking(machine, member, now + timedelta(hours=1), now + timedelta(hours=2))
        EquipmentRules.objects.create(equipment=machine, max_minutes=60 + index)


@pytest.mark.parametrize("count", [1, 100])
def test_the_equipment_list_costs_the_same_queries_for_1_or_100_machines(
    django_assert_max_num_queries: Any,
    space: Makerspace,
    laser_skill: Skill,
    member: User,
    count: int,
) -> None:
    # Given a space with 1 or 100 machines, each with skills and bookings
    _machines_with_bookings(space, laser_skill, member, count)
    client = client_of(member)

    # When a member lists them on one page
    with django_assert_max_num_queries(EQUIPMENT_LIST_QUERIES):
        response = client.get(machines_url(space), {"limit": 100})

    # Then every machine came back
    assert len(response.json()["data"]) == count


@pytest.mark.parametrize("count", [1, 100])
def test_the_reservation_list_costs_the_same_queries_for_1_or_100_bookings(
    django_assert_max_num_queries: Any,
    space: Makerspace,
    laser_skill: Skill,
    member: User,
    manager: User,
    count: int,
) -> None:
    # Given a space with 1 or 100 bookings of different machines and members
    start, end = slot(days=1)
    for _ in range(count):
        machine = EquipmentFactory.create(makerspace=space)
        booking(machine, trained(space, laser_skill), start, end)
    client = client_of(manager)

    # When a manager lists them on one page
    with django_assert_max_num_queries(RESERVATION_LIST_QUERIES):
        response = client.get(reservations_url(space), {"limit": 100})

    # Then every booking came back
    assert len(response.json()["data"]) == count


def test_check_out_deducts_the_material_used_linked_to_the_booking(
    space, laser, member, manager
) -> None:
    from decimal import Decimal

    from django.utils import timezone

    from apps.equipment.models import Reservation
    from apps.inventory.models import StockMovement
    from apps.inventory.services import item_create

    plywood = item_create(
        makerspace=space,
        acting_user=manager,
        opening_stock=Decimal("10"),
        name="Plywood 3 mm",
        sku="PLY-3",
        unit="sheet",
    )
    now = timezone.now()
    booking = Reservation.objects.create(
        makerspace=space,
        equipment=laser,
        user=member,
        start_time=now - timedelta(minutes=30),
        end_time=now + timedelta(minutes=30),
        block_end=now + timedelta(minutes=30),
        status="active",
        checked_in_at=now - timedelta(minutes=20),
    )
    url = f"/api/v1/makerspaces/{space.pk}/reservations/{booking.pk}/check-out"
    client = client_of(member)

    too_much = client.post(
        url, {"materials": [{"item": str(plywood.pk), "quantity": "11"}]}, format="json"
    )
    booking.refresh_from_db()
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "INSUFFICIENT_STOCK"
    assert booking.status == "active"

    done = client.post(
        url, {"materials": [{"item": str(plywood.pk), "quantity": "2"}]}, format="json"
    )

    assert done.status_code == 200, done.content
    assert done.json()["status"] == "completed"
    plywood.refresh_from_db()
    assert plywood.current_stock == Decimal("8")
    movement = StockMovement.objects.get(item=plywood, kind="consume")
    assert (movement.source_type, movement.source_id) == ("reservation", booking.pk)
    assert movement.delta == Decimal("-2")
