"""Demo machines, booking rules, maintenance and bookings in Kyiv Fab Lab.

Upcoming bookings are placed on the next days the space is open, in its own timezone,
so they stay bookable whatever day the demo is loaded; they go through the booking
service (rules, skills, approval). A past session cannot be booked, so it is written
as the record a check-out would have left.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.equipment.models import (
    HOLDING_STATUSES,
    BookingRules,
    Equipment,
    EquipmentRules,
    EquipmentStatus,
    EquipmentType,
    MaintenanceKind,
    Reservation,
    ReservationStatus,
)
from apps.equipment.rules import rules_for
from apps.equipment.services.equipment import (
    booking_rules_update,
    equipment_create,
    equipment_rules_update,
)
from apps.equipment.services.maintenance import maintenance_log_add, record_usage
from apps.equipment.services.reservations import reservation_create
from apps.makerspaces.hours import opening_windows
from apps.makerspaces.models import Makerspace

LASER = "Epilog Fusion Pro laser cutter"
PRINTER_1 = "Prusa MK4 #1"
PRINTER_2 = "Prusa MK4 #2"
CNC = "Shapeoko CNC router"
SOLDERING = "Soldering station"

MACHINES: list[dict[str, Any]] = [
    {
        "name": LASER,
        "type": EquipmentType.LASER_CUTTER,
        "location": "Laser room",
        "description": "CO2 laser, 810 × 510 mm bed; wood, acrylic, leather, paper.",
        "specifications": {"power_w": 60, "bed_mm": [810, 510]},
        "hourly_rate": Decimal("250.00"),
        "maintenance_interval_hours": 100,
        "skills": ["laser-basic"],
    },
    {
        "name": PRINTER_1,
        "type": EquipmentType.PRINTER_3D,
        "location": "Print farm",
        "description": "FDM, 250 × 210 × 220 mm; PLA and PETG loaded.",
        "specifications": {"nozzle_mm": 0.4, "build_mm": [250, 210, 220]},
        "hourly_rate": Decimal("40.00"),
        "maintenance_interval_hours": 300,
        "skills": ["3d-printing"],
    },
    {
        "name": PRINTER_2,
        "type": EquipmentType.PRINTER_3D,
        "location": "Print farm",
        "description": "FDM, 250 × 210 × 220 mm; PETG and TPU loaded.",
        "specifications": {"nozzle_mm": 0.6, "build_mm": [250, 210, 220]},
        "hourly_rate": Decimal("40.00"),
        "maintenance_interval_hours": 300,
        "skills": ["3d-printing"],
    },
    {
        "name": CNC,
        "type": EquipmentType.CNC_MACHINE,
        "location": "Workshop",
        "description": "Shapeoko 4 XXL, 838 × 838 mm; wood, plastics, aluminium.",
        "specifications": {"work_area_mm": [838, 838, 95]},
        "hourly_rate": Decimal("180.00"),
        "maintenance_interval_hours": 150,
        "status": EquipmentStatus.MAINTENANCE,
        "skills": ["cnc-router"],
    },
    {
        "name": SOLDERING,
        "type": EquipmentType.TOOL,
        "location": "Electronics bench",
        "description": "Pinecil with fume extractor.",
        "specifications": {},
        "hourly_rate": Decimal("0.00"),
        "skills": [],
    },
]
SPACE_RULES = {
    "min_minutes": 30,
    "max_minutes": 240,
    "granularity_minutes": 15,
    "buffer_minutes": 0,
    "horizon_days": 30,
    "within_business_hours": True,
    "max_active_per_member": 5,
    "requires_approval": False,
}
# The big machines are booked only with a manager's yes.
OVERRIDES = {
    LASER: {"requires_approval": True, "max_minutes": 180},
    CNC: {"requires_approval": True, "buffer_minutes": 15},
}
# Upcoming bookings of member@: machine, nth open day from tomorrow, hours after
# opening, length in minutes. The laser needs approval, so its booking waits.
UPCOMING = [
    (PRINTER_1, 0, 1, 120),
    (SOLDERING, 1, 2, 60),
    (LASER, 2, 1, 90),
]


def _user(email: str) -> User:
    return User.objects.get(email=email)


def open_days_ahead(
    space: Makerspace, *, now: datetime, days: int
) -> Iterator[list[tuple[datetime, datetime]]]:
    """The opening windows of each day the space opens within ``days`` from tomorrow,
    in its own timezone; closures skipped."""
    closed = set(space.closures.values_list("date", flat=True))
    tomorrow = now.astimezone(ZoneInfo(space.timezone)).date() + timedelta(days=1)
    for offset in range(days):
        windows = opening_windows(
            space.business_hours, space.timezone, tomorrow + timedelta(days=offset), closed
        )
        if windows:
            yield windows


def upcoming_slot(
    machine: Equipment, *, nth_day: int, after_opening_hours: int, minutes: int, now: datetime
) -> tuple[datetime, datetime] | None:
    """A slot inside one opening window, on the ``nth_day``-th open day from tomorrow
    or the first later one where it fits, short of the booking horizon."""
    days = rules_for(machine).horizon_days - 1
    for index, windows in enumerate(open_days_ahead(machine.makerspace, now=now, days=days)):
        if index < nth_day:
            continue
        for opens, closes in windows:
            start = opens + timedelta(hours=after_opening_hours)
            end = start + timedelta(minutes=minutes)
            if end <= closes:
                return start, end
    return None


def last_open_window(space: Makerspace, *, now: datetime) -> tuple[datetime, datetime] | None:
    """The first opening window of the last day before today the space was open."""
    closed = set(space.closures.values_list("date", flat=True))
    today = now.astimezone(ZoneInfo(space.timezone)).date()
    for back in range(1, 15):
        windows = opening_windows(
            space.business_hours, space.timezone, today - timedelta(days=back), closed
        )
        if windows:
            return windows[0]
    return None


def _machines(space: Makerspace, owner: User) -> dict[str, Equipment]:
    machines = {}
    for spec in MACHINES:
        fields = dict(spec)
        skills = fields.pop("skills")
        machine = Equipment.objects.filter(makerspace=space, name=fields["name"]).first()
        if machine is None:
            machine = equipment_create(
                makerspace=space, acting_user=owner, skill_slugs=skills, **fields
            )
        machines[machine.name] = machine
    return machines


def _upkeep(machines: dict[str, Equipment], manager: User, *, now: datetime) -> None:
    laser, cnc = machines[LASER], machines[CNC]
    if not laser.maintenance_logs.exists():
        maintenance_log_add(
            equipment=laser,
            kind=MaintenanceKind.ROUTINE,
            notes="Lens and mirrors cleaned, belts tensioned, exhaust filter changed.",
            cost=Decimal("350.00"),
            performed_at=now - timedelta(days=20),
            acting_user=manager,
        )
    if not cnc.maintenance_logs.exists():
        maintenance_log_add(
            equipment=cnc,
            kind=MaintenanceKind.REPAIR,
            notes="Spindle bearings worn; new ones ordered, machine stopped until fitted.",
            cost=Decimal("1200.00"),
            performed_at=now - timedelta(days=1),
            acting_user=manager,
        )


def _past_session(space: Makerspace, laser: Equipment, member: User, *, now: datetime) -> None:
    if Reservation.objects.filter(
        equipment=laser, user=member, status=ReservationStatus.COMPLETED
    ).exists():
        return
    window = last_open_window(space, now=now)
    if window is None:
        return
    opens, _closes = window
    start, end = opens + timedelta(hours=1), opens + timedelta(hours=2, minutes=30)
    used = 85
    Reservation.objects.create(
        makerspace=space,
        equipment=laser,
        user=member,
        start_time=start,
        end_time=end,
        block_end=end + timedelta(minutes=rules_for(laser).buffer_minutes),
        status=ReservationStatus.COMPLETED,
        notes="Birch plywood coasters, 3 mm.",
        checked_in_at=start + timedelta(minutes=3),
        checked_out_at=start + timedelta(minutes=3 + used),
        used_minutes=used,
    )
    record_usage(equipment_id=laser.pk, minutes=used)


def _upcoming(machines: dict[str, Equipment], member: User, *, now: datetime) -> list[Reservation]:
    booked = []
    for name, nth_day, after_opening, minutes in UPCOMING:
        machine = machines[name]
        existing = Reservation.objects.filter(
            equipment=machine, user=member, status__in=HOLDING_STATUSES, start_time__gt=now
        ).first()
        if existing is not None:
            booked.append(existing)
            continue
        slot = upcoming_slot(
            machine,
            nth_day=nth_day,
            after_opening_hours=after_opening,
            minutes=minutes,
            now=now,
        )
        if slot is None:
            continue
        start, end = slot
        try:
            booked.append(
                reservation_create(
                    equipment=machine, user=member, start=start, end=end, acting_user=member
                )
            )
        except ApplicationError:
            # Someone took the slot (or the rules changed) while trying the demo: the
            # demo goes on without this booking.
            continue
    return booked


def load(*, stdout: Any, style: Any) -> None:
    space = Makerspace.objects.get(slug="kyiv-fab-lab")
    owner = _user("owner@makrx.local")
    manager = _user("manager@makrx.local")
    member = _user("member@makrx.local")
    now = timezone.now()

    # Rules are set once: what staff change while trying the demo stays.
    if not BookingRules.objects.filter(makerspace=space).exists():
        booking_rules_update(makerspace=space, acting_user=owner, changes=SPACE_RULES)
    machines = _machines(space, owner)
    for name, changes in OVERRIDES.items():
        if not EquipmentRules.objects.filter(equipment=machines[name]).exists():
            equipment_rules_update(equipment=machines[name], acting_user=owner, changes=changes)
    _upkeep(machines, manager, now=now)
    _past_session(space, machines[LASER], member, now=now)
    upcoming = _upcoming(machines, member, now=now)

    pending = sum(1 for booking in upcoming if booking.status == ReservationStatus.PENDING)
    stdout.write(
        f"  Equipment: {len(machines)} machines in {space.name} ({CNC} in maintenance);"
        f" member@ has {len(upcoming)} upcoming bookings, {pending} waiting for approval."
    )
