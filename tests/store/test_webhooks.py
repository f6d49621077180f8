"""POST /api/v1/store/payments/stripe/webhook: real signed Stripe events, checked by the
real ``stripe`` library, against a checkout that started its PaymentIntent at the
Stripe stand-in."""

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from itertools import permutations
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from apps.store.models import Payment, PaymentEvent, PaymentStatus, Refund
from apps.store.services import payments
from tests import stripe_server
from tests.store.shopping import TwoMarketPurchase, two_market_purchase

pytestmark = pytest.mark.django_db

URL = "/api/v1/store/payments/stripe/webhook"


@pytest.fixture
def stripe_api(settings: Any) -> Iterator[stripe_server.StripeStandIn]:
    with stripe_server.stripe_on(settings) as stand_in:
        yield stand_in


@pytest.fixture
def purchase(stripe_api: stripe_server.StripeStandIn) -> TwoMarketPurchase:
    return two_market_purchase()


def send(
    event: dict[str, Any],
    *,
    secret: str = stripe_server.WEBHOOK_SECRET,
    at: int | None = None,
    body: str | None = None,
    header: str | None = "sign",
) -> Any:
    text = body if body is not None else json.dumps(event)
    headers: dict[str, Any] = {}
    if header == "sign":
        headers["HTTP_STRIPE_SIGNATURE"] = stripe_server.signature_header(
            text, secret=secret, at=at
        )
    elif header is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = header
    return APIClient().post(URL, data=text, content_type="application/json", **headers)


def intent_of(purchase: TwoMarketPurchase, stripe_api: stripe_server.StripeStandIn) -> dict:
    return stripe_api.intents[purchase.payment.provider_reference or ""]


def succeeded(
    purchase: TwoMarketPurchase, stripe_api: stripe_server.StripeStandIn, **kw: Any
) -> dict:
    intent = stripe_api.succeed(purchase.payment.provider_reference or "")
    return stripe_server.event("payment_intent.succeeded", intent, **kw)


def failed(purchase: TwoMarketPurchase, stripe_api: stripe_server.StripeStandIn, **kw: Any) -> dict:
    intent = {
        **intent_of(purchase, stripe_api),
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }
    return stripe_server.event("payment_intent.payment_failed", intent, **kw)


def figures(purchase: TwoMarketPurchase) -> tuple[Any, ...]:
    purchase.refresh()
    return (
        purchase.payment.status,
        purchase.payment.failure_message,
        sorted((o.status, o.payment_status) for o in purchase.orders),
        (purchase.kyiv.total_orders, purchase.kyiv.total_revenue),
        (purchase.lviv.total_orders, purchase.lviv.total_revenue),
    )


UNPAID = (
    PaymentStatus.UNPAID,
    "",
    [("pending", "unpaid"), ("pending", "unpaid")],
    (0, Decimal("0.00")),
    (0, Decimal("0.00")),
)
PAID = (
    PaymentStatus.PAID,
    "",
    [("paid", "paid"), ("paid", "paid")],
    (1, Decimal("30.00")),
    (1, Decimal("40.00")),
)


def test_a_signed_succeeded_event_pays_the_orders(
    purchase: TwoMarketPurchase,
    stripe_api: stripe_server.StripeStandIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    event = succeeded(purchase, stripe_api)

    with django_capture_on_commit_callbacks(execute=True):
        response = send(event)

    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "processed"}
    assert figures(purchase) == PAID
    stored = PaymentEvent.objects.get()
    assert (stored.provider, stored.event_id, stored.event_type) == (
        "stripe",
        event["id"],
        "payment_intent.succeeded",
    )
    assert stored.payload["data"]["object"]["id"] == purchase.payment.provider_reference
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("another secret", {"secret": "whsec_someone_else"}),
        ("no signature", {"header": None}),
        ("garbled signature", {"header": "t=abc,v1=zzz"}),
        ("no v1 signature", {"header": f"t={int(time.time())},v0=abc"}),
        ("older than 300 s", {"at": int(time.time()) - 301}),
        ("body changed after signing", {"header": "resign"}),
    ],
)
def test_a_bad_signature_answers_400_and_changes_nothing(
    purchase: TwoMarketPurchase,
    stripe_api: stripe_server.StripeStandIn,
    django_capture_on_commit_callbacks: Any,
    case: str,
    options: dict[str, Any],
) -> None:
    event = succeeded(purchase, stripe_api)
    if options.get("header") == "resign":
        signed = json.dumps(event)
        options = {
            "header": stripe_server.signature_header(signed),
            "body": signed.replace('"amount_received": 7000', '"amount_received": 7001'),
        }

    with django_capture_on_commit_callbacks(execute=True):
        response = send(event, **options)

    assert response.status_code == 400, case
    assert response.json()["error"]["code"] == "WEBHOOK_REJECTED"
    assert figures(purchase) == UNPAID
    assert not PaymentEvent.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("body", ["", "not json", "[]", '{"type": "payment_intent.succeeded"}'])
