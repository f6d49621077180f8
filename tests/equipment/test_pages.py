"""The member pages of equipment: a space's machines, a machine's timetable with the
booking form and the waitlist, and "my bookings" with cancel and check-in/out."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from apps.equipment.models import (
    Equipment,
    Reservation,
    ReservationStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from apps.makerspaces.models import Makerspace, MemberSkill
from tests.equipment.conftest import KYIV, slot
from tests.factories import (
    ClosureFactory,
    EquipmentFactory,
    MakerspaceFactory,
    MembershipFactory,
    SkillFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

MY_BOOKINGS = reverse("equipment:my-reservations")


def list_url(space: Makerspace) -> str:
    return reverse("equipment:list", kwargs={"slug": space.slug})


def machine_url(machine: Equipment, **query: str) -> str:
    url = reverse(
        "equipment:machine",
        kwargs={"slug": machine.makerspace.slug, "equipment_id": machine.pk},
    )
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def waitlist_url(machine: Equipment) -> str:
    return reverse(
        "equipment:waitlist-join",
        kwargs={"slug": machine.makerspace.slug, "equipment_id": machine.pk},
    )


def booked(
    machine: Equipment,
    user: Any,
    start: datetime,
    end: datetime,
    status: str = ReservationStatus.CONFIRMED,
) -> Reservation:
    """A booking written straight to the table, stored in UTC as the database holds it."""
    return Reservation.objects.create(
        makerspace=machine.makerspace,
        equipment=machine,
        user=user,
        start_time=start.astimezone(UTC),
        end_time=end.astimezone(UTC),
        block_end=end.astimezone(UTC),
        status=status,
    )


def form_of(start: datetime, end: datetime) -> dict[str, str]:
    """The booking form as a browser sends it: the space's local date and times."""
    local_start, local_end = start.astimezone(KYIV), end.astimezone(KYIV)
    return {
        "date": local_start.strftime("%Y-%m-%d"),
        "start": local_start.strftime("%H:%M"),
        "end": local_end.strftime("%H:%M"),
    }


def blocks(html: str, kind: str) -> list[str]:
    """The text of each timetable block of one kind (booked, yours, held, offered)."""
    found = re.findall(
        rf'<div class="tt-booking {kind}" data-place="[^"]*">(.*?)</div>', html, flags=re.S
    )
    return [" ".join(re.sub(r"<[^>]+>", " ", block).split()) for block in found]


def machine_names(response) -> list[str]:
    return re.findall(r'class="machine-name" href="[^"]*">([^<]*)</a>', response.content.decode())


def style_of_block(html: str, kind: str) -> str:
    match = re.search(rf'<div class="tt-booking {kind}" data-place="([^"]*)">', html)
    assert match, f"no {kind} block"
    return match.group(1)


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def other_member(space, laser_skill):
    membership = MembershipFactory.create(
        makerspace=space, role="member", user__name="Taras Other", user__email="taras@example.org"
    )
    MemberSkill.objects.create(membership=membership, skill=laser_skill)
    return membership.user


@pytest.fixture
def printer(space):
    return EquipmentFactory.create(
        makerspace=space, name="Prusa MK4", type="3d_printer", hourly_rate="4.50"
    )


@pytest.fixture
def cnc(space):
    return EquipmentFactory.create(
        makerspace=space, name="Shapeoko CNC", type="cnc_machine", status="maintenance"
    )


# --- the list of a space's machines --------------------------------------------------------


def test_list_shows_availability_rate_and_skills_held(
    member_client, space, laser, printer, cnc, other_member
) -> None:
    now = timezone.now()
    busy_until = (now + timedelta(minutes=45)).replace(second=0, microsecond=0)
    booked(printer, other_member, now - timedelta(minutes=15), busy_until)

    response = member_client.get(list_url(space))

    assert response.status_code == 200
    rows = {
        name: row
        for row in re.findall(
            r'<tr class="machine-row">(.*?)</tr>', response.content.decode(), re.S
        )
        for name in ("Laser cutter", "Prusa MK4", "Shapeoko CNC")
        if name in row
    }
    assert "Free now" in rows["Laser cutter"]
    assert "10.00 UAH/h" in rows["Laser cutter"]
    assert re.search(r'chip skill held"[^>]*>✓ Laser basics', rows["Laser cutter"])
    assert "Booked now" in rows["Prusa MK4"]
    assert f"Free from {busy_until.astimezone(KYIV):%a %-d %b, %H:%M}" in rows["Prusa MK4"]
    assert "4.50 UAH/h" in rows["Prusa MK4"]
    assert "Maintenance" in rows["Shapeoko CNC"]
    assert "Not bookable now" in rows["Shapeoko CNC"]
    assert machine_url(laser) in rows["Laser cutter"]


