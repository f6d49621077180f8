"""The waitlist through the API, as the pages have it: join a taken slot, staff see a
machine's queue, a member sees their entries and offers, claims an offer in time (late
is 409 OFFER_EXPIRED) or leaves; a refused booking points to the waitlist; and the
machine's usage since its last maintenance."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.system import system_actor
from apps.equipment.models import Equipment, Reservation, WaitlistEntry
from apps.equipment.services.waitlist import waitlist_expire_offers
from apps.makerspaces.models import Makerspace, MemberSkill, Skill
from tests.equipment.conftest import slot
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

KYIV = ZoneInfo("Europe/Kyiv")
# A Wednesday morning in Kyiv; every slot is computed from it.
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=KYIV)


@pytest.fixture(autouse=True)
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def trained(space: Makerspace, skill: Skill) -> User:
    membership = MembershipFactory.create(makerspace=space, role="member")
    MemberSkill.objects.create(membership=membership, skill=skill)
    return membership.user


def taken(machine: Equipment, user: User, start: datetime, end: datetime) -> Reservation:
    return Reservation.objects.create(
        makerspace_id=machine.makerspace_id,
        equipment=machine,
        user=user,
        start_time=start,
        end_time=end,
        block_end=end,
        status="confirmed",
    )


def waitlist_url(machine: Equipment) -> str:
    return f"/api/v1/makerspaces/{machine.makerspace_id}/equipment/{machine.pk}/waitlist/"


def window(start: datetime, end: datetime) -> dict[str, str]:
    return {"start_time": start.isoformat(), "end_time": end.isoformat()}


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


@pytest.fixture
def queued(space: Makerspace, laser: Equipment, laser_skill: Skill, member: User) -> dict[str, Any]:
    """The member's booking tomorrow at 10:00, and a second member queued for it."""
    start, end = slot(days=1)
    booking = taken(laser, member, start, end)
    waiter = trained(space, laser_skill)
    entry = WaitlistEntry.objects.create(
        makerspace=space, equipment=laser, user=waiter, start_time=start, end_time=end
    )
    return {"start": start, "end": end, "booking": booking, "waiter": waiter, "entry": entry}


# --- joining --------------------------------------------------------------------------------


def test_a_member_joins_the_waitlist_of_a_taken_slot(
    space: Makerspace, laser: Equipment, laser_skill: Skill, member: User
) -> None:
    # Given a slot someone booked
    start, end = slot(days=1)
    taken(laser, member, start, end)
    waiter = trained(space, laser_skill)

    # When another member joins its waitlist
    response = client_of(waiter).post(waitlist_url(laser), window(start, end), format="json")

    # Then they are in line for it, waiting, with no offer yet
    assert response.status_code == 201, response.content
    body = response.json()
    entry = WaitlistEntry.objects.get(user=waiter)
    assert body["id"] == str(entry.pk)
    assert (body["equipment"], body["status"], body["offer_expires_at"]) == (
        str(laser.pk),
        "waiting",
        None,
    )
    assert (entry.start_time, entry.end_time, entry.status) == (start, end, "waiting")


def test_a_free_slot_is_booked_not_waited_for(laser: Equipment, member: User) -> None:
    # Given a free slot, When a member tries to wait for it
    start, end = slot(days=1)
    response = client_of(member).post(waitlist_url(laser), window(start, end), format="json")

    # Then they are told to book it, and nothing was queued
    assert response.status_code == 409
    assert error(response)["code"] == "SLOT_FREE"
    assert not WaitlistEntry.objects.exists()


def test_joining_twice_and_a_bad_window_are_refused(
    laser: Equipment, queued: dict[str, Any]
) -> None:
    client = client_of(queued["waiter"])

    twice = client.post(waitlist_url(laser), window(queued["start"], queued["end"]), format="json")
    backwards = client.post(
        waitlist_url(laser), window(queued["end"], queued["start"]), format="json"
    )

    assert (twice.status_code, error(twice)["code"]) == (409, "ALREADY_WAITING")
    assert (backwards.status_code, error(backwards)["code"]) == (400, "VALIDATION_ERROR")
    assert "end_time" in error(backwards)["details"]
    assert WaitlistEntry.objects.count() == 1


def test_an_outsider_cannot_join_a_spaces_waitlist(
    laser: Equipment, queued: dict[str, Any]
) -> None:
    outsider = MembershipFactory.create(role="admin").user

    response = client_of(outsider).post(
        waitlist_url(laser), window(queued["start"], queued["end"]), format="json"
    )

    assert response.status_code == 404
    assert WaitlistEntry.objects.count() == 1


# --- the machine's queue (staff) and the member's own entries -----------------------------


