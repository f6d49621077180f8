"""Which bookings the rules let through: windows, opening hours, limits, overrides,
approval, skills, machine status, and the same answers in every timezone."""

from datetime import UTC, date, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.equipment.models import BookingRules, Equipment, EquipmentRules, Reservation
from apps.makerspaces.hours import WEEKDAYS
from apps.makerspaces.models import Makerspace, Membership, MemberSkill
from tests.equipment.conftest import KYIV, slot
from tests.factories import (
    ClosureFactory,
    EquipmentFactory,
    MembershipFactory,
    SkillFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

NINE_TO_SIX = {day: [["09:00", "18:00"]] for day in WEEKDAYS}
PLUS_TWO = dt_timezone(timedelta(hours=2))
PLUS_THREE = dt_timezone(timedelta(hours=3))


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def book(user: User, machine: Equipment, start: Any, end: Any) -> Any:
    """POST a booking; ``start``/``end`` are datetimes or the exact strings to send."""
    return client_of(user).post(
        f"/api/v1/makerspaces/{machine.makerspace_id}/reservations/",
        {
            "equipment": str(machine.pk),
            "start_time": start if isinstance(start, str) else start.isoformat(),
            "end_time": end if isinstance(end, str) else end.isoformat(),
        },
        format="json",
    )


def assert_rule(response: Any, rule: str, words: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "BOOKING_RULE_VIOLATION"
    assert error["details"]["rule"] == rule
    assert words in error["message"], error["message"]


def trained_member(space: Makerspace, *skills: Any) -> User:
    membership = MembershipFactory.create(makerspace=space, role="member")
    for skill in skills:
        MemberSkill.objects.create(membership=membership, skill=skill)
    return membership.user


# --- the window itself ----------------------------------------------------------------


def _reversed() -> tuple[datetime, datetime]:
    start, end = slot(days=1)
    return end, start


def _zero_length() -> tuple[datetime, datetime]:
    start, _ = slot(days=1)
    return start, start


BAD_WINDOWS = [
    pytest.param(_reversed, "end_after_start", "must end after it starts", id="end before start"),
    pytest.param(_zero_length, "end_after_start", "must end after it starts", id="zero length"),
    pytest.param(lambda: slot(days=-1), "not_in_past", "cannot start in the past", id="past"),
    pytest.param(lambda: slot(days=61), "horizon_days", "at most 60 days ahead", id="horizon"),
    pytest.param(lambda: slot(minutes=15), "min_minutes", "at least 30 min", id="too short"),
    pytest.param(lambda: slot(minutes=9 * 60), "max_minutes", "at most 8 h", id="too long"),
    pytest.param(
        lambda: slot(minute=10, minutes=60), "granularity_minutes", "15-minute steps", id="10:10"
    ),
]


@pytest.mark.parametrize(("window", "rule", "words"), BAD_WINDOWS)
def test_a_bad_window_is_refused_naming_the_rule(
    laser: Equipment, member: User, window: Any, rule: str, words: str
) -> None:
    # Given a trained member and a window that breaks one rule
    start, end = window()

    # When they book it
    response = book(member, laser, start, end)

    # Then the answer names the rule, and nothing is booked
    assert_rule(response, rule, words)
    assert not Reservation.objects.exists()


def test_opening_hours_and_closures_bound_bookings(laser_skill: Any) -> None:
    # Given a space open 09:00–18:00 and closed on one day
    space = laser_skill.makerspace
    space.business_hours = NINE_TO_SIX
    space.save()
    machine = EquipmentFactory.create(makerspace=space)
    member = trained_member(space)
    closed_day = (timezone.now().astimezone(KYIV) + timedelta(days=3)).date()
    ClosureFactory.create(makerspace=space, date=closed_day)

    # When a member books before opening, past closing, on the closed day, and inside
    early = book(member, machine, *slot(days=2, hour=8))
    late = book(member, machine, *slot(days=2, hour=17, minutes=90))
    closed = book(member, machine, *slot(days=3, hour=10))
    inside = book(member, machine, *slot(days=2, hour=9, minutes=9 * 60 - 60))

    # Then only the booking inside the opening hours goes through
    assert_rule(early, "business_hours", "not open for the whole of that time")
    assert_rule(late, "business_hours", "local time")
    assert_rule(closed, "business_hours", "not open")
    assert inside.status_code == 201, inside.content


def test_a_member_may_hold_only_so_many_upcoming_bookings(laser: Equipment, member: User) -> None:
    # Given a space allowing two upcoming bookings per member, and one cancelled booking
    BookingRules.objects.create(makerspace=laser.makerspace, max_active_per_member=2)
    cancelled_start, cancelled_end = slot(days=1, hour=8)
    Reservation.objects.create(
        makerspace=laser.makerspace,
        equipment=laser,
        user=member,
        start_time=cancelled_start,
        end_time=cancelled_end,
        block_end=cancelled_end,
        status="cancelled",
    )

    # When the member books three times
    answers = [book(member, laser, *slot(days=1, hour=hour)) for hour in (10, 12, 14)]

    # Then the third is refused with the limit, and the cancelled one did not count
    assert [answer.status_code for answer in answers[:2]] == [201, 201]
    assert_rule(answers[2], "max_active_per_member", "the limit is 2")
    assert answers[2].json()["error"]["details"]["limit"] == 2


def test_a_machines_own_rules_win_over_the_spaces(
    space: Makerspace, laser: Equipment, member: User
) -> None:
    # Given a space allowing two hours, and a laser allowing four but only on half hours
    BookingRules.objects.create(makerspace=space, max_minutes=120)
    EquipmentRules.objects.create(equipment=laser, max_minutes=240, granularity_minutes=30)
    drill = EquipmentFactory.create(makerspace=space, name="Drill press", type="tool")

    # When the member books three hours and a quarter-hour start on each machine
    long_laser = book(member, laser, *slot(days=1, hour=9, minutes=180))
    long_drill = book(member, drill, *slot(days=1, hour=9, minutes=180))
    quarter_laser = book(member, laser, *slot(days=2, hour=9, minute=15))
    quarter_drill = book(member, drill, *slot(days=2, hour=9, minute=15))

    # Then the laser follows its own rules, and the drill the space's
    assert long_laser.status_code == 201, long_laser.content
    assert_rule(long_drill, "max_minutes", "at most 2 h")
    assert_rule(quarter_laser, "granularity_minutes", "30-minute steps")
    assert quarter_drill.status_code == 201, quarter_drill.content


# --- approval ---------------------------------------------------------------------------


def test_a_booking_needing_approval_waits_until_a_manager_decides(
    django_capture_on_commit_callbacks: Any,
    laser: Equipment,
    member: User,
    manager: User,
) -> None:
    # Given a laser whose bookings need a manager's approval
    EquipmentRules.objects.create(equipment=laser, requires_approval=True)
    base = f"/api/v1/makerspaces/{laser.makerspace_id}/reservations"

    # When the member books two slots, the manager approves one and rejects the other
    with django_capture_on_commit_callbacks(execute=True):
        first = book(member, laser, *slot(days=1, hour=10))
        second = book(member, laser, *slot(days=1, hour=12))
    assert [first.json()["status"], second.json()["status"]] == ["pending", "pending"]
    subjects_when_booked = [message.subject for message in mail.outbox]
    refused = client_of(member).post(f"{base}/{first.json()['id']}/approve")
    with django_capture_on_commit_callbacks(execute=True):
        approved = client_of(manager).post(f"{base}/{first.json()['id']}/approve")
        rejected = client_of(manager).post(
            f"{base}/{second.json()['id']}/reject", {"reason": "A class needs it."}, format="json"
        )

    # Then the member may not decide, the manager's decisions stick, and each was emailed
    assert all(subject.startswith("Waiting for approval:") for subject in subjects_when_booked)
    assert len(subjects_when_booked) == 2
    assert refused.status_code == 403
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "confirmed"
    assert rejected.json()["status"] == "cancelled"
    assert rejected.json()["cancel_reason"] == "A class needs it."
    decisions = mail.outbox[2:]
    assert [message.to for message in decisions] == [[member.email], [member.email]]
    assert decisions[0].subject.startswith("Booked: Laser cutter")
    assert decisions[1].subject.startswith("Not approved: Laser cutter")
    assert "A class needs it." in decisions[1].body
    statuses = dict(Reservation.objects.values_list("pk", "status"))
    assert sorted(statuses.values()) == ["cancelled", "confirmed"]


# --- skills and machine status ----------------------------------------------------------


def test_a_member_without_the_skills_is_told_which_are_missing(
    space: Makerspace, laser: Equipment, laser_skill: Any, untrained: User
) -> None:
    # Given a laser needing two skills, a member holding neither, one holding one, and one
    # whose laser grant expired
    safety = SkillFactory.create(makerspace=space, slug="workshop-safety")
    laser.skill_requirements.add(safety)
    half_trained = trained_member(space, safety)
    lapsed = trained_member(space, safety)
    MemberSkill.objects.create(
        membership=Membership.objects.get(user=lapsed),
        skill=laser_skill,
        expires_at=timezone.now() - timedelta(days=1),
    )

    # When each of them books
    answers = [book(user, laser, *slot(days=1)) for user in (untrained, half_trained, lapsed)]

    # Then all are refused, naming the missing (or expired) skills
    assert [answer.status_code for answer in answers] == [403, 403, 403]
    errors = [answer.json()["error"] for answer in answers]
    assert {error["code"] for error in errors} == {"SKILL_REQUIRED"}
    assert [error["details"]["missing"] for error in errors] == [
        ["laser-basic", "workshop-safety"],
        ["laser-basic"],
        ["laser-basic"],
    ]
    assert "laser-basic, workshop-safety" in errors[0]["message"]
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("machine_status", ["maintenance", "offline"])
def test_a_machine_out_of_service_cannot_be_booked(
    laser: Equipment, member: User, machine_status: str
) -> None:
    # Given a laser that is out of service
    Equipment.objects.filter(pk=laser.pk).update(status=machine_status)

    # When a trained member books it
    response = book(member, laser, *slot(days=1))

    # Then the machine is unavailable
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "EQUIPMENT_UNAVAILABLE"
    assert response.json()["error"]["details"]["status"] == machine_status
    assert not Reservation.objects.exists()


def test_a_machine_in_use_now_can_be_booked_for_later(laser: Equipment, member: User) -> None:
    # Given a laser someone is using right now
    Equipment.objects.filter(pk=laser.pk).update(status="in_use")

    # When a trained member books it for tomorrow
    response = book(member, laser, *slot(days=1))

    # Then the booking goes through
    assert response.status_code == 201, response.content


def test_maintenance_cancels_future_bookings_and_tells_their_members(
    django_capture_on_commit_callbacks: Any,
    space: Makerspace,
    laser: Equipment,
    laser_skill: Any,
    member: User,
    manager: User,
) -> None:
    # Given two members with bookings ahead, and a finished booking
    other = trained_member(space, laser_skill)
    ahead = [
        book(member, laser, *slot(days=1)).json()["id"],
        book(other, laser, *slot(days=2)).json()["id"],
    ]
    past_start, past_end = slot(days=-2)
    done = Reservation.objects.create(
        makerspace=space,
        equipment=laser,
        user=member,
        start_time=past_start,
        end_time=past_end,
        block_end=past_end,
        status="completed",
    )
    mail.outbox.clear()

    # When a manager puts the laser into maintenance
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(manager).patch(
            f"/api/v1/makerspaces/{space.pk}/equipment/{laser.pk}/",
            {"status": "maintenance"},
            format="json",
        )

    # Then the bookings ahead are cancelled and their members emailed; the past one stays
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "maintenance"
    cancelled = Reservation.objects.filter(pk__in=ahead)
    assert {row.status for row in cancelled} == {"cancelled"}
    assert {row.cancelled_by_id for row in cancelled} == {manager.pk}
    assert all("out of service" in row.cancel_reason for row in cancelled)
    done.refresh_from_db()
    assert done.status == "completed"
    assert sorted(message.to[0] for message in mail.outbox) == sorted([member.email, other.email])
    assert all(message.subject.startswith("Cancelled: Laser cutter") for message in mail.outbox)


# --- timezones ----------------------------------------------------------------------------


@pytest.fixture
def kyiv_nine_to_six(laser_skill: Any) -> tuple[Equipment, User]:
    space = laser_skill.makerspace
    space.business_hours = NINE_TO_SIX
    space.save()
    machine = EquipmentFactory.create(makerspace=space)
    return machine, trained_member(space)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(_utc, id="UTC with Z"),
        pytest.param(lambda moment: moment.astimezone(PLUS_TWO).isoformat(), id="+02:00"),
        pytest.param(lambda moment: moment.astimezone(PLUS_THREE).isoformat(), id="+03:00"),
        pytest.param(lambda moment: moment.astimezone(KYIV).isoformat(), id="Kyiv"),
    ],
)
def test_the_same_instants_get_the_same_answer_in_any_offset(
    kyiv_nine_to_six: tuple[Equipment, User], spell: Any
) -> None:
    # Given a Kyiv space open 09:00–18:00 local time
    machine, member = kyiv_nine_to_six
    opening = slot(days=2, hour=9)
    before_opening = slot(days=3, hour=8)

    # When the member sends the same instants written in some offset
    inside = book(member, machine, *(spell(moment) for moment in opening))
    outside = book(member, machine, *(spell(moment) for moment in before_opening))

    # Then 09:00 local is booked at that instant, and 08:00 local is outside the hours
    assert inside.status_code == 201, inside.content
    stored = Reservation.objects.get()
    assert (stored.start_time, stored.end_time) == opening
    assert datetime.fromisoformat(inside.json()["start_time"]) == opening[0]
    assert_rule(outside, "business_hours", "not open")


