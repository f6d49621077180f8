"""The stock pages for the people who run a space: the item list, an item's page with its
ledger and stock forms, and the reorder suggestions."""

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.system import system_actor
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

MakerspaceFactory: Any = factories.MakerspaceFactory
MembershipFactory: Any = factories.MembershipFactory
UserFactory: Any = factories.UserFactory

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------


def list_url(space: Makerspace) -> str:
    return reverse("inventory:list", kwargs={"slug": space.slug})


def item_url(item: InventoryItem, action: str = "item") -> str:
    return reverse(f"inventory:{action}", kwargs={"slug": item.makerspace.slug, "item_id": item.pk})


def reorder_url(space: Makerspace, name: str = "reorder") -> str:
    return reverse(f"inventory:{name}", kwargs={"slug": space.slug})


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def member_of(space: Makerspace, role: str) -> Any:
    return MembershipFactory.create(makerspace=space, role=role).user


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def stocked_item(space: Makerspace, stock: str, **fields: Any) -> InventoryItem:
    fields.setdefault("sku", f"SKU-{InventoryItem.objects.count() + 1:04d}")
    fields.setdefault("name", f"Material {fields['sku']}")
    return services.item_create(
        makerspace=space,
        acting_user=system_actor(),
        opening_stock=Decimal(stock),
        **fields,
    )


def ledger_sum(item: InventoryItem) -> Decimal:
    return sum((m.delta for m in StockMovement.objects.filter(item=item)), Decimal("0"))


@pytest.fixture
def space() -> Makerspace:
    return MakerspaceFactory.create(name="Kyiv Lab", slug="kyiv-lab")


@pytest.fixture
def manager(space: Makerspace) -> Any:
    return member_of(space, "manager")


@pytest.fixture
def member(space: Makerspace) -> Any:
    return member_of(space, "member")


@pytest.fixture
def petg(space: Makerspace) -> InventoryItem:
    return stocked_item(
        space,
        "800",
        sku="PETG-CLR",
        name="PETG filament clear",
        unit="g",
        min_stock_level=Decimal("1000"),
        reorder_quantity=Decimal("3000"),
        supplier="Prusament",
    )


@pytest.fixture
def pla(space: Makerspace) -> InventoryItem:
    return stocked_item(
        space,
        "4500",
        sku="PLA-BLK",
        name="PLA filament black",
        unit="g",
        min_stock_level=Decimal("1000"),
        reorder_quantity=Decimal("5000"),
        supplier="Prusament",
    )


# --- the list ------------------------------------------------------------------------------


def test_the_list_marks_low_items(manager: Any, petg: InventoryItem, pla: InventoryItem) -> None:
    response = signed_in(manager).get(list_url(petg.makerspace))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="stock-row low-stock"') == 1
    assert 'class="stock-row low-stock" data-sku="PETG-CLR"' in page
    assert 'class="stock-row" data-sku="PLA-BLK"' in page
    assert "800 g" in page
    assert "4500 g" in page


def test_the_list_searches_and_filters_low_items(
    member: Any, petg: InventoryItem, pla: InventoryItem
) -> None:
    client = signed_in(member)

    found = client.get(list_url(petg.makerspace), {"q": "pla-b"})
    low_only = client.get(list_url(petg.makerspace), {"low": "on"})

    assert [item.sku for item in found.context["page"].object_list] == ["PLA-BLK"]
    assert [item.sku for item in low_only.context["page"].object_list] == ["PETG-CLR"]


def test_quantities_are_localised_in_ukrainian(space: Makerspace) -> None:
    stocked_item(space, "2.5", sku="RESIN", name="Resin", unit="l")
    reader = MembershipFactory.create(makerspace=space, user__locale="uk").user

    response = signed_in(reader).get(list_url(space), HTTP_ACCEPT_LANGUAGE="en")

    assert '<html lang="uk">' in response.content.decode()
    assert "2,5 l" in response.content.decode()


# --- who may see -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["list", "item", "reorder", "reorder-csv"])
def test_outsiders_get_404_and_anonymous_visitors_are_asked_to_sign_in(
    page: str, petg: InventoryItem
) -> None:
    space = petg.makerspace
    other_space = MakerspaceFactory.create()
    outsider = member_of(other_space, "admin")
    url = {
        "list": list_url(space),
        "item": item_url(petg),
        "reorder": reorder_url(space),
        "reorder-csv": reorder_url(space, "reorder-csv"),
    }[page]

    as_outsider = signed_in(outsider).get(url)
    as_anonymous = Client().get(url)

    assert as_outsider.status_code == 404
    assert "PETG" not in as_outsider.content.decode()
    assert as_anonymous.status_code == 302
    assert as_anonymous["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    ("case", "role", "status"),
    [
        ("outsider", None, 404),
        ("pending member", "pending", 404),
        ("member", "member", 403),
        ("manager", "manager", 302),
        ("admin", "admin", 302),
    ],
)
def test_who_may_take_stock_out(
    case: str, role: str | None, status: int, petg: InventoryItem
) -> None:
    space = petg.makerspace
    if role is None:
        user = UserFactory.create()
    elif role == "pending":
        user = MembershipFactory.create(makerspace=space, status="pending").user
    else:
        user = member_of(space, role)

    response = signed_in(user).post(
        item_url(petg, "deduct"), {"deduct-quantity": "100", "deduct-reason": "test print"}
    )

    assert response.status_code == status, case
    petg.refresh_from_db()
    expected = Decimal("700") if status == 302 else Decimal("800")
    assert petg.current_stock == expected, case
    assert petg.movements.count() == (2 if status == 302 else 1), case