def test_staff_list_a_machines_queue_in_order_and_members_may_not(
    clock: Any,
    space: Makerspace,
    laser: Equipment,
    laser_skill: Skill,
    manager: User,
    queued: dict[str, Any],
) -> None:
    # Given a second member who queued later, and one who left
    clock.shift(timedelta(minutes=5))
    later = trained(space, laser_skill)
    second = WaitlistEntry.objects.create(
        makerspace=space,
        equipment=laser,
        user=later,
        start_time=queued["start"],
        end_time=queued["end"],
    )
    WaitlistEntry.objects.create(
        makerspace=space,
        equipment=laser,
        user=trained(space, laser_skill),
        start_time=queued["start"],
        end_time=queued["end"],
        status="cancelled",
    )

    # When the manager lists the machine's waitlist, and the waiting member tries to
    as_staff = client_of(manager).get(waitlist_url(laser))
    as_member = client_of(queued["waiter"]).get(waitlist_url(laser))

    # Then staff see who waits, first come first; the member is refused
    assert as_staff.status_code == 200
    rows = as_staff.json()["data"]
    assert [row["id"] for row in rows] == [str(queued["entry"].pk), str(second.pk)]
    assert rows[0]["user"]["email"] == queued["waiter"].email
    assert as_staff.json()["meta"]["total"] == 2
    assert as_member.status_code == 403
    assert error(as_member)["code"] == "PERMISSION_DENIED"


def test_a_member_sees_their_own_entries_with_any_open_offer(
    space: Makerspace, laser: Equipment, laser_skill: Skill, queued: dict[str, Any]
) -> None:
    # Given the waiter's entry offered to them until 10:00, and someone else's entry
    expires = NOW + timedelta(hours=1)
    WaitlistEntry.objects.filter(pk=queued["entry"].pk).update(
        status="offered", offered_at=NOW, offer_expires_at=expires
    )
    someone = trained(space, laser_skill)
    WaitlistEntry.objects.create(
        makerspace=space,
        equipment=laser,
        user=someone,
        start_time=queued["start"],
        end_time=queued["end"],
    )

    # When the waiter asks for their waitlist
    response = client_of(queued["waiter"]).get("/api/v1/users/me/waitlist")

    # Then they see only theirs, with the offer's end
    assert response.status_code == 200
    rows = response.json()["data"]
    assert [row["id"] for row in rows] == [str(queued["entry"].pk)]
    assert rows[0]["status"] == "offered"
    assert datetime.fromisoformat(rows[0]["offer_expires_at"]) == expires
    assert rows[0]["equipment_name"] == laser.name


# --- claiming and leaving -------------------------------------------------------------------


def _offer_by_cancelling(
    capture: Any, queued: dict[str, Any], member: User, space: Makerspace
) -> WaitlistEntry:
    """The booking's owner cancels it through the API, so the slot is offered on."""
    cancel = f"/api/v1/makerspaces/{space.pk}/reservations/{queued['booking'].pk}/cancel"
    with capture(execute=True):
        assert client_of(member).post(cancel, {}, format="json").status_code == 200
    entry: WaitlistEntry = WaitlistEntry.objects.get(pk=queued["entry"].pk)
    assert entry.status == "offered"
    return entry


def test_claiming_an_offer_in_time_books_the_slot(
    django_capture_on_commit_callbacks: Any,
    space: Makerspace,
    member: User,
    queued: dict[str, Any],
) -> None:
    # Given the slot was freed and offered to the waiter
    entry = _offer_by_cancelling(django_capture_on_commit_callbacks, queued, member, space)

    # When they claim it before the offer ends
    response = client_of(queued["waiter"]).post(f"/api/v1/waitlist/{entry.pk}/claim", format="json")

    # Then the slot is their booking and the entry is booked with it
    assert response.status_code == 201, response.content
    reservation = Reservation.objects.get(pk=response.json()["id"])
    assert (reservation.user_id, reservation.start_time, reservation.status) == (
        queued["waiter"].pk,
        queued["start"],
        "confirmed",
    )
    entry.refresh_from_db()
    assert (entry.status, entry.reservation_id) == ("booked", reservation.pk)


