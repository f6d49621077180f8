"""Every write service of equipment checks its acting user itself: called directly (no
API, page or admin in front of it) by someone outside the space, or by a member where
only staff or the owner may act, it answers PERMISSION_DENIED and writes nothing."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.system import system_actor
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from apps.equipment.models import (
    BookingRules,
    Equipment,
    EquipmentRules,
    MaintenanceLog,
    MemberCalendarFeed,
    Reservation,
    WaitlistEntry,
)
from apps.equipment.services import calendar, equipment, maintenance, recurring, waitlist
from apps.equipment.services import reservations as booking
from apps.makerspaces.hours import WEEKDAYS
from apps.makerspaces.models import Makerspace, MemberSkill
from tests.factories import (
    EquipmentFactory,
    MakerspaceFactory,
    MembershipFactory,
    SkillFactory,
)

pytestmark = pytest.mark.django_db

KYIV = ZoneInfo("Europe/Kyiv")
# A Wednesday morning in Kyiv: every window below is computed from it.
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=KYIV)
ALWAYS_OPEN = {day: [["00:00", "24:00"]] for day in WEEKDAYS}
# Every table an equipment service writes to, and the audit log.
WATCHED = (
    Equipment,
    BookingRules,
    EquipmentRules,
    MaintenanceLog,
    Reservation,
    WaitlistEntry,
    MemberCalendarFeed,
    AuditLogEntry,
)


@dataclass
class Scene:
    """A space with a machine and, for its member, one of everything a service acts on."""

    space: Makerspace
    machine: Equipment
    spare: Equipment
    member: User
    other_member: User
    outsider: User
    upcoming: Reservation
    pending: Reservation
    active: Reservation
    missed: Reservation
    series: Reservation
    waiting: WaitlistEntry
    offered: WaitlistEntry
    lapsed: WaitlistEntry
    feed: MemberCalendarFeed

    def actor(self, who: str) -> User:
        return {"outsider": self.outsider, "member": self.other_member}[who]


def _booking(scene_space: Makerspace, machine: Equipment, user: User, **fields: Any) -> Reservation:
    start = fields.pop("start")
    end = fields.pop("end", start + timedelta(hours=1))
    return Reservation.objects.create(
        makerspace=scene_space,
        equipment=machine,
        user=user,
        start_time=start,
        end_time=end,
        block_end=end,
        **fields,
    )


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def scene(clock: Any) -> Scene:
    space = MakerspaceFactory.create(timezone="Europe/Kyiv", business_hours=ALWAYS_OPEN)
    skill = SkillFactory.create(makerspace=space, slug="laser-basic")
    machine = EquipmentFactory.create(makerspace=space, name="Laser cutter")
    machine.skill_requirements.add(skill)
    spare = EquipmentFactory.create(makerspace=space, name="Spare drill")
    EquipmentRules.objects.create(equipment=machine, max_minutes=120)
    BookingRules.objects.create(makerspace=space)
    member_of, other_of = (
        MembershipFactory.create(makerspace=space, role="member") for _ in range(2)
    )
    for membership in (member_of, other_of):
        MemberSkill.objects.create(membership=membership, skill=skill)
    member, other = member_of.user, other_of.user
    # Someone who belongs to another space only.
    outsider = MembershipFactory.create(role="admin").user
    now = timezone.now()
    tomorrow = now + timedelta(days=1)
    series_id = uuid.uuid4()
    scene = Scene(
        space=space,
        machine=machine,
        spare=spare,
        member=member,
        other_member=other,
        outsider=outsider,
        upcoming=_booking(space, machine, member, start=tomorrow),
        pending=_booking(
            space, machine, member, start=tomorrow + timedelta(hours=2), status="pending"
        ),
        active=_booking(
            space,
            machine,
            member,
            start=now - timedelta(minutes=30),
            status="active",
            checked_in_at=now - timedelta(minutes=30),
        ),
        missed=_booking(space, machine, member, start=now - timedelta(hours=3)),
        series=_booking(
            space, machine, member, start=tomorrow + timedelta(hours=4), series_id=series_id
        ),
        waiting=WaitlistEntry.objects.create(
            makerspace=space,
            equipment=machine,
            user=member,
            start_time=tomorrow,
            end_time=tomorrow + timedelta(hours=1),
        ),
        offered=WaitlistEntry.objects.create(
            makerspace=space,
            equipment=machine,
            user=member,
            start_time=tomorrow + timedelta(days=1),
            end_time=tomorrow + timedelta(days=1, hours=1),
            status="offered",
            offered_at=now,
            offer_expires_at=now + timedelta(hours=1),
        ),
        lapsed=WaitlistEntry.objects.create(
            makerspace=space,
            equipment=machine,
            user=other,
            start_time=tomorrow + timedelta(days=2),
            end_time=tomorrow + timedelta(days=2, hours=1),
            status="offered",
            offered_at=now - timedelta(hours=2),
            offer_expires_at=now - timedelta(hours=1),
        ),
        feed=MemberCalendarFeed.objects.create(user=member),
    )
    return scene


def _snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every watched table, field by field."""
    return {
        model.__name__: sorted(
            (dict(row) for row in model.objects.values()), key=lambda row: str(row["id"])
        )
        for model in WATCHED
    }