def test_list_marks_a_skill_the_viewer_lacks_as_missing(client, untrained, laser) -> None:
    client.force_login(untrained)

    response = client.get(list_url(laser.makerspace))

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'chip skill missing"[^>]*>✗ Laser basics <small>missing', html)
    assert "chip skill held" not in html


def test_list_filters_by_type_and_status(member_client, space, laser, printer, cnc) -> None:
    by_type = member_client.get(list_url(space), {"type": "3d_printer"})
    by_status = member_client.get(list_url(space), {"status": "maintenance"})
    nonsense = member_client.get(list_url(space), {"type": "time_machine"})

    assert machine_names(by_type) == ["Prusa MK4"]
    assert machine_names(by_status) == ["Shapeoko CNC"]
    # An unknown type is reported and ignored rather than emptying the list.
    assert nonsense.status_code == 200
    assertContains(nonsense, "Select a valid choice")
    assert machine_names(nonsense) == ["Laser cutter", "Prusa MK4", "Shapeoko CNC"]


# --- a machine's timetable ----------------------------------------------------------------


def test_timetable_shows_own_and_others_bookings_at_local_hours(
    member_client, member, other_member, laser
) -> None:
    mine_start, mine_end = slot(days=1, hour=10)
    theirs_start, theirs_end = slot(days=1, hour=14, minutes=90)
    booked(laser, member, mine_start, mine_end)
    booked(laser, other_member, theirs_start, theirs_end)
    day = mine_start.date().isoformat()

    response = member_client.get(machine_url(laser, view="week", date=day))

    assert response.status_code == 200
    html = response.content.decode()
    assert blocks(html, "yours") == ["10:00–11:00 Your booking · Confirmed"]
    assert blocks(html, "booked") == ["14:00–15:30 Booked"]
    # Stored in UTC, the booking sits at 10:00 of a 24-hour Kyiv day: 10/24 of the column.
    assert style_of_block(html, "yours").startswith("top: 41.667%; height: 4.167%")
    utc_hour = mine_start.astimezone(UTC).hour
    assert f"{utc_hour:02d}:00–{utc_hour + 1:02d}:00" not in html
    assert "Taras Other" not in html
    assert "taras@example.org" not in html


def test_timetable_positions_stay_css_in_ukrainian(member_client, member, laser) -> None:
    member.locale = "uk"
    member.save()
    start, end = slot(days=1, hour=10)
    booked(laser, member, start, end)

    response = member_client.get(machine_url(laser, view="day", date=start.date().isoformat()))

    assert response.status_code == 200
    assert 'lang="uk"' in response.content.decode()
    # A localized decimal comma ("41,667%") would not be CSS.
    assert style_of_block(response.content.decode(), "yours").startswith("top: 41.667%;")


def test_timetable_week_navigation_and_day_view(member_client, laser) -> None:
    day = slot(days=3)[0].date()
    monday = day - timedelta(days=day.weekday())

    week = member_client.get(machine_url(laser, view="week", date=day.isoformat()))
    single = member_client.get(machine_url(laser, view="day", date=day.isoformat()))

    week_html = week.content.decode()
    assert week_html.count('<div class="tt-column') == 8  # the hour labels and seven days
    assert f"date={monday - timedelta(days=7)}" in week_html
    assert f"date={monday + timedelta(days=7)}" in week_html
    single_html = single.content.decode()
    assert single_html.count('<div class="tt-column') == 2
    assert f"date={day - timedelta(days=1)}" in single_html
    assert f"date={day + timedelta(days=1)}" in single_html


def test_timetable_shows_opening_hours_and_closures(member_client, space, laser) -> None:
    space.business_hours = {
        day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
    }
    space.save()
    day = slot(days=2)[0].date()
    ClosureFactory.create(makerspace=space, date=day, reason="Staff training")

    response = member_client.get(machine_url(laser, view="week", date=day.isoformat()))

    html = response.content.decode()
    assertContains(response, "Closed: Staff training")
    # The grid spans the opening hours only; each weekday shows one full-height window.
    hours = re.findall(r'<div class="tt-hour">(\d\d:\d\d)</div>', html)
    assert (hours[0], hours[-1]) == ("09:00", "16:00")
    open_days = 5 - (1 if day.weekday() < 5 else 0)
    whole_day = '<div class="tt-open" data-place="top: 0.000%; height: 100.000%;">'
    assert html.count(whole_day) == open_days


