"""The stock admin, through its real views: scoped to the spaces a staff member runs,
stock changed only through the stock services, and the ledger read-only to everyone."""

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.accounts.system import system_actor
from apps.core.models import AuditLogEntry
from apps.inventory import services
from apps.inventory.models import (
    InventoryItem,
    MovementKind,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockMovement,
)
from apps.makerspaces.models import Makerspace
from tests import factories
from tests.admin_support import (
    action_names,
    change_url,
    form_data,
    logged_in,
    messages_of,
    rows,
    staff,
)

MakerspaceFactory: Any = factories.MakerspaceFactory
UserFactory: Any = factories.UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST_QUERY_BOUND = 14
ITEMS = reverse("admin:inventory_inventoryitem_changelist")
MOVEMENTS = reverse("admin:inventory_stockmovement_changelist")
ORDERS = reverse("admin:inventory_purchaseorder_changelist")
IMPORT = reverse("admin:inventory_inventoryitem_import")
EXPORT = reverse("admin:inventory_inventoryitem_export")


# --- helpers -------------------------------------------------------------------------------


def stocked_item(makerspace: Makerspace, stock: str = "10", **fields: Any) -> InventoryItem:
    """An item whose stock is its opening movement, as the services record it."""
    owner = system_actor()
    fields.setdefault("sku", f"SKU-{InventoryItem.objects.count() + 1:04d}")
    fields.setdefault("name", f"Material {fields['sku']}")
    return services.item_create(
        makerspace=makerspace, acting_user=owner, opening_stock=Decimal(stock), **fields
    )


def ledger_sum(item: InventoryItem) -> Decimal:
    return sum((m.delta for m in StockMovement.objects.filter(item=item)), Decimal("0"))


def run_action(client: Client, url: str, action: str, objects: list[Any], **extra: Any) -> Any:
    return client.post(
        url, {"action": action, "_selected_action": [str(o.pk) for o in objects], **extra}
    )


def csv_upload(rows_: list[dict[str, str]], name: str = "stock.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows_[0]))
    writer.writeheader()
    writer.writerows(rows_)
    return SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")


@pytest.fixture
def space_a() -> Makerspace:
    return MakerspaceFactory.create(name="Alpha Works")


@pytest.fixture
def space_b() -> Makerspace:
    return MakerspaceFactory.create(name="Bravo Lab")


@pytest.fixture
def manager_a(space_a: Makerspace) -> Any:
    return staff(space_a, "manager")


@pytest.fixture
def admin_a(space_a: Makerspace) -> Any:
    return staff(space_a, "admin")


@pytest.fixture
def super_admin() -> Any:
    return UserFactory.create(is_superuser=True)


@pytest.fixture
def both_spaces_stocked(space_a: Makerspace, space_b: Makerspace) -> None:
    for space, prefix in ((space_a, "A"), (space_b, "B")):
        for number in range(3):
            stocked_item(space, "5", sku=f"{prefix}-{number}", name=f"{space.name} item {number}")


# --- scoping -------------------------------------------------------------------------------


@pytest.mark.usefixtures("both_spaces_stocked")
def test_a_manager_sees_only_the_items_of_their_space(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace, django_assert_max_num_queries: Any
) -> None:
    client = logged_in(manager_a)

    with django_assert_max_num_queries(CHANGELIST_QUERY_BOUND):
        response = client.get(ITEMS)

    assert response.status_code == 200
    assert {row.makerspace_id for row in rows(response)} == {space_a.pk}
    assert len(rows(response)) == 3
    assert space_b.name not in response.content.decode()


@pytest.mark.usefixtures("both_spaces_stocked")
def test_the_movement_and_order_lists_are_scoped_too(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    item_b = InventoryItem.objects.filter(makerspace=space_b).first()
    assert item_b is not None
    services.purchase_order_create(item=item_b, quantity=Decimal("3"), acting_user=system_actor())
    client = logged_in(manager_a)

    movements = client.get(MOVEMENTS)
    orders = client.get(ORDERS)
    foreign_ledger = client.get(MOVEMENTS, {"item": str(item_b.pk)})

    assert {row.item.makerspace_id for row in rows(movements)} == {space_a.pk}
    assert rows(orders) == []
    assert rows(foreign_ledger) == []
    assert client.get(change_url(item_b)).status_code in (302, 404)


def test_the_ledger_link_opens_the_items_whole_ledger(manager_a: Any, space_a: Makerspace) -> None:
    item = stocked_item(space_a, "10")
    other = stocked_item(space_a, "4")
    services.stock_deduct(item=item, quantity=Decimal("3"), reason="job", acting_user=manager_a)
    client = logged_in(manager_a)

    page = client.get(change_url(item))
    ledger = client.get(MOVEMENTS, {"item": str(item.pk)})

    assert f"{MOVEMENTS}?item={item.pk}" in page.content.decode()
    assert {row.item_id for row in rows(ledger)} == {item.pk}
    assert len(rows(ledger)) == 2
    assert other.pk not in {row.item_id for row in rows(ledger)}


def test_the_ledger_inline_shows_the_latest_movements_newest_first(
    manager_a: Any, space_a: Makerspace
) -> None:
    item = stocked_item(space_a, "100")
    for number in range(55):
        services.stock_deduct(
            item=item, quantity=Decimal("1"), reason=f"job {number}", acting_user=manager_a
        )

    response = logged_in(manager_a).get(change_url(item))

    (ledger,) = response.context["inline_admin_formsets"]
    shown = [form.instance for form in ledger.formset.forms]
    assert len(shown) == 50
    assert shown[0].reason == "job 54"
    assert [m.pk for m in shown] == sorted((m.pk for m in shown), reverse=True)
    assert not ledger.has_add_permission
    assert not ledger.has_change_permission
    assert not ledger.has_delete_permission


def test_saving_an_item_with_a_long_ledger_leaves_the_ledger_alone(
    manager_a: Any, space_a: Makerspace
) -> None:
    item = stocked_item(space_a, "100", name="Screws")
    for _ in range(55):
        services.stock_deduct(item=item, quantity=Decimal("1"), reason="job", acting_user=manager_a)
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(item)))
    services.stock_deduct(item=item, quantity=Decimal("1"), reason="late", acting_user=manager_a)
    data["name"] = "M3 screws"

    response = client.post(change_url(item), data)

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.name == "M3 screws"
    assert item.current_stock == Decimal("44")
    assert item.movements.count() == 57
    assert ledger_sum(item) == Decimal("44")


