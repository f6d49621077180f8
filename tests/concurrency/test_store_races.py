"""Races in the store: many takers of a product's last units, many reviewers of one
product. The services lock the product row, so the stock never goes below zero, the
ledger stays numbered and the rating counts every review."""

from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.core.exceptions import ApplicationError
from apps.store import services
from apps.store.models import Product
from tests.concurrency.helpers import run_together
from tests.factories import CategoryFactory, MarketFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_takers_of_ten_units_let_exactly_ten_through() -> None:
    market = MarketFactory.create()
    product = services.product_create(
        acting_user=market.owner,
        market=market,
        category=CategoryFactory.create(),
        name="Servo",
        sku="SV-1",
        price=Decimal("5.00"),
        opening_stock=10,
    )

    def take_one(index: int) -> str:
        try:
            services.product_stock_change(
                product=product, change=-1, reason="sale", acting_user=market.owner, note=str(index)
            )
        except ApplicationError as error:
            return error.code
        return "ok"

    results = Counter(run_together(20, take_one))

    assert results == {"ok": 10, "INSUFFICIENT_STOCK": 10}
    product.refresh_from_db()
    assert (product.stock_quantity, product.movement_count) == (0, 11)
    assert sorted(product.stock_movements.values_list("quantity_after", flat=True)) == list(
        range(11)
    )
    call_command("check_product_stock")


def test_ten_reviewers_at_once_are_all_counted() -> None:
    product = services.product_create(
        acting_user=UserFactory.create(is_superuser=True),
        market=None,
        category=CategoryFactory.create(),
        name="Filament",
        sku="PLA-1",
        price=Decimal("20.00"),
    )
    reviewers = [UserFactory.create() for _ in range(10)]
    ratings = [5, 4, 3, 5, 4, 1, 2, 5, 5, 4]

    def review(index: int) -> int:
        services.review_create(product=product, acting_user=reviewers[index], rating=ratings[index])
        return index

    assert sorted(run_together(10, review)) == list(range(10))
    product = Product.objects.get(pk=product.pk)
    assert product.review_count == 10
    assert product.rating == Decimal("3.80")
