"""Cash on pickup: each market takes its own cash at its counter and records it."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.store.models import Market, Order, Payment, PaymentProvider, Product
from tests.factories import UserFactory
from tests.store.shopping import buy, market_selling

pytestmark = pytest.mark.django_db


def cash_market(name: str, sku: str, price: str) -> tuple[Market, Product]:
    market, product = market_selling(name, price=price, sku=sku)
    Market.objects.filter(pk=market.pk).update(payment_methods=["card", "cash_on_pickup"])
    market.refresh_from_db()
    return market, product


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def status_url(order: Order) -> str:
    return f"/api/v1/store/orders/{order.pk}/status"


def test_a_cash_checkout_gives_each_market_its_own_payment_and_no_expiry():
    _kyiv, filament = cash_market("Kyiv", "PLA-1", "15.00")
    _lviv, drill = cash_market("Lviv", "DR-1", "40.00")
    buyer = UserFactory.create()

    buy(buyer, (filament, 2), (drill, 1), payment_method="cash_on_pickup")

    orders = list(Order.objects.filter(user=buyer))
    payments = list(Payment.objects.filter(orders__in=orders))
    assert len(orders) == 2
    assert len(payments) == 2
    assert {payment.provider for payment in payments} == {PaymentProvider.CASH}
    assert {payment.amount for payment in payments} == {Decimal("30.00"), Decimal("40.00")}
    assert all(order.expires_at is None for order in orders)


def test_the_market_records_the_cash_and_only_its_own_order_is_paid():
    kyiv, filament = cash_market("Kyiv", "PLA-1", "15.00")
    lviv, drill = cash_market("Lviv", "DR-1", "40.00")
    buyer = UserFactory.create()
    buy(buyer, (filament, 2), (drill, 1), payment_method="cash_on_pickup")
    kyiv_order = Order.objects.get(market=kyiv)

    response = client_of(kyiv.owner).post(status_url(kyiv_order), {"to": "paid"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "paid"
    assert response.json()["payment_status"] == "paid"
    assert Order.objects.get(market=lviv).status == "pending"
    kyiv.refresh_from_db()
    lviv.refresh_from_db()
    assert (kyiv.total_orders, kyiv.total_revenue) == (1, Decimal("30.00"))
    assert (lviv.total_orders, lviv.total_revenue) == (0, Decimal("0.00"))
    assert Payment.objects.get(orders=kyiv_order).status == "paid"

    again = client_of(kyiv.owner).post(status_url(kyiv_order), {"to": "paid"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["details"]["current"] == "paid"
    kyiv.refresh_from_db()
    assert kyiv.total_orders == 1


def test_another_market_cannot_record_cash_for_an_order_it_does_not_sell():
    kyiv, filament = cash_market("Kyiv", "PLA-1", "15.00")
    lviv, _drill = cash_market("Lviv", "DR-1", "40.00")
    buyer = UserFactory.create()
    buy(buyer, (filament, 1), payment_method="cash_on_pickup")
    order = Order.objects.get(market=kyiv)

    response = client_of(lviv.owner).post(status_url(order), {"to": "paid"}, format="json")

    assert response.status_code == 404
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_an_order_paid_online_is_not_recorded_as_cash():
    kyiv, filament = cash_market("Kyiv", "PLA-1", "15.00")
    buyer = UserFactory.create()
    buy(buyer, (filament, 1))
    order = Order.objects.get(market=kyiv)

    response = client_of(kyiv.owner).post(status_url(order), {"to": "paid"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ORDER_NOT_CASH"
    assert Order.objects.get(pk=order.pk).status == "pending"
