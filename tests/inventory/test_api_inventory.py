"""The inventory API: items, stock changes through the ledger, reorder suggestions,
purchase orders and CSV import/export."""

import csv
import io
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.system import system_actor
from apps.inventory import services
from apps.inventory.models import (
    InventoryItem,
    MovementKind,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockMovement,
)
from apps.projects import services as project_services
from tests.factories import InventoryItemFactory, MakerspaceFactory, MembershipFactory
from tests.inventory.support import (
    client_for,
    item_url,
    items_url,
    ledger_sum,
    orders_url,
    stock_of,
    stocked_item,
)

pytestmark = pytest.mark.django_db

ITEM_FIELDS = {
    "id",
    "name",
    "sku",
    "category",
    "unit",
    "current_stock",
    "min_stock_level",
    "reorder_quantity",
    "location",
    "supplier",
    "unit_cost",
    "is_low_stock",
}


@pytest.fixture
def space():
    return MakerspaceFactory.create(name="Kyiv Lab", slug="kyiv-lab")


@pytest.fixture
def admin(space) -> User:
    return MembershipFactory.create(makerspace=space, role="admin").user


@pytest.fixture
def manager(space) -> User:
    return MembershipFactory.create(makerspace=space, role="manager").user


@pytest.fixture
def member(space) -> User:
    return MembershipFactory.create(makerspace=space, role="member").user


@pytest.fixture
def outsider() -> User:
    """An admin, but of another space."""
    return MembershipFactory.create(role="admin").user


@pytest.fixture
def staff(manager: User) -> APIClient:
    return client_for(manager)


def error_of(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def upload(text: str) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("inventory.csv", text.encode(), content_type="text/csv")}


# --- list -----------------------------------------------------------------------------


def test_list_answers_the_space_items_with_low_stock_flags(space, staff) -> None:
    stocked_item(space, stock="750", name="PLA white", sku="PLA-W", unit="g", min_stock_level=1000)
    stocked_item(space, stock=20, name="Plywood 3mm", sku="PLY-3", unit="sheet", min_stock_level=5)
    stocked_item(MakerspaceFactory.create(), stock=3, name="Elsewhere", sku="ELSE-1")

    response = staff.get(items_url(space))

    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["total"] == 2
    assert [row["sku"] for row in body["data"]] == ["PLA-W", "PLY-3"]
    pla, plywood = body["data"]
    assert set(pla) >= ITEM_FIELDS
    assert pla["current_stock"] == "750.000"
    assert pla["unit"] == "g"
    assert pla["is_low_stock"] is True
    assert plywood["is_low_stock"] is False


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"search": "pla"}, ["PLA-W"], id="search by name"),
        pytest.param({"search": "ply-"}, ["PLY-3"], id="search by sku"),
        pytest.param({"search": "WOOD"}, ["PLY-3"], id="search by category"),
        pytest.param({"search": "acme"}, ["PLA-W"], id="search by supplier"),
        pytest.param({"low_stock": "true"}, ["PLA-W"], id="only low items"),
        pytest.param({"low_stock": "false"}, ["M3-BOLT", "PLY-3"], id="only items in stock"),
        pytest.param({"category": "filament"}, ["PLA-W"], id="category, any case"),
        pytest.param({"category": "fil"}, [], id="category is an exact match"),
    ],
)
def test_list_filters(space, staff, query, expected) -> None:
    stocked_item(
        space,
        stock=100,
        name="PLA white",
        sku="PLA-W",
        category="Filament",
        supplier="Acme Plastics",
        min_stock_level=500,
    )
    stocked_item(space, stock=20, name="Plywood 3mm", sku="PLY-3", category="Wood")
    stocked_item(space, stock=200, name="M3 bolts", sku="M3-BOLT", category="Hardware")

    response = staff.get(items_url(space), query)

    assert response.status_code == 200
    assert sorted(row["sku"] for row in response.json()["data"]) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"low_stock": "maybe"}, "low_stock", id="low_stock not a boolean"),
        pytest.param({"search": "x" * 201}, "search", id="search too long"),
        pytest.param({"category": "c" * 101}, "category", id="category too long"),
        pytest.param({"limit": "0"}, "limit", id="limit below 1"),
        pytest.param({"limit": "101"}, "limit", id="limit above 100"),
        pytest.param({"page": "first"}, "page", id="page not a number"),
    ],
)
def test_list_rejects_bad_filters(space, staff, query, field) -> None:
    response = staff.get(items_url(space), query)

    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert field in error_of(response)["details"]


def test_list_query_count_does_not_grow_with_rows(
    space, manager, django_assert_max_num_queries
) -> None:
    InventoryItemFactory.create(makerspace=space)
    with CaptureQueriesContext(connection) as one_row:
        first = client_for(manager).get(items_url(space), {"limit": 100})
    assert len(first.json()["data"]) == 1
    InventoryItemFactory.create_batch(99, makerspace=space)

    with django_assert_max_num_queries(len(one_row.captured_queries)):
        response = client_for(manager).get(items_url(space), {"limit": 100})

    assert len(response.json()["data"]) == 100


