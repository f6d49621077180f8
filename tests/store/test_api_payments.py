"""POST /api/v1/store/orders/{id}/pay (the test-mode provider) and .../refund."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core import mail
from rest_framework.test import APIClient

from apps.store.models import (
    Market,
    MarketStaff,
    Order,
    PaymentEvent,
    PaymentProvider,
    Refund,
)
from apps.store.services import orders as order_services
from apps.store.services import payments
from apps.store.services.cart import cart_add_item, user_cart
from tests import stripe_server
from tests.factories import UserFactory
from tests.store.shopping import (
    ADDRESS,
    TwoMarketPurchase,
    buy,
    market_selling,
    two_market_purchase,
)

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def pay_url(order: Order) -> str:
    return f"/api/v1/store/orders/{order.pk}/pay"


def refund_url(order: Order) -> str:
    return f"/api/v1/store/orders/{order.pk}/refund"


@pytest.fixture
def purchase() -> TwoMarketPurchase:
    return two_market_purchase()


def pay(purchase: TwoMarketPurchase, capture: Any, outcome: str = "succeeded", **kw: Any) -> Any:
    with capture(execute=True):
        return client_for(purchase.buyer).post(
            pay_url(purchase.order_of(purchase.kyiv)), {"outcome": outcome}, format="json", **kw
        )


# --- pay ----------------------------------------------------------------------------------


def test_the_buyer_pays_the_whole_payment_in_test_mode(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    response = pay(purchase, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    body = response.json()
    assert body["payment"] == {
        "id": str(purchase.payment.pk),
        "provider": "test",
        "status": "paid",
        "amount": "70.00",
        "currency": "EUR",
        "client_secret": None,
        "pay_url": None,
    }
    assert sorted(o["market"]["name"] for o in body["orders"]) == ["Kyiv Fab Lab", "Lviv Tools"]
    assert {(o["status"], o["payment_status"]) for o in body["orders"]} == {("paid", "paid")}
    assert {o["total_amount"] for o in body["orders"]} == {"30.00", "40.00"}
    purchase.refresh()
    assert purchase.payment.status == "paid"
    assert (purchase.kyiv.total_orders, purchase.lviv.total_revenue) == (1, Decimal("40.00"))
    event = PaymentEvent.objects.get()
    assert event.provider == "test"
    assert event.event_id.startswith("test-")
    assert len(mail.outbox) == 1


def test_a_failed_outcome_leaves_the_orders_payable(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    response = pay(purchase, django_capture_on_commit_callbacks, "failed")

    assert response.status_code == 200
    assert response.json()["payment"]["status"] == "failed"
    assert response.json()["payment"]["pay_url"] == f"/store/orders/pay/{purchase.payment.pk}/"
    assert {o["payment_status"] for o in response.json()["orders"]} == {"failed"}

    again = pay(purchase, django_capture_on_commit_callbacks)

    assert again.status_code == 200
    assert again.json()["payment"]["status"] == "paid"


def test_paying_a_paid_order_answers_409_naming_its_state(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    pay(purchase, django_capture_on_commit_callbacks)

    response = pay(purchase, django_capture_on_commit_callbacks, "failed")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "ORDER_ALREADY_PAID"
    assert "paid" in error["message"]
    assert error["details"] == {"status": "paid", "payment_status": "paid"}
    assert PaymentEvent.objects.count() == 1
    purchase.refresh()
    assert purchase.payment.status == "paid"


def test_a_released_order_is_not_paid_in_test_mode(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    order = purchase.order_of(purchase.kyiv)
    assert order.expires_at is not None
    with time_machine.travel(order.expires_at + timedelta(minutes=1), tick=False):
        assert order_services.order_release_unpaid(order_id=order.pk)

    response = pay(purchase, django_capture_on_commit_callbacks)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ORDER_NOT_PAYABLE"
    assert not PaymentEvent.objects.exists()


def test_a_cash_order_is_not_paid_online() -> None:
    market, product = market_selling("Kyiv Fab Lab")
    Market.objects.filter(pk=market.pk).update(payment_methods=["card", "cash_on_pickup"])
    buyer = UserFactory.create()
    (order,) = buy(buyer, (product, 1), payment_method="cash_on_pickup").orders
    assert order.payment is not None
    assert order.payment.provider == PaymentProvider.CASH

    response = client_for(buyer).post(pay_url(order), {"outcome": "succeeded"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ORDER_NOT_PAYABLE"
    assert not PaymentEvent.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [("market owner", 403), ("other market owner", 404), ("stranger", 404), ("nobody", 401)],
)
def test_only_the_buyer_pays(purchase: TwoMarketPurchase, who: str, status: int) -> None:
    users = {
        "market owner": purchase.kyiv.owner,
        "other market owner": market_selling("Odesa Makers", sku="OD-1")[0].owner,
        "stranger": UserFactory.create(),
        "nobody": None,
    }

    response = client_for(users[who]).post(
        pay_url(purchase.order_of(purchase.kyiv)), {"outcome": "succeeded"}, format="json"
    )

    assert response.status_code == status
    assert "error" in response.json()
    assert not PaymentEvent.objects.exists()
    purchase.refresh()
    assert purchase.payment.status == "unpaid"


@pytest.mark.parametrize(
    "body",
    [{}, {"outcome": "paid"}, {"outcome": None}, {"outcome": "succeeded", "amount": "1"}, []],
)
def test_a_bad_pay_body_answers_400(purchase: TwoMarketPurchase, body: Any) -> None:
    response = client_for(purchase.buyer).post(
        pay_url(purchase.order_of(purchase.kyiv)), body, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not PaymentEvent.objects.exists()


def test_pay_is_not_found_while_stripe_is_on(settings: Any) -> None:
    with stripe_server.stripe_on(settings):
        purchase = two_market_purchase()

        response = client_for(purchase.buyer).post(
            pay_url(purchase.order_of(purchase.kyiv)), {"outcome": "succeeded"}, format="json"
        )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    purchase.refresh()
    assert purchase.payment.status == "unpaid"


def test_the_same_idempotency_key_pays_once_and_answers_the_same(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    first = pay(purchase, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="pay-1")
    again = pay(purchase, django_capture_on_commit_callbacks, HTTP_IDEMPOTENCY_KEY="pay-1")
    other_body = pay(
        purchase, django_capture_on_commit_callbacks, "failed", HTTP_IDEMPOTENCY_KEY="pay-1"
    )

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 409
    assert other_body.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert PaymentEvent.objects.count() == 1
    assert len(mail.outbox) == 1


# --- refund -------------------------------------------------------------------------------


@pytest.fixture
def paid_purchase(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> TwoMarketPurchase:
    assert pay(purchase, django_capture_on_commit_callbacks).status_code == 200
    return purchase


def test_the_market_owner_refunds_part_of_an_order(
    paid_purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    order = paid_purchase.order_of(paid_purchase.kyiv)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(paid_purchase.kyiv.owner).post(
            refund_url(order), {"amount": "7.50", "reason": "Late pickup"}, format="json"
        )

    assert response.status_code == 201
    body = response.json()
    refund = Refund.objects.get()
    assert body["id"] == str(refund.pk)
    assert (body["amount"], body["currency"], body["reason"], body["status"]) == (
        "7.50",
        "EUR",
        "Late pickup",
        "succeeded",
    )
    assert body["order"]["id"] == str(order.pk)
    assert body["order"]["payment_status"] == "partially_refunded"
    paid_purchase.refresh()
    assert paid_purchase.kyiv.total_revenue == Decimal("22.50")
    assert mail.outbox[-1].subject == f"Refund for your order {order.order_number}"


def test_a_refund_without_an_amount_gives_back_all_that_is_left(
    paid_purchase: TwoMarketPurchase,
) -> None:
    order = paid_purchase.order_of(paid_purchase.lviv)

    response = client_for(paid_purchase.lviv.owner).post(refund_url(order), {}, format="json")

    assert response.status_code == 201
    assert response.json()["amount"] == "40.00"
    assert response.json()["order"]["status"] == "refunded"


def test_a_refund_above_what_is_left_answers_400(paid_purchase: TwoMarketPurchase) -> None:
    order = paid_purchase.order_of(paid_purchase.kyiv)
    owner = client_for(paid_purchase.kyiv.owner)
    owner.post(refund_url(order), {"amount": "20.00"}, format="json")

    response = owner.post(refund_url(order), {"amount": "10.01"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "REFUND_EXCEEDS_PAID"
    assert response.json()["error"]["details"] == {"refundable": "10.00"}
    assert Refund.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "0"},
        {"amount": "-1"},
        {"amount": "abc"},
        {"amount": "1.005"},
        {"amount": "1e309"},
        {"amount": "NaN"},
        {"reason": "x" * 301},
        {"amount": "1", "extra": True},
        [],
    ],
)
def test_a_bad_refund_body_answers_400(paid_purchase: TwoMarketPurchase, body: Any) -> None:
    response = client_for(paid_purchase.kyiv.owner).post(
        refund_url(paid_purchase.order_of(paid_purchase.kyiv)), body, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("staff", 201),
        ("super admin", 201),
        ("buyer", 403),
        ("other market owner", 404),
        ("nobody", 401),
    ],
)
def test_who_may_refund_through_the_api(
    paid_purchase: TwoMarketPurchase, who: str, status: int
) -> None:
    staff = UserFactory.create()
    MarketStaff.objects.create(market=paid_purchase.kyiv, user=staff)
    users = {
        "staff": staff,
        "super admin": UserFactory.create(is_superuser=True),
        "buyer": paid_purchase.buyer,
        "other market owner": paid_purchase.lviv.owner,
        "nobody": None,
    }

    response = client_for(users[who]).post(
        refund_url(paid_purchase.order_of(paid_purchase.kyiv)), {"amount": "1.00"}, format="json"
    )

    assert response.status_code == status
    assert Refund.objects.count() == (1 if status == 201 else 0)


def test_an_unpaid_order_answers_409(purchase: TwoMarketPurchase) -> None:
    response = client_for(purchase.kyiv.owner).post(
        refund_url(purchase.order_of(purchase.kyiv)), {}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ORDER_NOT_PAID"


@pytest.fixture
def stripe_api(settings: Any) -> Iterator[stripe_server.StripeStandIn]:
    with stripe_server.stripe_on(settings) as stand_in:
        yield stand_in


def test_a_refund_stripe_has_not_confirmed_answers_202(
    stripe_api: stripe_server.StripeStandIn, django_capture_on_commit_callbacks: Any
) -> None:
    purchase = two_market_purchase()
    stripe_api.succeed(purchase.payment.provider_reference or "")
    with django_capture_on_commit_callbacks(execute=True):
        payments.payment_settle(
            payment=purchase.payment,
            outcome="succeeded",
            event_id="evt_1",
            provider=PaymentProvider.STRIPE,
        )
    stripe_api.refund_status = "pending"

    response = client_for(purchase.kyiv.owner).post(
        refund_url(purchase.order_of(purchase.kyiv)), {"amount": "5.00"}, format="json"
    )

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response.json()["order"]["payment_status"] == "paid"


def test_stripe_refusing_a_refund_answers_502_and_nothing_is_kept(
    stripe_api: stripe_server.StripeStandIn, django_capture_on_commit_callbacks: Any
) -> None:
    purchase = two_market_purchase()
    stripe_api.succeed(purchase.payment.provider_reference or "")
    with django_capture_on_commit_callbacks(execute=True):
        payments.payment_settle(
            payment=purchase.payment,
            outcome="succeeded",
            event_id="evt_1",
            provider=PaymentProvider.STRIPE,
        )
    stripe_api.fail_next.append(stripe_server.Failure("/v1/refunds", 402, "Insufficient funds"))

    response = client_for(purchase.kyiv.owner).post(
        refund_url(purchase.order_of(purchase.kyiv)), {}, format="json"
    )

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "PAYMENT_PROVIDER_ERROR"
    order = purchase.order_of(purchase.kyiv)
    assert (order.payment_status, order.amount_refunded) == ("paid", Decimal("0.00"))


def test_the_webhook_is_not_throttled_like_users_routes(
    settings: Any, stripe_api: stripe_server.StripeStandIn
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "2/min",
        },
    }
    client = APIClient()

    answers = [
        client.post(
            "/api/v1/store/payments/stripe/webhook", data="{}", content_type="application/json"
        ).status_code
        for _ in range(5)
    ]
    # The same anonymous client on a user route is throttled.
    throttled = [client.get("/api/v1/store/products/").status_code for _ in range(3)]

    assert answers == [400] * 5
    assert throttled[-1] == 429


# --- starting the payment again ------------------------------------------------------------


def payment_url(order: Order) -> str:
    return f"/api/v1/store/orders/{order.pk}/payment"


def test_with_stripe_down_at_checkout_the_orders_wait_and_their_payment_starts_again(
    stripe_api: stripe_server.StripeStandIn,
) -> None:
    _kyiv, drill = market_selling("Kyiv Fab Lab", stock=5)
    _lviv, filament = market_selling("Lviv Makers", price="12.50", sku="FIL-1")
    buyer = UserFactory.create()
    for product, quantity in ((drill, 2), (filament, 1)):
        cart_add_item(cart=user_cart(buyer), product=product, quantity=quantity, acting_user=buyer)
    stripe_api.fail_next.append(stripe_server.Failure("/v1/payment_intents", 503, "Down"))

    refused = client_for(buyer).post(
        "/api/v1/store/checkout",
        {"shipping_address": ADDRESS, "billing_address": ADDRESS, "shipping_method": "pickup"},
        format="json",
    )

    assert refused.status_code == 502
    error = refused.json()["error"]
    assert error["code"] == "PAYMENT_PROVIDER_ERROR"
    assert "The orders are placed and wait for payment" in error["message"]
    orders = Order.objects.filter(user=buyer).order_by("order_number")
    assert sorted(error["details"]["orders"], key=lambda o: o["order_number"]) == [
        {"id": str(order.pk), "order_number": order.order_number} for order in orders
    ]
    payment = orders[0].payment
    assert payment is not None
    assert error["details"]["payment"] == str(payment.pk)
    assert [(o.status, o.payment_status) for o in orders] == [("pending", "unpaid")] * 2
    drill.refresh_from_db()
    assert drill.stock_quantity == 3

    started = client_for(buyer).post(payment_url(orders[1]))
    again = client_for(buyer).post(payment_url(orders[0]))

    assert started.status_code == again.status_code == 200
    body = started.json()
    payment.refresh_from_db()
    assert body["payment"]["id"] == str(payment.pk)
    assert body["payment"]["client_secret"] == payment.client_secret != ""
    assert again.json()["payment"]["client_secret"] == payment.client_secret
    assert {order["order_number"] for order in body["orders"]} == {
        order.order_number for order in orders
    }
    # One intent for the payment however often it is started: Stripe's idempotency key.
    assert list(stripe_api.intents) == [payment.provider_reference]
    assert stripe_api.intents[payment.provider_reference or ""]["amount"] == 9250


def test_starting_the_payment_in_test_mode_answers_the_pay_page(
    purchase: TwoMarketPurchase,
) -> None:
    response = client_for(purchase.buyer).post(payment_url(purchase.order_of(purchase.lviv)))

    assert response.status_code == 200
    answer = response.json()["payment"]
    assert answer["provider"] == "test"
    assert answer["pay_url"] == f"/store/orders/pay/{purchase.payment.pk}/"
    assert answer["client_secret"] is None


@pytest.mark.parametrize(
    ("who", "status"),
    [("market owner", 403), ("stranger", 404), ("nobody", 401)],
)
def test_only_the_buyer_starts_the_payment(
    purchase: TwoMarketPurchase, who: str, status: int
) -> None:
    users = {"market owner": purchase.kyiv.owner, "stranger": UserFactory.create(), "nobody": None}

    response = client_for(users[who]).post(payment_url(purchase.order_of(purchase.kyiv)))

    assert response.status_code == status
    assert "error" in response.json()


def test_a_paid_or_cash_order_has_no_payment_to_start(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    pay(purchase, django_capture_on_commit_callbacks)
    market, product = market_selling("Odesa Makers", sku="OD-1")
    Market.objects.filter(pk=market.pk).update(payment_methods=["cash_on_pickup"])
    (cash_order,) = buy(purchase.buyer, (product, 1), payment_method="cash_on_pickup").orders

    paid = client_for(purchase.buyer).post(payment_url(purchase.order_of(purchase.kyiv)))
    cash = client_for(purchase.buyer).post(payment_url(cash_order))

    assert (paid.status_code, paid.json()["error"]["code"]) == (409, "ORDER_ALREADY_PAID")
    assert (cash.status_code, cash.json()["error"]["code"]) == (409, "ORDER_NOT_PAYABLE")


def test_the_payment_route_refuses_other_methods_and_unknown_orders(
    purchase: TwoMarketPurchase,
) -> None:
    client = client_for(purchase.buyer)
    order = purchase.order_of(purchase.kyiv)

    wrong_method = client.get(payment_url(order))
    unknown = client.post("/api/v1/store/orders/00000000-0000-0000-0000-000000000000/payment")
    not_an_id = client.post("/api/v1/store/orders/not-an-order/payment")

    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert (unknown.status_code, not_an_id.status_code) == (404, 404)
    assert unknown.json()["error"]["code"] == "NOT_FOUND"


def test_a_checkout_retried_with_its_key_after_stripe_failed_hears_the_same_orders(
    stripe_api: stripe_server.StripeStandIn,
) -> None:
    _kyiv, drill = market_selling("Kyiv Fab Lab", stock=5)
    buyer = UserFactory.create()
    cart_add_item(cart=user_cart(buyer), product=drill, quantity=1, acting_user=buyer)
    stripe_api.fail_next.append(stripe_server.Failure("/v1/payment_intents", 503, "Down"))
    body = {"shipping_address": ADDRESS, "shipping_method": "pickup"}

    def checkout() -> Any:
        return client_for(buyer).post(
            "/api/v1/store/checkout", body, format="json", HTTP_IDEMPOTENCY_KEY="co-1"
        )

    first, again = checkout(), checkout()

    assert (first.status_code, again.status_code) == (502, 502)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    (order,) = Order.objects.filter(user=buyer)
    assert first.json()["error"]["details"]["orders"] == [
        {"id": str(order.pk), "order_number": order.order_number}
    ]
    drill.refresh_from_db()
    assert drill.stock_quantity == 4
    # One try at Stripe: the retry did nothing again.
    assert len(stripe_api.calls("POST", "/v1/payment_intents")) == 1
