"""The equipment admin, through its real views: machines, bookings, booking rules and
the waitlist scoped to the spaces a staff member runs, every write through a service."""

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditLogEntry
from apps.equipment.admin import EquipmentListFilter
from apps.equipment.models import (
    BookingRules,
    Equipment,
    EquipmentRules,
    MaintenanceLog,
    Reservation,
    WaitlistEntry,
)
from apps.makerspaces.admin_scoped import MakerspaceListFilter
from apps.makerspaces.hours import WEEKDAYS
from apps.makerspaces.models import Makerspace
from tests import factories
from tests.admin_support import change_url, form_data, logged_in, messages_of, rows, staff

# factory_boy types a call as the factory, not the model it builds.
EquipmentFactory: Any = factories.EquipmentFactory
MakerspaceFactory: Any = factories.MakerspaceFactory
MembershipFactory: Any = factories.MembershipFactory
SkillFactory: Any = factories.SkillFactory
UserFactory: Any = factories.UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

KYIV = ZoneInfo("Europe/Kyiv")
ALWAYS_OPEN = {day: [["00:00", "24:00"]] for day in WEEKDAYS}
# The changelists make a fixed number of queries, whatever the number of rows.
CHANGELIST_QUERY_BOUND = 16


# --- helpers -------------------------------------------------------------------------------


def changelist(model: str) -> str:
    return reverse(f"admin:equipment_{model}_changelist")


def add_url(model: str) -> str:
    return reverse(f"admin:equipment_{model}_add")


def filter_spec(response: Any, kind: type) -> Any:
    (spec,) = [spec for spec in response.context["cl"].filter_specs if isinstance(spec, kind)]
    return spec


def booking(
    equipment: Equipment,
    user: Any,
    *,
    start: datetime | None = None,
    starts_in: timedelta = timedelta(days=1),
    minutes: int = 60,
    status: str = "confirmed",
) -> Reservation:
    start = start or (timezone.now() + starts_in).replace(second=0, microsecond=0)
    # Real minutes, not wall-clock ones: a Kyiv time plus 30 minutes across the spring
    # clock change would land in the skipped hour and end before it starts.
    start = start.astimezone(UTC)
    end = start + timedelta(minutes=minutes)
    return Reservation.objects.create(
        makerspace_id=equipment.makerspace_id,
        equipment=equipment,
        user=user,
        start_time=start,
        end_time=end,
        block_end=end,
        status=status,
    )


def local_noon(days_from_today: int) -> datetime:
    day = timezone.now().astimezone(KYIV).date() + timedelta(days=days_from_today)
    return datetime.combine(day, time(12), tzinfo=KYIV)


@pytest.fixture
def space_a() -> Makerspace:
    return MakerspaceFactory.create(
        name="Alpha Works", timezone="Europe/Kyiv", business_hours=ALWAYS_OPEN
    )


@pytest.fixture
def space_b() -> Makerspace:
    return MakerspaceFactory.create(
        name="Bravo Lab", timezone="Europe/Kyiv", business_hours=ALWAYS_OPEN
    )


@pytest.fixture
def manager_a(space_a: Makerspace) -> Any:
    return staff(space_a, "manager")


@pytest.fixture
def member_a(space_a: Makerspace) -> Any:
    return staff(space_a, "member")


@pytest.fixture
def super_admin() -> Any:
    return UserFactory.create(is_superuser=True)


@pytest.fixture
def machine_a(space_a: Makerspace) -> Equipment:
    return EquipmentFactory.create(makerspace=space_a, name="Alpha laser")


@pytest.fixture
def machine_b(space_b: Makerspace) -> Equipment:
    return EquipmentFactory.create(makerspace=space_b, name="Bravo secret router")


# --- scope: a manager of A sees only A ------------------------------------------------------