# --- create, read, update ---------------------------------------------------------------


def test_create_records_the_opening_stock_as_one_movement(space, manager, staff) -> None:
    response = staff.post(
        items_url(space),
        {
            "name": "PETG black",
            "sku": "PETG-BK",
            "category": "Filament",
            "unit": "g",
            "current_stock": "1000.5",
            "min_stock_level": "200",
            "reorder_quantity": "2000",
            "unit_cost": "0.03",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["current_stock"] == "1000.500"
    assert body["is_low_stock"] is False
    item = InventoryItem.objects.get(pk=body["id"], makerspace=space)
    movements = list(item.movements.all())
    assert [(m.kind, m.delta, m.balance_after, m.user_id) for m in movements] == [
        (MovementKind.OPENING, Decimal("1000.500"), Decimal("1000.500"), manager.pk)
    ]


def test_create_without_stock_writes_no_movement(space, staff) -> None:
    response = staff.post(items_url(space), {"name": "Heat inserts M3", "sku": "INS-M3"})

    assert response.status_code == 201
    assert response.json()["current_stock"] == "0.000"
    assert not StockMovement.objects.filter(item_id=response.json()["id"]).exists()


def test_create_with_a_sku_the_space_has_answers_400_and_writes_nothing(space, staff) -> None:
    stocked_item(space, stock=5, sku="PETG-BK")

    response = staff.post(
        items_url(space), {"name": "Another PETG", "sku": "PETG-BK", "current_stock": "10"}
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert "sku" in error_of(response)["details"]
    assert InventoryItem.objects.filter(makerspace=space).count() == 1
    assert StockMovement.objects.count() == 1


def test_renaming_a_sku_to_one_the_space_has_answers_400(space, staff) -> None:
    stocked_item(space, sku="PETG-BK")
    item = stocked_item(space, sku="PETG-WH")

    response = staff.patch(item_url(item), {"sku": "PETG-BK"})

    assert response.status_code == 400
    assert "sku" in error_of(response)["details"]
    item.refresh_from_db()
    assert item.sku == "PETG-WH"


def test_the_same_sku_in_another_space_is_fine(space, staff) -> None:
    stocked_item(MakerspaceFactory.create(), stock=5, sku="PETG-BK")

    response = staff.post(items_url(space), {"name": "PETG", "sku": "PETG-BK"})

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"colour": "red"}, "colour", id="unknown field"),
        pytest.param({"is_active": False}, "is_active", id="read-only field"),
        pytest.param({"current_stock": "-1"}, "current_stock", id="negative opening stock"),
        pytest.param({"unit": "bucket"}, "unit", id="unknown unit"),
        pytest.param({"sku": ""}, "sku", id="blank sku"),
    ],
)
def test_create_rejects_bad_bodies_and_writes_nothing(space, staff, body, field) -> None:
    response = staff.post(items_url(space), {"name": "Resin grey", "sku": "RES-G", **body})

    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert field in error_of(response)["details"]
    assert not InventoryItem.objects.exists()
    assert not StockMovement.objects.exists()


def test_patch_refuses_current_stock_and_changes_nothing(space, staff) -> None:
    item = stocked_item(space, stock=10, name="Acrylic 3mm")

    response = staff.patch(item_url(item), {"current_stock": "99", "name": "Acrylic clear"})

    assert response.status_code == 400
    assert "current_stock" in error_of(response)["details"]
    item.refresh_from_db()
    assert (item.current_stock, item.name) == (Decimal("10"), "Acrylic 3mm")
    assert item.movements.count() == 1


def test_retrieve_sends_an_etag_and_a_stale_if_match_answers_412(space, staff) -> None:
    item = stocked_item(space, stock=10, name="Acrylic 3mm")
    loaded = staff.get(item_url(item))
    assert loaded.status_code == 200
    assert loaded.json()["current_stock"] == "10.000"
    stale_etag = loaded["ETag"]
    staff.post(item_url(item, "deduct"), {"quantity": "1", "reason": "Laser job"})

    stale = staff.patch(item_url(item), {"name": "Acrylic clear 3mm"}, HTTP_IF_MATCH=stale_etag)

    assert stale.status_code == 412
    assert error_of(stale)["code"] == "PRECONDITION_FAILED"
    item.refresh_from_db()
    assert item.name == "Acrylic 3mm"
    fresh_etag = staff.get(item_url(item))["ETag"]
    assert fresh_etag != stale_etag
    fresh = staff.patch(item_url(item), {"name": "Acrylic clear 3mm"}, HTTP_IF_MATCH=fresh_etag)
    assert fresh.status_code == 200
    assert fresh.json()["name"] == "Acrylic clear 3mm"
    assert fresh["ETag"] != fresh_etag