Call = Callable[[Scene, User], object]


def _window(days: int, hour: int) -> tuple[datetime, datetime]:
    day = (timezone.now() + timedelta(days=days)).astimezone(KYIV)
    start = day.replace(hour=hour, minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=1)


# Services only the space's staff may call: refused to outsiders and to plain members.
STAFF_ONLY: dict[str, Call] = {
    "equipment_create": lambda scene, actor: equipment.equipment_create(
        makerspace=scene.space, acting_user=actor, name="Lathe", type="tool"
    ),
    "equipment_update": lambda scene, actor: equipment.equipment_update(
        equipment=scene.machine, acting_user=actor, changes={"name": "Renamed"}
    ),
    "equipment_update to out of service": lambda scene, actor: equipment.equipment_update(
        equipment=scene.machine, acting_user=actor, changes={"status": "offline"}
    ),
    "equipment_delete": lambda scene, actor: equipment.equipment_delete(
        equipment=scene.spare, acting_user=actor
    ),
    "booking_rules_update": lambda scene, actor: equipment.booking_rules_update(
        makerspace=scene.space, acting_user=actor, changes={"max_minutes": 60}
    ),
    "equipment_rules_update": lambda scene, actor: equipment.equipment_rules_update(
        equipment=scene.machine, acting_user=actor, changes={"max_minutes": 30}
    ),
    "equipment_rules_delete": lambda scene, actor: equipment.equipment_rules_delete(
        equipment=scene.machine, acting_user=actor
    ),
    "maintenance_log_add": lambda scene, actor: maintenance.maintenance_log_add(
        equipment=scene.machine, kind="routine", acting_user=actor, cost=Decimal("5.00")
    ),
    "equipment_out_of_service": lambda scene, actor: maintenance.equipment_out_of_service(
        equipment=scene.machine, acting_user=actor, reason="Broken"
    ),
    "reservation_decide approve": lambda scene, actor: booking.reservation_decide(
        reservation=scene.pending, acting_user=actor, approve=True
    ),
    "reservation_decide reject": lambda scene, actor: booking.reservation_decide(
        reservation=scene.pending, acting_user=actor, approve=False
    ),
    "reservation_update_notes": lambda scene, actor: booking.reservation_update_notes(
        reservation=scene.upcoming, acting_user=actor, notes="Bring goggles"
    ),
    "reservations_mark_no_shows": lambda scene, actor: booking.reservations_mark_no_shows(
        acting_user=actor
    ),
    "waitlist_remove": lambda scene, actor: waitlist.waitlist_remove(
        entry=scene.waiting, acting_user=actor
    ),
    "waitlist_expire_offers": lambda scene, actor: waitlist.waitlist_expire_offers(
        acting_user=actor
    ),
}

# Services on a member's own booking, entry or feed: refused to anyone else who is not
# the space's staff ("member" is another member of the same space).
OWNER_OR_STAFF: dict[str, Call] = {
    "reservation_cancel": lambda scene, actor: booking.reservation_cancel(
        reservation=scene.upcoming, acting_user=actor
    ),
    "reservation_check_in": lambda scene, actor: booking.reservation_check_in(
        reservation=scene.upcoming, acting_user=actor
    ),
    "reservation_check_out": lambda scene, actor: booking.reservation_check_out(
        reservation=scene.active, acting_user=actor
    ),
    "reservation_series_cancel": lambda scene, actor: recurring.reservation_series_cancel(
        reservation=scene.series, acting_user=actor
    ),
    "waitlist_leave": lambda scene, actor: waitlist.waitlist_leave(
        entry=scene.waiting, acting_user=actor
    ),
    "waitlist_claim": lambda scene, actor: waitlist.waitlist_claim(
        entry=scene.offered, acting_user=actor
    ),
    "member_calendar_feed_reset": lambda scene, actor: calendar.member_calendar_feed_reset(
        user=scene.member, acting_user=actor
    ),
}

