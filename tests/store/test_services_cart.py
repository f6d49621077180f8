"""The cart's services: lines added and summed, stock and sale checks, the visitor's
session cart merged at sign-in, and "buy what is short" from a project's BOM."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from apps.core.exceptions import ApplicationError
from apps.inventory.services import stock_restock
from apps.projects.models import Project
from apps.projects.services import bom_line_add, project_create
from apps.store import services
from apps.store.cart_summary import cart_summary
from apps.store.models import Cart, CartItem, Product
from apps.store.services.cart import (
    SESSION_CART_KEY,
    cart_add_bom_shortages,
    cart_add_item,
    cart_for_request,
    cart_remove_item,
    cart_set_quantity,
    user_cart,
)
from tests.factories import InventoryItemFactory, MembershipFactory, UserFactory
from tests.store.cart_support import open_market, sell, super_admin

pytestmark = pytest.mark.django_db


def refused(call: Any, code: str, status: int = 400) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert (caught.value.code, caught.value.status_code) == (code, status), caught.value.message
    return caught.value


def lines_of(cart: Cart) -> dict[str, int]:
    return dict(CartItem.objects.filter(cart=cart).values_list("product__sku", "quantity"))


# --- adding and changing lines -----------------------------------------------------------


def test_adding_a_product_twice_makes_one_line_of_the_sum() -> None:
    buyer = UserFactory.create()
    product = sell(stock=10, sku="M3-BOX")
    cart = user_cart(buyer)

    first = cart_add_item(cart=cart, product=product, quantity=2, acting_user=buyer)
    second = cart_add_item(cart=cart, product=product, quantity=3, acting_user=buyer)

    assert first.pk == second.pk
    assert lines_of(cart) == {"M3-BOX": 5}


def test_more_than_the_stock_in_all_is_refused_with_what_is_available() -> None:
    buyer = UserFactory.create()
    product = sell(stock=4, sku="SERVO")
    cart = user_cart(buyer)
    cart_add_item(cart=cart, product=product, quantity=3, acting_user=buyer)

    error = refused(
        lambda: cart_add_item(cart=cart, product=product, quantity=2, acting_user=buyer),
        "INSUFFICIENT_STOCK",
    )

    assert error.details == {"product": str(product.pk), "requested": 5, "available": 4}
    assert lines_of(cart) == {"SERVO": 3}


@pytest.mark.parametrize(
    "fields",
    [{"allow_backorder": True}, {"track_inventory": False}],
    ids=["backorder", "untracked"],
)
def test_a_product_without_a_stock_limit_takes_any_quantity(fields: dict[str, Any]) -> None:
    buyer = UserFactory.create()
    product = sell(stock=1, sku="PLA", **fields)

    cart_add_item(cart=user_cart(buyer), product=product, quantity=50, acting_user=buyer)

    assert lines_of(user_cart(buyer)) == {"PLA": 50}


def test_products_not_for_sale_are_refused() -> None:
    buyer = UserFactory.create()
    withdrawn = sell(sku="OLD", is_active=False)
    closed_market = open_market("Closed", is_active=False)
    of_closed_market = sell(market=closed_market, sku="SHUT")
    cart = user_cart(buyer)

    for product in (withdrawn, of_closed_market):
        error = refused(
            lambda p=product: cart_add_item(cart=cart, product=p, quantity=1, acting_user=buyer),
            "PRODUCT_UNAVAILABLE",
        )
        assert error.details == {"product": str(product.pk)}
    assert lines_of(cart) == {}


def test_a_product_in_another_currency_than_the_cart_is_refused() -> None:
    buyer = UserFactory.create()
    cart = user_cart(buyer)
    cart_add_item(cart=cart, product=sell(sku="EUR-1"), quantity=1, acting_user=buyer)
    hryvnia = sell(market=open_market("Lviv", currency="UAH"), sku="UAH-1")

    error = refused(
        lambda: cart_add_item(cart=cart, product=hryvnia, quantity=1, acting_user=buyer),
        "CURRENCY_MIXED",
    )

    assert error.details == {"cart_currency": "EUR", "product_currency": "UAH"}
    assert lines_of(cart) == {"EUR-1": 1}


@pytest.mark.parametrize("quantity", [0, -1, 10_001, True, "2"])
def test_quantities_outside_one_to_ten_thousand_are_refused(quantity: Any) -> None:
    buyer = UserFactory.create()
    cart = user_cart(buyer)

    refused(
        lambda: cart_add_item(cart=cart, product=sell(), quantity=quantity, acting_user=buyer),
        "VALIDATION_ERROR",
    )
    assert lines_of(cart) == {}


def test_nobody_changes_another_users_cart() -> None:
    buyer, other = UserFactory.create(), UserFactory.create()
    product = sell(sku="DRILL")
    cart = user_cart(buyer)
    item = cart_add_item(cart=cart, product=product, quantity=1, acting_user=buyer)

    for call in (
        lambda: cart_add_item(cart=cart, product=product, quantity=1, acting_user=other),
        lambda: cart_set_quantity(item=item, quantity=1, acting_user=other),
        lambda: cart_remove_item(item=item, acting_user=other),
        lambda: cart_add_item(cart=cart, product=product, quantity=1, acting_user=AnonymousUser()),
    ):
        refused(call, "PERMISSION_DENIED", 403)
    assert lines_of(cart) == {"DRILL": 1}


def test_raising_a_line_past_the_stock_is_refused_and_lowering_it_is_always_taken() -> None:
    buyer = UserFactory.create()
    product = sell(stock=5, sku="NUT")
    cart = user_cart(buyer)
    item = cart_add_item(cart=cart, product=product, quantity=5, acting_user=buyer)
    # The stock drops below the line after it was added.
    services.product_stock_change(
        product=product, change=-3, reason="adjust", acting_user=super_admin()
    )

    refused(
        lambda: cart_set_quantity(item=item, quantity=6, acting_user=buyer), "INSUFFICIENT_STOCK"
    )
    cart_set_quantity(item=item, quantity=4, acting_user=buyer)

    assert lines_of(cart) == {"NUT": 4}


def test_removing_a_line() -> None:
    buyer = UserFactory.create()
    cart = user_cart(buyer)
    item = cart_add_item(cart=cart, product=sell(sku="A"), quantity=1, acting_user=buyer)
    cart_add_item(cart=cart, product=sell(sku="B"), quantity=2, acting_user=buyer)

    cart_remove_item(item=item, acting_user=buyer)

    assert lines_of(cart) == {"B": 2}


def test_the_summary_prices_lines_from_the_products_and_groups_them_by_market() -> None:
    buyer = UserFactory.create()
    market = open_market("Zhytomyr Bits")
    central = sell(price="12.50", sku="C-1", name="Heat inserts")
    on_sale = sell(market=market, price="20.00", sale_price=Decimal("15.00"), sku="M-1")
    cart = user_cart(buyer)
    cart_add_item(cart=cart, product=on_sale, quantity=2, acting_user=buyer)
    cart_add_item(cart=cart, product=central, quantity=3, acting_user=buyer)

    summary = cart_summary(cart)

    assert [line["product"]["sku"] for line in summary["items"]] == ["M-1", "C-1"]
    assert summary["items"][0]["unit_price"] == "15.00"
    assert summary["items"][0]["line_total"] == "30.00"
    assert summary["groups"] == [
        {"market": None, "subtotal": "37.50", "item_count": 3},
        {
            "market": {"id": str(market.pk), "name": "Zhytomyr Bits"},
            "subtotal": "30.00",
            "item_count": 2,
        },
    ]
    assert (summary["subtotal"], summary["item_count"], summary["currency"]) == ("67.50", 5, "EUR")


# --- the visitor's cart ------------------------------------------------------------------


def page_request(user: Any, session: SessionStore) -> Any:
    request = RequestFactory().get("/store/cart/")
    request.user = user
    request.session = session
    return request


def test_a_visitor_gets_a_cart_kept_by_a_token_in_the_session() -> None:
    session = SessionStore()

    assert cart_for_request(page_request(AnonymousUser(), session), create=False) is None
    cart = cart_for_request(page_request(AnonymousUser(), session), create=True)
    again = cart_for_request(page_request(AnonymousUser(), session), create=False)

    assert cart is not None
    assert again == cart
    assert cart.user_id is None
    assert session[SESSION_CART_KEY] == cart.session_key
    assert len(cart.session_key or "") >= 40
    # Another visitor's session does not reach it.
    assert cart_for_request(page_request(AnonymousUser(), SessionStore()), create=False) is None


def test_at_sign_in_the_visitor_cart_joins_the_users_capped_at_the_stock() -> None:
    # Given a visitor's cart and the cart the user already had
    session = SessionStore()
    visitor = cart_for_request(page_request(AnonymousUser(), session), create=True)
    assert visitor is not None
    user = UserFactory.create()
    mine = user_cart(user)
    scarce = sell(stock=5, sku="SCARCE")
    plenty = sell(stock=100, sku="PLENTY")
    only_visitor = sell(stock=100, sku="NEW")
    withdrawn = sell(stock=100, sku="GONE")
    cart_add_item(cart=mine, product=scarce, quantity=3, acting_user=user)
    cart_add_item(cart=mine, product=plenty, quantity=1, acting_user=user)
    for product, quantity in ((scarce, 4), (plenty, 2), (only_visitor, 7), (withdrawn, 1)):
        cart_add_item(cart=visitor, product=product, quantity=quantity, acting_user=None)
    Product.objects.filter(pk=withdrawn.pk).update(is_active=False)

    # When the signed-in user first reaches their cart
    merged = cart_for_request(page_request(user, session), create=False)

    # Then the lines are summed (capped at the stock), the withdrawn one is dropped,
    # and the visitor's cart and token are gone
    assert merged == mine
    assert lines_of(mine) == {"SCARCE": 5, "PLENTY": 3, "NEW": 7}
    assert not Cart.objects.filter(pk=visitor.pk).exists()
    assert SESSION_CART_KEY not in session
    assert cart_for_request(page_request(user, session), create=False) == mine


def test_a_visitor_cart_becomes_the_users_first_cart() -> None:
    session = SessionStore()
    visitor = cart_for_request(page_request(AnonymousUser(), session), create=True)
    assert visitor is not None
    cart_add_item(cart=visitor, product=sell(sku="ONE"), quantity=2, acting_user=None)
    user = UserFactory.create()

    cart = cart_for_request(page_request(user, session), create=False)

    assert cart is not None
    assert cart.user_id == user.pk
    assert lines_of(cart) == {"ONE": 2}


def test_a_line_already_above_the_stock_keeps_its_quantity_in_a_merge() -> None:
    session = SessionStore()
    visitor = cart_for_request(page_request(AnonymousUser(), session), create=True)
    assert visitor is not None
    user = UserFactory.create()
    product = sell(stock=6, sku="KEEP")
    cart_add_item(cart=user_cart(user), product=product, quantity=6, acting_user=user)
    cart_add_item(cart=visitor, product=product, quantity=2, acting_user=None)
    services.product_stock_change(
        product=product, change=-4, reason="adjust", acting_user=super_admin()
    )

    cart = cart_for_request(page_request(user, session), create=False)

    assert cart is not None
    assert lines_of(cart) == {"KEEP": 6}


# --- buy what is short -------------------------------------------------------------------


def project_needing(*lines: tuple[Any, str]) -> tuple[Project, Any]:
    """A member's project whose BOM needs each (item, quantity)."""
    membership = MembershipFactory.create(makerspace=lines[0][0].makerspace, role="member")
    member = membership.user
    project = project_create(
        makerspace=membership.makerspace, owner=member, name="Robot arm", acting_user=member
    )
    for item, quantity in lines:
        bom_line_add(project=project, item=item, quantity=Decimal(quantity), acting_user=member)
    return project, member