def test_timetable_on_the_autumn_clock_change_keeps_wall_clock_hours(
    member_client, member, laser
) -> None:
    # 26 Oct 2025: Kyiv clocks went back at 04:00, a 25-hour day.
    start = datetime(2025, 10, 26, 10, 0, tzinfo=KYIV)
    booked(laser, member, start, start + timedelta(hours=1), status=ReservationStatus.COMPLETED)

    response = member_client.get(machine_url(laser, view="day", date="2025-10-26"))

    html = response.content.decode()
    assert blocks(html, "yours") == ["10:00–11:00 Your booking · Completed"]
    assert style_of_block(html, "yours").startswith("top: 41.667%")


# --- booking from the page ----------------------------------------------------------------


def test_booking_from_the_page_stores_the_local_slot(member_client, member, laser) -> None:
    start, end = slot(days=2, hour=10, minutes=90)

    response = member_client.post(machine_url(laser), form_of(start, end), follow=True)

    assertRedirects(response, MY_BOOKINGS)
    reservation = Reservation.objects.get(equipment=laser)
    assert reservation.user == member
    assert (reservation.start_time, reservation.end_time) == (start, end)
    assert reservation.status == ReservationStatus.CONFIRMED
    assertContains(response, f"Booked Laser cutter for {start:%a %-d %b}, 10:00–11:30.")


def test_a_too_short_booking_shows_the_rule_and_writes_nothing(member_client, laser) -> None:
    start, end = slot(days=2, hour=10, minutes=15)

    response = member_client.post(machine_url(laser), form_of(start, end))

    assert response.status_code == 400
    assertContains(response, "A booking of Laser cutter lasts at least 30 min.", status_code=400)
    assert not Reservation.objects.exists()


def test_a_time_the_clocks_skip_is_refused_by_the_form(member_client, laser) -> None:
    # 28 Mar 2027: Kyiv clocks jump from 03:00 to 04:00.
    response = member_client.post(
        machine_url(laser), {"date": "2027-03-28", "start": "03:30", "end": "05:00"}
    )

    assertContains(response, "03:30 does not exist on", status_code=400)
    assert not Reservation.objects.exists()


def test_an_untrained_member_is_told_which_skill_is_missing(client, untrained, laser) -> None:
    client.force_login(untrained)
    start, end = slot(days=2, hour=10)

    page = client.get(machine_url(laser))
    refused = client.post(machine_url(laser), form_of(start, end))

    assertContains(page, "You need the “Laser basics” skill to book this machine.")
    assert refused.status_code == 403
    assertContains(
        refused,
        "Booking Laser cutter needs training you do not hold yet: Laser basics.",
        status_code=403,
    )
    assert not Reservation.objects.exists()


def test_a_taken_slot_offers_the_waitlist_and_joining_queues_the_member(
    member_client, member, other_member, laser
) -> None:
    start, end = slot(days=2, hour=10)
    booked(laser, other_member, start, end)

    refused = member_client.post(machine_url(laser), form_of(start, end))

    assert refused.status_code == 409
    assertContains(refused, "Laser cutter is already booked at that time.", status_code=409)
    assertContains(refused, f'action="{waitlist_url(laser)}"', status_code=409)
    assertContains(refused, "Join the waitlist for this slot", status_code=409)
    assert Reservation.objects.filter(user=member).count() == 0

    joined = member_client.post(waitlist_url(laser), form_of(start, end), follow=True)

    assertRedirects(joined, MY_BOOKINGS)
    entry = WaitlistEntry.objects.get(user=member)
    assert (entry.equipment, entry.start_time, entry.end_time) == (laser, start, end)
    assert entry.status == WaitlistStatus.WAITING
    assertContains(joined, "You are on the waitlist for Laser cutter")
    assertContains(joined, reverse("equipment:waitlist-leave", kwargs={"entry_id": entry.pk}))


def test_joining_the_waitlist_for_a_free_slot_says_to_book_it(member_client, member, laser) -> None:
    start, end = slot(days=2, hour=10)

    response = member_client.post(waitlist_url(laser), form_of(start, end), follow=True)

    assertContains(response, "This slot is free: book it instead of waiting.")
    assert not WaitlistEntry.objects.exists()


# --- my bookings --------------------------------------------------------------------------


