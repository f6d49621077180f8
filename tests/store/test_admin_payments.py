"""Payments in the staff admin: read-only, scoped to the markets a user runs, with a
refund action that goes through ``payments.refund_create``."""

from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.store.models import Payment, PaymentEvent, PaymentProvider, Refund
from apps.store.services import payments
from tests.admin_support import action_names, change_url, logged_in, messages_of, rows
from tests.factories import UserFactory
from tests.store.shopping import TwoMarketPurchase, two_market_purchase

pytestmark = pytest.mark.django_db

PAYMENTS = reverse("admin:store_payment_changelist")
EVENTS = reverse("admin:store_paymentevent_changelist")


@pytest.fixture
def purchase(django_capture_on_commit_callbacks: Any) -> TwoMarketPurchase:
    purchase = two_market_purchase()
    with django_capture_on_commit_callbacks(execute=True):
        payments.payment_settle(
            payment=purchase.payment,
            outcome="succeeded",
            event_id="evt-paid",
            provider=PaymentProvider.TEST,
        )
    return purchase


def refund_action(client: Client, payment: Payment, **data: Any) -> Any:
    return client.post(
        PAYMENTS,
        {"action": "refund_payments", "_selected_action": [str(payment.pk)], **data},
        follow=True,
    )


def test_a_super_admin_sees_the_payment_with_its_orders_refunds_and_events(
    purchase: TwoMarketPurchase,
) -> None:
    client = logged_in(UserFactory.create(is_superuser=True))
    payments.refund_create(
        order=purchase.order_of(purchase.kyiv),
        amount=Decimal("5.00"),
        acting_user=purchase.kyiv.owner,
    )

    listed = client.get(PAYMENTS)
    page = client.get(change_url(purchase.payment))

    assert rows(listed) == [purchase.payment]
    assert "refund_payments" in action_names(listed)
    assert page.status_code == 200
    inlines = {
        inline.formset.model.__name__: len(inline.formset.forms)
        for inline in page.context["inline_admin_formsets"]
    }
    assert inlines == {"Order": 2, "Refund": 1, "PaymentEvent": 1}
    assert not page.context["has_change_permission"]
    assert rows(client.get(EVENTS)) == [PaymentEvent.objects.get()]


def test_a_market_owner_sees_only_their_own_orders_of_a_payment(
    purchase: TwoMarketPurchase,
) -> None:
    client = logged_in(purchase.kyiv.owner)
    other_purchase = two_market_purchase()

    listed = client.get(PAYMENTS)
    page = client.get(change_url(purchase.payment))

    assert rows(listed) == [purchase.payment]
    assert client.get(change_url(other_purchase.payment)).status_code in (302, 404)
    inlines = {
        inline.formset.model.__name__: [str(form.instance) for form in inline.formset.forms]
        for inline in page.context["inline_admin_formsets"]
    }
    assert inlines["Order"] == [purchase.order_of(purchase.kyiv).order_number]
    assert "PaymentEvent" not in inlines
    assert client.get(EVENTS).status_code == 403
    assert client.get(change_url(PaymentEvent.objects.get())).status_code == 403


def test_a_user_without_a_market_does_not_get_in(purchase: TwoMarketPurchase) -> None:
    response = logged_in(purchase.buyer).get(PAYMENTS)

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_nobody_adds_changes_or_deletes_payments(purchase: TwoMarketPurchase) -> None:
    client = logged_in(UserFactory.create(is_superuser=True))

    assert client.get(reverse("admin:store_payment_add")).status_code == 403
    assert client.post(change_url(purchase.payment), {"status": "refunded"}).status_code == 403
    deleted = client.post(
        reverse("admin:store_payment_delete", args=[purchase.payment.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert Payment.objects.get().status == "paid"


def test_the_refund_action_asks_for_a_reason_then_refunds_the_owners_order(
    purchase: TwoMarketPurchase, django_capture_on_commit_callbacks: Any
) -> None:
    client = logged_in(purchase.kyiv.owner)

    confirm = refund_action(client, purchase.payment)
    with django_capture_on_commit_callbacks(execute=True):
        done = refund_action(client, purchase.payment, apply="yes", reason="Shop closed")

    assert confirm.templates[0].name == "store/admin/refund_payments.html"
    assert (
        not Refund.objects.filter(reason="Shop closed")
        .exclude(order=purchase.order_of(purchase.kyiv))
        .exists()
    )
    refund = Refund.objects.get()
    assert (refund.order, refund.amount, refund.created_by, refund.reason) == (
        purchase.order_of(purchase.kyiv),
        Decimal("30.00"),
        purchase.kyiv.owner,
        "Shop closed",
    )
    assert "Orders refunded: 1." in messages_of(done)
    # The other market's order is not the owner's to refund.
    assert purchase.order_of(purchase.lviv).payment_status == "paid"
    assert mail.outbox[-1].subject.startswith("Refund for your order")

    again = refund_action(client, purchase.payment, apply="yes", reason="")
    assert "Nothing left to refund." in messages_of(again)
    assert Refund.objects.count() == 1


def test_a_super_admin_refunds_every_order_of_the_payment(purchase: TwoMarketPurchase) -> None:
    client = logged_in(UserFactory.create(is_superuser=True))

    done = refund_action(client, purchase.payment, apply="yes", reason="Fraud")

    assert "Orders refunded: 2." in messages_of(done)
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_refunded) == ("refunded", Decimal("70.00"))