# --- items: written through the services -----------------------------------------------------


def test_adding_an_item_records_its_opening_stock_in_the_ledger(
    manager_a: Any, space_a: Makerspace
) -> None:
    response = logged_in(manager_a).post(
        reverse("admin:inventory_inventoryitem_add"),
        {
            "makerspace": str(space_a.pk),
            "name": "PLA filament black",
            "sku": "PLA-BLK",
            "unit": "g",
            "opening_stock": "750",
            "min_stock_level": "1000",
            "reorder_quantity": "5000",
            "unit_cost": "0.80",
        },
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    item = InventoryItem.objects.get(sku="PLA-BLK")
    assert item.makerspace == space_a
    assert item.current_stock == Decimal("750")
    (movement,) = item.movements.all()
    assert movement.kind == MovementKind.OPENING
    assert movement.user == manager_a
    assert AuditLogEntry.objects.get(object_id=str(item.pk)).action == "create"


def test_current_stock_cannot_be_edited_through_the_change_form(
    manager_a: Any, space_a: Makerspace
) -> None:
    item = stocked_item(space_a, "10", name="Plywood")
    client = logged_in(manager_a)
    page = client.get(change_url(item))
    assert "current_stock" not in page.context["adminform"].form.fields
    data = form_data(page)
    data.update({"current_stock": "999", "name": "Plywood 3 mm"})

    response = client.post(change_url(item), data)

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.name == "Plywood 3 mm"
    assert item.current_stock == Decimal("10")
    assert ledger_sum(item) == Decimal("10")
    entry = AuditLogEntry.objects.filter(object_id=str(item.pk), action="update").get()
    assert entry.changes == {"name": ["Plywood", "Plywood 3 mm"]}


def test_moving_an_item_to_another_space_is_refused(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    item = stocked_item(space_a, "10")
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(item)))
    data["makerspace"] = str(space_b.pk)

    moved = client.post(change_url(item), data)
    added = client.post(
        reverse("admin:inventory_inventoryitem_add"),
        {"makerspace": str(space_b.pk), "name": "Smuggled", "sku": "SMUG", "unit": "pcs"},
    )

    assert moved.status_code == 302
    item.refresh_from_db()
    assert item.makerspace == space_a
    assert added.status_code == 200
    assert "makerspace" in added.context["adminform"].form.errors
    assert not InventoryItem.objects.filter(sku="SMUG").exists()


