"""The buyer's emails about orders (apps.store.emails): sent after commit, in the
buyer's language, once even when a task runs twice."""

from decimal import Decimal
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from apps.store.emails import (
    order_confirmation_email,
    order_refunded_email,
    order_shipped_email,
)
from apps.store.models import Order, PaymentProvider
from apps.store.services import orders as order_services
from apps.store.services import payments
from tests.factories import UserFactory
from tests.store.shopping import TwoMarketPurchase, buy, market_selling, two_market_purchase

pytestmark = pytest.mark.django_db


class BrokenBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("SMTP is down")


def pay(purchase: TwoMarketPurchase, capture: Any) -> None:
    with capture(execute=True):
        payments.payment_settle(
            payment=purchase.payment,
            outcome="succeeded",
            event_id="evt-paid",
            provider=PaymentProvider.TEST,
        )


def test_the_confirmation_lists_every_order_of_the_payment(
    django_capture_on_commit_callbacks: Any,
) -> None:
    purchase = two_market_purchase()

    pay(purchase, django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    kyiv, lviv = purchase.order_of(purchase.kyiv), purchase.order_of(purchase.lviv)
    assert message.to == [purchase.buyer.email]
    assert message.subject.startswith("Orders confirmed: ")
    assert kyiv.order_number in message.subject
    assert lviv.order_number in message.subject
    assert message.body.startswith("Hello Iryna Pokupets,")
    assert "Paid: 70.00 EUR." in message.body
    assert f"Order {kyiv.order_number} · Kyiv Fab Lab" in message.body
    assert f"Order {lviv.order_number} · Lviv Tools" in message.body
    assert "2 × Kyiv Fab Lab part (PLA-1): 30.00 EUR" in message.body
    assert "Total: 40.00 EUR" in message.body
    assert "/store/orders/" in message.body


def test_a_ukrainian_buyer_is_written_to_in_ukrainian(
    django_capture_on_commit_callbacks: Any,
) -> None:
    purchase = two_market_purchase(locale="uk")
    assert {order.locale for order in purchase.orders} == {"uk"}

    pay(purchase, django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    assert message.body.startswith("Вітаємо, Iryna Pokupets!")
    # Amounts are written the Ukrainian way too.
    assert "70,00 EUR" in message.body


def test_the_language_is_the_one_the_buyer_ordered_in(
    django_capture_on_commit_callbacks: Any,
) -> None:
    purchase = two_market_purchase(locale="uk")
    purchase.buyer.locale = "en"
    purchase.buyer.save(update_fields=["locale"])

    pay(purchase, django_capture_on_commit_callbacks)

    assert mail.outbox[0].body.startswith("Вітаємо,")


def test_a_task_run_twice_sends_one_email(django_capture_on_commit_callbacks: Any) -> None:
    purchase = two_market_purchase()
    pay(purchase, django_capture_on_commit_callbacks)

    again = order_confirmation_email(str(purchase.payment.pk))

    assert again is False
    assert len(mail.outbox) == 1


def test_an_unpaid_payment_gets_no_confirmation() -> None:
    purchase = two_market_purchase()

    assert order_confirmation_email(str(purchase.payment.pk)) is False
    assert order_confirmation_email("00000000-0000-4000-8000-000000000001") is False
    assert mail.outbox == []


def test_a_failed_send_leaves_the_email_to_the_retry(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    purchase = two_market_purchase()
    settings.EMAIL_BACKEND = "tests.store.test_emails.BrokenBackend"
    # Celery's retry of the eager task, or the error itself.
    with pytest.raises((OSError, Retry)):
        pay(purchase, django_capture_on_commit_callbacks)
    # The payment itself committed before the email was tried.
    purchase.refresh()
    assert purchase.payment.status == "paid"

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert order_confirmation_email(str(purchase.payment.pk)) is True

    assert len(mail.outbox) == 1


def test_the_shipped_email_gives_the_tracking_number(
    django_capture_on_commit_callbacks: Any,
) -> None:
    market, product = market_selling("Lviv Tools", price="40.00")
    buyer = UserFactory.create(name="Iryna Pokupets", locale="uk")
    result = buy(buyer, (product, 1), shipping_method="shipping")
    with django_capture_on_commit_callbacks(execute=True):
        payments.payment_settle(
            payment=result.payment,
            outcome="succeeded",
            event_id="evt-paid",
            provider=PaymentProvider.TEST,
        )
    (order,) = result.orders

    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_transition(order=order, to="processing", acting_user=market.owner)
        order_services.order_transition(
            order=order, to="shipped", acting_user=market.owner, tracking_number="20450123456789"
        )

    message = mail.outbox[-1]
    assert len(mail.outbox) == 2
    assert message.to == [buyer.email]
    assert order.order_number in message.subject
    assert message.body.startswith("Вітаємо, Iryna Pokupets!")
    assert "20450123456789" in message.body
    assert "1 × Lviv Tools part" in message.body
    assert order_shipped_email(str(order.pk)) is False
    assert len(mail.outbox) == 2


def test_an_order_not_shipped_gets_no_shipped_email(
    django_capture_on_commit_callbacks: Any,
) -> None:
    purchase = two_market_purchase()
    pay(purchase, django_capture_on_commit_callbacks)

    assert order_shipped_email(str(purchase.order_of(purchase.kyiv).pk)) is False
    assert len(mail.outbox) == 1


def test_the_refund_email_says_how_much_came_back(
    django_capture_on_commit_callbacks: Any,
) -> None:
    purchase = two_market_purchase()
    pay(purchase, django_capture_on_commit_callbacks)
    order = purchase.order_of(purchase.kyiv)

    with django_capture_on_commit_callbacks(execute=True):
        partial = payments.refund_create(
            order=order,
            amount=Decimal("12.00"),
            reason="A spool arrived cracked",
            acting_user=purchase.kyiv.owner,
        )
    with django_capture_on_commit_callbacks(execute=True):
        payments.refund_create(order=order, acting_user=purchase.kyiv.owner)

    first, rest = mail.outbox[1:]
    assert first.subject == f"Refund for your order {order.order_number}"
    assert f"We have refunded 12.00 EUR on your order {order.order_number}." in first.body
    assert "Reason: A spool arrived cracked" in first.body
    assert "Refunded so far: 12.00 of 30.00 EUR." in first.body
    assert "We have refunded 18.00 EUR" in rest.body
    assert "The order is now fully refunded." in rest.body
    assert order_refunded_email(str(partial.pk)) is False
    assert len(mail.outbox) == 3


def test_no_email_leaves_before_the_payment_commits(
    django_capture_on_commit_callbacks: Any,
) -> None:
    purchase = two_market_purchase()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        payments.payment_settle(
            payment=purchase.payment,
            outcome="succeeded",
            event_id="evt-1",
            provider=PaymentProvider.TEST,
        )

    assert len(callbacks) == 1
    assert mail.outbox == []
    assert Order.objects.filter(payment=purchase.payment, status="paid").count() == 2
