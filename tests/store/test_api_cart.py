"""The cart API: the caller's own cart, lines priced from the database, errors in the
envelope, a constant number of queries, "buy what is short" and the voucher preview."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.projects.services import bom_line_add, project_create
from apps.store.models import Cart, CartItem, Voucher
from apps.store.services.cart import SESSION_CART_KEY, cart_add_item
from tests.factories import InventoryItemFactory, MembershipFactory, UserFactory, VoucherFactory
from tests.store.cart_support import fill_cart, open_market, sell
from tests.store.conftest import client_for

pytestmark = pytest.mark.django_db

CART = "/api/v1/store/cart/"
ITEMS = "/api/v1/store/cart/items"


def lines_of(user: Any) -> dict[str, int]:
    return dict(CartItem.objects.filter(cart__user=user).values_list("product__sku", "quantity"))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", CART),
        ("post", ITEMS),
        ("patch", f"{ITEMS}/00000000-0000-4000-8000-000000000000"),
        ("delete", f"{ITEMS}/00000000-0000-4000-8000-000000000000"),
        ("post", "/api/v1/store/cart/from-bom"),
        ("post", "/api/v1/store/cart/voucher"),
        ("post", "/api/v1/store/checkout"),
    ],
)
def test_the_cart_is_for_signed_in_callers(method: str, path: str) -> None:
    response = getattr(APIClient(), method)(path, {}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Cart.objects.exists()


def test_an_empty_cart_reads_as_nothing_and_creates_nothing() -> None:
    response = client_for(UserFactory.create()).get(CART)

    assert response.status_code == 200
    assert response.json() == {
        "id": None,
        "items": [],
        "groups": [],
        "subtotal": "0.00",
        "item_count": 0,
        "currency": None,
    }
    assert not Cart.objects.exists()


def test_adding_a_line_answers_the_cart_priced_from_the_database() -> None:
    buyer = UserFactory.create()
    market = open_market("Kyiv Parts")
    product = sell(
        market=market, price="20.00", sale_price=Decimal("17.50"), stock=4, name="Drill", sku="D1"
    )
    client = client_for(buyer)

    response = client.post(ITEMS, {"product_id": str(product.pk), "quantity": 2}, format="json")

    assert response.status_code == 201
    body = response.json()
    cart = Cart.objects.get(user=buyer)
    item = CartItem.objects.get(cart=cart)
    assert body == {
        "id": str(cart.pk),
        "items": [
            {
                "id": str(item.pk),
                "product": {
                    "id": str(product.pk),
                    "name": "Drill",
                    "slug": product.slug,
                    "sku": "D1",
                    "effective_price": "17.50",
                    "currency": "EUR",
                    "in_stock": True,
                    "market": str(market.pk),
                },
                "quantity": 2,
                "unit_price": "17.50",
                "line_total": "35.00",
            }
        ],
        "groups": [
            {
                "market": {"id": str(market.pk), "name": "Kyiv Parts"},
                "subtotal": "35.00",
                "item_count": 2,
            }
        ],
        "subtotal": "35.00",
        "item_count": 2,
        "currency": "EUR",
    }
    # Adding again adds to the line; the quantity defaults to one.
    again = client.post(f"{ITEMS}/", {"product_id": str(product.pk)}, format="json")
    assert again.status_code == 201
    assert again.json()["items"][0]["quantity"] == 3


def test_a_client_cannot_send_a_price() -> None:
    buyer = UserFactory.create()
    product = sell(price="20.00")

    response = client_for(buyer).post(
        ITEMS, {"product_id": str(product.pk), "quantity": 1, "unit_price": "0.01"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"unit_price": ["Unknown field."]}
    assert lines_of(buyer) == {}


def test_more_than_the_stock_answers_insufficient_stock_with_what_is_available() -> None:
    buyer = UserFactory.create()
    product = sell(stock=3, sku="S")

    response = client_for(buyer).post(
        ITEMS, {"product_id": str(product.pk), "quantity": 4}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INSUFFICIENT_STOCK"
    assert error["details"]["available"] == 3
    assert lines_of(buyer) == {}


@pytest.mark.parametrize(
    ("case", "body", "code"),
    [
        (
            "unknown product",
            {"product_id": "00000000-0000-4000-8000-000000000000"},
            "VALIDATION_ERROR",
        ),
        ("not a uuid", {"product_id": "drill"}, "VALIDATION_ERROR"),
        ("zero", {"quantity": 0}, "VALIDATION_ERROR"),
        ("too many", {"quantity": 10_001}, "VALIDATION_ERROR"),
        ("text", {"quantity": "lots"}, "VALIDATION_ERROR"),
        ("withdrawn", {"withdrawn": True}, "PRODUCT_UNAVAILABLE"),
    ],
)
def test_bad_lines_are_refused_in_the_envelope(case: str, body: dict[str, Any], code: str) -> None:
    buyer = UserFactory.create()
    product = sell(is_active=not body.pop("withdrawn", False))
    payload = {"product_id": str(product.pk), "quantity": 1, **body}

    response = client_for(buyer).post(ITEMS, payload, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert lines_of(buyer) == {}


def test_changing_and_removing_a_line() -> None:
    buyer = UserFactory.create()
    product = sell(stock=5, sku="N")
    fill_cart(buyer, (product, 1), (sell(sku="KEEP"), 1))
    item = CartItem.objects.get(cart__user=buyer, product=product)
    client = client_for(buyer)

    changed = client.patch(f"{ITEMS}/{item.pk}", {"quantity": 5}, format="json")
    too_many = client.patch(f"{ITEMS}/{item.pk}/", {"quantity": 6}, format="json")

    assert changed.status_code == 200
    assert [line["quantity"] for line in changed.json()["items"]] == [5, 1]
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "INSUFFICIENT_STOCK"
    assert client.delete(f"{ITEMS}/{item.pk}").status_code == 204
    assert lines_of(buyer) == {"KEEP": 1}
    assert client.delete(f"{ITEMS}/{item.pk}").status_code == 404


def test_another_users_line_is_not_found_and_stays() -> None:
    buyer, other = UserFactory.create(), UserFactory.create()
    fill_cart(buyer, (sell(sku="MINE"), 2))
    fill_cart(other, (sell(sku="THEIRS"), 1))
    item = CartItem.objects.get(cart__user=buyer)
    client = client_for(other)

    assert client.patch(f"{ITEMS}/{item.pk}", {"quantity": 1}, format="json").status_code == 404
    assert client.delete(f"{ITEMS}/{item.pk}").status_code == 404
    assert lines_of(buyer) == {"MINE": 2}


def test_reading_the_cart_costs_the_same_queries_for_one_line_or_five() -> None:
    def queries_for(lines: int) -> int:
        buyer = UserFactory.create()
        markets = [open_market(f"Market {lines}-{n}") for n in range(2)]
        fill_cart(
            buyer,
            *[(sell(market=markets[n % 2] if n % 3 else None), 1) for n in range(lines)],
        )
        client = client_for(buyer)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(CART)
        assert response.status_code == 200
        assert len(response.json()["items"]) == lines
        return len(queries)

    one, five = queries_for(1), queries_for(5)

    assert one == five
    assert five <= 2


def test_a_visitor_cart_in_the_session_joins_the_users_cart_on_first_read() -> None:
    # Given a visitor's cart (from the pages) whose token is in the session
    visitor = Cart.objects.create(session_key="visitor-token-0123456789")
    product = sell(stock=10, sku="V")
    cart_add_item(cart=visitor, product=product, quantity=2, acting_user=None)
    buyer = UserFactory.create()
    client = APIClient()
    client.force_login(buyer)
    session = client.session
    session[SESSION_CART_KEY] = "visitor-token-0123456789"
    session.save()

    # When the signed-in user reads the cart
    response = client.get(CART)

    # Then the visitor's lines are theirs
    assert response.status_code == 200
    assert [line["product"]["sku"] for line in response.json()["items"]] == ["V"]
    assert lines_of(buyer) == {"V": 2}
    assert not Cart.objects.filter(pk=visitor.pk).exists()


# --- buy what is short -------------------------------------------------------------------


def test_buying_what_is_short_answers_what_was_added_and_what_is_missing() -> None:
    item = InventoryItemFactory.create(sku="LED", name="LED 5 mm")
    missing = InventoryItemFactory.create(makerspace=item.makerspace, sku="RARE", name="Rare")
    membership = MembershipFactory.create(makerspace=item.makerspace, role="member")
    member = membership.user
    project = project_create(
        makerspace=item.makerspace, owner=member, name="Lamp", acting_user=member
    )
    bom_line_add(project=project, item=item, quantity=Decimal("3"), acting_user=member)
    bom_line_add(project=project, item=missing, quantity=Decimal("0.5"), acting_user=member)
    led = sell(sku="LED", stock=100)

    response = client_for(member).post(
        "/api/v1/store/cart/from-bom",
        {"project_id": str(project.pk), "multiplier": 2},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["added"] == [{"sku": "LED", "product_id": str(led.pk), "quantity": 6}]
    assert body["missing"] == [
        {"sku": "RARE", "name": "Rare", "quantity_short": "1.000", "reason": "no_product"}
    ]
    assert body["cart"]["item_count"] == 6
    assert lines_of(member) == {"LED": 6}


def test_buying_what_is_short_of_someone_elses_private_project_is_not_found() -> None:
    item = InventoryItemFactory.create(sku="LED")
    membership = MembershipFactory.create(makerspace=item.makerspace, role="member")
    project = project_create(
        makerspace=item.makerspace, owner=membership.user, name="Lamp", acting_user=membership.user
    )
    stranger = UserFactory.create()

    for project_id in (str(project.pk), "00000000-0000-4000-8000-000000000000"):
        response = client_for(stranger).post(
            "/api/v1/store/cart/from-bom", {"project_id": project_id}, format="json"
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert not Cart.objects.exists()


# --- the voucher preview -----------------------------------------------------------------


def test_a_voucher_preview_shows_the_discount_and_takes_no_use() -> None:
    buyer = UserFactory.create()
    market = open_market()
    fill_cart(buyer, (sell(market=market, price="30.00"), 1), (sell(price="10.00"), 1))
    VoucherFactory.create(code="KYIV5", market=market, kind="fixed", value=Decimal("5.00"))

    response = client_for(buyer).post(
        "/api/v1/store/cart/voucher", {"code": "KYIV5"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {
        "code": "KYIV5",
        "kind": "fixed",
        "value": "5.00",
        "market": str(market.pk),
        "eligible_subtotal": "30.00",
        "discount_amount": "5.00",
        "currency": "EUR",
    }
    assert Voucher.objects.get().times_used == 0


@pytest.mark.parametrize(
    ("fields", "code", "details"),
    [
        ({"code": "OTHER"}, "VOUCHER_INVALID", None),
        ({"minimum_order": Decimal("50")}, "VOUCHER_MINIMUM", "50.00"),
        ({"max_uses": 1, "times_used": 1}, "VOUCHER_USED_UP", None),
    ],
)
def test_a_voucher_preview_says_why_a_voucher_does_not_apply(
    fields: dict[str, Any], code: str, details: str | None
) -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(price="30.00"), 1))
    VoucherFactory.create(**{"code": "SPRING", **fields})

    response = client_for(buyer).post(
        "/api/v1/store/cart/voucher", {"code": "SPRING"}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    if details is not None:
        assert error["details"]["minimum_order"] == details


def test_a_voucher_preview_on_an_empty_cart_is_refused() -> None:
    VoucherFactory.create(code="SPRING")

    response = client_for(UserFactory.create()).post(
        "/api/v1/store/cart/voucher", {"code": "SPRING"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CART_EMPTY"