def test_a_manager_sees_only_their_spaces_machines_and_bookings(
    manager_a: Any,
    member_a: Any,
    machine_a: Equipment,
    machine_b: Equipment,
    space_b: Makerspace,
) -> None:
    own = booking(machine_a, member_a)
    booking(machine_b, staff(space_b, "member"))
    WaitlistEntry.objects.create(
        makerspace_id=machine_b.makerspace_id,
        equipment=machine_b,
        user=member_a,
        start_time=own.start_time,
        end_time=own.end_time,
    )
    client = logged_in(manager_a)

    machines = client.get(changelist("equipment"))
    bookings = client.get(changelist("reservation"))
    waitlist = client.get(changelist("waitlistentry"))

    assert rows(machines) == [machine_a]
    assert rows(bookings) == [own]
    assert rows(waitlist) == []
    for response in (machines, bookings, waitlist):
        assert "Bravo" not in response.content.decode()


def test_the_filters_offer_only_the_managers_spaces_and_machines(
    manager_a: Any,
    space_a: Makerspace,
    machine_a: Equipment,
    machine_b: Equipment,
) -> None:
    client = logged_in(manager_a)

    machines = client.get(changelist("equipment"))
    bookings = client.get(changelist("reservation"))

    assert filter_spec(machines, MakerspaceListFilter).lookup_choices == [
        (str(space_a.pk), space_a.name)
    ]
    assert filter_spec(bookings, MakerspaceListFilter).lookup_choices == [
        (str(space_a.pk), space_a.name)
    ]
    assert filter_spec(bookings, EquipmentListFilter).lookup_choices == [
        (str(machine_a.pk), machine_a.name)
    ]


@pytest.mark.usefixtures("machine_a")
def test_filtering_bookings_by_another_spaces_machine_shows_nothing(
    manager_a: Any, machine_b: Equipment
) -> None:
    booking(machine_b, UserFactory.create())

    response = logged_in(manager_a).get(changelist("reservation"), {"equipment": str(machine_b.pk)})

    # An unknown choice is an invalid lookup: the admin falls back to ?e=1.
    assert response.status_code == 302
    assert "e=1" in response["Location"]


# A Wednesday morning in Kyiv: noon today is still ahead, so today's booking is not past.
@pytest.mark.time_machine(datetime(2026, 6, 10, 9, tzinfo=KYIV).astimezone(UTC), tick=False)
def test_bookings_filter_by_machine_status_and_day(
    manager_a: Any, member_a: Any, machine_a: Equipment, space_a: Makerspace
) -> None:
    other_machine = EquipmentFactory.create(makerspace=space_a, name="Alpha printer")
    today = booking(machine_a, member_a, start=local_noon(0))
    tomorrow = booking(other_machine, member_a, start=local_noon(1), status="pending")
    next_month = booking(machine_a, member_a, start=local_noon(30))
    yesterday = booking(machine_a, member_a, start=local_noon(-1), status="completed")
    client = logged_in(manager_a)

    by_machine = client.get(changelist("reservation"), {"equipment": str(other_machine.pk)})
    by_status = client.get(changelist("reservation"), {"status": "pending"})
    on_today = client.get(changelist("reservation"), {"when": "today"})
    this_week = client.get(changelist("reservation"), {"when": "week"})
    past = client.get(changelist("reservation"), {"when": "past"})
    by_day = client.get(
        changelist("reservation"),
        {
            "start_time__year": str(today.start_time.year),
            "start_time__month": str(local_noon(0).month),
            "start_time__day": str(local_noon(0).day),
        },
    )

    assert rows(by_machine) == [tomorrow]
    assert rows(by_status) == [tomorrow]
    assert rows(on_today) == [today]
    assert next_month not in rows(this_week)
    assert today in rows(this_week)
    assert rows(past) == [yesterday]
    assert rows(by_day) == [today]


def test_booking_times_are_shown_on_the_spaces_clock(
    manager_a: Any, member_a: Any, machine_a: Equipment
) -> None:
    start = local_noon(2)
    booking(machine_a, member_a, start=start, minutes=90)

    page = logged_in(manager_a).get(changelist("reservation")).content.decode()

    assert f"{start:%a} {start.day} {start:%b %Y}, 12:00 {start.tzname()}" in page
    assert f"13:30 {start.tzname()}" in page