def test_a_late_claim_is_offer_expired_before_and_after_the_expiry_job(
    django_capture_on_commit_callbacks: Any,
    clock: Any,
    space: Makerspace,
    member: User,
    queued: dict[str, Any],
) -> None:
    # Given an offer whose hold (60 minutes by default) has passed
    entry = _offer_by_cancelling(django_capture_on_commit_callbacks, queued, member, space)
    clock.shift(timedelta(minutes=61))
    client = client_of(queued["waiter"])
    claim = f"/api/v1/waitlist/{entry.pk}/claim"

    # When the member claims it before the expiry job ran, and again after it did
    before_job = client.post(claim, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        waitlist_expire_offers(acting_user=system_actor())
    after_job = client.post(claim, format="json")

    # Then both answers say the offer expired, and nothing was booked
    for response in (before_job, after_job):
        assert response.status_code == 409
        assert error(response)["code"] == "OFFER_EXPIRED"
    entry.refresh_from_db()
    assert entry.status == "expired"
    assert not Reservation.objects.filter(user=queued["waiter"]).exists()


def test_an_entry_never_offered_cannot_be_claimed(queued: dict[str, Any]) -> None:
    response = client_of(queued["waiter"]).post(
        f"/api/v1/waitlist/{queued['entry'].pk}/claim", format="json"
    )

    assert (response.status_code, error(response)["code"]) == (409, "NOT_OFFERED")


def test_a_member_leaves_the_waitlist(queued: dict[str, Any]) -> None:
    response = client_of(queued["waiter"]).delete(f"/api/v1/waitlist/{queued['entry'].pk}")

    assert response.status_code == 204
    queued["entry"].refresh_from_db()
    assert queued["entry"].status == "cancelled"


def test_another_members_entry_does_not_exist_for_them(
    django_capture_on_commit_callbacks: Any,
    space: Makerspace,
    laser_skill: Skill,
    member: User,
    queued: dict[str, Any],
) -> None:
    # Given an entry offered to the waiter, and another member of the same space
    entry = _offer_by_cancelling(django_capture_on_commit_callbacks, queued, member, space)
    stranger = client_of(trained(space, laser_skill))

    # When the other member claims it or deletes it
    claimed = stranger.post(f"/api/v1/waitlist/{entry.pk}/claim", format="json")
    deleted = stranger.delete(f"/api/v1/waitlist/{entry.pk}")

    # Then both are 404, and the offer still stands
    assert (claimed.status_code, error(claimed)["code"]) == (404, "NOT_FOUND")
    assert (deleted.status_code, error(deleted)["code"]) == (404, "NOT_FOUND")
    entry.refresh_from_db()
    assert entry.status == "offered"
    assert not Reservation.objects.filter(start_time=queued["start"], status="confirmed").exists()


# --- a refused booking points to the waitlist -----------------------------------------------


def test_a_booking_conflict_says_whether_and_where_to_join_the_waitlist(
    space: Makerspace, laser: Equipment, laser_skill: Skill, member: User
) -> None:
    # Given a slot someone booked
    start, end = slot(days=1)
    taken(laser, member, start, end)
    client = client_of(trained(space, laser_skill))
    body = {"equipment": str(laser.pk), **window(start, end)}
    bookings = f"/api/v1/makerspaces/{space.pk}/reservations/"

    # When another member tries to book it
    first = client.post(bookings, body, format="json")

    # Then the 409 says they can join the waitlist, and where
    assert first.status_code == 409
    assert error(first)["code"] == "RESERVATION_CONFLICT"
    hint = error(first)["details"]["waitlist"]
    assert hint == {"can_join": True, "url": waitlist_url(laser)}

    # And following it queues them; a second try says they already wait
    joined = client.post(hint["url"], window(start, end), format="json")
    again = client.post(bookings, body, format="json")
    assert joined.status_code == 201
    assert error(again)["details"]["waitlist"]["can_join"] is False


# --- usage since the last maintenance -------------------------------------------------------


def test_the_machine_shows_its_usage_hours_since_maintenance(
    space: Makerspace, laser: Equipment, member: User
) -> None:
    # Given a laser used for 90 minutes since its last routine maintenance
    Equipment.objects.filter(pk=laser.pk).update(usage_minutes_since_maintenance=90)

    # When a member reads it, alone and in the list
    one = client_of(member).get(f"/api/v1/makerspaces/{space.pk}/equipment/{laser.pk}/")
    listed = client_of(member).get(f"/api/v1/makerspaces/{space.pk}/equipment/")

    # Then both show 1.5 hours next to the maintenance flag
    assert one.json()["usage_hours_since_maintenance"] == 1.5
    assert one.json()["maintenance_due"] is False
    assert listed.json()["data"][0]["usage_hours_since_maintenance"] == 1.5


# --- the schema ------------------------------------------------------------------------------


def test_the_waitlist_routes_are_in_the_schema_with_their_answers() -> None:
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    paths = document["paths"]
    machine = "/api/v1/makerspaces/{makerspace_pk}/equipment/{id}/waitlist/"

    assert {"200", "403", "404"} <= set(paths[machine]["get"]["responses"])
    assert {"201", "400", "403", "404", "409"} <= set(paths[machine]["post"]["responses"])
    assert {"200", "401"} <= set(paths["/api/v1/users/me/waitlist/"]["get"]["responses"])
    assert {"201", "404", "409"} <= set(paths["/api/v1/waitlist/{id}/claim/"]["post"]["responses"])
    assert {"204", "404"} <= set(paths["/api/v1/waitlist/{id}/"]["delete"]["responses"])
    usage = document["components"]["schemas"]["Equipment"]["properties"][
        "usage_hours_since_maintenance"
    ]
    assert (usage["type"], usage["readOnly"]) == ("number", True)
