"""The checkout API: the orders and payment it answers, its refusals in the envelope,
and the Idempotency-Key that makes a retried checkout answer the same without a
second order."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from apps.core.models import IdempotencyRecord
from apps.store.api.order_shapes import OrderSerializer, order_shapes
from apps.store.models import CartItem, Order, Payment, ProductStockMovement
from tests.factories import UserFactory, VoucherFactory
from tests.lean import assert_lean_matches
from tests.store.cart_support import ADDRESS, NEAR, fill_cart, open_market, sell
from tests.store.conftest import client_for

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/store/checkout"
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
BODY: dict[str, Any] = {
    "shipping_address": ADDRESS,
    "billing_address": ADDRESS,
    "shipping_method": "pickup",
}


def post(client: Any, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(CHECKOUT, body, format="json", **headers)


def test_checkout_answers_the_payment_and_one_order_per_market() -> None:
    # Given a cart of the catalogue and one market
    buyer = UserFactory.create()
    market = open_market("Kyiv Parts", tax_rate=Decimal("10.00"))
    inserts = sell(price="8.00", stock=5, sku="INS", name="Inserts")
    drill = sell(market=market, price="50.00", stock=2, sku="DR", name="Drill")
    fill_cart(buyer, (inserts, 2), (drill, 1))

    # When the buyer checks out, the catalogue's part shipped
    with time_machine.travel(NOW, tick=False):
        response = post(client_for(buyer), {**BODY, "shipping_methods": {"central": "shipping"}})

    # Then the payment and both orders come back in API.md's shapes
    assert response.status_code == 201
    body = response.json()
    payment = Payment.objects.get()
    central = Order.objects.get(market=None)
    kyiv = Order.objects.get(market=market)
    assert body["payment"] == {
        "id": str(payment.pk),
        "provider": "test",
        "status": "unpaid",
        "amount": "81.10",
        "currency": "EUR",
        "client_secret": None,
        "pay_url": body["payment"]["pay_url"],
    }
    assert str(payment.pk) in body["payment"]["pay_url"]
    assert body["orders"][0] == {
        "id": str(central.pk),
        "order_number": central.order_number,
        "market": None,
        "status": "pending",
        "payment_status": "unpaid",
        "fulfillment_status": "unfulfilled",
        "items": [
            {
                "id": str(central.items.get().pk),
                "product_id": str(inserts.pk),
                "name": "Inserts",
                "sku": "INS",
                "unit_price": "8.00",
                "quantity": 2,
                "line_total": "16.00",
            }
        ],
        "subtotal": "16.00",
        "tax_amount": "3.20",
        "shipping_amount": "6.90",
        "discount_amount": "0.00",
        "total_amount": "26.10",
        "currency": "EUR",
        "shipping_address": ADDRESS,
        "billing_address": ADDRESS,
        "shipping_method": "shipping",
        "tracking_number": "",
        "order_date": "2026-03-10T09:30:00Z",
    }
    assert body["orders"][1]["market"] == {"id": str(market.pk), "name": "Kyiv Parts"}
    assert (body["orders"][1]["tax_amount"], body["orders"][1]["total_amount"]) == (
        "5.00",
        "55.00",
    )
    assert body["orders"][1]["id"] == str(kyiv.pk)


def test_the_order_shape_equals_its_serializer() -> None:
    buyer = UserFactory.create()
    market = open_market()
    fill_cart(buyer, (sell(market=market, price="25.00"), 2), (sell(price="3.00"), 1))
    post(client_for(buyer), {**BODY, "shipping_address": NEAR})
    orders = list(Order.objects.select_related("market").order_by("created_at"))

    compared = assert_lean_matches(lambda order: order_shapes([order])[0], OrderSerializer, orders)

    assert compared == 2


def test_the_billing_address_defaults_to_the_shipping_address() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(), 1))

    response = post(client_for(buyer), {"shipping_address": ADDRESS, "shipping_method": "pickup"})

    assert response.status_code == 201
    assert response.json()["orders"][0]["billing_address"] == ADDRESS


def test_a_voucher_and_cash_on_pickup_through_the_api() -> None:
    buyer = UserFactory.create()
    market = open_market(tax_rate=Decimal("0.00"))
    fill_cart(buyer, (sell(market=market, price="40.00"), 1))
    VoucherFactory.create(code="KYIV5", market=market, kind="fixed", value=Decimal("5.00"))

    response = post(
        client_for(buyer),
        {**BODY, "voucher_code": "KYIV5", "payment_method": "cash_on_pickup"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["payment"]["provider"] == "cash"
    assert (body["orders"][0]["discount_amount"], body["orders"][0]["total_amount"]) == (
        "5.00",
        "35.00",
    )


@pytest.mark.parametrize(
    ("case", "change", "code", "field"),
    [
        ("no address", {"shipping_address": None}, "VALIDATION_ERROR", "shipping_address"),
        (
            "address without a city",
            {"shipping_address": {**ADDRESS, "city": ""}},
            "VALIDATION_ERROR",
            "shipping_address",
        ),
        (
            "unknown address field",
            {"shipping_address": {**ADDRESS, "floor": "3"}},
            "VALIDATION_ERROR",
            "shipping_address",
        ),
        ("unknown method", {"shipping_method": "drone"}, "VALIDATION_ERROR", "shipping_method"),
        ("a price", {"total_amount": "1.00"}, "VALIDATION_ERROR", "total_amount"),
        ("not offered", {"shipping_method": "local_delivery"}, "SHIPPING_METHOD_UNAVAILABLE", None),
        ("unknown voucher", {"voucher_code": "NOPE"}, "VOUCHER_INVALID", None),
    ],
)
def test_refusals_come_in_the_envelope_and_change_nothing(
    case: str, change: dict[str, Any], code: str, field: str | None
) -> None:
    buyer = UserFactory.create()
    product = sell(stock=5, sku="C")
    fill_cart(buyer, (product, 1))

    response = post(client_for(buyer), {**BODY, **change})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert field in error["details"]
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert not ProductStockMovement.objects.filter(reason="sale").exists()
    assert CartItem.objects.filter(cart__user=buyer).count() == 1


def test_an_empty_cart_is_refused() -> None:
    response = post(client_for(UserFactory.create()), BODY)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CART_EMPTY"


# --- Idempotency-Key ---------------------------------------------------------------------


def test_the_same_key_and_body_answer_the_same_and_make_one_order() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(stock=5), 1))
    client = client_for(buyer)

    first = post(client, BODY, key="order-7f3a")
    second = post(client, BODY, key="order-7f3a")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert Payment.objects.count() == 1


def test_the_same_key_with_another_body_is_refused() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(stock=5), 1))
    client = client_for(buyer)
    post(client, BODY, key="order-7f3a")
    fill_cart(buyer, (sell(stock=5), 1))

    response = post(client, {**BODY, "shipping_method": "shipping"}, key="order-7f3a")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Order.objects.count() == 1
    assert CartItem.objects.filter(cart__user=buyer).count() == 1


def test_an_error_answer_is_not_kept_so_the_fixed_cart_can_retry_with_the_same_key() -> None:
    buyer = UserFactory.create()
    client = client_for(buyer)

    empty = post(client, BODY, key="retry-me")
    fill_cart(buyer, (sell(stock=5), 1))
    retried = post(client, BODY, key="retry-me")

    assert (empty.status_code, retried.status_code) == (400, 201)
    assert Order.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201


def test_a_key_whose_first_request_still_runs_answers_409_with_retry_after() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(stock=5), 1))
    client = client_for(buyer)
    # The first request with the key has claimed it and not answered yet.
    post(client, BODY, key="slow")
    IdempotencyRecord.objects.update(status_code=None, response_body=None)
    fill_cart(buyer, (sell(stock=5), 1))

    response = post(client, BODY, key="slow")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert response["Retry-After"] == "1"
    assert Order.objects.count() == 1


def test_a_claim_left_by_a_request_that_died_is_taken_over_after_ten_minutes() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(stock=5), 1))
    client = client_for(buyer)
    with time_machine.travel(NOW, tick=False):
        post(client, BODY, key="died")
    # As if that request had died before it answered, its cart filled again
    IdempotencyRecord.objects.update(status_code=None, response_body=None)
    fill_cart(buyer, (sell(stock=5), 1))

    with time_machine.travel(NOW + timedelta(minutes=9), tick=False):
        busy = post(client, BODY, key="died")
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        taken = post(client, BODY, key="died")

    assert busy.status_code == 409
    assert taken.status_code == 201
    assert Order.objects.count() == 2
    assert IdempotencyRecord.objects.get().status_code == 201


def test_keys_belong_to_their_user() -> None:
    first, second = UserFactory.create(), UserFactory.create()
    fill_cart(first, (sell(stock=5), 1))
    fill_cart(second, (sell(stock=5), 1))

    answers = [post(client_for(user), BODY, key="same-key").status_code for user in (first, second)]

    assert answers == [201, 201]
    assert Order.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "ключ"])
def test_a_malformed_key_is_refused(key: str) -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(stock=5), 1))

    response = post(client_for(buyer), BODY, key=key)

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["Idempotency-Key"]
    assert not Order.objects.exists()