def test_another_spaces_machine_page_shows_nothing_of_it(
    manager_a: Any, machine_b: Equipment
) -> None:
    response = logged_in(manager_a).get(change_url(machine_b), follow=True)

    assert "Bravo secret router" not in response.content.decode()


# --- machines: writes through the services ---------------------------------------------------


def test_a_change_post_cannot_move_a_machine_into_another_space(
    manager_a: Any, machine_a: Equipment, space_a: Makerspace, space_b: Makerspace
) -> None:
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(machine_a)))
    data["makerspace"] = str(space_b.pk)

    client.post(change_url(machine_a), data)

    machine_a.refresh_from_db()
    assert machine_a.makerspace_id == space_a.pk
    assert not Equipment.objects.filter(makerspace=space_b).exists()


def test_posting_to_another_spaces_machine_changes_nothing(
    manager_a: Any, machine_b: Equipment, space_b: Makerspace
) -> None:
    response = logged_in(manager_a).post(
        change_url(machine_b),
        {"name": "Taken over", "type": "tool", "status": "offline", "hourly_rate": "0"},
    )

    assert response.status_code in (302, 403, 404)
    machine_b.refresh_from_db()
    assert (machine_b.name, machine_b.status) == ("Bravo secret router", "available")
    assert not AuditLogEntry.objects.exists()


def test_adding_a_machine_into_another_space_is_refused(
    manager_a: Any, space_b: Makerspace
) -> None:
    response = logged_in(manager_a).post(
        add_url("equipment"),
        {
            "makerspace": str(space_b.pk),
            "name": "Smuggled lathe",
            "type": "tool",
            "status": "available",
            "hourly_rate": "0",
            "specifications": "{}",
        },
    )

    assert response.status_code == 200
    assert "makerspace" in response.context["adminform"].form.errors
    assert not Equipment.objects.exists()
    assert not AuditLogEntry.objects.exists()


def test_adding_a_machine_goes_through_the_service_with_its_spaces_skills(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    laser_basic = SkillFactory.create(makerspace=space_a, slug="laser-basic")
    SkillFactory.create(makerspace=space_b, slug="secret-skill")
    client = logged_in(manager_a)

    form = client.get(add_url("equipment")).context["adminform"].form
    response = client.post(
        add_url("equipment"),
        {
            "makerspace": str(space_a.pk),
            "name": "Epilog Fusion Pro",
            "type": "laser_cutter",
            "status": "available",
            "hourly_rate": "250.00",
            "maintenance_interval_hours": "100",
            "specifications": "{}",
            "skill_requirements": [str(laser_basic.pk)],
        },
    )

    assert list(form.fields["skill_requirements"].queryset) == [laser_basic]
    assert response.status_code == 302
    machine = Equipment.objects.get(name="Epilog Fusion Pro")
    assert machine.makerspace_id == space_a.pk
    assert list(machine.skill_requirements.all()) == [laser_basic]
    entry = AuditLogEntry.objects.get(object_id=str(machine.pk))
    assert (entry.action, entry.actor) == ("create", manager_a)
    assert entry.changes["skills"] == ["laser-basic"]


def test_a_machine_cannot_require_another_spaces_skill(
    manager_a: Any, machine_a: Equipment, space_b: Makerspace
) -> None:
    foreign = SkillFactory.create(makerspace=space_b)
    client = logged_in(manager_a)
    page = client.get(change_url(machine_a))
    data = form_data(page)
    data["skill_requirements"] = [str(foreign.pk)]

    response = client.post(change_url(machine_a), data)

    assert list(page.context["adminform"].form.fields["skill_requirements"].queryset) == []
    assert response.status_code == 200
    assert "skill_requirements" in response.context["adminform"].form.errors
    assert not machine_a.skill_requirements.exists()


def test_changing_skills_is_audited(
    manager_a: Any, machine_a: Equipment, space_a: Makerspace
) -> None:
    skill = SkillFactory.create(makerspace=space_a, slug="laser-basic")
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(machine_a)))
    data["skill_requirements"] = [str(skill.pk)]
    data["hourly_rate"] = "120.00"

    response = client.post(change_url(machine_a), data)

    assert response.status_code == 302
    assert list(machine_a.skill_requirements.all()) == [skill]
    entry = AuditLogEntry.objects.get(object_id=str(machine_a.pk))
    assert entry.changes == {
        "hourly_rate": ["10.00", "120.00"],
        "skill_requirements": [[], ["laser-basic"]],
    }


