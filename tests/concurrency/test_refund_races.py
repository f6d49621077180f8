"""Staff refunding one payment at the same moment: the payment row is locked while each
refund reserves its amount, so the refunds that succeed never add up to more than
was paid, and the constraints (refunded ≤ amount, on the payment and each order)
hold throughout."""

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum

from apps.core.exceptions import ApplicationError
from apps.store.models import Order, Payment, PaymentProvider, Refund
from apps.store.services import payments
from tests import stripe_server
from tests.concurrency.helpers import run_together
from tests.factories import UserFactory
from tests.store.shopping import TwoMarketPurchase, two_market_purchase

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20


def paid_purchase(provider: str = PaymentProvider.TEST) -> TwoMarketPurchase:
    purchase = two_market_purchase()
    payments.payment_settle(
        payment=purchase.payment, outcome="succeeded", event_id="evt-paid", provider=provider
    )
    purchase.refresh()
    return purchase


def refunder(order: Order, amount: Decimal | None, user: Any) -> Any:
    def refund(index: int) -> str:
        try:
            payments.refund_create(
                order=order, amount=amount, reason=f"click {index}", acting_user=user
            )
        except ApplicationError as error:
            return error.code
        return "ok"

    return refund


def succeeded_total(**lookup: Any) -> Decimal:
    total = Refund.objects.filter(status="succeeded", **lookup).aggregate(total=Sum("amount"))
    return total["total"] or Decimal("0.00")


def test_twenty_partial_refunds_of_one_order_never_pass_its_total() -> None:
    purchase = paid_purchase()
    order = purchase.order_of(purchase.lviv)

    results = Counter(run_together(THREADS, refunder(order, Decimal("15.00"), purchase.lviv.owner)))

    # 40.00 paid: two refunds of 15.00 fit, a third would pass the total.
    assert results == {"ok": 2, "REFUND_EXCEEDS_PAID": THREADS - 2}
    order.refresh_from_db()
    payment = Payment.objects.get(pk=purchase.payment.pk)
    assert succeeded_total(order=order) == order.amount_refunded == Decimal("30.00")
    assert payment.amount_refunded == Decimal("30.00")
    assert (order.payment_status, payment.status) == ("partially_refunded", "partially_refunded")
    purchase.refresh()
    assert purchase.lviv.total_revenue == Decimal("10.00")


def test_twenty_full_refunds_of_a_two_market_payment_refund_it_once() -> None:
    purchase = paid_purchase()
    admin = UserFactory.create(is_superuser=True)
    orders = purchase.orders

    def refund(index: int) -> str:
        return refunder(orders[index % 2], None, admin)(index)

    results = Counter(run_together(THREADS, refund))

    assert results == {"ok": 2, "REFUND_EXCEEDS_PAID": THREADS - 2}
    payment = Payment.objects.get(pk=purchase.payment.pk)
    assert succeeded_total(payment=payment) == payment.amount == Decimal("70.00")
    assert (payment.status, payment.amount_refunded) == ("refunded", Decimal("70.00"))
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [
        Decimal("30.00"),
        Decimal("40.00"),
    ]
    assert set(Order.objects.filter(payment=payment).values_list("status", flat=True)) == {
        "refunded"
    }


def test_twenty_stripe_refunds_ask_stripe_for_no_more_than_was_paid(settings: Any) -> None:
    # Stripe answers each call after 50 ms, so the refunds overlap while it answers.
    with stripe_server.stripe_on(settings, delay=0.05) as stripe_api:
        purchase = two_market_purchase()
        stripe_api.succeed(purchase.payment.provider_reference or "")
        payments.payment_settle(
            payment=purchase.payment,
            outcome="succeeded",
            event_id="evt_paid",
            provider=PaymentProvider.STRIPE,
        )
        order = purchase.order_of(purchase.kyiv)

        results = Counter(
            run_together(THREADS, refunder(order, Decimal("7.00"), purchase.kyiv.owner))
        )

        refunded_at_stripe = stripe_api.refunded_on(purchase.payment.provider_reference or "")

    # 30.00 paid: four refunds of 7.00 fit.
    assert results == {"ok": 4, "REFUND_EXCEEDS_PAID": THREADS - 4}
    assert len(stripe_api.calls("POST", "/v1/refunds")) == 4
    assert refunded_at_stripe == 2800
    order.refresh_from_db()
    assert succeeded_total(order=order) == order.amount_refunded == Decimal("28.00")
    assert not Refund.objects.exclude(status="succeeded").exists()