def test_admin_deleting_an_item_with_a_ledger_deactivates_it(space, admin) -> None:
    kept = stocked_item(space, stock=3)
    unused = stocked_item(space)

    assert client_for(admin).delete(item_url(kept)).status_code == 204
    assert client_for(admin).delete(item_url(unused)).status_code == 204

    kept.refresh_from_db()
    assert kept.is_active is False
    assert kept.movements.count() == 1
    assert not InventoryItem.objects.filter(pk=unused.pk).exists()
    assert client_for(admin).get(items_url(space)).json()["data"] == []


# --- deduct ------------------------------------------------------------------------------


def test_deduct_answers_the_new_stock_and_writes_a_deduct_movement(space, manager, staff) -> None:
    item = stocked_item(space, stock="25.5", unit="g")
    project = project_services.project_create(
        makerspace=space, owner=manager, name="Bracket", acting_user=manager
    ).pk

    response = staff.post(
        item_url(item, "deduct"),
        {
            "quantity": "2.25",
            "reason": "Bracket print",
            "job_id": "JOB-42",
            "project": str(project),
        },
    )

    assert response.status_code == 200
    movement = item.movements.get(kind=MovementKind.DEDUCT)
    assert response.json() == {"success": True, "new_stock": "23.250", "movement": movement.pk}
    assert movement.delta == Decimal("-2.25")
    assert movement.balance_after == Decimal("23.25")
    assert (movement.reason, movement.job_id, movement.project_id) == (
        "Bracket print",
        "JOB-42",
        project,
    )
    assert movement.user_id == manager.pk
    assert stock_of(item) == ledger_sum(item) == Decimal("23.25")


def test_deducting_more_than_in_stock_answers_400_and_writes_nothing(space, staff) -> None:
    item = stocked_item(space, stock=3, name="Walnut board", unit="sheet")
    before = InventoryItem.objects.get(pk=item.pk)

    response = staff.post(item_url(item, "deduct"), {"quantity": "3.5", "reason": "Box"})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "INSUFFICIENT_STOCK"
    assert error["details"]["items"] == [
        {
            "item": str(item.pk),
            "sku": item.sku,
            "name": "Walnut board",
            "unit": "sheet",
            "requested": "3.500",
            "available": "3.000",
            "short": "0.500",
        }
    ]
    after = InventoryItem.objects.get(pk=item.pk)
    assert (after.current_stock, after.updated_at) == (before.current_stock, before.updated_at)
    assert list(item.movements.values_list("kind", flat=True)) == [MovementKind.OPENING]


@pytest.mark.parametrize(
    "quantity",
    [
        pytest.param("0", id="zero"),
        pytest.param("-1", id="negative"),
        pytest.param("lots", id="garbage"),
        pytest.param("NaN", id="not a number"),
        pytest.param("1.0005", id="finer than a milligram"),
        pytest.param(None, id="missing"),
    ],
)
def test_deduct_rejects_bad_quantities_and_writes_nothing(space, staff, quantity) -> None:
    item = stocked_item(space, stock=10)
    body = {"reason": "Test"} if quantity is None else {"quantity": quantity, "reason": "Test"}

    response = staff.post(item_url(item, "deduct"), body)

    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert "quantity" in error_of(response)["details"]
    assert stock_of(item) == Decimal("10")
    assert item.movements.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"quantity": "1"}, "reason", id="no reason"),
        pytest.param({"quantity": "1", "reason": "x", "bin": "A3"}, "bin", id="unknown field"),
        pytest.param({"quantity": "1", "reason": "x", "project": "nope"}, "project", id="bad uuid"),
    ],
)
def test_deduct_rejects_bad_bodies(space, staff, body, field) -> None:
    item = stocked_item(space, stock=10)

    response = staff.post(item_url(item, "deduct"), body)

    assert response.status_code == 400
    assert field in error_of(response)["details"]
    assert item.movements.count() == 1


# --- restock -----------------------------------------------------------------------------


def test_restock_with_a_unit_cost_updates_the_item_cost(space, manager, staff) -> None:
    item = stocked_item(space, stock=100, unit="g", unit_cost=Decimal("0.03"))

    response = staff.post(
        item_url(item, "restock"),
        {"quantity": "1000", "unit_cost": "0.04", "note": "Spool from Acme"},
    )

    assert response.status_code == 200
    assert response.json()["new_stock"] == "1100.000"
    item.refresh_from_db()
    assert item.unit_cost == Decimal("0.04")
    movement = item.movements.get(kind=MovementKind.RESTOCK)
    assert (movement.delta, movement.unit_cost, movement.reason, movement.user_id) == (
        Decimal("1000"),
        Decimal("0.04"),
        "Spool from Acme",
        manager.pk,
    )


