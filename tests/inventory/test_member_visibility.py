"""What members of a space see of its stock: items, stock levels, units and locations.
Supplier, unit cost, purchase orders, reorder suggestions and who moved the stock (by
name and email) are for staff, in the API and on the pages alike."""

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.inventory import services
from apps.inventory.models import InventoryItem, PurchaseOrder
from apps.makerspaces.models import Makerspace
from tests.factories import MakerspaceFactory, MembershipFactory
from tests.inventory.support import client_for, item_url, items_url, orders_url, stocked_item

pytestmark = pytest.mark.django_db

SUPPLIER = "Prusament Distribution"
UNIT_COST = "417.29"
STAFF_NAME = "Olena Skladchuk"
STAFF_EMAIL = "olena.skladchuk@kyivlab.example"
STAFF_ITEM_KEYS = {"supplier", "unit_cost"}
STAFF_MOVEMENT_KEYS = {"user", "unit_cost", "purchase_order"}


@pytest.fixture
def space() -> Makerspace:
    return MakerspaceFactory.create(name="Kyiv Lab", slug="kyiv-lab")


@pytest.fixture
def manager(space: Makerspace) -> User:
    return MembershipFactory.create(
        makerspace=space, role="manager", user__name=STAFF_NAME, user__email=STAFF_EMAIL
    ).user


@pytest.fixture
def member(space: Makerspace) -> User:
    return MembershipFactory.create(makerspace=space, role="member").user


@pytest.fixture
def petg(space: Makerspace, manager: User) -> InventoryItem:
    """A low item with a supplier, a cost, an open order and a restock by the manager."""
    item = stocked_item(
        space,
        stock=800,
        acting_user=manager,
        name="PETG clear",
        sku="PETG-CLR",
        unit="g",
        location="Shelf B2",
        min_stock_level=Decimal("1000"),
        reorder_quantity=Decimal("3000"),
        supplier=SUPPLIER,
        unit_cost=Decimal(UNIT_COST),
    )
    services.stock_restock(
        item=item,
        quantity=Decimal("50"),
        unit_cost=Decimal(UNIT_COST),
        note="Delivery",
        acting_user=manager,
    )
    services.purchase_order_create(item=item, quantity=Decimal("2000"), acting_user=manager)
    return item


# --- the API -------------------------------------------------------------------------------


def test_a_member_lists_items_without_supplier_or_cost(
    space: Makerspace, member: User, manager: User, petg: InventoryItem
) -> None:
    as_member = client_for(member).get(items_url(space))
    as_manager = client_for(manager).get(items_url(space))

    assert as_member.status_code == as_manager.status_code == 200
    (seen_by_member,) = as_member.json()["data"]
    (seen_by_manager,) = as_manager.json()["data"]
    assert not STAFF_ITEM_KEYS & set(seen_by_member)
    assert set(seen_by_manager) >= STAFF_ITEM_KEYS
    assert seen_by_manager["supplier"] == SUPPLIER
    assert seen_by_manager["unit_cost"] == UNIT_COST
    assert (seen_by_member["current_stock"], seen_by_member["unit"]) == ("850.000", "g")
    assert (seen_by_member["location"], seen_by_member["is_low_stock"]) == ("Shelf B2", True)
    assert SUPPLIER not in as_member.content.decode()
    assert UNIT_COST not in as_member.content.decode()


def test_a_member_reads_an_item_without_supplier_or_cost(
    member: User, manager: User, petg: InventoryItem
) -> None:
    as_member = client_for(member).get(item_url(petg))
    as_manager = client_for(manager).get(item_url(petg))

    assert as_member.status_code == as_manager.status_code == 200
    assert not STAFF_ITEM_KEYS & set(as_member.json())
    assert as_manager.json()["supplier"] == SUPPLIER
    assert SUPPLIER not in as_member.content.decode()


def test_a_member_cannot_find_items_by_their_supplier(
    space: Makerspace, member: User, manager: User, petg: InventoryItem
) -> None:
    as_member = client_for(member).get(items_url(space), {"search": "Prusament"})
    as_manager = client_for(manager).get(items_url(space), {"search": "Prusament"})

    assert as_member.json()["data"] == []
    assert [row["sku"] for row in as_manager.json()["data"]] == ["PETG-CLR"]


def test_a_member_reads_the_ledger_without_who_or_cost(
    member: User, manager: User, petg: InventoryItem
) -> None:
    as_member = client_for(member).get(item_url(petg, "movements/"))
    as_manager = client_for(manager).get(item_url(petg, "movements/"))

    assert as_member.status_code == as_manager.status_code == 200
    member_rows = as_member.json()["data"]
    manager_rows = as_manager.json()["data"]
    assert [(row["kind"], row["delta"], row["reason"]) for row in member_rows] == [
        ("restock", "50.000", "Delivery"),
        ("opening", "800.000", "Opening balance"),
    ]
    assert all("created_at" in row for row in member_rows)
    assert all(not STAFF_MOVEMENT_KEYS & set(row) for row in member_rows)
    assert all(set(row) >= STAFF_MOVEMENT_KEYS for row in manager_rows)
    assert manager_rows[0]["user"]["email"] == STAFF_EMAIL
    body = as_member.content.decode()
    assert STAFF_EMAIL not in body
    assert STAFF_NAME not in body
    assert UNIT_COST not in body