def test_members_see_stock_and_ledger_but_no_stock_forms(member: Any, petg: InventoryItem) -> None:
    response = signed_in(member).get(item_url(petg))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Opening balance" in page
    assert item_url(petg, "deduct") not in page
    assert item_url(petg, "restock") not in page
    assert item_url(petg, "adjust") not in page


# --- changing stock from the item page -------------------------------------------------------


def test_restocking_from_the_item_page(manager: Any, petg: InventoryItem) -> None:
    client = signed_in(manager)

    response = client.post(
        item_url(petg, "restock"),
        {"restock-quantity": "2000", "restock-note": "Delivery 17", "restock-unit_cost": "0.90"},
        follow=True,
    )

    assert response.status_code == 200
    petg.refresh_from_db()
    assert petg.current_stock == Decimal("2800")
    assert ledger_sum(petg) == Decimal("2800")
    movement = petg.movements.get(kind=MovementKind.RESTOCK)
    assert (movement.delta, movement.balance_after, movement.reason, movement.user) == (
        Decimal("2000"),
        Decimal("2800"),
        "Delivery 17",
        manager,
    )
    assert any("2800 g" in message for message in messages_of(response))
    assert 'class="movement movement-restock"' in response.content.decode()


def test_deducting_from_the_item_page(manager: Any, pla: InventoryItem) -> None:
    response = signed_in(manager).post(
        item_url(pla, "deduct"),
        {"deduct-quantity": "350", "deduct-reason": "Print job: drone frame"},
    )

    assert response.status_code == 302
    assert response["Location"] == item_url(pla)
    pla.refresh_from_db()
    assert pla.current_stock == Decimal("4150")
    assert ledger_sum(pla) == Decimal("4150")
    assert pla.movements.get(kind=MovementKind.DEDUCT).reason == "Print job: drone frame"


def test_taking_more_than_there_is_shows_a_message_and_writes_nothing(
    manager: Any, petg: InventoryItem
) -> None:
    response = signed_in(manager).post(
        item_url(petg, "deduct"),
        {"deduct-quantity": "900", "deduct-reason": "big print"},
        follow=True,
    )

    assert response.status_code == 200
    (message,) = messages_of(response)
    assert "Not enough PETG filament clear in stock" in message
    assert "800 g available" in message
    assert "900 g asked for" in message
    petg.refresh_from_db()
    assert petg.current_stock == Decimal("800")
    assert petg.movements.count() == 1


def test_a_stock_count_records_the_difference(manager: Any, pla: InventoryItem) -> None:
    response = signed_in(manager).post(
        item_url(pla, "adjust"), {"adjust-new_stock": "4380.5", "adjust-reason": "Monthly count"}
    )

    assert response.status_code == 302
    pla.refresh_from_db()
    assert pla.current_stock == Decimal("4380.5")
    adjustment = pla.movements.get(kind=MovementKind.ADJUST)
    assert adjustment.delta == Decimal("-119.5")
    assert ledger_sum(pla) == pla.current_stock


def test_an_invalid_form_is_shown_again_with_its_errors(manager: Any, pla: InventoryItem) -> None:
    response = signed_in(manager).post(
        item_url(pla, "deduct"), {"deduct-quantity": "-5", "deduct-reason": ""}
    )

    assert response.status_code == 400
    assert set(response.context["deduct_form"].errors) == {"quantity", "reason"}
    assert pla.movements.count() == 1


def test_another_spaces_item_cannot_be_changed_through_this_space(
    manager: Any, space: Makerspace
) -> None:
    foreign = stocked_item(MakerspaceFactory.create(), "10")
    url = reverse("inventory:deduct", kwargs={"slug": space.slug, "item_id": foreign.pk})

    response = signed_in(manager).post(url, {"deduct-quantity": "1", "deduct-reason": "x"})

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.current_stock == Decimal("10")


def test_the_ledger_is_paginated_newest_first(manager: Any, pla: InventoryItem) -> None:
    for number in range(30):
        services.stock_deduct(
            item=pla, quantity=Decimal("1"), reason=f"job {number}", acting_user=manager
        )
    client = signed_in(manager)

    first = client.get(item_url(pla))
    second = client.get(item_url(pla), {"page": "2"})

    assert [m.reason for m in first.context["ledger"].object_list][:2] == ["job 29", "job 28"]
    assert len(first.context["ledger"].object_list) == 25
    assert [m.reason for m in second.context["ledger"].object_list][-1] == "Opening balance"


