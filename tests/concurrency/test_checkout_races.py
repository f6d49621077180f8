"""Races at checkout: many buyers of a product's last units, many buyers of a voucher's
last uses, one buyer's retried request, and carts locking the same products in
opposite orders. Checkout locks the products by primary key and the voucher's row, so
nothing is oversold and no limit is passed; the control case shows the oversell that a
check without the lock lets through."""

import threading
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import F
from rest_framework.test import APIClient

from apps.core.exceptions import ApplicationError
from apps.store.models import Order, Product, ProductStockMovement, Voucher, VoucherRedemption
from apps.store.services.checkout import checkout
from tests.concurrency.helpers import run_together
from tests.factories import UserFactory, VoucherFactory
from tests.store.cart_support import ADDRESS, fill_cart, sell

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BODY = {"shipping_address": ADDRESS, "billing_address": ADDRESS, "shipping_method": "pickup"}


def api_checkout(user: Any, key: str | None = None) -> tuple[int, str]:
    client = APIClient()
    client.force_authenticate(user)
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = client.post("/api/v1/store/checkout", BODY, format="json", **headers)
    code = "ok" if response.status_code == 201 else response.json()["error"]["code"]
    return response.status_code, code


def buyers_of(product: Product, count: int) -> list[Any]:
    buyers = [UserFactory.create() for _ in range(count)]
    for buyer in buyers:
        fill_cart(buyer, (product, 1))
    return buyers


def sold(product: Product) -> int:
    return -sum(
        ProductStockMovement.objects.filter(product=product, reason="sale").values_list(
            "change", flat=True
        )
    )


def test_a_hundred_buyers_of_the_last_ten_units_make_exactly_ten_orders() -> None:
    product = sell(stock=10, sku="LAST-10")
    buyers = buyers_of(product, 100)

    outcomes = Counter(run_together(100, lambda index: api_checkout(buyers[index])))

    assert outcomes == {(201, "ok"): 10, (400, "INSUFFICIENT_STOCK"): 90}
    product.refresh_from_db()
    assert product.stock_quantity == 0
    assert Order.objects.count() == 10
    assert sold(product) == 10
    assert sorted(
        ProductStockMovement.objects.filter(product=product).values_list(
            "quantity_after", flat=True
        )
    ) == list(range(11))
    call_command("check_product_stock")


def test_with_backorders_all_hundred_buyers_get_their_order() -> None:
    product = sell(stock=10, sku="BACKORDER", allow_backorder=True)
    buyers = buyers_of(product, 100)

    outcomes = Counter(run_together(100, lambda index: api_checkout(buyers[index])))

    assert outcomes == {(201, "ok"): 100}
    product.refresh_from_db()
    assert (product.stock_quantity, product.movement_count) == (-90, 101)
    assert Order.objects.count() == 100
    call_command("check_product_stock")


def test_a_voucher_for_five_uses_raced_by_thirty_buyers_is_used_five_times() -> None:
    voucher = VoucherFactory.create(code="FIRST5", max_uses=5)
    buyers = [UserFactory.create() for _ in range(30)]
    for buyer in buyers:
        # Each buyer their own product, so the voucher's row is the only thing shared.
        fill_cart(buyer, (sell(price="20.00", stock=1), 1))

    def buy(index: int) -> str:
        try:
            checkout(
                user=buyers[index],
                shipping_address=ADDRESS,
                billing_address=ADDRESS,
                shipping_method="pickup",
                voucher_code="FIRST5",
            )
        except ApplicationError as error:
            return error.code
        return "ok"

    outcomes = Counter(run_together(30, buy))

    assert outcomes == {"ok": 5, "VOUCHER_USED_UP": 25}
    voucher.refresh_from_db()
    assert voucher.times_used == 5
    assert VoucherRedemption.objects.filter(voucher=voucher).count() == 5
    assert Order.objects.filter(voucher=voucher).count() == 5
    assert Order.objects.count() == 5


def test_one_idempotency_key_sent_ten_times_at_once_makes_one_order() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(stock=10), 3))

    outcomes = Counter(run_together(10, lambda _index: api_checkout(buyer, key="double-click")))

    assert outcomes[(201, "ok")] >= 1
    assert set(outcomes) <= {(201, "ok"), (409, "IDEMPOTENCY_IN_PROGRESS")}
    assert Order.objects.count() == 1


def test_carts_holding_the_same_products_in_opposite_orders_finish_without_deadlock() -> None:
    first, second = sell(stock=100, sku="FIRST"), sell(stock=100, sku="SECOND")
    buyers = [UserFactory.create() for _ in range(20)]
    for index, buyer in enumerate(buyers):
        pair = (first, second) if index % 2 else (second, first)
        fill_cart(buyer, (pair[0], 1), (pair[1], 1))

    outcomes = Counter(run_together(20, lambda index: api_checkout(buyers[index])))

    assert outcomes == {(201, "ok"): 20}
    for product in (first, second):
        product.refresh_from_db()
        assert product.stock_quantity == 80
    call_command("check_product_stock")


def naive_take(product_id: Any, all_have_read: threading.Barrier) -> bool:
    """A checkout that checks the stock without locking the row, then writes."""
    product = Product.objects.get(pk=product_id)
    if product.stock_quantity < 1:
        return False
    all_have_read.wait(timeout=30)
    Product.objects.filter(pk=product_id).update(stock_quantity=product.stock_quantity - 1)
    return True


def test_control_without_the_row_lock_ten_buyers_take_five_units() -> None:
    product = sell(stock=5, sku="UNLOCKED")
    all_have_read = threading.Barrier(10)

    taken = run_together(10, lambda _index: naive_take(product.pk, all_have_read))

    assert taken.count(True) == 10  # ten sold from a stock of five
    product.refresh_from_db()
    assert product.stock_quantity == 4  # and nine of the ten decrements lost


def test_the_voucher_limit_holds_in_the_database_even_for_a_writer_skipping_the_lock() -> None:
    voucher = VoucherFactory.create(code="RAW", max_uses=5, times_used=0)
    all_have_read = threading.Barrier(10)

    def use_without_lock(_index: int) -> bool:
        if Voucher.objects.get(pk=voucher.pk).times_used >= 5:
            return False
        all_have_read.wait(timeout=30)
        try:
            with transaction.atomic():
                Voucher.objects.filter(pk=voucher.pk).update(times_used=F("times_used") + 1)
        except IntegrityError:
            return False
        return True

    used = run_together(10, use_without_lock)

    # Every racer passed the read; the check constraint let five through.
    assert used.count(True) == 5
    voucher.refresh_from_db()
    assert voucher.times_used == 5
