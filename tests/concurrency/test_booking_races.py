"""Races on bookings: however many requests arrive at once, a machine is never
double-booked, and the database's exclusion constraint holds even without the service."""

import threading
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.equipment.models import BookingRules, Equipment, Reservation
from apps.makerspaces.models import Makerspace, MemberSkill
from tests.concurrency.helpers import run_together
from tests.conftest import bearer_client
from tests.equipment.conftest import ALWAYS_OPEN, slot
from tests.factories import EquipmentFactory, MakerspaceFactory, MembershipFactory, SkillFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.clock]

NO_OVERLAP = "reservation_no_overlap"


def trained_members(space: Makerspace, machine: Equipment, count: int) -> list[User]:
    skill = SkillFactory.create(makerspace=space, slug="laser-basic")
    machine.skill_requirements.add(skill)
    members = []
    for _ in range(count):
        membership = MembershipFactory.create(makerspace=space, role="member")
        MemberSkill.objects.create(membership=membership, skill=skill)
        members.append(membership.user)
    return members


def book(user: User, space: Makerspace, machine: Equipment, start: datetime, end: datetime):
    return bearer_client(user).post(
        f"/api/v1/makerspaces/{space.pk}/reservations/",
        {
            "equipment": str(machine.pk),
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
        },
        format="json",
    )


def holding(machine: Equipment) -> list[Reservation]:
    return list(
        Reservation.objects.filter(
            equipment=machine, status__in=("pending", "confirmed", "active")
        ).order_by("start_time")
    )


def test_fifty_members_booking_one_slot_at_once_make_one_booking() -> None:
    # Given a laser cutter and fifty members trained on it
    space = MakerspaceFactory.create(business_hours=ALWAYS_OPEN)
    machine = EquipmentFactory.create(makerspace=space)
    members = trained_members(space, machine, 50)
    start, end = slot(days=2, hour=10)

    # When all of them book the same hour at the same instant
    def attempt(index: int) -> tuple[int, str]:
        response = book(members[index], space, machine, start, end)
        return response.status_code, response.json().get("error", {}).get("code", "")

    outcomes = run_together(50, attempt)

    # Then exactly one wins, the others are told the slot is taken, and nothing broke
    assert Counter(status for status, _ in outcomes) == {201: 1, 409: 49}
    assert {code for status, code in outcomes if status == 409} == {"RESERVATION_CONFLICT"}
    rows = holding(machine)
    assert len(rows) == 1
    assert (rows[0].start_time, rows[0].end_time) == (start, end)
    assert [message.to for message in mail.outbox] == [[rows[0].user.email]]


def test_staggered_overlapping_bookings_never_overlap_each_other() -> None:
    # Given twenty members, each wanting an hour starting 15 minutes after the previous one
    space = MakerspaceFactory.create(business_hours=ALWAYS_OPEN)
    machine = EquipmentFactory.create(makerspace=space)
    members = trained_members(space, machine, 20)
    first_start, _ = slot(days=2, hour=8)
    windows = [
        (
            first_start + timedelta(minutes=15 * index),
            first_start + timedelta(minutes=15 * index + 60),
        )
        for index in range(20)
    ]

    # When they all book at once
    def attempt(index: int) -> tuple[int, str]:
        response = book(members[index], space, machine, *windows[index])
        return response.status_code, response.json().get("error", {}).get("code", "")

    outcomes = run_together(20, attempt)

    # Then the winners' hours do not overlap, every other request is a 409, no 500s
    won = [windows[index] for index, (status, _) in enumerate(outcomes) if status == 201]
    assert won
    assert Counter(status for status, _ in outcomes) == {201: len(won), 409: 20 - len(won)}
    assert {code for status, code in outcomes if status == 409} == {"RESERVATION_CONFLICT"}
    rows = holding(machine)
    assert sorted((row.start_time, row.end_time) for row in rows) == sorted(won)
    for earlier, later in pairwise(rows):
        assert earlier.end_time <= later.start_time


