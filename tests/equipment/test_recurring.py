"""Weekly recurring bookings: the preview that books nothing, booking the picked weeks in
one request, the space's local time across DST, and cancelling what is left of a series."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.exceptions import ApplicationError
from apps.equipment.models import BookingRules, Reservation, ReservationStatus
from apps.equipment.services.recurring import recurring_book, recurring_preview
from apps.equipment.services.reservations import reservation_create
from apps.makerspaces.models import Closure
from tests.equipment.conftest import KYIV, slot
from tests.factories import EquipmentFactory, MakerspaceFactory, MembershipFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def preview_url(space: Any) -> str:
    return f"/api/v1/makerspaces/{space.pk}/reservations/recurring/preview"


def book_url(space: Any) -> str:
    return f"/api/v1/makerspaces/{space.pk}/reservations/recurring"


def window(machine: Any, start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "equipment": str(machine.pk),
        "start_time": start.isoformat(),
        "end_time": end.isoformat(),
        **extra,
    }


def weekly(start: datetime, weeks: int) -> list[datetime]:
    """Wall-clock weekly repeats in Kyiv (aware + timedelta keeps the local time)."""
    return [start + timedelta(weeks=week) for week in range(weeks)]


def as_kyiv(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(KYIV)


def next_dst_change(after: datetime, *, forward: bool | None = None) -> date:
    """The first Kyiv day, after ``after``, whose noon has another UTC offset than the
    day before (``forward``: only a change to summer time)."""

    def offset(day: date) -> timedelta:
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=KYIV).utcoffset()
        assert noon is not None
        return noon

    day = after.astimezone(KYIV).date()
    while True:
        following = day + timedelta(days=1)
        if offset(following) != offset(day) and (
            forward is None or (offset(following) > offset(day)) == forward
        ):
            return following
        day = following


def book_single(machine: Any, user: Any, days: int) -> Reservation:
    start, end = slot(days=days, hour=8)
    return reservation_create(equipment=machine, user=user, start=start, end=end, acting_user=user)


# --- the preview ---------------------------------------------------------------------------


def test_preview_lists_every_week_up_to_the_horizon_and_books_nothing(space, laser, member):
    # Given a trained member, the default 60-day horizon and room for many bookings
    BookingRules.objects.create(makerspace=space, max_active_per_member=20)
    start, end = slot(days=1, hour=10, minutes=60)

    # When they preview a weekly booking without an end
    response = client_for(member).post(preview_url(space), window(laser, start, end))

    # Then every week up to the horizon is listed as bookable, and nothing was written
    assert response.status_code == 200, response.content
    body = response.json()
    starts = [as_kyiv(week["start_time"]) for week in body["occurrences"]]
    assert starts == weekly(start, 9)  # day 1 + 8 weeks = day 57, day 64 is past 60 days
    assert all(week["ok"] and week["reason"] is None for week in body["occurrences"])
    assert body["bookable_count"] == 9
    assert body["capped_by_horizon"] is False
    assert body["requires_approval"] is False
    assert (body["booking_limit"], body["upcoming_bookings"]) == (20, 0)
    assert Reservation.objects.count() == 0


def test_preview_names_the_week_another_member_holds(space, laser, member):
    # Given another member's booking on the third week
    start, end = slot(days=2, hour=14, minutes=90)
    other = MembershipFactory.create(makerspace=space).user
    laser.skill_requirements.clear()
    taken = reservation_create(
        equipment=laser,
        user=other,
        start=start + timedelta(weeks=2, minutes=30),
        end=end + timedelta(weeks=2),
        acting_user=other,
    )

    # When the member previews four weeks
    response = client_for(member).post(preview_url(space), window(laser, start, end, count=4))

    # Then that week is a conflict, the others are free
    assert response.status_code == 200, response.content
    weeks = response.json()["occurrences"]
    assert [week["ok"] for week in weeks] == [True, True, False, True]
    assert weeks[2]["reason"]["code"] == "RESERVATION_CONFLICT"
    assert "already booked" in weeks[2]["reason"]["message"]
    assert Reservation.objects.get() == taken


def test_preview_for_a_member_without_the_skill_names_it_on_every_week(space, laser, untrained):
    # Given a member without laser-basic
    start, end = slot(days=1)

    # When they preview three weeks
    response = client_for(untrained).post(preview_url(space), window(laser, start, end, count=3))

    # Then each week says which skill is missing
    assert response.status_code == 200, response.content
    reasons = [week["reason"] for week in response.json()["occurrences"]]
    assert [reason["code"] for reason in reasons] == ["SKILL_REQUIRED"] * 3
    assert reasons[0]["details"] == {"missing": ["laser-basic"]}


def test_preview_names_the_rule_a_week_breaks(space, laser, member):
    # Given a closure on the second week's day
    start, end = slot(days=3, hour=9, minutes=60)
    Closure.objects.create(makerspace=space, date=(start + timedelta(weeks=1)).date())

    # When the member previews three weeks
    response = client_for(member).post(preview_url(space), window(laser, start, end, count=3))

    # Then that week breaks the business-hours rule, with the message a booking would get
    weeks = response.json()["occurrences"]
    assert [week["ok"] for week in weeks] == [True, False, True]
    assert weeks[1]["reason"]["code"] == "BOOKING_RULE_VIOLATION"
    assert weeks[1]["reason"]["details"]["rule"] == "business_hours"
    assert "is not open" in weeks[1]["reason"]["message"]


def test_preview_counts_each_week_against_the_booking_limit(space, laser, member):
    # Given a member who holds 3 upcoming bookings of the 5 allowed
    for days in (1, 2, 3):
        book_single(laser, member, days)
    start, end = slot(days=4, hour=18)

    # When they preview four weeks
    response = client_for(member).post(preview_url(space), window(laser, start, end, count=4))

    # Then two weeks fit, and the others are refused by the limit rule
    body = response.json()
    assert [week["ok"] for week in body["occurrences"]] == [True, True, False, False]
    refused = body["occurrences"][2]["reason"]
    assert refused["code"] == "BOOKING_RULE_VIOLATION"
    assert refused["details"] == {"rule": "max_active_per_member", "limit": 5}
    assert (body["booking_limit"], body["upcoming_bookings"], body["bookable_count"]) == (5, 3, 2)


def test_preview_until_a_day_and_count_beyond_the_horizon(space, laser, member):
    # Given a weekly window
    start, end = slot(days=1)
    client = client_for(member)

    # When previewed until the third week's day, and for 20 weeks (past 60 days)
    until = client.post(
        preview_url(space),
        window(laser, start, end, until=(start + timedelta(weeks=2)).date().isoformat()),
    )
    many = client.post(preview_url(space), window(laser, start, end, count=20))

    # Then the first stops on that day, the second at the horizon and says so
    assert len(until.json()["occurrences"]) == 3
    assert until.json()["capped_by_horizon"] is False
    assert len(many.json()["occurrences"]) == 9
    assert many.json()["capped_by_horizon"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 3, "until": "2099-01-01"}, "until"),
        ({"end_time": "2020-01-01T00:00:00+00:00"}, "end_time"),
        ({"colour": "red"}, "colour"),
    ],
    ids=["zero weeks", "until and count", "end before start", "unknown field"],
)
def test_preview_rejects_a_bad_request(space, laser, member, change, field):
    # Given a request with one thing wrong
    start, end = slot(days=1)
    body = {**window(laser, start, end), **change}

    # When previewed
    response = client_for(member).post(preview_url(space), body)

    # Then it is a 400 naming the field
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]


def test_preview_of_another_spaces_machine_is_a_validation_error(space, member):
    # Given a machine of another space
    elsewhere = EquipmentFactory.create(makerspace=MakerspaceFactory.create())
    start, end = slot(days=1)

    # When the member previews it in their own space
    response = client_for(member).post(preview_url(space), window(elsewhere, start, end))

    # Then it does not exist here
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "equipment": ["No such machine in this makerspace."]
    }


# --- local time across DST -----------------------------------------------------------------


def test_a_10_oclock_booking_stays_at_10_local_across_the_clock_change(space, laser, member):
    # Given a long horizon and a 10:00 Kyiv booking the week before the clocks change
    BookingRules.objects.create(makerspace=space, horizon_days=400)
    change = next_dst_change(timezone.now() + timedelta(days=2))
    first_day = max(
        timezone.now().astimezone(KYIV).date() + timedelta(days=1), change - timedelta(7)
    )
    start = datetime(first_day.year, first_day.month, first_day.day, 10, tzinfo=KYIV)
    end = start + timedelta(hours=2)

    # When the member previews three weeks and books them
    client = client_for(member)
    preview = client.post(preview_url(space), window(laser, start, end, count=3))
    picked = [week["start_time"] for week in preview.json()["occurrences"]]
    booked = client.post(book_url(space), {**window(laser, start, end), "occurrences": picked})

    # Then every week starts at 10:00 and ends at 12:00 local, though the UTC hour moves
    assert booked.status_code == 201, booked.content
    weeks = preview.json()["occurrences"]
    assert [as_kyiv(week["start_time"]).strftime("%H:%M") for week in weeks] == ["10:00"] * 3
    assert [as_kyiv(week["end_time"]).strftime("%H:%M") for week in weeks] == ["12:00"] * 3
    offsets = {datetime.fromisoformat(week["start_time"]).utcoffset() for week in weeks}
    assert offsets == {timedelta(hours=2), timedelta(hours=3)}
    stored = Reservation.objects.order_by("start_time")
    assert [r.start_time.astimezone(KYIV).hour for r in stored] == [10, 10, 10]
    assert len({r.start_time.astimezone(UTC).hour for r in stored}) == 2


def test_a_week_whose_local_time_is_skipped_by_the_clocks_is_refused(space, laser, member):
    # Given a 03:15 booking on the Sunday a week before the clocks go forward (03:00→04:00)
    BookingRules.objects.create(makerspace=space, horizon_days=400)
    change = next_dst_change(timezone.now() + timedelta(days=8), forward=True)
    sunday = change - timedelta(days=7)
    start = datetime(sunday.year, sunday.month, sunday.day, 3, 15, tzinfo=KYIV)

    # When the member previews two weeks
    response = client_for(member).post(
        preview_url(space), window(laser, start, start + timedelta(minutes=30), count=2)
    )

    # Then the second week does not exist in local time and says so
    weeks = response.json()["occurrences"]
    assert [week["ok"] for week in weeks] == [True, False]
    assert weeks[1]["reason"]["details"]["rule"] == "local_time_exists"
    assert "clocks go forward" in weeks[1]["reason"]["message"]


# --- booking the picked weeks --------------------------------------------------------------


def test_booking_the_picked_weeks_shares_a_series_and_reports_a_week_taken_meanwhile(
    space, laser, member, django_capture_on_commit_callbacks
):
    # Given a preview of four free weeks, and a week taken by someone else afterwards
    start, end = slot(days=1, hour=11)
    client = client_for(member)
    preview = client.post(preview_url(space), window(laser, start, end, count=4)).json()
    assert preview["bookable_count"] == 4
    other = MembershipFactory.create(makerspace=space).user
    laser.skill_requirements.clear()
    reservation_create(
        equipment=laser,
        user=other,
        start=start + timedelta(weeks=3),
        end=end + timedelta(weeks=3),
        acting_user=other,
    )
    mail.outbox.clear()

    # When the member books the first, second and fourth week
    picked = [preview["occurrences"][week]["start_time"] for week in (0, 1, 3)]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            book_url(space),
            {**window(laser, start, end), "occurrences": picked, "notes": "Course"},
        )

    # Then two are booked in one series, the taken one is refused with its reason
    assert response.status_code == 201, response.content
    body = response.json()
    assert [as_kyiv(r["start_time"]) for r in body["booked"]] == [
        start,
        start + timedelta(weeks=1),
    ]
    assert {r["series_id"] for r in body["booked"]} == {body["series_id"]}
    assert [as_kyiv(r["start_time"]) for r in body["refused"]] == [start + timedelta(weeks=3)]
    assert body["refused"][0]["ok"] is False
    assert body["refused"][0]["reason"]["code"] == "RESERVATION_CONFLICT"
    mine = Reservation.objects.filter(user=member).order_by("start_time")
    assert [str(r.series_id) for r in mine] == [body["series_id"]] * 2
    assert {r.status for r in mine} == {ReservationStatus.CONFIRMED}
    assert {r.notes for r in mine} == {"Course"}
    assert len(mail.outbox) == 2


def test_booking_counts_each_week_against_the_limit(space, laser, member):
    # Given a member with no bookings and a limit of 5
    start, end = slot(days=1, hour=16)
    picked = weekly(start, 7)

    # When they book seven weeks
    series = recurring_book(
        equipment=laser,
        user=member,
        start=start,
        end=end,
        occurrences=picked,
        acting_user=member,
    )

    # Then five are booked and the last two are refused by the limit rule
    assert [r.start_time for r in series.booked] == picked[:5]
    assert [o.start for o in series.refused] == picked[5:]
    assert all(
        o.reason and o.reason.details["rule"] == "max_active_per_member" for o in series.refused
    )
    assert Reservation.objects.filter(series_id=series.series_id).count() == 5


def test_booking_weeks_that_need_approval_leaves_them_pending(space, laser, member):
    # Given a space whose bookings need a manager's approval
    BookingRules.objects.create(makerspace=space, requires_approval=True)
    start, end = slot(days=2)

    # When the member books three weeks
    response = client_for(member).post(
        book_url(space),
        {**window(laser, start, end), "occurrences": [s.isoformat() for s in weekly(start, 3)]},
    )

    # Then all three wait for approval
    assert response.status_code == 201, response.content
    assert [r["status"] for r in response.json()["booked"]] == ["pending"] * 3


def test_a_pick_off_the_weekly_pattern_is_refused_and_nothing_booked(space, laser, member):
    # Given a pick one day off the weekly repeat
    start, end = slot(days=1)
    picks = [start, start + timedelta(days=8)]

    # When booked
    response = client_for(member).post(
        book_url(space),
        {**window(laser, start, end), "occurrences": [p.isoformat() for p in picks]},
    )

    # Then it is a 400 naming it, and nothing was booked
    assert response.status_code == 400, response.content
    assert "not a weekly repeat" in response.json()["error"]["details"]["occurrences"][0]
    assert Reservation.objects.count() == 0


def test_booking_without_the_skill_is_refused_as_a_single_booking_is(space, laser, untrained):
    # Given a member without the skill
    start, end = slot(days=1)

    # When they book two weeks
    response = client_for(untrained).post(
        book_url(space),
        {**window(laser, start, end), "occurrences": [s.isoformat() for s in weekly(start, 2)]},
    )

    # Then 403 SKILL_REQUIRED names the skill, and nothing was booked
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SKILL_REQUIRED"
    assert response.json()["error"]["details"] == {"missing": ["laser-basic"]}
    assert Reservation.objects.count() == 0


def test_when_no_picked_week_can_be_booked_the_answer_is_a_conflict(space, laser, member):
    # Given both picked weeks taken by someone else
    start, end = slot(days=1, hour=12)
    other = MembershipFactory.create(makerspace=space).user
    laser.skill_requirements.clear()
    for week_start in weekly(start, 2):
        reservation_create(
            equipment=laser,
            user=other,
            start=week_start,
            end=week_start + (end - start),
            acting_user=other,
        )

    # When the member books them
    response = client_for(member).post(
        book_url(space),
        {**window(laser, start, end), "occurrences": [s.isoformat() for s in weekly(start, 2)]},
    )

    # Then 409 NOTHING_BOOKED lists each week's reason, and the member holds nothing
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "NOTHING_BOOKED"
    assert [week["reason"]["code"] for week in error["details"]["refused"]] == [
        "RESERVATION_CONFLICT"
    ] * 2
    assert not Reservation.objects.filter(user=member).exists()


def test_the_service_preview_writes_nothing_and_rejects_until_with_count(laser, member):
    # Given a weekly window
    start, end = slot(days=1)

    # When previewed with both until and count
    with pytest.raises(ApplicationError) as refused:
        recurring_preview(
            equipment=laser, user=member, start=start, end=end, until=start.date(), count=2
        )

    # Then it is refused, and nothing was written
    assert refused.value.code == "VALIDATION_ERROR"
    assert Reservation.objects.count() == 0


# --- cancelling a series -------------------------------------------------------------------


def _series(laser: Any, member: Any, weeks: int = 3) -> list[Reservation]:
    start, end = slot(days=1, hour=15)
    return recurring_book(
        equipment=laser,
        user=member,
        start=start,
        end=end,
        occurrences=weekly(start, weeks),
        acting_user=member,
    ).booked


def cancel_series_url(space: Any, reservation: Reservation) -> str:
    return f"/api/v1/makerspaces/{space.pk}/reservations/{reservation.pk}/cancel-series"


def test_a_member_cancels_the_rest_of_their_series(space, laser, member):
    # Given a three-week series whose first week has started, and a single booking
    first, second, third = _series(laser, member)
    Reservation.objects.filter(pk=first.pk).update(
        start_time=timezone.now() - timedelta(minutes=10)
    )
    single = book_single(laser, member, 5)

    # When the member cancels the series from its second booking
    response = client_for(member).post(cancel_series_url(space, second), {"reason": "Course moved"})

    # Then the two weeks still ahead are cancelled; the started one and the single stay
    assert response.status_code == 200, response.content
    assert {r["id"] for r in response.json()["cancelled"]} == {str(second.pk), str(third.pk)}
    statuses = dict(Reservation.objects.values_list("pk", "status"))
    assert statuses[first.pk] == ReservationStatus.CONFIRMED
    assert statuses[second.pk] == statuses[third.pk] == ReservationStatus.CANCELLED
    assert statuses[single.pk] == ReservationStatus.CONFIRMED
    assert Reservation.objects.get(pk=third.pk).cancel_reason == "Course moved"


def test_staff_cancel_a_members_series_and_others_do_not_see_it(space, laser, member, manager):
    # Given a member's series and another member
    series = _series(laser, member, weeks=2)
    other = MembershipFactory.create(makerspace=space).user

    # When another member tries to cancel it, then a manager does
    refused = client_for(other).post(cancel_series_url(space, series[0]), {})
    done = client_for(manager).post(cancel_series_url(space, series[0]), {})

    # Then the member gets a 404 and changes nothing; the manager cancels both weeks
    assert refused.status_code == 404
    assert done.status_code == 200, done.content
    assert len(done.json()["cancelled"]) == 2
    assert set(Reservation.objects.values_list("status", flat=True)) == {"cancelled"}


def test_cancelling_the_series_of_a_single_booking_is_a_conflict(space, laser, member):
    # Given a booking that is not part of a series
    single = book_single(laser, member, 2)

    # When the member cancels "its series"
    response = client_for(member).post(cancel_series_url(space, single), {})

    # Then 409 NOT_A_SERIES, and the booking stays
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NOT_A_SERIES"
    assert Reservation.objects.get().status == ReservationStatus.CONFIRMED