def test_putting_a_machine_into_maintenance_cancels_its_future_bookings(
    manager_a: Any,
    member_a: Any,
    machine_a: Equipment,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    future = booking(machine_a, member_a, starts_in=timedelta(days=2))
    pending = booking(machine_a, member_a, starts_in=timedelta(days=3), status="pending")
    done = booking(machine_a, member_a, starts_in=timedelta(days=-2), status="completed")
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(machine_a)))
    data["status"] = "maintenance"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(machine_a), data)

    assert response.status_code == 302
    machine_a.refresh_from_db()
    assert machine_a.status == "maintenance"
    for reservation in (future, pending, done):
        reservation.refresh_from_db()
    assert (future.status, pending.status, done.status) == ("cancelled", "cancelled", "completed")
    assert future.cancelled_by == manager_a
    assert [mail.to for mail in mailoutbox] == [[member_a.email], [member_a.email]]
    assert AuditLogEntry.objects.filter(object_id=str(machine_a.pk), action="update").exists()


def test_a_maintenance_log_added_on_the_machine_page_resets_its_counter(
    manager_a: Any, machine_a: Equipment
) -> None:
    Equipment.objects.filter(pk=machine_a.pk).update(
        maintenance_interval_hours=100, usage_minutes_since_maintenance=6200, maintenance_due=True
    )
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(machine_a)))
    data.update(
        {
            "maintenance_logs-TOTAL_FORMS": "1",
            "maintenance_logs-0-kind": "routine",
            "maintenance_logs-0-notes": "Mirrors cleaned",
            "maintenance_logs-0-cost": "150.00",
        }
    )

    response = client.post(change_url(machine_a), data)

    assert response.status_code == 302
    machine_a.refresh_from_db()
    assert machine_a.usage_minutes_since_maintenance == 0
    assert machine_a.maintenance_due is False
    log = MaintenanceLog.objects.get(equipment=machine_a)
    assert (log.kind, log.notes, log.performed_by) == ("routine", "Mirrors cleaned", manager_a)
    assert machine_a.last_maintained_at == log.performed_at
    assert AuditLogEntry.objects.filter(object_id=str(log.pk), action="create").exists()


def test_maintenance_cannot_be_recorded_in_the_future(manager_a: Any, machine_a: Equipment) -> None:
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(machine_a)))
    tomorrow = timezone.localtime() + timedelta(days=1)
    data.update(
        {
            "maintenance_logs-TOTAL_FORMS": "1",
            "maintenance_logs-0-kind": "routine",
            "maintenance_logs-0-performed_at_0": tomorrow.date().isoformat(),
            "maintenance_logs-0-performed_at_1": "10:00:00",
        }
    )

    response = client.post(change_url(machine_a), data)

    assert response.status_code == 200
    assert not MaintenanceLog.objects.exists()


def test_a_machines_own_booking_rules_are_set_through_the_service(
    manager_a: Any, machine_a: Equipment
) -> None:
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(machine_a)))
    data.update(
        {
            "rules_override-TOTAL_FORMS": "1",
            "rules_override-0-max_minutes": "120",
            "rules_override-0-requires_approval": "true",
        }
    )

    response = client.post(change_url(machine_a), data)

    assert response.status_code == 302
    rules = EquipmentRules.objects.get(equipment=machine_a)
    assert (rules.max_minutes, rules.requires_approval, rules.min_minutes) == (120, True, None)
    assert AuditLogEntry.objects.filter(object_id=str(rules.pk)).exists()

    data = form_data(client.get(change_url(machine_a)))
    data["rules_override-0-DELETE"] = "on"
    cleared = client.post(change_url(machine_a), data)

    assert cleared.status_code == 302
    assert not EquipmentRules.objects.exists()
    assert AuditLogEntry.objects.filter(object_id=str(rules.pk), action="delete").exists()


