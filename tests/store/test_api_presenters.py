"""The lean rows of the store API give exactly their serializers' JSON."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.store import selectors, services
from apps.store.api import presenters
from apps.store.api.serializers import MarketSerializer, ProductSerializer
from apps.store.models import Market, Product
from tests.factories import MarketFactory, ProductFactory
from tests.lean import assert_lean_matches

pytestmark = pytest.mark.django_db


def test_product_rows_match_the_serializer(store) -> None:
    ProductFactory.create(
        category=store.drills,
        market=store.market,
        sale_price="7.50",
        price="9.99",
        weight="1.125",
        tags=["a", "b"],
        specifications={"v": 18},
        dimensions={"length": 10, "unit": "mm"},
        rating="4.25",
        review_count=4,
    )
    ProductFactory.create(
        category=store.tools, market=None, track_inventory=False, stock_quantity=0
    )
    ProductFactory.create(
        category=store.tools,
        allow_backorder=True,
        stock_quantity=-2,
        created_at=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
    )
    ProductFactory.create(category=store.tools, stock_quantity=3, price="0.00")
    rows = {row["id"]: row for row in selectors.product_rows(Product.objects.all())}
    instances = list(Product.objects.select_related("category"))
    compared = assert_lean_matches(
        lambda p: presenters.product_row(rows[p.pk]), ProductSerializer, instances
    )
    assert compared == 4


def test_market_rows_match_the_serializer(store) -> None:
    MarketFactory.create(
        latitude=Decimal("50.450001"),
        longitude=Decimal("-30.5"),
        delivery_options={"pickup": {"enabled": True}},
        payment_methods=["card"],
        total_revenue="1234.50",
        rating="3.10",
    )
    services.market_verify(market=store.market, acting_user=store.admin)
    rows = {row["id"]: row for row in selectors.market_rows(Market.objects.all())}
    instances = list(Market.objects.select_related("owner"))
    assert (
        assert_lean_matches(
            lambda m: presenters.market_row(rows[m.pk]), MarketSerializer, instances
        )
        == 2
    )
