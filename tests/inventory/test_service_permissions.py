"""Every inventory write service checks its caller against the role matrix itself.

Each service is called directly, as the API, the pages, the admin and the jobs call it,
by someone outside the space and by a plain member: both are refused with
PERMISSION_DENIED and nothing is written (no row, no ledger line, no audit entry, no
alert). The right callers still get through, so the refusals are not a blanket "no".
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from apps.accounts.models import User
from apps.accounts.system import system_actor
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from apps.inventory import csv_io, reorder, services
from apps.inventory.models import (
    InventoryItem,
    LowStockDigest,
    MovementSource,
    PurchaseOrder,
    ReorderAlert,
    StockMovement,
)
from apps.inventory.services import Withdrawal
from apps.makerspaces.models import Makerspace
from tests.factories import MakerspaceFactory, MembershipFactory, UserFactory
from tests.inventory.support import stocked_item

pytestmark = pytest.mark.django_db

OUTSIDER = "outsider"
MEMBER = "member"
SUSPENDED_MANAGER = "suspended manager"
MANAGER_ELSEWHERE = "manager of another space"
CSV = "sku,name,current_stock\nNEW-1,New part,5\nPLA-W,PLA white,80\n"


@dataclass
class World:
    space: Makerspace
    item: InventoryItem  # 100 in stock, minimum 10
    order: PurchaseOrder  # open, for `item`
    alert: ReorderAlert  # open, not sent
    digest: LowStockDigest  # today's, not sent
    people: dict[str, User]


@pytest.fixture
def world() -> World:
    space = MakerspaceFactory.create(name="Kyiv Lab")
    system = system_actor()
    item = stocked_item(
        space, stock=100, name="PLA white", sku="PLA-W", min_stock_level=10, acting_user=system
    )
    order = services.purchase_order_create(item=item, quantity=Decimal("5"), acting_user=system)
    alert = ReorderAlert.objects.create(item=item, stock_at_crossing=Decimal("10"))
    digest = LowStockDigest.objects.create(makerspace=space, day=date(2026, 3, 2), item_count=1)
    elsewhere = MakerspaceFactory.create(name="Lviv Lab")
    people = {
        OUTSIDER: UserFactory.create(),
        MEMBER: MembershipFactory.create(makerspace=space, role="member").user,
        SUSPENDED_MANAGER: MembershipFactory.create(
            makerspace=space, role="manager", status="suspended"
        ).user,
        MANAGER_ELSEWHERE: MembershipFactory.create(makerspace=elsewhere, role="manager").user,
    }
    return World(space, item, order, alert, digest, people)


def prepare(world: World, service: str) -> None:
    if service == "reorder_alert_release":
        # Releasing takes back a claim: the alert counts as sent until then.
        ReorderAlert.objects.filter(pk=world.alert.pk).update(sent_at=world.digest.created_at)


def snapshot(world: World) -> dict[str, Any]:
    """Everything a refused call could have written."""
    item = InventoryItem.objects.get(pk=world.item.pk)
    order = PurchaseOrder.objects.get(pk=world.order.pk)
    alert = ReorderAlert.objects.get(pk=world.alert.pk)
    return {
        "items": InventoryItem.objects.count(),
        "item": (item.name, item.current_stock, item.is_active, item.min_stock_level),
        "movements": StockMovement.objects.count(),
        "orders": PurchaseOrder.objects.count(),
        "order": (order.status, order.received_at),
        "alerts": list(ReorderAlert.objects.values_list("pk", "sent_at", "is_open")),
        "alert": alert.sent_at,
        "digests": list(LowStockDigest.objects.values_list("pk", "sent_at")),
        "audit": AuditLogEntry.objects.count(),
    }


Call = Callable[[World, User], Any]

WRITES: dict[str, Call] = {
    "item_create": lambda w, user: services.item_create(
        makerspace=w.space, acting_user=user, name="PETG", sku="PETG-1", opening_stock=Decimal(3)
    ),
    "item_update": lambda w, user: services.item_update(
        item=w.item, acting_user=user, changes={"name": "Renamed", "min_stock_level": 500}
    ),
    "item_delete": lambda w, user: services.item_delete(item=w.item, acting_user=user),
    "stock_deduct": lambda w, user: services.stock_deduct(
        item=w.item, quantity=Decimal("95"), reason="Print", acting_user=user
    ),
    "stock_restock": lambda w, user: services.stock_restock(
        item=w.item, quantity=Decimal("5"), acting_user=user
    ),
    "stock_restock receiving an order": lambda w, user: services.stock_restock(
        item=w.item, quantity=Decimal("5"), purchase_order=w.order, acting_user=user
    ),
    "stock_adjust": lambda w, user: services.stock_adjust(
        item=w.item, new_stock=Decimal("7"), reason="Count", acting_user=user
    ),
    "stock_consume_many without a cause": lambda w, user: services.stock_consume_many(
        withdrawals=[Withdrawal(w.item, Decimal("95"))], reason="Kit", acting_user=user
    ),
    "purchase_order_create": lambda w, user: services.purchase_order_create(
        item=w.item, quantity=Decimal("50"), acting_user=user
    ),
    "purchase_order_cancel": lambda w, user: services.purchase_order_cancel(
        order=w.order, acting_user=user
    ),
    "import_csv": lambda w, user: csv_io.import_csv(
        makerspace=w.space, text=CSV, acting_user=user, dry_run=False
    ),
    "import_csv dry run": lambda w, user: csv_io.import_csv(
        makerspace=w.space, text=CSV, acting_user=user, dry_run=True
    ),
    "reorder_alert_claim": lambda w, user: reorder.reorder_alert_claim(
        alert=w.alert, acting_user=user
    ),
    "reorder_alert_release": lambda w, user: reorder.reorder_alert_release(
        alert=w.alert, acting_user=user
    ),
    "low_stock_digest_claim": lambda w, user: reorder.low_stock_digest_claim(
        makerspace_id=w.space.pk, day=date(2026, 3, 3), item_count=1, acting_user=user
    ),
    "low_stock_digest_sent": lambda w, user: reorder.low_stock_digest_sent(
        digest=w.digest, acting_user=user
    ),
    "low_stock_digest_release": lambda w, user: reorder.low_stock_digest_release(
        digest=w.digest, acting_user=user
    ),
}

# A member uses up material on their own work: a session's at check-out, a project's
# bill of materials. The cause names the right needed; members hold it, outsiders not.
CONSUMING: dict[str, Call] = {
    "stock_consume_many for a booking": lambda w, user: services.stock_consume_many(
        withdrawals=[Withdrawal(w.item, Decimal("5"))],
        reason="Used on the laser",
        acting_user=user,
        source_type=MovementSource.RESERVATION,
        source_id="0b7f3a52-8c1e-4d4e-9a55-2f1f3f0c9a10",
    ),
    "stock_consume_many for a project": lambda w, user: services.stock_consume_many(
        withdrawals=[Withdrawal(w.item, Decimal("5"))],
        reason="Desk lamp",
        acting_user=user,
        source_type=MovementSource.PROJECT,
        source_id="5d0c9e61-3a7b-4f0e-8d2c-6b9a1e4f7c21",
    ),
}

REFUSED_CALLERS = (OUTSIDER, MEMBER, SUSPENDED_MANAGER, MANAGER_ELSEWHERE)
CASES = [
    pytest.param(service, caller, id=f"{service} as {caller}")
    for service in WRITES
    for caller in REFUSED_CALLERS
] + [
    pytest.param(service, caller, id=f"{service} as {caller}")
    for service in CONSUMING
    for caller in (OUTSIDER, SUSPENDED_MANAGER, MANAGER_ELSEWHERE)
]


@pytest.mark.parametrize(("service", "caller"), CASES)
def test_a_caller_without_the_right_is_refused_and_nothing_is_written(
    world: World, service: str, caller: str
) -> None:
    # Given the space's stock as it stands
    prepare(world, service)
    before = snapshot(world)
    call = WRITES.get(service) or CONSUMING[service]

    # When someone without the right calls the service directly
    with pytest.raises(ApplicationError) as refusal:
        call(world, world.people[caller])

    # Then it answers 403 PERMISSION_DENIED and nothing changed
    assert refusal.value.code == "PERMISSION_DENIED"
    assert refusal.value.status_code == 403
    assert snapshot(world) == before


def test_a_plain_member_may_consume_for_their_session_and_project(world: World) -> None:
    member = world.people[MEMBER]

    for service in CONSUMING:
        CONSUMING[service](world, member)

    movements = StockMovement.objects.filter(item=world.item, kind="consume")
    assert sorted(movements.values_list("source_type", flat=True)) == ["project", "reservation"]
    assert set(movements.values_list("user", flat=True)) == {member.pk}


def test_consuming_stock_of_another_space_is_refused_even_for_a_cause(world: World) -> None:
    # A member of one space cannot take another space's stock, whatever the cause says.
    other = stocked_item(
        MakerspaceFactory.create(), stock=10, sku="ELSE-1", acting_user=system_actor()
    )
    before = StockMovement.objects.count()

    with pytest.raises(ApplicationError) as refusal:
        services.stock_consume_many(
            withdrawals=[Withdrawal(world.item, Decimal("1")), Withdrawal(other, Decimal("1"))],
            reason="Used on the laser",
            acting_user=world.people[MEMBER],
            source_type=MovementSource.RESERVATION,
            source_id="0b7f3a52-8c1e-4d4e-9a55-2f1f3f0c9a10",
        )

    assert refusal.value.code == "PERMISSION_DENIED"
    assert StockMovement.objects.count() == before


# Who holds each right: managers run the stock, deleting items is for admins.
ALLOWED = [
    pytest.param(service, "manager", id=f"{service} as manager")
    for service in WRITES
    if service != "item_delete"
] + [
    pytest.param("item_delete", "admin", id="item_delete as admin"),
    pytest.param("reorder_alert_claim", "system", id="reorder_alert_claim as the system"),
    pytest.param("low_stock_digest_claim", "system", id="low_stock_digest_claim as the system"),
]


@pytest.mark.parametrize(("service", "role"), ALLOWED)
def test_the_roles_holding_the_right_get_through(world: World, service: str, role: str) -> None:
    caller = (
        system_actor()
        if role == "system"
        else MembershipFactory.create(makerspace=world.space, role=role).user
    )
    prepare(world, service)
    before = snapshot(world)

    WRITES[service](world, caller)

    if service != "import_csv dry run":
        assert snapshot(world) != before


def test_a_manager_may_not_delete_items(world: World) -> None:
    manager = MembershipFactory.create(makerspace=world.space, role="manager").user
    before = snapshot(world)

    with pytest.raises(ApplicationError) as refusal:
        services.item_delete(item=world.item, acting_user=manager)

    assert refusal.value.code == "PERMISSION_DENIED"
    assert snapshot(world) == before


def test_the_sku_rule_is_one_answer_for_create_and_update(world: World) -> None:
    system = system_actor()
    other = stocked_item(world.space, sku="PETG-1", acting_user=system)

    with pytest.raises(ApplicationError) as on_create:
        services.item_create(makerspace=world.space, acting_user=system, name="x", sku="PLA-W")
    with pytest.raises(ApplicationError) as on_update:
        services.item_update(item=other, acting_user=system, changes={"sku": "PLA-W"})

    message = "This makerspace already has an item with SKU 'PLA-W'."
    assert on_create.value.details == on_update.value.details == {"sku": [message]}
    # The same SKU in another space is free.
    services.item_create(
        makerspace=MakerspaceFactory.create(), acting_user=system, name="x", sku="PLA-W"
    )