def test_a_machine_with_bookings_is_not_deleted(
    manager_a: Any, member_a: Any, machine_a: Equipment
) -> None:
    booking(machine_a, member_a, starts_in=timedelta(days=-3), status="completed")
    delete_url = reverse("admin:equipment_equipment_delete", args=[machine_a.pk])

    logged_in(manager_a).post(delete_url, {"post": "yes"})

    assert Equipment.objects.filter(pk=machine_a.pk).exists()


# --- bookings: the actions are the way ----------------------------------------------------------


def test_approving_confirms_a_pending_booking_and_emails_the_member(
    manager_a: Any,
    member_a: Any,
    machine_a: Equipment,
    machine_b: Equipment,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    pending = booking(machine_a, member_a, status="pending")
    pending_b = booking(machine_b, UserFactory.create(), status="pending")

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(manager_a).post(
            changelist("reservation"),
            {"action": "approve", "_selected_action": [str(pending.pk), str(pending_b.pk)]},
        )

    assert response.status_code == 302
    pending.refresh_from_db()
    pending_b.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("confirmed", manager_a)
    assert pending_b.status == "pending"
    (mail,) = mailoutbox
    assert mail.to == [member_a.email]
    assert machine_a.name in mail.subject
    entry = AuditLogEntry.objects.get(action="approve")
    assert (entry.object_id, entry.actor) == (str(pending.pk), manager_a)


def test_approving_refuses_row_by_row_what_is_not_pending(
    manager_a: Any, member_a: Any, machine_a: Equipment
) -> None:
    pending = booking(machine_a, member_a, status="pending")
    confirmed = booking(machine_a, member_a, starts_in=timedelta(days=2))

    response = logged_in(manager_a).post(
        changelist("reservation"),
        {"action": "approve", "_selected_action": [str(pending.pk), str(confirmed.pk)]},
    )

    pending.refresh_from_db()
    confirmed.refresh_from_db()
    assert (pending.status, confirmed.status) == ("confirmed", "confirmed")
    shown = messages_of(response)
    assert "Approved: 1." in shown
    assert any("not waiting for approval" in message for message in shown)


def test_rejecting_cancels_a_pending_booking_and_tells_the_member(
    manager_a: Any,
    member_a: Any,
    machine_a: Equipment,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    pending = booking(machine_a, member_a, status="pending")

    with django_capture_on_commit_callbacks(execute=True):
        logged_in(manager_a).post(
            changelist("reservation"),
            {"action": "reject", "_selected_action": [str(pending.pk)]},
        )

    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("cancelled", manager_a)
    assert [mail.to for mail in mailoutbox] == [[member_a.email]]


def test_cancelling_through_the_action(
    manager_a: Any,
    member_a: Any,
    machine_a: Equipment,
    machine_b: Equipment,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    confirmed = booking(machine_a, member_a)
    completed = booking(machine_a, member_a, starts_in=timedelta(days=-1), status="completed")
    other = booking(machine_b, UserFactory.create())

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(manager_a).post(
            changelist("reservation"),
            {
                "action": "cancel",
                "_selected_action": [str(confirmed.pk), str(completed.pk), str(other.pk)],
            },
        )

    for reservation in (confirmed, completed, other):
        reservation.refresh_from_db()
    assert (confirmed.status, completed.status, other.status) == (
        "cancelled",
        "completed",
        "confirmed",
    )
    assert confirmed.cancelled_by == manager_a
    shown = messages_of(response)
    assert "Cancelled: 1." in shown
    assert any("cannot be cancelled" in message for message in shown)
    assert [mail.to for mail in mailoutbox] == [[member_a.email]]


def test_a_bookings_status_cannot_be_edited_on_its_page(
    manager_a: Any, member_a: Any, machine_a: Equipment
) -> None:
    reservation = booking(machine_a, member_a, status="pending")
    client = logged_in(manager_a)
    page = client.get(change_url(reservation))
    data = form_data(page)
    data.update({"status": "confirmed", "notes": "Bring your own plywood."})

    response = client.post(change_url(reservation), data)

    assert set(page.context["adminform"].form.fields) == {"notes"}
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert reservation.status == "pending"
    assert reservation.notes == "Bring your own plywood."
    entry = AuditLogEntry.objects.get(object_id=str(reservation.pk))
    assert entry.changes == {"notes": ["", "Bring your own plywood."]}


def test_a_plain_member_cannot_use_the_actions(member_a: Any, machine_a: Equipment) -> None:
    pending = booking(machine_a, member_a, status="pending")

    response = logged_in(member_a).post(
        changelist("reservation"), {"action": "approve", "_selected_action": [str(pending.pk)]}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    pending.refresh_from_db()
    assert pending.status == "pending"


# --- booking rules and the waitlist ---------------------------------------------------------


def test_a_spaces_booking_rules_change_through_the_service(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    rules = BookingRules.objects.create(makerspace=space_a)
    BookingRules.objects.create(makerspace=space_b)
    client = logged_in(manager_a)
    listed = client.get(changelist("bookingrules"))
    data = form_data(client.get(change_url(rules)))
    data.update({"max_minutes": "240", "makerspace": str(space_b.pk)})

    response = client.post(change_url(rules), data)

    assert rows(listed) == [rules]
    assert response.status_code == 302
    rules.refresh_from_db()
    assert (rules.max_minutes, rules.makerspace_id) == (240, space_a.pk)
    entry = AuditLogEntry.objects.get(object_id=str(rules.pk))
    assert entry.changes == {"max_minutes": [480, 240]}


def test_booking_rules_refuse_a_maximum_below_the_minimum(
    manager_a: Any, space_a: Makerspace
) -> None:
    rules = BookingRules.objects.create(makerspace=space_a)
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(rules)))
    data.update({"min_minutes": "120", "max_minutes": "60"})

    response = client.post(change_url(rules), data)

    assert response.status_code == 200
    rules.refresh_from_db()
    assert (rules.min_minutes, rules.max_minutes) == (30, 480)
    assert not AuditLogEntry.objects.exists()


def test_new_booking_rules_are_offered_for_the_managers_spaces_without_rules(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    other_space = MakerspaceFactory.create(name="Alpha Annex")
    MembershipFactory.create(makerspace=other_space, user=manager_a, role="manager")
    BookingRules.objects.create(makerspace=other_space)
    client = logged_in(manager_a)

    offered = list(
        client.get(add_url("bookingrules")).context["adminform"].form.fields["makerspace"].queryset
    )
    response = client.post(
        add_url("bookingrules"),
        {
            "makerspace": str(space_a.pk),
            "min_minutes": "30",
            "max_minutes": "240",
            "granularity_minutes": "30",
            "buffer_minutes": "15",
            "horizon_days": "30",
            "within_business_hours": "on",
            "max_active_per_member": "3",
            "check_in_grace_minutes": "15",
            "waitlist_hold_minutes": "60",
        },
    )

    assert offered == [space_a]
    assert response.status_code == 302
    rules = BookingRules.objects.get(makerspace=space_a)
    assert (rules.max_minutes, rules.buffer_minutes, rules.requires_approval) == (240, 15, False)
    assert AuditLogEntry.objects.filter(object_id=str(rules.pk), actor=manager_a).exists()


def test_staff_take_a_member_off_the_waitlist(
    manager_a: Any, member_a: Any, machine_a: Equipment, machine_b: Equipment
) -> None:
    start = local_noon(3)
    waiting = WaitlistEntry.objects.create(
        makerspace_id=machine_a.makerspace_id,
        equipment=machine_a,
        user=member_a,
        start_time=start,
        end_time=start + timedelta(hours=1),
    )
    elsewhere = WaitlistEntry.objects.create(
        makerspace_id=machine_b.makerspace_id,
        equipment=machine_b,
        user=member_a,
        start_time=start,
        end_time=start + timedelta(hours=1),
    )
    client = logged_in(manager_a)

    page = client.get(change_url(waiting))
    response = client.post(
        changelist("waitlistentry"),
        {"action": "remove", "_selected_action": [str(waiting.pk), str(elsewhere.pk)]},
    )

    assert page.status_code == 200
    assert not page.context["adminform"].form.fields
    assert response.status_code == 302
    waiting.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (waiting.status, elsewhere.status) == ("cancelled", "waiting")
    assert AuditLogEntry.objects.get(object_id=str(waiting.pk)).actor == manager_a


# --- every page opens, in a bounded number of queries ---------------------------------------


@pytest.mark.parametrize("who", ["super admin", "manager of A"])
def test_every_equipment_admin_page_opens(
    who: str, super_admin: Any, manager_a: Any, member_a: Any, machine_a: Equipment
) -> None:
    user = {"super admin": super_admin, "manager of A": manager_a}[who]
    reservation = booking(machine_a, member_a)
    objects = {
        "equipment": machine_a,
        "reservation": reservation,
        "bookingrules": BookingRules.objects.create(makerspace_id=machine_a.makerspace_id),
        "waitlistentry": WaitlistEntry.objects.create(
            makerspace_id=machine_a.makerspace_id,
            equipment=machine_a,
            user=member_a,
            start_time=reservation.start_time,
            end_time=reservation.end_time,
        ),
    }
    client = logged_in(user)

    assert client.get(reverse("admin:index")).status_code == 200
    for model, obj in objects.items():
        assert client.get(changelist(model)).status_code == 200, (who, model)
        assert client.get(change_url(obj)).status_code == 200, (who, model)
        assert client.get(add_url(model)).status_code in (200, 403), (who, model)
    history = change_url(machine_a).replace("/change/", "/history/")
    assert client.get(history).status_code == 200


@pytest.mark.parametrize("count", [1, 30])
def test_the_machine_list_takes_a_fixed_number_of_queries(
    count: int,
    manager_a: Any,
    space_a: Makerspace,
    space_b: Makerspace,
    django_assert_max_num_queries: Any,
) -> None:
    skill = SkillFactory.create(makerspace=space_a)
    for _ in range(count):
        machine = EquipmentFactory.create(makerspace=space_a)
        machine.skill_requirements.add(skill)
        EquipmentFactory.create(makerspace=space_b)
    client = logged_in(manager_a)

    with django_assert_max_num_queries(CHANGELIST_QUERY_BOUND):
        response = client.get(changelist("equipment"))

    assert len(rows(response)) == count


@pytest.mark.parametrize("count", [1, 30])
@pytest.mark.parametrize("query", [{}, {"when": "week"}, {"status": "confirmed"}])
def test_the_booking_list_takes_a_fixed_number_of_queries(
    count: int,
    query: dict[str, str],
    manager_a: Any,
    member_a: Any,
    space_a: Makerspace,
    space_b: Makerspace,
    django_assert_max_num_queries: Any,
) -> None:
    machine = EquipmentFactory.create(makerspace=space_a)
    machine_b = EquipmentFactory.create(makerspace=space_b)
    first = local_noon(0).astimezone(UTC) - timedelta(hours=11)
    for index in range(count):
        start = first + timedelta(minutes=30 * index)
        booking(machine, member_a, start=start, minutes=30)
        booking(machine_b, member_a, start=start, minutes=30)
    client = logged_in(manager_a)

    with django_assert_max_num_queries(CHANGELIST_QUERY_BOUND):
        response = client.get(changelist("reservation"), query)

    assert len(rows(response)) == count