def test_a_duplicate_sku_is_refused_with_a_message(manager_a: Any, space_a: Makerspace) -> None:
    stocked_item(space_a, "1", sku="DUP")
    other = stocked_item(space_a, "1", sku="OTHER")
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(other)))
    data["sku"] = "DUP"

    response = client.post(change_url(other), data)

    other.refresh_from_db()
    assert other.sku == "OTHER"
    assert response.status_code == 200
    assert "sku" in response.context["adminform"].form.errors


def test_deleting_an_item_with_a_ledger_deactivates_it(admin_a: Any, space_a: Makerspace) -> None:
    item = stocked_item(space_a, "3")
    client = logged_in(admin_a)
    delete_url = reverse("admin:inventory_inventoryitem_delete", args=[item.pk])

    confirm = client.get(delete_url)
    response = client.post(delete_url, {"post": "yes"}, follow=True)

    assert confirm.status_code == 200
    assert not confirm.context["protected"]
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.is_active is False
    assert item.movements.count() == 1


def test_a_manager_cannot_delete_items(manager_a: Any, space_a: Makerspace) -> None:
    item = stocked_item(space_a, "3")
    client = logged_in(manager_a)

    response = client.post(
        reverse("admin:inventory_inventoryitem_delete", args=[item.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert InventoryItem.objects.get(pk=item.pk).is_active


# --- the low-stock column and filter ---------------------------------------------------------


def test_low_items_are_marked_and_can_be_filtered(manager_a: Any, space_a: Makerspace) -> None:
    low = stocked_item(space_a, "800", name="PETG clear", unit="g", min_stock_level=Decimal("1000"))
    fine = stocked_item(
        space_a, "4500", name="PLA black", unit="g", min_stock_level=Decimal("1000")
    )
    client = logged_in(manager_a)

    everything = client.get(ITEMS)
    only_low = client.get(ITEMS, {"low_stock": "yes"})
    only_fine = client.get(ITEMS, {"low_stock": "no"})

    page = everything.content.decode()
    assert "800 g" in page
    assert "4500 g" in page
    assert page.count(">Low</span>") == 1
    assert [row.pk for row in rows(only_low)] == [low.pk]
    assert [row.pk for row in rows(only_fine)] == [fine.pk]


# --- actions -------------------------------------------------------------------------------


def test_the_restock_action_asks_then_writes_a_movement_the_ledger_agrees_with(
    manager_a: Any, space_a: Makerspace
) -> None:
    first = stocked_item(space_a, "2", unit="sheet")
    second = stocked_item(space_a, "0", unit="sheet")
    client = logged_in(manager_a)

    asked = run_action(client, ITEMS, "restock_selected", [first, second])
    written_when_asked = StockMovement.objects.filter(kind=MovementKind.RESTOCK).count()
    done = run_action(
        client,
        ITEMS,
        "restock_selected",
        [first, second],
        apply="yes",
        quantity="5",
        note="Delivery 42",
        unit_cost="12.50",
    )

    assert asked.status_code == 200
    assert "admin/inventory/restock.html" in [t.name for t in asked.templates]
    page = asked.content.decode()
    for item in (first, second):
        assert f"<td>{item}</td>" in page
        assert f'name="_selected_action" value="{item.pk}"' in page
    assert "Restock the selected items" in page
    assert written_when_asked == 0
    assert StockMovement.objects.filter(kind=MovementKind.RESTOCK).count() == 2
    assert done.status_code == 302
    for item, expected in ((first, Decimal("7")), (second, Decimal("5"))):
        item.refresh_from_db()
        assert item.current_stock == expected
        assert ledger_sum(item) == expected
        movement = item.movements.get(kind=MovementKind.RESTOCK)
        assert movement.balance_after == expected
        assert movement.reason == "Delivery 42"
        assert movement.unit_cost == Decimal("12.50")
        assert movement.user == manager_a
        assert item.unit_cost == Decimal("12.50")


def test_the_restock_action_with_a_bad_quantity_writes_nothing(
    manager_a: Any, space_a: Makerspace
) -> None:
    item = stocked_item(space_a, "2")
    client = logged_in(manager_a)

    response = run_action(
        client, ITEMS, "restock_selected", [item], apply="yes", quantity="-1", note=""
    )

    assert response.status_code == 200
    assert "quantity" in response.context["form"].errors
    assert item.movements.count() == 1


def test_purchase_orders_are_created_for_suggested_quantities(
    manager_a: Any, space_a: Makerspace
) -> None:
    low = stocked_item(
        space_a,
        "800",
        unit="g",
        min_stock_level=Decimal("1000"),
        reorder_quantity=Decimal("3000"),
        supplier="Prusament",
    )
    partly_ordered = stocked_item(
        space_a, "1", min_stock_level=Decimal("5"), reorder_quantity=Decimal("20")
    )
    services.purchase_order_create(
        item=partly_ordered, quantity=Decimal("15"), acting_user=manager_a
    )
    fine = stocked_item(space_a, "50", min_stock_level=Decimal("5"), reorder_quantity=Decimal("20"))
    client = logged_in(manager_a)

    response = run_action(client, ITEMS, "order_suggested", [low, partly_ordered, fine])

    assert response.status_code == 302
    new_orders = PurchaseOrder.objects.filter(created_by=manager_a).exclude(quantity=Decimal("15"))
    assert {(o.item_id, o.quantity) for o in new_orders} == {
        (low.pk, Decimal("3000")),
        (partly_ordered.pk, Decimal("5")),
    }
    assert PurchaseOrder.objects.get(item=low).supplier == "Prusament"
    assert not PurchaseOrder.objects.filter(item=fine).exists()


def test_the_csv_export_action_and_button(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    item = stocked_item(space_a, "12", sku="EXP-1", name="Exported")
    stocked_item(space_b, "1", sku="B-ONLY")
    client = logged_in(manager_a)

    by_action = run_action(client, ITEMS, "export_selected_csv", [item])
    by_button = client.get(EXPORT)

    for response in (by_action, by_button):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert [(row["sku"], row["current_stock"]) for row in table] == [("EXP-1", "12.000")]
    assert client.get(EXPORT, {"makerspace": str(space_b.pk)}).status_code == 404


# --- CSV import ----------------------------------------------------------------------------


def test_a_dry_run_import_reports_every_bad_row_and_writes_nothing(
    manager_a: Any, space_a: Makerspace
) -> None:
    existing = stocked_item(space_a, "4", sku="ACR-3MM", name="Acrylic")
    upload = csv_upload(
        [
            {"sku": "PLY-3MM", "name": "Plywood", "unit": "sheet", "current_stock": "25"},
            {"sku": "BAD-1", "name": "", "unit": "sheet", "current_stock": "3"},
            {"sku": "BAD-2", "name": "Widget", "unit": "crates", "current_stock": "lots"},
            {"sku": "ACR-3MM", "name": "Acrylic", "unit": "sheet", "current_stock": "9"},
        ]
    )
    items_before = InventoryItem.objects.count()
    movements_before = StockMovement.objects.count()

    response = logged_in(manager_a).post(
        IMPORT, {"makerspace": str(space_a.pk), "file": upload, "_dry_run": "1"}
    )

    assert response.status_code == 200
    report = response.context["report"]
    assert report.dry_run
    assert {(error["row"], error["sku"]) for error in report.errors} == {
        (3, "BAD-1"),
        (4, "BAD-2"),
    }
    bad_two = next(error for error in report.errors if error["sku"] == "BAD-2")
    assert set(bad_two["errors"]) == {"unit", "current_stock"}
    page = response.content.decode()
    assert page.count('class="import-error"') == 3
    assert 'id="confirm-import"' not in page
    assert InventoryItem.objects.count() == items_before
    assert StockMovement.objects.count() == movements_before
    existing.refresh_from_db()
    assert existing.current_stock == Decimal("4")


def test_a_clean_dry_run_then_import_creates_and_counts(
    manager_a: Any, space_a: Makerspace
) -> None:
    existing = stocked_item(space_a, "4", sku="ACR-3MM", name="Acrylic", unit="sheet")
    upload = csv_upload(
        [
            {"sku": "PLY-3MM", "name": "Plywood", "unit": "sheet", "current_stock": "25"},
            {"sku": "ACR-3MM", "name": "Acrylic", "unit": "sheet", "current_stock": "9"},
        ]
    )
    client = logged_in(manager_a)

    checked = client.post(IMPORT, {"makerspace": str(space_a.pk), "file": upload, "_dry_run": "1"})
    assert checked.status_code == 200
    assert checked.context["report"].ok
    assert 'id="confirm-import"' in checked.content.decode()
    assert not InventoryItem.objects.filter(sku="PLY-3MM").exists()
    imported = client.post(
        IMPORT,
        {
            "makerspace": str(space_a.pk),
            "csv_text": checked.context["checked_text"],
            "_import": "1",
        },
    )

    assert imported.status_code == 302
    plywood = InventoryItem.objects.get(makerspace=space_a, sku="PLY-3MM")
    assert plywood.current_stock == Decimal("25")
    existing.refresh_from_db()
    assert existing.current_stock == Decimal("9")
    assert ledger_sum(existing) == Decimal("9")
    assert existing.movements.filter(kind=MovementKind.ADJUST, reason="CSV import").exists()


def test_importing_into_another_space_is_refused(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    upload = csv_upload([{"sku": "X-1", "name": "Smuggled", "unit": "pcs"}])

    response = logged_in(manager_a).post(
        IMPORT, {"makerspace": str(space_b.pk), "file": upload, "_import": "1"}
    )

    assert response.status_code == 200
    assert "makerspace" in response.context["form"].errors
    assert not InventoryItem.objects.filter(sku="X-1").exists()


def test_a_plain_member_cannot_open_the_import_page(space_a: Makerspace) -> None:
    member = staff(space_a, "member")

    response = logged_in(member).get(IMPORT)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- the ledger is read-only ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager of A", "admin of A", "super admin"])
def test_nobody_can_add_change_or_delete_a_movement(
    who: str, manager_a: Any, admin_a: Any, super_admin: Any, space_a: Makerspace
) -> None:
    user = {"manager of A": manager_a, "admin of A": admin_a, "super admin": super_admin}[who]
    item = stocked_item(space_a, "10")
    movement = item.movements.get()
    client = logged_in(user)

    listing = client.get(MOVEMENTS)
    page = client.get(change_url(movement))
    add = client.get(reverse("admin:inventory_stockmovement_add"))
    change = client.post(change_url(movement), {"delta": "500", "reason": "forged"})
    delete = client.post(
        reverse("admin:inventory_stockmovement_delete", args=[movement.pk]), {"post": "yes"}
    )
    bulk_delete = run_action(client, MOVEMENTS, "delete_selected", [movement], post="yes")

    assert listing.status_code == 200
    assert "delete_selected" not in action_names(listing)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert bulk_delete.status_code in (200, 302)
    movement.refresh_from_db()
    assert movement.delta == Decimal("10")
    assert movement.reason == "Opening balance"
    assert StockMovement.objects.count() == 1


# --- purchase orders -----------------------------------------------------------------------


def test_marking_an_order_received_restocks_the_item_and_closes_the_order(
    manager_a: Any, space_a: Makerspace
) -> None:
    item = stocked_item(space_a, "800", unit="g", min_stock_level=Decimal("1000"))
    order = services.purchase_order_create(
        item=item, quantity=Decimal("2000"), acting_user=manager_a
    )
    client = logged_in(manager_a)

    first = run_action(client, ORDERS, "mark_received", [order])
    again = run_action(client, ORDERS, "mark_received", [order])

    assert first.status_code == 302
    assert again.status_code == 302
    order.refresh_from_db()
    item.refresh_from_db()
    assert order.status == PurchaseOrderStatus.RECEIVED
    assert item.current_stock == Decimal("2800")
    assert ledger_sum(item) == Decimal("2800")
    restock = item.movements.get(kind=MovementKind.RESTOCK)
    assert restock.purchase_order == order
    assert any("already closed" in message for message in messages_of(again))


def test_adding_an_order_for_another_spaces_item_is_refused(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    own = stocked_item(space_a, "1")
    foreign = stocked_item(space_b, "1")
    client = logged_in(manager_a)
    add_url = reverse("admin:inventory_purchaseorder_add")

    refused = client.post(add_url, {"item": str(foreign.pk), "quantity": "4"})
    accepted = client.post(add_url, {"item": str(own.pk), "quantity": "4", "supplier": "Acme"})

    assert refused.status_code == 200
    assert "item" in refused.context["adminform"].form.errors
    assert accepted.status_code == 302
    order = PurchaseOrder.objects.get()
    assert (order.item, order.quantity, order.created_by) == (own, Decimal("4"), manager_a)


# --- every page opens ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["super admin", "admin of A", "manager of A"])
def test_every_stock_page_of_the_admin_opens(
    who: str, super_admin: Any, admin_a: Any, manager_a: Any, space_a: Makerspace
) -> None:
    user = {"super admin": super_admin, "admin of A": admin_a, "manager of A": manager_a}[who]
    item = stocked_item(space_a, "5")
    order = services.purchase_order_create(item=item, quantity=Decimal("1"), acting_user=admin_a)
    client = logged_in(user)

    for url in (
        ITEMS,
        MOVEMENTS,
        ORDERS,
        IMPORT,
        change_url(item),
        change_url(item.movements.get()),
        change_url(order),
        reverse("admin:inventory_inventoryitem_add"),
        reverse("admin:inventory_purchaseorder_add"),
    ):
        assert client.get(url).status_code == 200, (who, url)
    assert client.get(EXPORT).status_code == 200