def test_my_bookings_lists_upcoming_and_past_in_local_time(member_client, member, laser) -> None:
    upcoming_start, upcoming_end = slot(days=1, hour=10)
    past_start, past_end = slot(days=-3, hour=18)
    booked(laser, member, upcoming_start, upcoming_end)
    booked(laser, member, past_start, past_end, status=ReservationStatus.COMPLETED)

    response = member_client.get(MY_BOOKINGS)

    assert response.status_code == 200
    html = response.content.decode()
    upcoming, past = html.split("Past and cancelled")
    assert "<strong>10:00–11:00</strong>" in upcoming
    assert "Confirmed" in upcoming
    assert "18:00–19:00" in past
    assert "Completed" in past
    assertContains(
        response,
        reverse(
            "equipment:reservation-cancel", args=[Reservation.objects.get(status="confirmed").pk]
        ),
    )


def test_cancel_from_my_bookings(member_client, member, laser) -> None:
    reservation = booked(laser, member, *slot(days=1, hour=10))

    response = member_client.post(
        reverse("equipment:reservation-cancel", kwargs={"reservation_id": reservation.pk}),
        follow=True,
    )

    assertRedirects(response, MY_BOOKINGS)
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CANCELLED
    assert reservation.cancelled_by == member
    assertContains(response, "Cancelled Laser cutter")


def test_a_started_booking_cannot_be_cancelled_by_the_member(member_client, member, laser) -> None:
    now = timezone.now()
    reservation = booked(laser, member, now - timedelta(minutes=5), now + timedelta(minutes=55))

    response = member_client.post(
        reverse("equipment:reservation-cancel", kwargs={"reservation_id": reservation.pk}),
        follow=True,
    )

    assertContains(response, "The booking has started; ask the staff to cancel it.")
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONFIRMED


def test_someone_elses_booking_cannot_be_cancelled_from_my_bookings(
    member_client, other_member, laser
) -> None:
    theirs = booked(laser, other_member, *slot(days=1, hour=10))

    response = member_client.post(
        reverse("equipment:reservation-cancel", kwargs={"reservation_id": theirs.pk})
    )

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == ReservationStatus.CONFIRMED


def test_check_in_and_check_out_when_allowed(member_client, member, laser) -> None:
    now = timezone.now()
    reservation = booked(laser, member, now - timedelta(minutes=5), now + timedelta(minutes=55))
    later = booked(laser, member, *slot(days=3, hour=10))
    check_in = reverse("equipment:reservation-check-in", kwargs={"reservation_id": reservation.pk})
    check_out = reverse(
        "equipment:reservation-check-out", kwargs={"reservation_id": reservation.pk}
    )

    before = member_client.get(MY_BOOKINGS)
    member_client.post(check_in)
    during = member_client.get(MY_BOOKINGS)
    member_client.post(check_out)

    assertContains(before, check_in)
    assertNotContains(
        before, reverse("equipment:reservation-check-in", kwargs={"reservation_id": later.pk})
    )
    assertContains(during, check_out)
    assertNotContains(during, check_in)
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.COMPLETED
    assert reservation.checked_in_at is not None
    assert reservation.used_minutes is not None


def test_claim_an_offered_slot_and_leave_a_waitlist(member_client, member, laser) -> None:
    offered_start, offered_end = slot(days=2, hour=10)
    offered = WaitlistEntry.objects.create(
        makerspace=laser.makerspace,
        equipment=laser,
        user=member,
        start_time=offered_start,
        end_time=offered_end,
        status=WaitlistStatus.OFFERED,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(hours=1),
    )
    waiting = WaitlistEntry.objects.create(
        makerspace=laser.makerspace,
        equipment=laser,
        user=member,
        start_time=slot(days=4, hour=10)[0],
        end_time=slot(days=4, hour=10)[1],
    )
    claim = reverse("equipment:waitlist-claim", kwargs={"entry_id": offered.pk})

    page = member_client.get(MY_BOOKINGS)
    member_client.post(claim)
    member_client.post(reverse("equipment:waitlist-leave", kwargs={"entry_id": waiting.pk}))

    assertContains(page, claim)
    assertNotContains(page, reverse("equipment:waitlist-claim", kwargs={"entry_id": waiting.pk}))
    offered.refresh_from_db()
    waiting.refresh_from_db()
    assert offered.status == WaitlistStatus.BOOKED
    assert Reservation.objects.get(user=member).start_time == offered_start
    assert waiting.status == WaitlistStatus.CANCELLED


# --- who may see the pages ------------------------------------------------------------------