@pytest.mark.parametrize(
    "route",
    [
        pytest.param("reorder-suggestions", id="reorder suggestions"),
        pytest.param("purchase-orders", id="purchase orders"),
    ],
)
def test_members_are_refused_purchasing_routes_that_staff_read(
    space: Makerspace, member: User, manager: User, petg: InventoryItem, route: str
) -> None:
    url = orders_url(space) if route == "purchase-orders" else items_url(space) + route

    as_member = client_for(member).get(url)
    as_manager = client_for(manager).get(url)

    assert as_member.status_code == 403
    assert as_member.json()["error"]["code"] == "PERMISSION_DENIED"
    assert SUPPLIER not in as_member.content.decode()
    assert as_manager.status_code == 200
    assert as_manager.json()["data"]


def test_a_members_export_leaves_out_supplier_and_cost(
    space: Makerspace, member: User, manager: User, petg: InventoryItem
) -> None:
    as_member = client_for(member).get(items_url(space) + "export")
    as_manager = client_for(manager).get(items_url(space) + "export")

    (member_row,) = csv.DictReader(io.StringIO(as_member.content.decode()))
    (manager_row,) = csv.DictReader(io.StringIO(as_manager.content.decode()))
    assert not STAFF_ITEM_KEYS & set(member_row)
    assert (member_row["sku"], member_row["current_stock"]) == ("PETG-CLR", "850.000")
    assert (manager_row["supplier"], manager_row["unit_cost"]) == (SUPPLIER, UNIT_COST)
    assert SUPPLIER not in as_member.content.decode()


def test_the_schema_documents_both_shapes_of_an_item(api_client: Any) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    components = schema.json()["components"]["schemas"]
    shapes = [
        entry["$ref"].rsplit("/", 1)[1] for entry in components["InventoryItemForCaller"]["anyOf"]
    ]
    assert shapes == ["InventoryItem", "MemberInventoryItem"]
    member_shape = components["MemberInventoryItem"]
    assert not STAFF_ITEM_KEYS & set(member_shape["properties"])
    assert member_shape["additionalProperties"] is False
    assert set(components["InventoryItem"]["properties"]) >= STAFF_ITEM_KEYS
    assert not STAFF_MOVEMENT_KEYS & set(components["MemberMovement"]["properties"])


# --- the pages -----------------------------------------------------------------------------


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_url(name: str, item: InventoryItem) -> str:
    if name in ("list", "reorder", "reorder-csv"):
        return reverse(f"inventory:{name}", kwargs={"slug": item.makerspace.slug})
    return reverse("inventory:item", kwargs={"slug": item.makerspace.slug, "item_id": item.pk})


def test_the_item_page_shows_members_stock_but_not_purchasing_or_who(
    member: User, manager: User, petg: InventoryItem
) -> None:
    as_member = signed_in(member).get(page_url("item", petg)).content.decode()
    as_manager = signed_in(manager).get(page_url("item", petg)).content.decode()
    receive = reverse(
        "inventory:order-receive",
        kwargs={
            "slug": petg.makerspace.slug,
            "order_id": PurchaseOrder.objects.get(item=petg).pk,
        },
    )

    for shown_to_staff_only in (SUPPLIER, UNIT_COST, STAFF_NAME, receive, "On order"):
        assert shown_to_staff_only in as_manager
        assert shown_to_staff_only not in as_member
    assert "850 g" in as_member
    assert "Shelf B2" in as_member
    assert "Delivery" in as_member


def test_the_item_page_of_an_unnamed_staff_member_hides_their_email_from_members(
    space: Makerspace, member: User, petg: InventoryItem
) -> None:
    nameless = MembershipFactory.create(
        makerspace=space, role="manager", user__name="", user__email="no.name@kyivlab.example"
    ).user
    services.stock_deduct(item=petg, quantity=Decimal("5"), reason="Job", acting_user=nameless)

    as_member = signed_in(member).get(page_url("item", petg)).content.decode()
    as_manager = signed_in(nameless).get(page_url("item", petg)).content.decode()

    assert "no.name@kyivlab.example" in as_manager
    assert "no.name@kyivlab.example" not in as_member


def test_the_list_page_shows_members_no_supplier(
    member: User, manager: User, petg: InventoryItem
) -> None:
    as_member = signed_in(member).get(page_url("list", petg)).content.decode()
    as_manager = signed_in(manager).get(page_url("list", petg)).content.decode()
    reorder = page_url("reorder", petg)

    assert SUPPLIER in as_manager
    assert f'href="{reorder}"' in as_manager
    assert SUPPLIER not in as_member
    assert f'href="{reorder}"' not in as_member
    assert "PETG clear" in as_member


def test_a_member_searching_the_list_by_supplier_finds_nothing(
    member: User, petg: InventoryItem
) -> None:
    response = signed_in(member).get(page_url("list", petg), {"q": "Prusament"})

    assert list(response.context["page"].object_list) == []


@pytest.mark.parametrize("page", ["reorder", "reorder-csv"])
def test_members_are_refused_the_reorder_pages(
    member: User, manager: User, petg: InventoryItem, page: str
) -> None:
    as_member = signed_in(member).get(page_url(page, petg))
    as_manager = signed_in(manager).get(page_url(page, petg))

    assert as_member.status_code == 403
    assert SUPPLIER not in as_member.content.decode()
    assert as_manager.status_code == 200
    assert SUPPLIER in as_manager.content.decode()