def test_buying_what_is_short_adds_matching_products_and_reports_the_rest() -> None:
    # Given a project short of five materials
    space_item = InventoryItemFactory.create(sku="SERVO-9G", name="Servo 9g")
    space = space_item.makerspace
    linked_item = InventoryItemFactory.create(makerspace=space, sku="SPACE-OWN-1", name="Bearing")
    scarce_item = InventoryItemFactory.create(makerspace=space, sku="STEPPER", name="Stepper")
    lonely_item = InventoryItemFactory.create(makerspace=space, sku="UNOBTAINIUM", name="Rare")
    stocked_item = InventoryItemFactory.create(makerspace=space, sku="M3", name="M3 screws")
    project, member = project_needing(
        (space_item, "4"),
        (linked_item, "2.5"),
        (scarce_item, "3"),
        (lonely_item, "1"),
        (stocked_item, "10"),
    )
    manager = MembershipFactory.create(makerspace=space, role="manager").user
    stock_restock(item=space_item, quantity=Decimal("1"), acting_user=manager)
    stock_restock(item=stocked_item, quantity=Decimal("50"), acting_user=manager)
    # and store products: by SKU in a market and (cheaper) at the centre, and by link
    market = open_market("Kyiv Parts")
    sell(market=market, sku="SERVO-9G", price="2.00", stock=50)
    central_servo = sell(sku="SERVO-9G", price="3.00", stock=50)
    bearing = sell(sku="608ZZ", price="1.00", stock=50)
    bearing.supplies.add(linked_item)
    sell(sku="SPACE-OWN-1", price="0.50", stock=50)  # a SKU match loses to the link
    stepper = sell(sku="STEPPER", price="9.00", stock=1)
    buyer_cart = user_cart(member)

    # When the member buys what is short
    fill = cart_add_bom_shortages(cart=buyer_cart, project=project, acting_user=member)

    # Then the central servo (3 short), the linked bearing (2.5 → 3) and the one
    # stepper there is are in the cart, and the rest is reported
    assert sorted((a.sku, str(a.product_id), a.quantity) for a in fill.added) == [
        ("608ZZ", str(bearing.pk), 3),
        ("SERVO-9G", str(central_servo.pk), 3),
        ("STEPPER", str(stepper.pk), 1),
    ]
    assert sorted((m.sku, m.quantity_short, m.reason) for m in fill.missing) == [
        ("STEPPER", Decimal("2"), "insufficient_stock"),
        ("UNOBTAINIUM", Decimal("1.000"), "no_product"),
    ]
    assert lines_of(buyer_cart) == {"SERVO-9G": 3, "608ZZ": 3, "STEPPER": 1}


def test_buying_what_is_short_twice_adds_only_what_the_stock_allows() -> None:
    item = InventoryItemFactory.create(sku="LED-5MM", name="LED")
    project, member = project_needing((item, "4"))
    led = sell(sku="LED-5MM", stock=6)
    cart = user_cart(member)

    cart_add_bom_shortages(cart=cart, project=project, acting_user=member)
    fill = cart_add_bom_shortages(cart=cart, project=project, acting_user=member, multiplier=2)

    assert [(a.product_id, a.quantity) for a in fill.added] == [(led.pk, 2)]
    assert [(m.sku, m.quantity_short, m.reason) for m in fill.missing] == [
        ("LED-5MM", Decimal("6"), "insufficient_stock")
    ]
    assert lines_of(cart) == {"LED-5MM": 6}


def test_a_project_the_caller_cannot_see_is_not_found() -> None:
    item = InventoryItemFactory.create(sku="X-1")
    project, _member = project_needing((item, "1"))
    stranger = UserFactory.create()
    sell(sku="X-1")
    cart = user_cart(stranger)

    refused(
        lambda: cart_add_bom_shortages(cart=cart, project=project, acting_user=stranger),
        "NOT_FOUND",
        404,
    )
    assert lines_of(cart) == {}