def test_outsiders_get_404_and_book_nothing(client, laser) -> None:
    client.force_login(UserFactory.create())
    start, end = slot(days=2, hour=10)

    listing = client.get(list_url(laser.makerspace))
    machine = client.get(machine_url(laser))
    booking = client.post(machine_url(laser), form_of(start, end))
    waiting = client.post(waitlist_url(laser), form_of(start, end))

    assert [r.status_code for r in (listing, machine, booking, waiting)] == [404] * 4
    assert not Reservation.objects.exists()
    assert not WaitlistEntry.objects.exists()


def test_a_machine_of_another_space_is_404_under_this_space(member_client, space) -> None:
    elsewhere = EquipmentFactory.create(makerspace=MakerspaceFactory.create())
    url = reverse("equipment:machine", kwargs={"slug": space.slug, "equipment_id": elsewhere.pk})

    assert member_client.get(url).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, laser) -> None:
    response = client.get(machine_url(laser))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_the_space_page_links_members_to_booking(member_client, space) -> None:
    response = member_client.get(reverse("makerspaces:detail", kwargs={"slug": space.slug}))

    assertContains(response, f'href="{list_url(space)}"')
    assertContains(response, f'href="{MY_BOOKINGS}"')


# --- query counts -----------------------------------------------------------------------------


def _machines_with_skills_and_bookings(space: Makerspace, count: int, booker: Any) -> None:
    skills = [SkillFactory.create(makerspace=space) for _ in range(2)]
    now = timezone.now()
    for index in range(count):
        machine = EquipmentFactory.create(makerspace=space)
        machine.skill_requirements.add(*skills)
        booked(machine, booker, now + timedelta(hours=index), now + timedelta(hours=index + 1))


def test_list_query_count_is_constant(
    member_client, member, space, django_assert_max_num_queries
) -> None:
    _machines_with_skills_and_bookings(space, 1, member)
    with django_assert_max_num_queries(10) as small:
        member_client.get(list_url(space))

    _machines_with_skills_and_bookings(space, 25, member)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = member_client.get(list_url(space))
    assert response.content.decode().count('<tr class="machine-row">') == 26


def test_timetable_query_count_is_constant(
    member_client, member, other_member, laser, django_assert_max_num_queries
) -> None:
    day = slot(days=1)[0].date()
    monday = day - timedelta(days=day.weekday())
    first_day = datetime(monday.year, monday.month, monday.day, 6, tzinfo=KYIV)
    booked(laser, member, first_day, first_day + timedelta(hours=1))
    url = machine_url(laser, view="week", date=monday.isoformat())
    with django_assert_max_num_queries(15) as small:
        member_client.get(url)

    for index in range(1, 30):
        start = first_day + timedelta(hours=3 * index)
        booked(laser, other_member if index % 2 else member, start, start + timedelta(hours=2))
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = member_client.get(url)
    html = response.content.decode()
    assert len(blocks(html, "yours")) + len(blocks(html, "booked")) >= 30


def test_my_bookings_query_count_is_constant(
    member_client, member, laser, printer, django_assert_max_num_queries
) -> None:
    booked(laser, member, *slot(days=1, hour=10))
    booked(laser, member, *slot(days=-1, hour=10), status=ReservationStatus.COMPLETED)
    with django_assert_max_num_queries(8) as small:
        member_client.get(MY_BOOKINGS)

    for day in range(2, 12):
        booked(printer, member, *slot(days=day, hour=9))
        booked(laser, member, *slot(days=-day, hour=9), status=ReservationStatus.COMPLETED)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = member_client.get(MY_BOOKINGS)
    assert response.content.decode().count('<tr class="booking-row">') == 22


# --- in Ukrainian -----------------------------------------------------------------------------


def test_a_member_with_the_ukrainian_locale_sees_the_machines_in_ukrainian(
    member_client, member, space, laser
) -> None:
    member.locale = "uk"
    member.save(update_fields=["locale"])

    listing = member_client.get(list_url(space), HTTP_ACCEPT_LANGUAGE="en")
    page = member_client.get(machine_url(laser), HTTP_ACCEPT_LANGUAGE="en")

    assertContains(listing, '<html lang="uk">')
    assertContains(listing, f"Обладнання {space.name}")
    assertContains(listing, "Зараз вільне")
    assertContains(listing, "Потрібні навички")
    assertContains(listing, "UAH/год")
    for english in ("Machines of", "Free now", "Required skills", "UAH/h"):
        assertNotContains(listing, english)

    assertContains(page, '<html lang="uk">')
    assertContains(page, "Забронювати це обладнання")
    assertContains(page, "Доступне")
    assertContains(page, "Попередній тиждень")
    assertContains(page, "Лазерний різак")
    for english in ("Book this machine", "Available", "Previous week", "Required skills"):
        assertNotContains(page, english)
