"""Races over an unpaid order: many release jobs, the buyer cancelling, and its payment
arriving, all at once. The release locks the payment and then the order before it
looks at either, so the stock comes back exactly once and a payment that wins keeps
its order."""

import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.store.models import Order, OrderStatus, PaymentProvider, Product, ProductStockMovement
from apps.store.services import _apply_stock, orders, payments
from tests.concurrency.helpers import run_together
from tests.store.orders_support import make_shop, new_payment, place_order, redeem, voucher_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock_quantity


def test_ten_release_jobs_at_once_give_the_stock_back_once() -> None:
    shop = make_shop()
    voucher = voucher_for(None, max_uses=1)
    payment = new_payment(shop.buyer, Decimal("75.00"))
    redeem(voucher, payment, shop.buyer)
    order = place_order(
        shop,
        [(shop.drill, 3)],
        payment=payment,
        voucher=voucher,
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    assert stock(shop.drill) == 7

    results = Counter(
        run_together(10, lambda index: orders.order_release_unpaid(order_id=order.pk))
    )

    assert results == {True: 1, False: 9}
    assert stock(shop.drill) == 10
    assert ProductStockMovement.objects.filter(reason="release").count() == 1
    voucher.refresh_from_db()
    assert voucher.times_used == 0
    call_command("check_product_stock")


def test_release_jobs_and_the_buyer_cancelling_at_once_cancel_once() -> None:
    shop = make_shop()
    order = place_order(shop, [(shop.drill, 2)], expires_at=timezone.now() - timedelta(minutes=1))

    def release_or_cancel(index: int) -> str:
        if index % 2:
            return "released" if orders.order_release_unpaid(order_id=order.pk) else "no-op"
        try:
            orders.order_cancel(order=order, acting_user=shop.buyer)
        except ApplicationError as error:
            return error.code
        return "cancelled"

    results = Counter(run_together(10, release_or_cancel))

    assert results["released"] + results["cancelled"] == 1, results
    assert set(results) <= {"released", "cancelled", "no-op", "ORDER_STATE_CONFLICT"}
    assert stock(shop.drill) == 10
    assert ProductStockMovement.objects.filter(reason="release").count() == 1


def test_a_payment_racing_the_release_keeps_the_order_and_takes_the_stock_once() -> None:
    shop = make_shop()
    order = place_order(shop, [(shop.drill, 3)], expires_at=timezone.now() - timedelta(minutes=1))
    payment = Order.objects.get(pk=order.pk).payment
    assert payment is not None

    def release_or_pay(index: int) -> str:
        if index % 2:
            return "released" if orders.order_release_unpaid(order_id=order.pk) else "no-op"
        payments.payment_settle(
            payment=payment,
            outcome="succeeded",
            event_id=f"race-{index}",
            provider=PaymentProvider.TEST,
        )
        return "paid"

    run_together(10, release_or_pay)

    order.refresh_from_db()
    assert (order.status, order.payment_status) == (OrderStatus.PAID, "paid")
    # Taken at checkout, maybe given back and taken again: 3 units out, either way.
    assert stock(shop.drill) == 7
    call_command("check_product_stock")


def test_control_without_the_lock_the_stock_comes_back_more_than_once() -> None:
    shop = make_shop()
    order = place_order(shop, [(shop.drill, 3)], expires_at=timezone.now() - timedelta(minutes=1))

    def release_without_lock(index: int) -> bool:
        # Check, then write, as a release that skipped the order's lock would.
        if Order.objects.get(pk=order.pk).status != OrderStatus.PENDING:
            return False
        time.sleep(0.05)
        with transaction.atomic():
            _apply_stock(
                Product.objects.select_for_update().get(pk=shop.drill.pk),
                change=3,
                reason="release",
                acting_user=shop.admin,
                source_type="store.order",
                source_id=str(order.pk),
            )
            Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)
        return True

    given_back = sum(run_together(10, release_without_lock))

    assert given_back > 1
    assert stock(shop.drill) > 10