# --- reorder -------------------------------------------------------------------------------


def test_reorder_suggestions_page_and_csv(
    manager: Any, petg: InventoryItem, pla: InventoryItem
) -> None:
    services.purchase_order_create(item=petg, quantity=Decimal("1000"), acting_user=manager)
    client = signed_in(manager)

    page = client.get(reorder_url(petg.makerspace))
    download = client.get(reorder_url(petg.makerspace, "reorder-csv"))

    assert [item.sku for item in page.context["page"].object_list] == ["PETG-CLR"]
    assert page.context["page"].object_list[0].suggested_quantity == Decimal("2000")
    assert 'value="2000.000"' in page.content.decode()
    assert download["Content-Type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert (row["sku"], row["on_order"], row["suggested_quantity"]) == (
        "PETG-CLR",
        "1000.000",
        "2000.000",
    )


def test_a_purchase_order_from_the_reorder_page_then_received(
    manager: Any, petg: InventoryItem
) -> None:
    client = signed_in(manager)

    created = client.post(
        reorder_url(petg.makerspace, "order-create"), {"item": str(petg.pk), "quantity": "2200"}
    )
    order = PurchaseOrder.objects.get(item=petg)
    received = client.post(
        reverse(
            "inventory:order-receive",
            kwargs={"slug": petg.makerspace.slug, "order_id": order.pk},
        ),
        {"next": item_url(petg)},
    )

    assert created.status_code == 302
    assert (order.quantity, order.supplier, order.created_by) == (
        Decimal("2200"),
        "Prusament",
        manager,
    )
    assert received.status_code == 302
    assert received["Location"] == item_url(petg)
    order.refresh_from_db()
    petg.refresh_from_db()
    assert order.status == PurchaseOrderStatus.RECEIVED
    assert petg.current_stock == Decimal("3000")
    assert petg.movements.get(kind=MovementKind.RESTOCK).purchase_order == order


def test_members_cannot_order(member: Any, petg: InventoryItem) -> None:
    response = signed_in(member).post(
        reorder_url(petg.makerspace, "order-create"), {"item": str(petg.pk), "quantity": "5"}
    )

    assert response.status_code == 403
    assert not PurchaseOrder.objects.exists()


# --- the navigation link and the index -------------------------------------------------------


def test_staff_get_a_stock_link_and_members_do_not(
    manager: Any, member: Any, petg: InventoryItem
) -> None:
    index = reverse("inventory:index")

    as_manager = signed_in(manager).get(reverse("home"))
    as_member = signed_in(member).get(reverse("home"))
    spaces = signed_in(manager).get(index)

    assert f'href="{index}"' in as_manager.content.decode()
    assert f'href="{index}"' not in as_member.content.decode()
    (listed,) = spaces.context["spaces"]
    assert (listed.pk, listed.low_count) == (petg.makerspace_id, 1)


# --- queries stay bounded --------------------------------------------------------------------


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_list_queries_do_not_grow_with_the_number_of_items(
    manager: Any, space: Makerspace, django_assert_max_num_queries: Any
) -> None:
    stocked_item(space, "1", min_stock_level=Decimal("5"))
    client = signed_in(manager)
    with_one = count_queries(client, list_url(space))
    for _ in range(29):
        stocked_item(space, "10", min_stock_level=Decimal("5"))

    with django_assert_max_num_queries(with_one):
        response = client.get(list_url(space))

    assert response.content.decode().count('class="stock-row') == 30


def test_item_page_queries_do_not_grow_with_the_ledger(
    manager: Any, pla: InventoryItem, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(manager)
    with_one = count_queries(client, item_url(pla))
    for _ in range(24):
        services.stock_deduct(
            item=pla,
            quantity=Decimal("1"),
            reason="job",
            acting_user=member_of(pla.makerspace, "manager"),
        )

    with django_assert_max_num_queries(with_one):
        response = client.get(item_url(pla))

    assert response.content.decode().count('class="movement ') == 25


def test_reorder_page_queries_do_not_grow_with_the_number_of_low_items(
    manager: Any, space: Makerspace, django_assert_max_num_queries: Any
) -> None:
    low = stocked_item(space, "1", min_stock_level=Decimal("5"), reorder_quantity=Decimal("10"))
    services.purchase_order_create(item=low, quantity=Decimal("2"), acting_user=manager)
    client = signed_in(manager)
    with_one = count_queries(client, reorder_url(space))
    for _ in range(29):
        item = stocked_item(
            space, "1", min_stock_level=Decimal("5"), reorder_quantity=Decimal("10")
        )
        services.purchase_order_create(item=item, quantity=Decimal("2"), acting_user=manager)

    with django_assert_max_num_queries(with_one):
        response = client.get(reorder_url(space))

    assert response.content.decode().count('class="stock-row low-stock"') == 30
