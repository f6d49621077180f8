"""Starting, settling and refunding payments (apps.store.services.payments), in test
mode and against the Stripe stand-in on loopback."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from itertools import permutations
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from apps.accounts.system import system_actor
from apps.core.exceptions import ApplicationError
from apps.store.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentProvider,
    PaymentStatus,
    ProductStockMovement,
    Refund,
)
from apps.store.services import orders as order_services
from apps.store.services import payments
from tests import stripe_server
from tests.factories import UserFactory
from tests.store.shopping import TwoMarketPurchase, buy, market_selling, two_market_purchase

pytestmark = pytest.mark.django_db


@pytest.fixture
def purchase() -> TwoMarketPurchase:
    return two_market_purchase()


@pytest.fixture
def stripe_api(settings: Any) -> Iterator[stripe_server.StripeStandIn]:
    with stripe_server.stripe_on(settings) as stand_in:
        yield stand_in


def settle(payment: Payment, outcome: str, event_id: str, **more: Any) -> Payment:
    return payments.payment_settle(
        payment=payment, outcome=outcome, event_id=event_id, provider=PaymentProvider.TEST, **more
    )


def paid(purchase: TwoMarketPurchase, capture: Any) -> None:
    with capture(execute=True):
        settle(purchase.payment, "succeeded", "evt-paid")
    purchase.refresh()


def state(purchase: TwoMarketPurchase) -> tuple[Any, ...]:
    """Everything a settlement moves, to compare runs."""
    purchase.refresh()
    return (
        purchase.payment.status,
        purchase.payment.failure_message,
        sorted((o.status, o.payment_status) for o in purchase.orders),
        (purchase.kyiv.total_orders, purchase.kyiv.total_revenue),
        (purchase.lviv.total_orders, purchase.lviv.total_revenue),
    )


# --- payment_begin ------------------------------------------------------------------------


def test_test_mode_begins_with_the_local_pay_page(purchase: TwoMarketPurchase) -> None:
    answer = payments.payment_begin(payment=purchase.payment)

    assert answer == {
        "id": str(purchase.payment.pk),
        "provider": "test",
        "status": "unpaid",
        "amount": "70.00",
        "currency": "EUR",
        "client_secret": None,
        "pay_url": f"/store/orders/pay/{purchase.payment.pk}/",
    }


def test_stripe_begins_with_one_payment_intent_however_often_asked(
    stripe_api: stripe_server.StripeStandIn,
) -> None:
    _market, product = market_selling("Kyiv Fab Lab", price="12.34")
    result = buy(UserFactory.create(), (product, 2))
    payment = result.payment

    answer = result.payment_start
    # A retry after the secret was lost asks Stripe again with the same idempotency key.
    Payment.objects.filter(pk=payment.pk).update(client_secret="")
    again = payments.payment_begin(payment=Payment.objects.get(pk=payment.pk))

    assert payment.provider == PaymentProvider.STRIPE
    calls = stripe_api.calls("POST", "/v1/payment_intents")
    assert [call.idempotency_key for call in calls] == [str(payment.pk)] * 2
    assert calls[0].params["amount"] == "2468"
    assert calls[0].params["currency"] == "eur"
    assert calls[0].params["metadata"] == {"payment_id": str(payment.pk)}
    assert len(stripe_api.intents) == 1
    (intent,) = stripe_api.intents.values()
    assert answer["client_secret"] == again["client_secret"] == intent["client_secret"]
    assert answer["pay_url"] is None
    payment.refresh_from_db()
    assert payment.provider_reference == intent["id"]
    assert payment.client_secret == intent["client_secret"]


def test_stripe_unreachable_answers_502_and_keeps_the_payment_unstarted(
    stripe_api: stripe_server.StripeStandIn,
) -> None:
    stripe_api.fail_next.append(stripe_server.Failure("/v1/payment_intents", 503, "Down"))
    payment = Payment.objects.create(
        user=UserFactory.create(), provider=PaymentProvider.STRIPE, amount=Decimal("10.00")
    )

    with pytest.raises(ApplicationError) as refused:
        payments.payment_begin(payment=payment)

    assert (refused.value.code, refused.value.status_code) == ("PAYMENT_PROVIDER_ERROR", 502)
    payment.refresh_from_db()
    assert (payment.provider_reference, payment.client_secret) == (None, "")


# --- payment_settle -----------------------------------------------------------------------


def test_succeeded_pays_every_order_moves_the_figures_and_emails_once(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        settle(purchase.payment, "succeeded", "evt-1", payload={"id": "evt-1"})

    purchase.refresh()
    assert purchase.payment.status == PaymentStatus.PAID
    assert purchase.payment.paid_at is not None
    assert [(o.status, o.payment_status) for o in purchase.orders] == [("paid", "paid")] * 2
    assert all(o.paid_at is not None for o in purchase.orders)
    assert (purchase.kyiv.total_orders, purchase.kyiv.total_revenue) == (1, Decimal("30.00"))
    assert (purchase.lviv.total_orders, purchase.lviv.total_revenue) == (1, Decimal("40.00"))
    event = PaymentEvent.objects.get()
    assert (event.event_id, event.event_type, event.payment_id) == (
        "evt-1",
        "payment.succeeded",
        purchase.payment.pk,
    )
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [purchase.buyer.email]


def test_the_same_event_twice_has_one_effect(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    paid(purchase, django_capture_on_commit_callbacks)
    before = state(purchase)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        settle(purchase.payment, "succeeded", "evt-paid")

    assert state(purchase) == before
    assert callbacks == []
    assert PaymentEvent.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_second_succeeded_event_changes_nothing_more(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    paid(purchase, django_capture_on_commit_callbacks)
    before = state(purchase)

    with django_capture_on_commit_callbacks(execute=True):
        settle(purchase.payment, "succeeded", "evt-other")

    assert state(purchase) == before
    assert PaymentEvent.objects.count() == 2
    assert len(mail.outbox) == 1


EVENTS = [("succeeded", "evt-a"), ("failed", "evt-b"), ("succeeded", "evt-a")]


@pytest.mark.parametrize("order", list(permutations(range(3))), ids=str)
def test_shuffled_events_end_in_the_same_state(
    order: tuple[int, ...], django_capture_on_commit_callbacks: Any
) -> None:
    purchase = two_market_purchase()

    with django_capture_on_commit_callbacks(execute=True):
        for index in order:
            outcome, event_id = EVENTS[index]
            settle(purchase.payment, outcome, event_id, failure_message="Card declined")

    assert state(purchase) == (
        PaymentStatus.PAID,
        "",
        [("paid", "paid"), ("paid", "paid")],
        (1, Decimal("30.00")),
        (1, Decimal("40.00")),
    )
    assert PaymentEvent.objects.count() == 2
    assert len(mail.outbox) == 1


def test_failed_is_recorded_on_an_unpaid_payment_and_a_retry_can_pay(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    settle(purchase.payment, "failed", "evt-1", failure_message="Your card was declined.")

    purchase.refresh()
    assert (purchase.payment.status, purchase.payment.failure_message) == (
        "failed",
        "Your card was declined.",
    )
    assert [(o.status, o.payment_status) for o in purchase.orders] == [("pending", "failed")] * 2
    assert purchase.kyiv.total_orders == 0

    paid(purchase, django_capture_on_commit_callbacks)
    assert state(purchase)[:3] == ("paid", "", [("paid", "paid"), ("paid", "paid")])


def test_an_event_for_another_amount_is_ignored(purchase: TwoMarketPurchase) -> None:
    settle(purchase.payment, "succeeded", "evt-1", amount=Decimal("0.70"), currency="eur")
    settle(purchase.payment, "succeeded", "evt-2", amount=Decimal("70.00"), currency="usd")

    purchase.refresh()
    assert purchase.payment.status == PaymentStatus.UNPAID
    assert purchase.kyiv.total_orders == 0
    assert PaymentEvent.objects.count() == 2
    assert mail.outbox == []


def test_an_unknown_outcome_is_a_programming_error(purchase: TwoMarketPurchase) -> None:
    with pytest.raises(ValueError, match="Unknown payment outcome"):
        settle(purchase.payment, "maybe", "evt-1")
    assert not PaymentEvent.objects.exists()


def _release(order: Order) -> None:
    assert order.expires_at is not None
    with time_machine.travel(order.expires_at + timedelta(minutes=1), tick=False):
        assert order_services.order_release_unpaid(order_id=order.pk)


def test_a_payment_after_the_release_takes_the_stock_again(
    django_capture_on_commit_callbacks: Any,
) -> None:
    market, product = market_selling("Kyiv Fab Lab", stock=3)
    result = buy(UserFactory.create(), (product, 2))
    (order,) = result.orders
    _release(order)
    product.refresh_from_db()
    assert product.stock_quantity == 3

    with django_capture_on_commit_callbacks(execute=True):
        settle(result.payment, "succeeded", "evt-late")

    order.refresh_from_db()
    product.refresh_from_db()
    market.refresh_from_db()
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert order.stock_released_at is None
    assert product.stock_quantity == 1
    assert (market.total_orders, market.total_revenue) == (1, Decimal("80.00"))
    assert not Refund.objects.exists()


def test_a_payment_after_the_release_is_refunded_when_the_stock_is_gone(
    django_capture_on_commit_callbacks: Any,
) -> None:
    market, product = market_selling("Kyiv Fab Lab", stock=2)
    late = buy(UserFactory.create(), (product, 2))
    (order,) = late.orders
    _release(order)
    with django_capture_on_commit_callbacks(execute=True):
        buy(UserFactory.create(), (product, 2))

    with django_capture_on_commit_callbacks(execute=True):
        settle(late.payment, "succeeded", "evt-late")

    order.refresh_from_db()
    payment = Payment.objects.get(pk=late.payment.pk)
    market.refresh_from_db()
    refund = Refund.objects.get()
    assert (refund.order_id, refund.amount, refund.status) == (
        order.pk,
        Decimal("80.00"),
        "succeeded",
    )
    assert refund.created_by == system_actor()
    assert (order.status, order.payment_status, order.amount_refunded) == (
        "refunded",
        "refunded",
        Decimal("80.00"),
    )
    assert (payment.status, payment.amount_refunded) == ("refunded", Decimal("80.00"))
    # It never became a sale of the market.
    assert (market.total_orders, market.total_revenue) == (0, Decimal("0.00"))
    assert ProductStockMovement.objects.filter(product=product).count() == 4
    # No confirmation of an order that is not kept: only the refund is written about.
    (message,) = mail.outbox
    assert message.subject == f"Refund for your order {order.order_number}"


# --- refunds ------------------------------------------------------------------------------


def test_a_partial_then_the_rest_refunds_the_order_in_full(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    paid(purchase, django_capture_on_commit_callbacks)
    kyiv_order = purchase.order_of(purchase.kyiv)

    with django_capture_on_commit_callbacks(execute=True):
        first = payments.refund_create(
            order=kyiv_order,
            amount=Decimal("10.00"),
            reason="One spool was damaged",
            acting_user=purchase.kyiv.owner,
        )
    purchase.refresh()
    kyiv_order.refresh_from_db()
    assert (first.status, first.amount, first.created_by) == (
        "succeeded",
        Decimal("10.00"),
        purchase.kyiv.owner,
    )
    assert (kyiv_order.status, kyiv_order.payment_status, kyiv_order.amount_refunded) == (
        "paid",
        "partially_refunded",
        Decimal("10.00"),
    )
    assert (purchase.payment.status, purchase.payment.amount_refunded) == (
        "partially_refunded",
        Decimal("10.00"),
    )
    assert purchase.kyiv.total_revenue == Decimal("20.00")

    with django_capture_on_commit_callbacks(execute=True):
        rest = payments.refund_create(order=kyiv_order, acting_user=purchase.kyiv.owner)

    purchase.refresh()
    kyiv_order.refresh_from_db()
    assert rest.amount == Decimal("20.00")
    assert (kyiv_order.status, kyiv_order.payment_status, kyiv_order.amount_refunded) == (
        "refunded",
        "refunded",
        Decimal("30.00"),
    )
    # The other market's order is untouched: the payment is refunded in part.
    assert purchase.payment.status == "partially_refunded"
    assert purchase.order_of(purchase.lviv).payment_status == "paid"
    assert (purchase.kyiv.total_orders, purchase.kyiv.total_revenue) == (1, Decimal("0.00"))
    assert purchase.lviv.total_revenue == Decimal("40.00")
    assert [m.subject for m in mail.outbox[1:]] == [
        f"Refund for your order {kyiv_order.order_number}"
    ] * 2


def test_refunding_both_orders_refunds_the_payment(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    paid(purchase, django_capture_on_commit_callbacks)
    admin = UserFactory.create(is_superuser=True)

    for order in purchase.orders:
        payments.refund_create(order=order, acting_user=admin)

    purchase.refresh()
    assert (purchase.payment.status, purchase.payment.amount_refunded) == (
        "refunded",
        Decimal("70.00"),
    )
    assert {o.status for o in purchase.orders} == {OrderStatus.REFUNDED}


@pytest.mark.parametrize("amount", [Decimal("30.01"), Decimal("100")])
def test_a_refund_above_what_is_left_answers_400_with_the_refundable_amount(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any, amount: Decimal
) -> None:
    paid(purchase, django_capture_on_commit_callbacks)
    order = purchase.order_of(purchase.kyiv)

    with pytest.raises(ApplicationError) as refused:
        payments.refund_create(order=order, amount=amount, acting_user=purchase.kyiv.owner)

    assert refused.value.code == "REFUND_EXCEEDS_PAID"
    assert refused.value.details == {"refundable": "30.00"}
    assert not Refund.objects.exists()
    order.refresh_from_db()
    assert order.amount_refunded == Decimal("0.00")


def test_nothing_left_to_refund_answers_400(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    paid(purchase, django_capture_on_commit_callbacks)
    order = purchase.order_of(purchase.kyiv)
    payments.refund_create(order=order, acting_user=purchase.kyiv.owner)

    with pytest.raises(ApplicationError) as refused:
        payments.refund_create(order=order, acting_user=purchase.kyiv.owner)

    assert (refused.value.code, refused.value.details) == (
        "REFUND_EXCEEDS_PAID",
        {"refundable": "0.00"},
    )
    assert Refund.objects.count() == 1


@pytest.mark.parametrize(
    "amount", [Decimal("0"), Decimal("-5"), Decimal("1.001"), "NaN", "ten", Decimal("Infinity")]
)
def test_a_refund_amount_that_is_not_money_answers_400(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any, amount: Any
) -> None:
    paid(purchase, django_capture_on_commit_callbacks)

    with pytest.raises(ApplicationError) as refused:
        payments.refund_create(
            order=purchase.order_of(purchase.kyiv), amount=amount, acting_user=purchase.kyiv.owner
        )

    assert (refused.value.code, list(refused.value.details)) == ("VALIDATION_ERROR", ["amount"])
    assert not Refund.objects.exists()


def test_an_unpaid_order_is_not_refunded(purchase: TwoMarketPurchase) -> None:
    with pytest.raises(ApplicationError) as refused:
        payments.refund_create(
            order=purchase.order_of(purchase.kyiv), acting_user=purchase.kyiv.owner
        )

    assert (refused.value.code, refused.value.status_code) == ("ORDER_NOT_PAID", 409)
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("owner", True), ("staff", True), ("admin", True), ("other owner", False), ("buyer", False)],
)
def test_who_may_refund_a_market_order(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any, who: str, allowed: bool
) -> None:
    from apps.store.models import MarketStaff

    paid(purchase, django_capture_on_commit_callbacks)
    staff = UserFactory.create()
    MarketStaff.objects.create(market=purchase.kyiv, user=staff)
    users = {
        "owner": purchase.kyiv.owner,
        "staff": staff,
        "admin": UserFactory.create(is_superuser=True),
        "other owner": purchase.lviv.owner,
        "buyer": purchase.buyer,
    }
    order = purchase.order_of(purchase.kyiv)

    if allowed:
        payments.refund_create(order=order, amount=Decimal("1.00"), acting_user=users[who])
        assert Refund.objects.get().created_by == users[who]
    else:
        with pytest.raises(ApplicationError) as refused:
            payments.refund_create(order=order, amount=Decimal("1.00"), acting_user=users[who])
        assert refused.value.status_code == 403
        assert not Refund.objects.exists()


def test_only_a_super_admin_refunds_a_central_order(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from apps.store import services
    from tests.factories import CategoryFactory

    admin = UserFactory.create(is_superuser=True)
    product = services.product_create(
        acting_user=admin,
        market=None,
        category=CategoryFactory.create(),
        name="M3 screws",
        sku="M3-100",
        price=Decimal("5.00"),
        opening_stock=10,
    )
    result = buy(UserFactory.create(), (product, 1))
    with django_capture_on_commit_callbacks(execute=True):
        settle(result.payment, "succeeded", "evt-1")
    (order,) = result.orders
    some_owner, _product = market_selling("Kyiv Fab Lab")

    with pytest.raises(ApplicationError) as refused:
        payments.refund_create(order=order, acting_user=some_owner.owner)
    refund = payments.refund_create(order=order, acting_user=admin)

    assert refused.value.status_code == 403
    assert refund.amount == order.total_amount
    assert refund.status == "succeeded"


# --- refunds through Stripe ----------------------------------------------------------------


@pytest.fixture
def stripe_purchase(
    stripe_api: stripe_server.StripeStandIn, django_capture_on_commit_callbacks: Any
) -> TwoMarketPurchase:
    """The two-market purchase paid through the stand-in."""
    purchase = two_market_purchase()
    stripe_api.succeed(purchase.payment.provider_reference or "")
    with django_capture_on_commit_callbacks(execute=True):
        payments.payment_settle(
            payment=purchase.payment,
            outcome="succeeded",
            event_id="evt_paid",
            provider=PaymentProvider.STRIPE,
            amount=Decimal("70.00"),
            currency="eur",
        )
    purchase.refresh()
    return purchase


def test_a_stripe_refund_asks_stripe_once_with_the_refund_as_idempotency_key(
    stripe_api: stripe_server.StripeStandIn, stripe_purchase: TwoMarketPurchase
) -> None:
    order = stripe_purchase.order_of(stripe_purchase.lviv)

    refund = payments.refund_create(
        order=order, amount=Decimal("12.50"), acting_user=stripe_purchase.lviv.owner
    )

    (call,) = stripe_api.calls("POST", "/v1/refunds")
    assert call.idempotency_key == str(refund.pk)
    assert call.params["amount"] == "1250"
    assert call.params["payment_intent"] == stripe_purchase.payment.provider_reference
    assert call.params["metadata"] == {"refund_id": str(refund.pk), "order_id": str(order.pk)}
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert refund.provider_reference in stripe_api.refunds
    order.refresh_from_db()
    assert order.payment_status == "partially_refunded"


def test_a_refund_stripe_refuses_gives_the_reservation_back(
    stripe_api: stripe_server.StripeStandIn, stripe_purchase: TwoMarketPurchase
) -> None:
    order = stripe_purchase.order_of(stripe_purchase.lviv)
    stripe_api.fail_next.append(stripe_server.Failure("/v1/refunds", 400, "Charge disputed"))

    with pytest.raises(ApplicationError) as refused:
        payments.refund_create(order=order, acting_user=stripe_purchase.lviv.owner)

    assert (refused.value.code, refused.value.status_code) == ("PAYMENT_PROVIDER_ERROR", 502)
    assert "Charge disputed" in refused.value.message
    refund = Refund.objects.get()
    assert refund.status == "failed"
    order.refresh_from_db()
    stripe_purchase.refresh()
    assert (order.payment_status, order.amount_refunded) == ("paid", Decimal("0.00"))
    assert stripe_purchase.payment.amount_refunded == Decimal("0.00")
    assert stripe_purchase.lviv.total_revenue == Decimal("40.00")
    # What was given back may be refunded again.
    again = payments.refund_create(order=order, acting_user=stripe_purchase.lviv.owner)
    assert again.status == "succeeded"


def test_a_refund_whose_answer_is_lost_stays_pending_and_reserved(
    stripe_api: stripe_server.StripeStandIn, stripe_purchase: TwoMarketPurchase
) -> None:
    order = stripe_purchase.order_of(stripe_purchase.lviv)
    stripe_api.fail_next.append(stripe_server.Failure("/v1/refunds", 500, "Try later", "api_error"))

    refund = payments.refund_create(order=order, acting_user=stripe_purchase.lviv.owner)

    assert refund.status == "pending"
    order.refresh_from_db()
    assert (order.payment_status, order.amount_refunded) == ("paid", Decimal("40.00"))
    with pytest.raises(ApplicationError) as refused:
        payments.refund_create(order=order, acting_user=stripe_purchase.lviv.owner)
    assert refused.value.details == {"refundable": "0.00"}


def test_a_pending_stripe_refund_is_closed_by_its_event(
    stripe_api: stripe_server.StripeStandIn,
    stripe_purchase: TwoMarketPurchase,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stripe_api.refund_status = "pending"
    order = stripe_purchase.order_of(stripe_purchase.lviv)
    refund = payments.refund_create(order=order, acting_user=stripe_purchase.lviv.owner)
    assert refund.status == "pending"
    assert refund.provider_reference in stripe_api.refunds
    provider_refund = {**stripe_api.refunds[refund.provider_reference or ""], "status": "succeeded"}

    with django_capture_on_commit_callbacks(execute=True):
        outcome = payments.stripe_event_handle(
            event=stripe_server.event("refund.updated", provider_refund)
        )

    assert outcome == "processed"
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == "succeeded"
    assert (order.status, order.payment_status) == ("refunded", "refunded")
    assert mail.outbox[-1].subject == f"Refund for your order {order.order_number}"


def test_system_refunds_run_as_the_system_actor(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    paid(purchase, django_capture_on_commit_callbacks)

    refund = payments.refund_create(
        order=purchase.order_of(purchase.kyiv), reason="", acting_user=system_actor()
    )

    assert refund.status == "succeeded"
    assert timezone.is_aware(refund.created_at)


# --- the test-mode pay page's service ------------------------------------------------------


def test_the_pay_page_pays_all_orders_of_the_payment(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        payment = payments.payment_pay_in_test_mode(
            payment=purchase.payment, outcome="succeeded", acting_user=purchase.buyer
        )

    assert payment.status == "paid"
    assert {o.status for o in purchase.orders} == {"paid"}
    assert PaymentEvent.objects.get().event_id.startswith("test-")
    assert len(mail.outbox) == 1

    with pytest.raises(ApplicationError) as again:
        payments.payment_pay_in_test_mode(
            payment=purchase.payment, outcome="failed", acting_user=purchase.buyer
        )
    assert (again.value.code, again.value.status_code) == ("ORDER_ALREADY_PAID", 409)


@pytest.mark.parametrize(
    ("case", "code", "status"),
    [
        ("someone else", "PERMISSION_DENIED", 403),
        ("bad outcome", "VALIDATION_ERROR", 400),
        ("all released", "ORDER_NOT_PAYABLE", 409),
        ("stripe on", "NOT_FOUND", 404),
    ],
)
def test_the_pay_page_refuses(
    purchase: TwoMarketPurchase, settings: Any, case: str, code: str, status: int
) -> None:
    payer, outcome = purchase.buyer, "succeeded"
    if case == "someone else":
        payer = purchase.kyiv.owner
    elif case == "bad outcome":
        outcome = "maybe"
    elif case == "all released":
        for order in purchase.orders:
            _release(order)
    else:
        settings.STRIPE_SECRET_KEY = "sk_test_on"

    with pytest.raises(ApplicationError) as refused:
        payments.payment_pay_in_test_mode(
            payment=purchase.payment, outcome=outcome, acting_user=payer
        )

    assert (refused.value.code, refused.value.status_code) == (code, status)
    assert not PaymentEvent.objects.exists()


def test_a_payment_of_nothing_is_settled_when_it_begins(
    stripe_api: stripe_server.StripeStandIn, django_capture_on_commit_callbacks: Any
) -> None:
    market, _product = market_selling("Kyiv Fab Lab")
    buyer = UserFactory.create()
    payment = Payment.objects.create(
        user=buyer, provider=PaymentProvider.STRIPE, amount=Decimal("0.00")
    )
    Order.objects.create(
        order_number="MX-FREE-0001",
        user=buyer,
        market=market,
        payment=payment,
        subtotal=Decimal("5.00"),
        tax_amount=Decimal("0.00"),
        shipping_amount=Decimal("0.00"),
        discount_amount=Decimal("5.00"),
        total_amount=Decimal("0.00"),
        shipping_method="pickup",
    )

    with django_capture_on_commit_callbacks(execute=True):
        answer = payments.payment_begin(payment=payment)
        again = payments.payment_begin(payment=Payment.objects.get(pk=payment.pk))

    assert answer["status"] == again["status"] == "paid"
    assert answer["client_secret"] is None
    assert stripe_api.calls("POST", "/v1/payment_intents") == []
    assert Order.objects.get().status == "paid"
    assert PaymentEvent.objects.get().event_id == f"free-{payment.pk}"