def _next_last_sunday(month: int) -> date:
    """The next last Sunday of ``month`` (the EU's clock-change day) whose Saturday is
    still ahead too, so neither day's morning has passed."""
    today = timezone.now().astimezone(KYIV).date()
    year = today.year
    while True:
        day = date(year, month + 1, 1) - timedelta(days=1)
        day -= timedelta(days=(day.weekday() - 6) % 7)
        if day - timedelta(days=1) > today:
            return day
        year += 1


@pytest.mark.parametrize(
    ("month", "utc_hour_of_nine"),
    [pytest.param(3, 6, id="spring forward"), pytest.param(10, 7, id="fall back")],
)
def test_opening_hours_follow_the_local_clock_on_dst_days(
    kyiv_nine_to_six: tuple[Equipment, User], month: int, utc_hour_of_nine: int
) -> None:
    # Given a clock-change Sunday within the booking horizon
    machine, member = kyiv_nine_to_six
    BookingRules.objects.create(makerspace=machine.makerspace, horizon_days=400)
    day = _next_last_sunday(month)
    nine = datetime(day.year, day.month, day.day, utc_hour_of_nine, tzinfo=UTC)

    # When the member books 09:00–10:00 local (sent in UTC), and 08:00–09:00 local
    at_nine = book(member, machine, _utc(nine), _utc(nine + timedelta(hours=1)))
    at_eight = book(member, machine, _utc(nine - timedelta(hours=1)), _utc(nine))

    # Then 09:00 is booked at the right UTC instant, and 08:00 is before opening
    assert at_nine.status_code == 201, at_nine.content
    stored = Reservation.objects.get()
    assert stored.start_time == nine
    assert stored.start_time.astimezone(KYIV).hour == 9
    assert_rule(at_eight, "business_hours", "08:00")


def test_the_day_before_spring_forward_keeps_the_winter_offset(
    kyiv_nine_to_six: tuple[Equipment, User],
) -> None:
    # Given the Saturday before the clocks go forward, still at +02:00
    machine, member = kyiv_nine_to_six
    BookingRules.objects.create(makerspace=machine.makerspace, horizon_days=400)
    saturday = _next_last_sunday(3) - timedelta(days=1)
    six_utc = datetime(saturday.year, saturday.month, saturday.day, 6, tzinfo=UTC)

    # When the member books 06:00–07:00 UTC, which is 09:00 local only from Sunday on
    response = book(member, machine, _utc(six_utc), _utc(six_utc + timedelta(hours=1)))

    # Then it is 08:00 local that day, before opening
    assert_rule(response, "business_hours", "08:00")