def test_restock_without_a_unit_cost_keeps_the_item_cost(space, staff) -> None:
    item = stocked_item(space, stock=1, unit_cost=Decimal("2.50"))

    response = staff.post(item_url(item, "restock"), {"quantity": "4"})

    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.current_stock, item.unit_cost) == (Decimal("5"), Decimal("2.50"))
    assert item.movements.get(kind=MovementKind.RESTOCK).unit_cost is None


@pytest.mark.parametrize("quantity", ["0", "-5", "many"])
def test_restock_rejects_bad_quantities(space, staff, quantity) -> None:
    item = stocked_item(space, stock=1)

    response = staff.post(item_url(item, "restock"), {"quantity": quantity})

    assert response.status_code == 400
    assert "quantity" in error_of(response)["details"]
    assert item.movements.count() == 1


def test_restocking_against_a_purchase_order_closes_it_and_twice_is_409(space, staff) -> None:
    item = stocked_item(space, stock=2, min_stock_level=5, reorder_quantity=20)
    ordered = staff.post(orders_url(space), {"item": str(item.pk), "quantity": "20"})
    assert ordered.status_code == 201
    order_id = ordered.json()["id"]

    received = staff.post(item_url(item, "restock"), {"quantity": "20", "purchase_order": order_id})
    again = staff.post(item_url(item, "restock"), {"quantity": "20", "purchase_order": order_id})

    assert received.status_code == 200
    assert received.json()["new_stock"] == "22.000"
    order = PurchaseOrder.objects.get(pk=order_id)
    assert order.status == PurchaseOrderStatus.RECEIVED
    assert order.received_at is not None
    assert again.status_code == 409
    assert error_of(again)["code"] == "ORDER_CLOSED"
    assert stock_of(item) == Decimal("22")
    restocks = item.movements.filter(kind=MovementKind.RESTOCK)
    assert [str(movement.purchase_order_id) for movement in restocks] == [order_id]


def test_restock_refuses_an_order_of_another_item_or_space(space, manager, staff) -> None:
    item = stocked_item(space, stock=2)
    other_item = stocked_item(space, stock=2)
    foreign_item = stocked_item(MakerspaceFactory.create(), stock=2)
    own_order = services.purchase_order_create(
        item=other_item, quantity=Decimal("5"), acting_user=manager
    )
    foreign_order = services.purchase_order_create(
        item=foreign_item, quantity=Decimal("5"), acting_user=system_actor()
    )

    wrong_item = staff.post(
        item_url(item, "restock"), {"quantity": "5", "purchase_order": str(own_order.pk)}
    )
    wrong_space = staff.post(
        item_url(item, "restock"), {"quantity": "5", "purchase_order": str(foreign_order.pk)}
    )

    for response in (wrong_item, wrong_space):
        assert response.status_code == 400
        assert "purchase_order" in error_of(response)["details"]
    assert stock_of(item) == Decimal("2")
    assert set(PurchaseOrder.objects.values_list("status", flat=True)) == {"open"}


# --- adjust ------------------------------------------------------------------------------


def test_adjust_records_the_difference_with_its_reason(space, manager, staff) -> None:
    item = stocked_item(space, stock=40)

    down = staff.post(item_url(item, "adjust"), {"new_stock": "37", "reason": "Stock count"})
    up = staff.post(item_url(item, "adjust"), {"new_stock": "45.5", "reason": "Found a box"})

    assert (down.status_code, down.json()["new_stock"]) == (200, "37.000")
    assert (up.status_code, up.json()["new_stock"]) == (200, "45.500")
    adjustments = item.movements.filter(kind=MovementKind.ADJUST).order_by("id")
    assert [(m.delta, m.balance_after, m.reason, m.user_id) for m in adjustments] == [
        (Decimal("-3"), Decimal("37"), "Stock count", manager.pk),
        (Decimal("8.5"), Decimal("45.5"), "Found a box", manager.pk),
    ]
    assert stock_of(item) == ledger_sum(item)


def test_adjust_to_the_same_count_writes_no_movement(space, staff) -> None:
    item = stocked_item(space, stock=12)

    response = staff.post(item_url(item, "adjust"), {"new_stock": "12.000", "reason": "Count"})

    assert response.status_code == 200
    assert response.json() == {"success": True, "new_stock": "12.000", "movement": None}
    assert item.movements.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"new_stock": "5"}, "reason", id="no reason"),
        pytest.param({"new_stock": "5", "reason": "   "}, "reason", id="blank reason"),
        pytest.param({"new_stock": "-1", "reason": "Count"}, "new_stock", id="negative count"),
        pytest.param({"reason": "Count"}, "new_stock", id="no count"),
    ],
)
def test_adjust_rejects_bad_bodies_and_writes_nothing(space, staff, body, field) -> None:
    item = stocked_item(space, stock=12)

    response = staff.post(item_url(item, "adjust"), body)

    assert response.status_code == 400
    assert field in error_of(response)["details"]
    assert stock_of(item) == Decimal("12")
    assert item.movements.count() == 1


