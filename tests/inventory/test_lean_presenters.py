"""The lean ledger rows give exactly what the movement serializers give, on movements of
every shape: with and without a user, cost, purchase order, project and source, odd
decimals, and times with and without microseconds."""

import uuid
from decimal import Decimal

import pytest

from apps.accounts.models import User
from apps.inventory import selectors, services
from apps.inventory.api import presenters
from apps.inventory.api import serializers as s
from apps.inventory.models import InventoryItem, MovementSource, StockMovement
from apps.projects import services as project_services
from apps.projects.models import ProjectPrivacy
from tests.factories import MakerspaceFactory, MembershipFactory
from tests.inventory.support import stocked_item
from tests.lean import assert_lean_matches

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(time_machine) -> InventoryItem:
    space = MakerspaceFactory.create()
    manager = MembershipFactory.create(makerspace=space, role="manager").user
    member = MembershipFactory.create(makerspace=space, role="member").user
    leaver = MembershipFactory.create(makerspace=space, role="manager").user
    # A moment on the whole second, then moments with microseconds.
    time_machine.move_to("2026-05-04T09:00:00Z", tick=False)
    item = stocked_item(space, stock="12345678.901", acting_user=manager)
    time_machine.move_to("2026-05-04T09:00:00.000001Z", tick=False)
    order = services.purchase_order_create(
        item=item, quantity=Decimal("2.5"), acting_user=manager, supplier="Filament Co"
    )
    services.stock_restock(
        item=item,
        quantity=Decimal("2.5"),
        note="Delivery",
        unit_cost=Decimal("19.90"),
        purchase_order=order,
        acting_user=manager,
    )
    time_machine.move_to("2026-05-04T09:15:30.123456Z", tick=False)
    services.stock_restock(item=item, quantity=Decimal("0.001"), acting_user=manager)
    project = project_services.project_create(
        makerspace=space,
        owner=member,
        name="Bracket",
        acting_user=member,
        privacy=ProjectPrivacy.MAKERSPACE,
    )
    services.stock_deduct(
        item=item,
        quantity=Decimal("7"),
        reason="Print job",
        job_id="JOB-42",
        project_id=project.pk,
        acting_user=manager,
    )
    services.stock_consume_many(
        withdrawals=[services.Withdrawal(item=item, quantity=Decimal("0.5"))],
        reason="Session material",
        source_type=MovementSource.RESERVATION,
        source_id=uuid.uuid4(),
        acting_user=member,
    )
    services.stock_adjust(
        item=item, new_stock=Decimal("3"), reason="Count \u2013 shelf 4", acting_user=leaver
    )
    # Who moved the stock may leave: the ledger keeps the line without them.
    User.objects.filter(pk=leaver.pk).delete()
    return item


def _ledger(item: InventoryItem, *, staff: bool) -> dict[int, dict]:
    return {row["id"]: row for row in selectors.ledger_rows(item, staff=staff)}


def test_staff_rows_match_the_movement_serializer(item) -> None:
    rows = _ledger(item, staff=True)
    movements = StockMovement.objects.filter(item=item).select_related("user")

    compared = assert_lean_matches(
        lambda movement: presenters.movement_row(rows[movement.pk]),
        s.MovementSerializer,
        movements,
    )

    assert compared == 6
    shapes = {
        (row["user_id"] is None, row["unit_cost"] is None, row["purchase_order_id"] is None)
        for row in rows.values()
    }
    assert {(True, True, True), (False, False, False), (False, True, True)} <= shapes


def test_member_rows_match_the_member_movement_serializer(item) -> None:
    rows = _ledger(item, staff=False)
    movements = StockMovement.objects.filter(item=item)

    compared = assert_lean_matches(
        lambda movement: presenters.member_movement_row(rows[movement.pk]),
        s.MemberMovementSerializer,
        movements,
    )

    assert compared == 6
    assert all("user_id" not in row and "unit_cost" not in row for row in rows.values())