def test_a_signed_body_that_is_not_an_event_answers_400(
    purchase: TwoMarketPurchase, body: str
) -> None:
    response = send({}, body=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "WEBHOOK_REJECTED"
    assert not PaymentEvent.objects.exists()


def test_the_same_event_twice_pays_once(
    purchase: TwoMarketPurchase,
    stripe_api: stripe_server.StripeStandIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    event = succeeded(purchase, stripe_api)

    with django_capture_on_commit_callbacks(execute=True):
        first = send(event)
        second = send(event)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["outcome"] == "duplicate"
    assert figures(purchase) == PAID
    assert PaymentEvent.objects.count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("order", list(permutations(range(3))), ids=str)
def test_shuffled_events_end_in_the_same_state(
    stripe_api: stripe_server.StripeStandIn,
    django_capture_on_commit_callbacks: Any,
    order: tuple[int, ...],
) -> None:
    purchase = two_market_purchase()
    paid_event = succeeded(purchase, stripe_api)
    events = [paid_event, failed(purchase, stripe_api), paid_event]

    with django_capture_on_commit_callbacks(execute=True):
        answers = [send(events[index]).status_code for index in order]

    assert answers == [200, 200, 200]
    assert figures(purchase) == PAID
    assert PaymentEvent.objects.count() == 2
    assert len(mail.outbox) == 1


def test_a_failed_event_records_why(
    purchase: TwoMarketPurchase, stripe_api: stripe_server.StripeStandIn
) -> None:
    response = send(failed(purchase, stripe_api))

    assert response.status_code == 200
    purchase.refresh()
    assert (purchase.payment.status, purchase.payment.failure_message) == (
        "failed",
        "Your card was declined.",
    )
    assert {o.payment_status for o in purchase.orders} == {"failed"}


def test_an_event_for_another_amount_pays_nothing(
    purchase: TwoMarketPurchase, stripe_api: stripe_server.StripeStandIn
) -> None:
    event = succeeded(purchase, stripe_api)
    event["data"]["object"]["amount_received"] = 100

    response = send(event)

    assert response.status_code == 200
    assert figures(purchase) == UNPAID
    assert PaymentEvent.objects.count() == 1


def test_an_event_that_outruns_the_intents_id_finds_the_payment_by_its_metadata(
    purchase: TwoMarketPurchase, stripe_api: stripe_server.StripeStandIn
) -> None:
    event = succeeded(purchase, stripe_api)
    intent_id = purchase.payment.provider_reference
    Payment.objects.filter(pk=purchase.payment.pk).update(provider_reference=None)

    response = send(event)

    assert response.status_code == 200
    purchase.refresh()
    assert (purchase.payment.status, purchase.payment.provider_reference) == ("paid", intent_id)


@pytest.mark.parametrize(
    "obj",
    [
        {"id": "pi_unknown", "object": "payment_intent", "metadata": {}},
        {"id": "pi_unknown", "metadata": {"payment_id": "not-a-uuid"}},
        {"id": "pi_unknown", "metadata": {"payment_id": "00000000-0000-4000-8000-000000000001"}},
        {},
    ],
)
def test_an_intent_that_is_not_ours_is_ignored(
    purchase: TwoMarketPurchase, obj: dict[str, Any]
) -> None:
    response = send(stripe_server.event("payment_intent.succeeded", obj))

    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert figures(purchase) == UNPAID


def test_unknown_event_types_are_acknowledged_and_ignored(purchase: TwoMarketPurchase) -> None:
    response = send(stripe_server.event("customer.created", {"id": "cus_1"}))

    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "ignored"}
    assert not PaymentEvent.objects.exists()


def test_the_route_is_closed_while_stripe_is_off(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = send(stripe_server.event("payment_intent.succeeded", {}))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_only_post_is_served(stripe_api: stripe_server.StripeStandIn) -> None:
    assert APIClient().get(URL).status_code == 405


def test_it_needs_no_csrf_token_and_ignores_a_session(
    purchase: TwoMarketPurchase, stripe_api: stripe_server.StripeStandIn
) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(purchase.buyer)
    event = succeeded(purchase, stripe_api)
    body = json.dumps(event)

    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_server.signature_header(body),
    )

    assert response.status_code == 200
    purchase.refresh()
    assert purchase.payment.status == "paid"


# --- refunds made at Stripe --------------------------------------------------------------


def paid_through_webhook(
    purchase: TwoMarketPurchase, stripe_api: stripe_server.StripeStandIn, capture: Any
) -> dict[str, Any]:
    with capture(execute=True):
        assert send(succeeded(purchase, stripe_api)).status_code == 200
    return intent_of(purchase, stripe_api)


def test_a_refund_made_at_stripe_is_booked_on_the_orders(
    purchase: TwoMarketPurchase,
    stripe_api: stripe_server.StripeStandIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    intent = paid_through_webhook(purchase, stripe_api, django_capture_on_commit_callbacks)
    event = stripe_server.event(
        "charge.refunded", stripe_server.charge_refunded(intent, amount_refunded=4500)
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = send(event)
        replay = send(event)

    assert (first.json()["outcome"], replay.json()["outcome"]) == ("processed", "duplicate")
    purchase.refresh()
    assert (purchase.payment.status, purchase.payment.amount_refunded) == (
        "partially_refunded",
        Decimal("45.00"),
    )
    # Booked on the orders in turn, each up to what is left of it.
    refunds = list(Refund.objects.select_related("order"))
    assert sum(r.amount for r in refunds) == Decimal("45.00")
    assert all(r.status == "succeeded" and r.created_by is None for r in refunds)
    assert sorted((r.order.total_amount, r.amount) for r in refunds) in (
        [(Decimal("30.00"), Decimal("5.00")), (Decimal("40.00"), Decimal("40.00"))],
        [(Decimal("30.00"), Decimal("30.00")), (Decimal("40.00"), Decimal("15.00"))],
    )
    assert purchase.kyiv.total_revenue + purchase.lviv.total_revenue == Decimal("25.00")


def test_stripe_refunds_never_book_more_than_was_paid(
    purchase: TwoMarketPurchase,
    stripe_api: stripe_server.StripeStandIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    intent = paid_through_webhook(purchase, stripe_api, django_capture_on_commit_callbacks)

    send(
        stripe_server.event(
            "charge.refunded", stripe_server.charge_refunded(intent, amount_refunded=999_999)
        )
    )

    purchase.refresh()
    assert (purchase.payment.status, purchase.payment.amount_refunded) == (
        "refunded",
        Decimal("70.00"),
    )
    assert {o.status for o in purchase.orders} == {"refunded"}


def test_a_refund_event_for_a_refund_of_ours_closes_it_without_booking_twice(
    purchase: TwoMarketPurchase,
    stripe_api: stripe_server.StripeStandIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    intent = paid_through_webhook(purchase, stripe_api, django_capture_on_commit_callbacks)
    stripe_api.refund_status = "pending"
    order = purchase.order_of(purchase.lviv)
    refund = payments.refund_create(
        order=order, amount=Decimal("10.00"), acting_user=purchase.lviv.owner
    )
    provider_refund = {**stripe_api.refunds[refund.provider_reference or ""], "status": "succeeded"}

    response = send(
        stripe_server.event(
            "charge.refunded",
            stripe_server.charge_refunded(intent, amount_refunded=1000, refunds=[provider_refund]),
        )
    )

    assert response.status_code == 200
    refund.refresh_from_db()
    purchase.refresh()
    assert refund.status == "succeeded"
    assert Refund.objects.count() == 1
    assert (purchase.payment.status, purchase.payment.amount_refunded) == (
        "partially_refunded",
        Decimal("10.00"),
    )


def test_a_refund_event_before_the_payment_is_settled_is_sent_back(
    purchase: TwoMarketPurchase, stripe_api: stripe_server.StripeStandIn
) -> None:
    intent = intent_of(purchase, stripe_api)

    response = send(
        stripe_server.event(
            "charge.refunded", stripe_server.charge_refunded(intent, amount_refunded=1000)
        )
    )

    # Stripe sends it again later, when the payment's own event has arrived.
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "PAYMENT_NOT_SETTLED"
    assert not PaymentEvent.objects.exists()
    assert not Refund.objects.exists()