# --- movements ---------------------------------------------------------------------------


@pytest.fixture
def busy_item(space, manager) -> tuple[InventoryItem, datetime]:
    """Opening 10, deduct 2, restock 5, then (after the time returned) a count of 12."""
    item = stocked_item(space, stock=10, acting_user=manager)
    services.stock_deduct(item=item, quantity=Decimal("2"), reason="Jig", acting_user=manager)
    services.stock_restock(item=item, quantity=Decimal("5"), acting_user=manager)
    middle = timezone.now()
    services.stock_adjust(item=item, new_stock=Decimal("12"), reason="Count", acting_user=manager)
    return item, middle


def test_movements_list_the_ledger_newest_first(busy_item, manager, staff) -> None:
    item, _middle = busy_item

    response = staff.get(item_url(item, "movements/"))

    assert response.status_code == 200
    rows = response.json()["data"]
    assert [(row["kind"], row["delta"], row["balance_after"]) for row in rows] == [
        ("adjust", "-1.000", "12.000"),
        ("restock", "5.000", "13.000"),
        ("deduct", "-2.000", "8.000"),
        ("opening", "10.000", "10.000"),
    ]
    assert rows[0]["user"] == {"id": str(manager.pk), "name": manager.name, "email": manager.email}
    assert rows[0]["reason"] == "Count"


@pytest.mark.parametrize(
    ("query", "kinds"),
    [
        pytest.param({"kind": "deduct"}, ["deduct"], id="one kind"),
        pytest.param({"kind": "restock,opening"}, ["restock", "opening"], id="several kinds"),
        pytest.param({"since": "middle"}, ["adjust"], id="since"),
        pytest.param({"until": "middle"}, ["restock", "deduct", "opening"], id="until"),
        pytest.param({"kind": "deduct", "until": "middle"}, ["deduct"], id="kind and until"),
    ],
)
def test_movements_filters(busy_item, staff, query, kinds) -> None:
    item, middle = busy_item
    query = {
        key: middle.isoformat() if value == "middle" else value for key, value in query.items()
    }

    response = staff.get(item_url(item, "movements/"), query)

    assert response.status_code == 200
    assert [row["kind"] for row in response.json()["data"]] == kinds


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"since": "last tuesday"}, "since", id="since not a time"),
        pytest.param({"until": "2026-13-45"}, "until", id="until not a time"),
        pytest.param({"kind": "deduct,theft"}, "kind", id="unknown kind"),
        pytest.param(
            {"until": "9999-12-31T23:00:00-05:00"}, "until", id="until past year 9999 in UTC"
        ),
    ],
)
def test_movements_reject_bad_filters(busy_item, staff, query, field) -> None:
    item, _middle = busy_item

    response = staff.get(item_url(item, "movements/"), query)

    assert response.status_code == 400
    assert field in error_of(response)["details"]


def test_movements_take_any_utc_offset_python_reads(busy_item, staff) -> None:
    # The database holds offsets of at most 15:59; the filter hands it UTC.
    item, _middle = busy_item

    response = staff.get(
        item_url(item, "movements/"),
        {"since": "2000-01-01T00:00:00+23:59", "until": "6143-10-10T22:04:06.465-23:41"},
    )

    assert response.status_code == 200
    assert len(response.json()["data"]) == 4


def test_movement_list_query_count_does_not_grow_with_rows(
    space, manager, django_assert_max_num_queries
) -> None:
    item = stocked_item(space, stock=1, acting_user=manager)
    url = item_url(item, "movements/")
    with CaptureQueriesContext(connection) as one_row:
        first = client_for(manager).get(url, {"limit": 100})
    assert len(first.json()["data"]) == 1
    for number in range(99):
        services.stock_restock(
            item=item,
            quantity=Decimal("1"),
            acting_user=MembershipFactory.create(makerspace=space, role="manager").user,
            note=f"Delivery {number}",
        )

    with django_assert_max_num_queries(len(one_row.captured_queries)):
        response = client_for(manager).get(url, {"limit": 100})

    assert len(response.json()["data"]) == 100


# --- reorder suggestions and purchase orders ----------------------------------------------


