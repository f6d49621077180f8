from datetime import datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import User
from apps.core.models import AuditLogEntry
from apps.equipment.demo import upcoming_slot
from apps.equipment.models import (
    BookingRules,
    Equipment,
    EquipmentRules,
    MaintenanceLog,
    Reservation,
)
from apps.makerspaces.hours import is_open_between
from apps.makerspaces.models import Makerspace, Membership, MemberSkill
from apps.makerspaces.selectors import current_skill_slugs

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def test_seed_demo_loads_every_app_and_is_safe_to_run_twice() -> None:
    first = StringIO()
    call_command("seed_demo", stdout=first)
    counts = (
        User.objects.count(),
        Makerspace.objects.count(),
        Membership.objects.count(),
        MemberSkill.objects.count(),
        AuditLogEntry.objects.count(),
    )

    call_command("seed_demo", stdout=StringIO())

    assert (
        User.objects.count(),
        Makerspace.objects.count(),
        Membership.objects.count(),
        MemberSkill.objects.count(),
        AuditLogEntry.objects.count(),
    ) == counts
    output = first.getvalue()
    assert "member@makrx.local" in output
    assert "makrx-demo-2026" in output
    member = User.objects.get(email="member@makrx.local")
    assert member.check_password("makrx-demo-2026")
    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    assert current_skill_slugs(user=member, makerspace=kyiv) == {"laser-basic", "3d-printing"}
    assert Membership.objects.get(user__email="owner@makrx.local", makerspace=kyiv).role == "admin"


def test_seed_demo_equipment_is_stable_and_has_upcoming_bookings_in_opening_hours() -> None:
    def equipment_counts() -> dict[str, int]:
        return {
            "equipment": Equipment.objects.count(),
            "booking rules": BookingRules.objects.count(),
            "overrides": EquipmentRules.objects.count(),
            "maintenance logs": MaintenanceLog.objects.count(),
            "reservations": Reservation.objects.count(),
            "audit entries": AuditLogEntry.objects.count(),
        }

    first = StringIO()
    call_command("seed_demo", stdout=first)
    after_first = equipment_counts()
    call_command("seed_demo", stdout=StringIO())

    assert equipment_counts() == after_first
    assert "Equipment:" in first.getvalue()
    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    assert after_first["equipment"] == 5
    assert Equipment.objects.get(name="Shapeoko CNC router").status == "maintenance"
    assert Equipment.objects.get(name="Shapeoko CNC router").maintenance_logs.exists()
    laser = Equipment.objects.get(makerspace=kyiv, name="Epilog Fusion Pro laser cutter")
    assert list(laser.skill_requirements.values_list("slug", flat=True)) == ["laser-basic"]
    assert laser.usage_minutes_since_maintenance > 0
    mine = Reservation.objects.filter(user__email="member@makrx.local", makerspace=kyiv)
    past = mine.get(status="completed")
    assert past.used_minutes
    upcoming = list(mine.filter(status__in=("confirmed", "pending"), start_time__gt=timezone.now()))
    assert {booking.status for booking in upcoming} == {"confirmed", "pending"}
    closed = list(kyiv.closures.values_list("date", flat=True))
    for booking in upcoming:
        assert is_open_between(
            kyiv.business_hours, kyiv.timezone, booking.start_time, booking.end_time, closed
        ), booking


def test_demo_bookings_skip_the_days_the_space_is_closed() -> None:
    call_command("seed_demo", stdout=StringIO())
    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    printer = Equipment.objects.get(makerspace=kyiv, name="Prusa MK4 #1")
    christmas = kyiv.closures.get(reason="Christmas").date
    zone = ZoneInfo(kyiv.timezone)
    christmas_eve = datetime.combine(christmas - timedelta(days=1), time(20), tzinfo=zone)

    slot = upcoming_slot(printer, nth_day=0, after_opening_hours=1, minutes=120, now=christmas_eve)

    assert slot is not None
    start, end = slot
    assert start.astimezone(zone).date() > christmas
    closed = list(kyiv.closures.values_list("date", flat=True))
    assert is_open_between(kyiv.business_hours, kyiv.timezone, start, end, closed)


def test_inventory_demo_is_stable_across_runs_and_agrees_with_its_ledger() -> None:
    from decimal import Decimal

    from apps.inventory.models import InventoryItem, PurchaseOrder, StockMovement

    call_command("seed_demo", stdout=StringIO())
    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    counts = (
        InventoryItem.objects.count(),
        StockMovement.objects.count(),
        PurchaseOrder.objects.count(),
    )

    call_command("seed_demo", stdout=StringIO())
    checked = StringIO()
    call_command("check_stock_ledger", stdout=checked)

    assert (
        InventoryItem.objects.count(),
        StockMovement.objects.count(),
        PurchaseOrder.objects.count(),
    ) == counts
    assert "agree" in checked.getvalue()
    stock = dict(InventoryItem.objects.filter(makerspace=kyiv).values_list("sku", "current_stock"))
    assert stock["PLA-BLK"] == Decimal("4500")
    assert stock["PETG-CLR"] == Decimal("800")
    assert stock["ACR-3MM"] == Decimal("4")
    assert {"PLY-3MM", "LED-STRIP-1M", "M3-10"} <= set(stock)
    low = {item.sku for item in InventoryItem.objects.filter(makerspace=kyiv) if item.is_low_stock}
    assert {"PETG-CLR", "ACR-3MM"} <= low
    assert "PLA-BLK" not in low
    assert PurchaseOrder.objects.filter(item__makerspace=kyiv, status="open").count() == 1
    assert StockMovement.objects.filter(item__makerspace=kyiv, kind="deduct").exists()
