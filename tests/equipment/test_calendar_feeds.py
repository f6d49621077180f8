"""iCalendar feeds: a machine's bookings without names, a member's own bookings across
spaces, private token URLs that a member can replace."""

from datetime import UTC, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar
from rest_framework.test import APIClient

from apps.equipment.models import BookingRules, Reservation
from apps.equipment.services.reservations import reservation_cancel, reservation_create
from apps.makerspaces.models import MemberSkill
from tests.equipment.conftest import ALWAYS_OPEN, slot
from tests.factories import EquipmentFactory, MakerspaceFactory, MembershipFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def fetch(url: str) -> Any:
    """GET a feed as a calendar app would: no session, no token but the URL's."""
    return Client().get(urlsplit(url).path)


def events_of(response: Any) -> list[Any]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/calendar")
    return list(Calendar.from_ical(response.content).walk("VEVENT"))


def book(machine: Any, user: Any, days: int, hour: int = 10) -> Reservation:
    start, end = slot(days=days, hour=hour)
    return reservation_create(equipment=machine, user=user, start=start, end=end, acting_user=user)


def equipment_feed_path(machine: Any) -> str:
    return f"/bookings/feeds/equipment/{machine.calendar_token}.ics"


def test_a_machines_feed_shows_when_it_is_booked_but_not_by_whom(space, laser, member):
    # Given a confirmed and a pending booking of the laser, a cancelled one, and a
    # booking of another machine
    confirmed = book(laser, member, days=1)
    BookingRules.objects.create(makerspace=space, requires_approval=True)
    pending = book(laser, member, days=2)
    cancelled = book(laser, member, days=3)
    reservation_cancel(reservation=cancelled, acting_user=member)
    other_machine = EquipmentFactory.create(makerspace=space, name="Drill press")
    book(other_machine, member, days=1)

    # When a calendar app fetches the laser's feed
    response = Client().get(equipment_feed_path(laser))

    # Then it lists the two holding bookings, in UTC, with no member's name or email
    events = events_of(response)
    assert [str(event["UID"]) for event in events] == [str(confirmed.pk), str(pending.pk)]
    first = events[0]
    assert str(first["SUMMARY"]) == "Booked"
    assert first.decoded("DTSTART") == confirmed.start_time
    assert (
        first["DTSTART"].to_ical()
        == confirmed.start_time.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode()
    )
    assert first.decoded("DTEND") == confirmed.end_time
    assert str(first["LOCATION"]) == f"{space.name} — Laser cutter"
    assert [str(event["STATUS"]) for event in events] == ["CONFIRMED", "TENTATIVE"]
    text = response.content.decode()
    assert member.name not in text
    assert member.email not in text
    assert "Drill press" not in text


def test_an_unknown_token_is_a_404(space, laser):
    # When a feed is fetched with a token nobody holds
    responses = [
        Client().get("/bookings/feeds/equipment/not-a-token.ics"),
        Client().get("/bookings/feeds/member/not-a-token.ics"),
    ]

    # Then both are 404
    assert [response.status_code for response in responses] == [404, 404]


def test_a_deactivated_spaces_machine_feed_is_gone(space, laser):
    # Given a space that was deactivated
    space.is_active = False
    space.save()

    # When its machine's feed is fetched
    response = Client().get(equipment_feed_path(laser))

    # Then it is not found
    assert response.status_code == 404


def test_equipment_detail_names_its_feed_url(space, laser, member):
    # When a member reads the machine
    response = client_for(member).get(f"/api/v1/makerspaces/{space.pk}/equipment/{laser.pk}/")

    # Then its calendar_url serves the feed
    assert response.status_code == 200
    url = response.json()["calendar_url"]
    assert url.endswith(equipment_feed_path(laser))
    assert fetch(url).status_code == 200


def test_a_members_feed_has_their_bookings_across_spaces_with_their_name(space, laser, member):
    # Given the member's bookings in two spaces, and another member's booking
    second_space = MakerspaceFactory.create(name="Second Space", business_hours=ALWAYS_OPEN)
    MembershipFactory.create(makerspace=second_space, user=member)
    own = book(laser, member, days=1)
    printer = EquipmentFactory.create(makerspace=second_space, name="Printer")
    elsewhere = book(printer, member, days=2, hour=15)
    other_membership = MembershipFactory.create(makerspace=space)
    MemberSkill.objects.create(membership=other_membership, skill=laser.skill_requirements.get())
    other = other_membership.user
    book(laser, other, days=3)

    # When the member asks for their feed URL and a calendar app fetches it
    answer = client_for(member).get("/api/v1/users/me/calendar")
    response = fetch(answer.json()["url"])

    # Then it has their two bookings, each with machine and space, and their name
    assert answer.status_code == 200
    events = events_of(response)
    assert [str(event["UID"]) for event in events] == [str(own.pk), str(elsewhere.pk)]
    assert str(events[0]["SUMMARY"]) == f"Laser cutter ({space.name})"
    assert str(events[1]["LOCATION"]) == "Second Space — Printer"
    assert f"Booked for {member.name}" in str(events[0]["DESCRIPTION"])
    assert events[1].decoded("DTEND") == elsewhere.end_time
    assert other.name not in response.content.decode()


def test_the_feed_url_is_stable_until_the_member_resets_it(member):
    # Given the member's feed URL
    client = client_for(member)
    first = client.get("/api/v1/users/me/calendar").json()["url"]

    # When they ask again, then reset it
    again = client.get("/api/v1/users/me/calendar").json()["url"]
    reset = client.post("/api/v1/users/me/calendar/reset")

    # Then the URL was stable, the reset gives a new one, and the old one is gone
    assert again == first
    assert reset.status_code == 200
    assert reset.json()["url"] != first
    assert fetch(first).status_code == 404
    assert fetch(reset.json()["url"]).status_code == 200


def test_the_feed_url_needs_a_signed_in_user(db):
    # When nobody signed in asks for a feed URL
    responses = [
        APIClient().get("/api/v1/users/me/calendar"),
        APIClient().post("/api/v1/users/me/calendar/reset"),
    ]

    # Then both are 401
    assert [response.status_code for response in responses] == [401, 401]


def test_an_old_booking_drops_out_of_the_feed(space, laser, member):
    # Given a booking that ended more than a month ago but still holds its slot
    old = book(laser, member, days=1)
    long_ago = timezone.now() - timedelta(days=40)
    Reservation.objects.filter(pk=old.pk).update(
        start_time=long_ago,
        end_time=long_ago + timedelta(hours=1),
        block_end=long_ago + timedelta(hours=1),
    )

    # When the feed is fetched
    events = events_of(Client().get(equipment_feed_path(laser)))

    # Then it is not listed
    assert events == []