@pytest.fixture
def low_items(space, manager):
    pla = stocked_item(
        space,
        stock=2,
        name="PLA white",
        sku="PLA-W",
        min_stock_level=5,
        reorder_quantity=20,
        supplier="Acme",
    )
    resin = stocked_item(
        space, stock=0, name="Resin grey", sku="RES-G", min_stock_level=1, reorder_quantity=5
    )
    stocked_item(space, stock=50, name="Plywood", sku="PLY-3", min_stock_level=5)
    stocked_item(MakerspaceFactory.create(), stock=0, sku="ELSE-1", min_stock_level=1)
    services.purchase_order_create(item=pla, quantity=Decimal("8"), acting_user=manager)
    cancelled = services.purchase_order_create(
        item=pla, quantity=Decimal("100"), acting_user=manager
    )
    services.purchase_order_cancel(order=cancelled, acting_user=manager)
    received = services.purchase_order_create(item=pla, quantity=Decimal("1"), acting_user=manager)
    services.stock_restock(
        item=pla, quantity=Decimal("1"), purchase_order=received, acting_user=manager
    )
    services.purchase_order_create(item=resin, quantity=Decimal("10"), acting_user=manager)
    return pla, resin


def test_reorder_suggestions_subtract_what_is_on_order(low_items, space, manager) -> None:
    response = client_for(manager).get(items_url(space) + "reorder-suggestions")

    assert response.status_code == 200
    rows = {row["sku"]: row for row in response.json()["data"]}
    assert set(rows) == {"PLA-W", "RES-G"}
    assert rows["PLA-W"]["current_stock"] == "3.000"
    assert (rows["PLA-W"]["on_order"], rows["PLA-W"]["suggested_quantity"]) == ("8.000", "12.000")
    assert (rows["RES-G"]["on_order"], rows["RES-G"]["suggested_quantity"]) == ("10.000", "0.000")
    assert rows["PLA-W"]["supplier"] == "Acme"


def test_reorder_suggestions_as_csv(low_items, space, staff) -> None:
    response = staff.get(items_url(space) + "reorder-suggestions", {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["sku"], row["on_order"], row["suggested_quantity"]) for row in rows] == [
        ("PLA-W", "8.000", "12.000"),
        ("RES-G", "10.000", "0.000"),
    ]


def test_purchase_orders_are_created_listed_and_cancelled(space, manager, staff) -> None:
    item = stocked_item(space, stock=1, supplier="Acme")

    created = staff.post(orders_url(space), {"item": str(item.pk), "quantity": "12.5"})
    order_id = created.json()["id"]
    cancelled = staff.post(f"{orders_url(space)}{order_id}/cancel")
    cancelled_again = staff.post(f"{orders_url(space)}{order_id}/cancel")
    open_order = staff.post(orders_url(space), {"item": str(item.pk), "quantity": "3"})

    assert created.status_code == 201
    assert created.json()["status"] == "open"
    assert created.json()["supplier"] == "Acme"
    assert created.json()["quantity"] == "12.500"
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled_again.status_code == 409
    assert error_of(cancelled_again)["code"] == "ORDER_CLOSED"
    listed = staff.get(orders_url(space)).json()
    assert listed["meta"]["total"] == 2
    only_open = staff.get(orders_url(space), {"status": "open"}).json()["data"]
    assert [row["id"] for row in only_open] == [open_order.json()["id"]]
    assert PurchaseOrder.objects.get(pk=order_id).created_by_id == manager.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"item": "foreign", "quantity": "3"}, "item", id="item of another space"),
        pytest.param({"item": "own", "quantity": "0"}, "quantity", id="zero quantity"),
        pytest.param({"item": "own", "quantity": "3", "status": "received"}, "status", id="status"),
    ],
)
def test_purchase_order_create_rejects_bad_bodies(space, staff, body, field) -> None:
    own = stocked_item(space)
    foreign = stocked_item(MakerspaceFactory.create())
    body = {**body, "item": str((own if body["item"] == "own" else foreign).pk)}

    response = staff.post(orders_url(space), body)

    assert response.status_code == 400
    assert field in error_of(response)["details"]
    assert not PurchaseOrder.objects.exists()


# --- CSV ---------------------------------------------------------------------------------


def test_export_answers_the_active_items_as_csv(space, admin, manager) -> None:
    stocked_item(space, stock="1.5", name="PLA white", sku="PLA-W", unit="kg", unit_cost=20)
    gone = stocked_item(space, stock=1, name="Old stuff", sku="OLD-1")
    services.item_delete(item=gone, acting_user=admin)

    response = client_for(manager).get(items_url(space) + "export")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="inventory-kyiv-lab.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["sku"], row["name"], row["unit"], row["current_stock"]) for row in rows] == [
        ("PLA-W", "PLA white", "kg", "1.500")
    ]
    assert rows[0]["unit_cost"] == "20.00"


