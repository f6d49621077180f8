"""Two spaces with people in every role, stock with a ledger, and a helper for projects."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.system import system_actor
from apps.equipment.models import Reservation
from apps.inventory import services as inventory_services
from apps.inventory.models import InventoryItem
from apps.makerspaces.models import Makerspace
from apps.projects import services
from apps.projects.models import Project
from tests import factories

KYIV = ZoneInfo("Europe/Kyiv")
MakerspaceFactory: Any = factories.MakerspaceFactory
MembershipFactory: Any = factories.MembershipFactory
UserFactory: Any = factories.UserFactory
EquipmentFactory: Any = factories.EquipmentFactory


@dataclass
class Space:
    makerspace: Makerspace
    people: dict[str, User] = field(default_factory=dict)  # role label → user

    def __getitem__(self, role: str) -> User:
        return self.people[role]


def stocked_item(space: Makerspace, sku: str, stock: str, unit: str = "pcs") -> InventoryItem:
    """An item whose stock comes from the ledger's opening movement."""
    return inventory_services.item_create(
        makerspace=space,
        acting_user=system_actor(),
        opening_stock=Decimal(stock),
        name=f"Material {sku}",
        sku=sku,
        unit=unit,
    )


def make_project(space: Makerspace, owner: User, **fields: Any) -> Project:
    fields.setdefault("name", "Desk lamp")
    return services.project_create(makerspace=space, owner=owner, acting_user=owner, **fields)


def booking(space: Makerspace, user: User, *, days: int = 1, hour: int = 10) -> Reservation:
    machine = EquipmentFactory.create(makerspace=space)
    # The space's own day: at 00:30 in Kyiv the UTC date is still yesterday.
    day = timezone.now().astimezone(KYIV).date() + dt.timedelta(days=days)
    start = dt.datetime.combine(day, dt.time(hour), tzinfo=KYIV)
    end = start + dt.timedelta(hours=1)
    return Reservation.objects.create(
        makerspace=space,
        equipment=machine,
        user=user,
        start_time=start,
        end_time=end,
        block_end=end,
        status="confirmed",
    )


def _space(name: str) -> Space:
    makerspace = MakerspaceFactory.create(name=name)
    space = Space(makerspace=makerspace)
    for label, role in [
        ("owner", "member"),
        ("editor", "member"),
        ("viewer", "member"),
        ("member", "member"),
        ("manager", "manager"),
        ("admin", "admin"),
    ]:
        space.people[label] = MembershipFactory.create(
            makerspace=makerspace,
            role=role,
            user=UserFactory.create(name=f"{name} {label.title()}"),
        ).user
    return space


@pytest.fixture
def alpha(db: Any) -> Space:
    return _space("Alpha")


@pytest.fixture
def bravo(db: Any) -> Space:
    return _space("Bravo")


@pytest.fixture
def super_admin(db: Any) -> User:
    return UserFactory.create(is_superuser=True, is_staff=True, name="Root")