def _holding_row(
    machine: Equipment, user: User, start: datetime, end: datetime, buffer_minutes: int = 0
) -> Reservation:
    return Reservation.objects.create(
        makerspace_id=machine.makerspace_id,
        equipment=machine,
        user=user,
        start_time=start,
        end_time=end,
        block_end=end + timedelta(minutes=buffer_minutes),
        status="confirmed",
    )


def test_without_the_service_the_constraint_alone_refuses_the_second_of_two_racers() -> None:
    # Given a machine, and two writers that skip the service and its row lock
    space = MakerspaceFactory.create(business_hours=ALWAYS_OPEN)
    machine = EquipmentFactory.create(makerspace=space)
    members = trained_members(space, machine, 2)
    start, end = slot(days=2, hour=10)
    both_checked = threading.Barrier(2)

    def check_then_insert(index: int) -> str:
        with transaction.atomic():
            taken = Reservation.objects.filter(
                equipment=machine, start_time__lt=end, block_end__gt=start
            ).exists()
            # Both look before either writes: the check alone would let both through.
            both_checked.wait(timeout=10)
            if taken:
                return "saw it taken"
            try:
                with transaction.atomic():
                    _holding_row(
                        machine, members[index], start + timedelta(minutes=15 * index), end
                    )
            except IntegrityError as exc:
                return str(exc)
        return "inserted"

    # When both check, see a free slot, and insert overlapping holding rows
    outcomes = run_together(2, check_then_insert)

    # Then the race was real (neither saw the other), and the database refused one
    assert "saw it taken" not in outcomes
    assert outcomes.count("inserted") == 1
    refusal = next(outcome for outcome in outcomes if outcome != "inserted")
    assert NO_OVERLAP in refusal
    assert len(holding(machine)) == 1


def test_the_constraint_keeps_the_buffer_between_bookings() -> None:
    # Given a held hour whose machine needs 30 minutes of buffer after each booking
    space = MakerspaceFactory.create(business_hours=ALWAYS_OPEN)
    machine = EquipmentFactory.create(makerspace=space)
    first, second = trained_members(space, machine, 2)
    start, end = slot(days=2, hour=10)
    _holding_row(machine, first, start, end, buffer_minutes=30)

    # When a row starting inside the buffer is written directly
    with pytest.raises(IntegrityError, match=NO_OVERLAP), transaction.atomic():
        _holding_row(machine, second, end + timedelta(minutes=15), end + timedelta(minutes=75))

    # Then it is refused, while a cancelled one there, or one after the buffer, is fine
    Reservation.objects.create(
        makerspace=space,
        equipment=machine,
        user=second,
        start_time=end + timedelta(minutes=15),
        end_time=end + timedelta(minutes=75),
        block_end=end + timedelta(minutes=75),
        status="cancelled",
    )
    _holding_row(machine, second, end + timedelta(minutes=30), end + timedelta(minutes=90))
    assert len(holding(machine)) == 2


def test_booking_inside_another_bookings_buffer_is_a_conflict() -> None:
    # Given a space whose machines rest 30 minutes after each booking, and a booked hour
    space = MakerspaceFactory.create(business_hours=ALWAYS_OPEN)
    BookingRules.objects.create(makerspace=space, buffer_minutes=30)
    machine = EquipmentFactory.create(makerspace=space)
    first, second = trained_members(space, machine, 2)
    start, end = slot(days=2, hour=10)
    assert book(first, space, machine, start, end).status_code == 201

    # When another member books from 15 minutes after its end, and then from 30
    inside = book(second, space, machine, end + timedelta(minutes=15), end + timedelta(minutes=75))
    after = book(second, space, machine, end + timedelta(minutes=30), end + timedelta(minutes=90))

    # Then the first is a conflict, the second is booked, and the buffer is stored
    assert inside.status_code == 409, inside.content
    assert inside.json()["error"]["code"] == "RESERVATION_CONFLICT"
    assert after.status_code == 201, after.content
    assert [row.block_end - row.end_time for row in holding(machine)] == [timedelta(minutes=30)] * 2