BAD_FILE = """sku,name,unit,current_stock,min_stock_level
PLA-1,PLA white,g,abc,100
PLA-2,PLA black,litres,10,5
,Mystery box,pcs,1,0
PLA-4,PLA red,g,10,1
PLA-4,PLA red again,g,10,1
"""


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "real run"])
def test_import_with_bad_rows_reports_each_and_writes_nothing(space, staff, dry_run) -> None:
    existing = stocked_item(space, stock=3, sku="PLA-4", name="PLA red")
    url = items_url(space) + "import" + ("?dry_run=true" if dry_run else "")

    response = staff.post(url, upload(BAD_FILE), format="multipart")

    assert response.status_code == 400
    report = response.json()
    assert (report["dry_run"], report["ok"]) == (dry_run, False)
    assert {row["row"]: (row["sku"], sorted(row["errors"])) for row in report["errors"]} == {
        2: ("PLA-1", ["current_stock"]),
        3: ("PLA-2", ["unit"]),
        4: (None, ["sku"]),
        6: ("PLA-4", ["sku"]),
    }
    assert "Also on row 5." in report["errors"][-1]["errors"]["sku"]
    assert list(InventoryItem.objects.values_list("sku", flat=True)) == ["PLA-4"]
    existing.refresh_from_db()
    assert (existing.name, existing.current_stock) == ("PLA red", Decimal("3"))
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize(
    ("row", "column"),
    [
        pytest.param("NEW-1,Thing,NaN,", "current_stock", id="NaN stock"),
        pytest.param("NEW-1,Thing,1.23456,", "current_stock", id="finer than the ledger"),
        pytest.param("NEW-1,Thing,1e20,", "current_stock", id="too many digits"),
        pytest.param("NEW-1,Thing,1,0.125", "unit_cost", id="cost below a cent"),
        pytest.param("NEW-1," + "n" * 201 + ",1,", "name", id="name too long"),
        pytest.param("N" * 65 + ",Thing,1,", "sku", id="sku too long"),
    ],
)
def test_import_rejects_values_the_item_cannot_hold(space, staff, row, column) -> None:
    text = f"sku,name,current_stock,unit_cost\nOK-1,Fine,1,\n{row}\n"

    dry = staff.post(items_url(space) + "import?dry_run=1", upload(text), format="multipart")
    real = staff.post(items_url(space) + "import", upload(text), format="multipart")

    for response in (dry, real):
        assert response.status_code == 400
        assert [(error["row"], list(error["errors"])) for error in response.json()["errors"]] == [
            (3, [column])
        ]
    assert not InventoryItem.objects.exists()


GOOD_FILE = """sku,name,category,unit,current_stock,min_stock_level,reorder_quantity,unit_cost
EXIST-1,PLA white 1kg,Filament,g,7,2,10,0.03
SAME-1,Plywood 3mm,Wood,sheet,20,,,
NEW-1,Brass inserts M3,Hardware,pcs,50,10,100,0.05
"""


def test_dry_run_of_a_good_file_counts_and_writes_nothing(space, staff) -> None:
    stocked_item(space, stock=10, sku="EXIST-1", name="PLA white", category="Filament", unit="g")
    stocked_item(space, stock=20, sku="SAME-1", name="Plywood 3mm", category="Wood", unit="sheet")

    response = staff.post(
        items_url(space) + "import?dry_run=true", upload(GOOD_FILE), format="multipart"
    )

    assert response.status_code == 200
    assert response.json() == {
        "dry_run": True,
        "ok": True,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "errors": [],
    }
    assert InventoryItem.objects.count() == 2
    assert stock_of(InventoryItem.objects.get(sku="EXIST-1")) == Decimal("10")
    assert StockMovement.objects.count() == 2


def test_import_creates_and_updates_by_sku_with_adjust_movements(space, manager, staff) -> None:
    exist = stocked_item(
        space, stock=10, sku="EXIST-1", name="PLA white", category="Filament", unit="g"
    )
    same = stocked_item(
        space, stock=20, sku="SAME-1", name="Plywood 3mm", category="Wood", unit="sheet"
    )

    response = staff.post(items_url(space) + "import", upload(GOOD_FILE), format="multipart")

    assert response.status_code == 200
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    assert response.json()["unchanged"] == 1
    exist.refresh_from_db()
    assert (exist.name, exist.current_stock, exist.min_stock_level, exist.unit_cost) == (
        "PLA white 1kg",
        Decimal("7"),
        Decimal("2"),
        Decimal("0.03"),
    )
    adjustment = exist.movements.get(kind=MovementKind.ADJUST)
    assert (adjustment.delta, adjustment.reason, adjustment.user_id) == (
        Decimal("-3"),
        "CSV import",
        manager.pk,
    )
    assert same.movements.count() == 1
    created = InventoryItem.objects.get(makerspace=space, sku="NEW-1")
    assert (created.name, created.unit, created.current_stock) == (
        "Brass inserts M3",
        "pcs",
        Decimal("50"),
    )
    assert list(created.movements.values_list("kind", "delta")) == [
        (MovementKind.OPENING, Decimal("50"))
    ]
    for item in InventoryItem.objects.all():
        assert stock_of(item) == ledger_sum(item)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "file", id="no file"),
        pytest.param(
            {"file": SimpleUploadedFile("x.csv", b"name,unit\nThing,pcs\n")}, "file", id="no sku"
        ),
        pytest.param({"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00")}, "file", id="binary"),
    ],
)
def test_import_rejects_unusable_files(space, staff, body, field) -> None:
    response = staff.post(items_url(space) + "import", body, format="multipart")

    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert field in error_of(response)["details"]


