"""The store's demo data: loaded by seed_demo, through the services, and safe to load
again."""

from io import StringIO

import pytest
from django.core.management import call_command

from apps.store.models import (
    Category,
    Market,
    MarketClosure,
    Product,
    ProductStockMovement,
    Review,
)

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        "categories": Category.objects.count(),
        "markets": Market.objects.count(),
        "closures": MarketClosure.objects.count(),
        "products": Product.objects.count(),
        "movements": ProductStockMovement.objects.count(),
        "reviews": Review.objects.count(),
    }


def test_demo_store_loads_twice_without_duplicates() -> None:
    output = StringIO()
    call_command("seed_demo", stdout=output)
    first = _counts()

    call_command("seed_demo", stdout=StringIO())

    assert _counts() == first
    assert "Store:" in output.getvalue()


def test_demo_store_has_the_catalogue_and_two_markets() -> None:
    call_command("seed_demo", stdout=StringIO())

    parents = dict(Category.objects.values_list("slug", "parent__slug"))
    assert parents["microcontrollers"] == "electronics"
    assert parents["sensors"] == "electronics"
    assert parents["filament"] == "3d-printing"
    assert parents["tools"] is None
    central = Product.objects.filter(market__isnull=True)
    assert central.count() >= 15
    assert central.filter(sale_price__isnull=False).exists()
    assert central.filter(is_featured=True).exists()
    assert central.filter(stock_quantity=0, track_inventory=True, allow_backorder=False).exists(), (
        "one product is out of stock"
    )
    assert central.filter(stock_quantity=0, allow_backorder=True).exists(), "one on backorder"
    # Stock is the ledger's: each product's quantity is the sum of its movements.
    for product in Product.objects.all():
        total = sum(product.stock_movements.values_list("change", flat=True))
        assert product.stock_quantity == total, product.sku

    kyiv = Market.objects.get(makerspace__slug="kyiv-fab-lab")
    assert kyiv.verified
    assert kyiv.verified_at is not None
    assert kyiv.owner.email == "owner@makrx.local"
    assert kyiv.delivery_options["pickup"]["enabled"] is True
    assert kyiv.delivery_options["local_delivery"]["enabled"] is True
    assert kyiv.closures.exists()
    assert kyiv.products.count() >= 3

    vendor = Market.objects.get(makerspace__isnull=True)
    assert not vendor.verified
    assert set(vendor.delivery_options) == {"shipping"}
    assert vendor.products.count() >= 3

    esp32 = Product.objects.get(market__isnull=True, sku="MX-ESP32-DEVKIT")
    assert esp32.review_count == 2
    assert str(esp32.rating) == "4.50"