# Services members may call for themselves: refused to outsiders, and to a member
# acting for someone else.
FOR_ONESELF: dict[str, Call] = {
    "reservation_create": lambda scene, actor: booking.reservation_create(
        equipment=scene.spare,
        user=actor,
        start=_window(2, 10)[0],
        end=_window(2, 10)[1],
        acting_user=actor,
    ),
    "recurring_book": lambda scene, actor: recurring.recurring_book(
        equipment=scene.spare,
        user=actor,
        start=_window(2, 10)[0],
        end=_window(2, 10)[1],
        occurrences=[_window(2, 10)[0]],
        acting_user=actor,
    ),
    "waitlist_join": lambda scene, actor: waitlist.waitlist_join(
        equipment=scene.machine,
        user=actor,
        start=scene.upcoming.start_time,
        end=scene.upcoming.end_time,
        acting_user=actor,
    ),
}
FOR_SOMEONE_ELSE: dict[str, Call] = {
    "reservation_create": lambda scene, actor: booking.reservation_create(
        equipment=scene.spare,
        user=scene.member,
        start=_window(2, 10)[0],
        end=_window(2, 10)[1],
        acting_user=actor,
    ),
    "recurring_book": lambda scene, actor: recurring.recurring_book(
        equipment=scene.spare,
        user=scene.member,
        start=_window(2, 10)[0],
        end=_window(2, 10)[1],
        occurrences=[_window(2, 10)[0]],
        acting_user=actor,
    ),
    "waitlist_join": lambda scene, actor: waitlist.waitlist_join(
        equipment=scene.machine,
        user=scene.member,
        start=scene.upcoming.start_time,
        end=scene.upcoming.end_time,
        acting_user=actor,
    ),
}

CASES = [
    *[
        pytest.param(call, who, id=f"{name}-by-{who}")
        for name, call in STAFF_ONLY.items()
        for who in ("outsider", "member")
    ],
    *[
        pytest.param(call, who, id=f"{name}-by-{who}")
        for name, call in OWNER_OR_STAFF.items()
        for who in ("outsider", "member")
    ],
    *[
        pytest.param(call, "outsider", id=f"{name}-by-outsider")
        for name, call in FOR_ONESELF.items()
    ],
    *[
        pytest.param(call, "member", id=f"{name}-for-another-by-member")
        for name, call in FOR_SOMEONE_ELSE.items()
    ],
]


@pytest.mark.parametrize(("call", "who"), CASES)
def test_a_write_service_refuses_an_actor_without_the_right_and_writes_nothing(
    scene: Scene, call: Call, who: str
) -> None:
    # Given the space as it is
    before = _snapshot()

    # When the service is called directly by someone who may not do this
    with pytest.raises(ApplicationError) as refused:
        call(scene, scene.actor(who))

    # Then it is the one 403, and no table changed (no audit entry either)
    assert (refused.value.code, refused.value.status_code) == ("PERMISSION_DENIED", 403)
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("call", "who"),
    [
        pytest.param(STAFF_ONLY["reservations_mark_no_shows"], "manager", id="no-shows-by-manager"),
        pytest.param(STAFF_ONLY["equipment_delete"], "manager", id="delete-by-manager"),
        pytest.param(OWNER_OR_STAFF["waitlist_leave"], "owner", id="leave-by-owner"),
        pytest.param(FOR_ONESELF["reservation_create"], "owner", id="book-by-member"),
    ],
)
def test_the_same_services_act_for_those_who_may(scene: Scene, call: Call, who: str) -> None:
    # Given the space's manager, or the member who owns the rows
    actor = (
        MembershipFactory.create(makerspace=scene.space, role="manager").user
        if who == "manager"
        else scene.member
    )
    before = _snapshot()

    # When they call the service, Then it goes through and something was written
    call(scene, actor)
    assert _snapshot() != before


def test_the_jobs_act_as_the_system_actor_named_in_the_audit_log(scene: Scene) -> None:
    # Given a booking nobody checked in to, past its grace window
    # When the no-show job runs as the system actor
    marked = booking.reservations_mark_no_shows(acting_user=system_actor())

    # Then the booking is a no-show and the audit entry names the system actor
    scene.missed.refresh_from_db()
    assert (marked, scene.missed.status) == (1, "no_show")
    entry = AuditLogEntry.objects.get(object_id=str(scene.missed.pk))
    assert entry.actor_id == system_actor().pk


def test_a_job_refuses_an_actor_who_runs_only_some_of_its_spaces(scene: Scene) -> None:
    # Given a missed booking in a second space whose manager runs that space only
    other_space = MakerspaceFactory.create(timezone="Europe/Kyiv", business_hours=ALWAYS_OPEN)
    manager = MembershipFactory.create(makerspace=other_space, role="manager").user
    drill = EquipmentFactory.create(makerspace=other_space)
    _booking(other_space, drill, manager, start=timezone.now() - timedelta(hours=3))
    before = _snapshot()

    # When that manager runs the job over every space
    with pytest.raises(ApplicationError) as refused:
        booking.reservations_mark_no_shows(acting_user=manager)

    # Then it is refused before marking anything, in their space or ours
    assert refused.value.code == "PERMISSION_DENIED"
    assert _snapshot() == before