# --- permissions --------------------------------------------------------------------------

DEDUCT = {"quantity": "1", "reason": "Job"}
PERMISSION_CASES = [
    # (label, role, method, path, body, expected status)
    ("member lists items", "member", "get", "", None, 200),
    ("member reads an item", "member", "get", "{item}/", None, 200),
    ("member reads the ledger", "member", "get", "{item}/movements/", None, 200),
    ("member reads suggestions", "member", "get", "reorder-suggestions", None, 403),
    ("member exports", "member", "get", "export", None, 200),
    ("member deducts", "member", "post", "{item}/deduct", DEDUCT, 403),
    ("member restocks", "member", "post", "{item}/restock", {"quantity": "5"}, 403),
    ("member adjusts", "member", "post", "{item}/adjust", {"new_stock": "1", "reason": "x"}, 403),
    ("member creates an item", "member", "post", "", {"name": "X", "sku": "X-1"}, 403),
    ("member renames an item", "member", "patch", "{item}/", {"name": "Renamed"}, 403),
    ("member deletes an item", "member", "delete", "{item}/", None, 403),
    ("member imports", "member", "post", "import", "csv", 403),
    ("member orders", "member", "post", "orders", {"quantity": "5"}, 403),
    ("manager deletes an item", "manager", "delete", "{item}/", None, 403),
    ("manager deducts", "manager", "post", "{item}/deduct", DEDUCT, 200),
    ("outsider lists items", "outsider", "get", "", None, 404),
    ("outsider reads an item", "outsider", "get", "{item}/", None, 404),
    ("outsider deducts", "outsider", "post", "{item}/deduct", DEDUCT, 404),
    ("outsider restocks", "outsider", "post", "{item}/restock", {"quantity": "5"}, 404),
    ("outsider imports", "outsider", "post", "import", "csv", 404),
    ("outsider orders", "outsider", "post", "orders", {"quantity": "5"}, 404),
    ("anonymous lists items", "anonymous", "get", "", None, 401),
    ("anonymous deducts", "anonymous", "post", "{item}/deduct", DEDUCT, 401),
]


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in PERMISSION_CASES],
)
def test_permissions(space, member, manager, outsider, role, method, path, body, expected) -> None:
    item = stocked_item(space, stock=10, name="PLA white", sku="PLA-W")
    clients: dict[str, Callable[[], APIClient]] = {
        "member": lambda: client_for(member),
        "manager": lambda: client_for(manager),
        "outsider": lambda: client_for(outsider),
        "anonymous": APIClient,
    }
    client = clients[role]()
    if path == "orders":
        url, body = orders_url(space), {**body, "item": str(item.pk)}
    else:
        url = items_url(space) + path.format(item=item.pk)
    kwargs: dict[str, Any] = {}
    if body == "csv":
        body, kwargs = (
            upload("sku,name,current_stock\nPLA-W,Renamed,99\nNEW-1,New,1\n"),
            {"format": "multipart"},
        )

    response = getattr(client, method)(url, body, **kwargs)

    assert response.status_code == expected
    if expected >= 400:
        assert (
            error_of(response)["code"]
            == {
                401: "NOT_AUTHENTICATED",
                403: "PERMISSION_DENIED",
                404: "NOT_FOUND",
            }[expected]
        )
        item.refresh_from_db()
        assert (item.name, item.current_stock, item.is_active) == ("PLA white", Decimal("10"), True)
        assert list(InventoryItem.objects.values_list("sku", flat=True)) == ["PLA-W"]
        assert StockMovement.objects.count() == 1
        assert not PurchaseOrder.objects.exists()


def test_export_guards_against_spreadsheet_formulas_and_imports_back() -> None:
    from apps.inventory import csv_io
    from apps.inventory.models import InventoryItem
    from apps.inventory.services import item_create
    from tests.factories import MembershipFactory

    manager = MembershipFactory.create(role="manager")
    item_create(
        makerspace=manager.makerspace,
        acting_user=manager.user,
        name='=HYPERLINK("http://evil.example")',
        sku="EVIL-1",
    )

    exported = csv_io.export_csv(InventoryItem.objects.filter(makerspace=manager.makerspace))
    report = csv_io.import_csv(
        makerspace=manager.makerspace, text=exported, acting_user=manager.user, dry_run=False
    )

    assert "'=HYPERLINK" in exported
    assert report.ok
    assert report.unchanged == 1
    assert InventoryItem.objects.get(sku="EVIL-1").name.startswith("=HYPERLINK")
