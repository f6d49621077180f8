"""The store's periodic job: orders left unpaid past their time give their stock back,
each once, and nothing else is touched."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.store.models import Order, PaymentProvider, Product
from apps.store.tasks import release_unpaid_orders
from tests.store.orders_support import Shop, make_shop, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Shop:
    return make_shop()


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock_quantity


def status(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


def test_the_job_releases_only_expired_unpaid_orders_once(shop, time_machine) -> None:
    time_machine.move_to("2026-05-04T12:00:00Z", tick=False)
    expired = place_order(shop, [(shop.drill, 2)])
    expired_too = place_order(
        shop, [(shop.saw, 1)], expires_at=timezone.now() + timedelta(minutes=5)
    )
    still_open = place_order(
        shop, [(shop.drill, 1)], expires_at=timezone.now() + timedelta(minutes=45)
    )
    cash = place_order(shop, [(shop.caliper, 1)], provider=PaymentProvider.CASH)
    paid = place_order(shop, [(shop.caliper, 1)], status="paid")
    time_machine.move_to("2026-05-04T12:30:00Z", tick=False)

    assert release_unpaid_orders.apply().result == 2
    assert release_unpaid_orders.apply().result == 0

    assert [status(order) for order in (expired, expired_too, still_open, cash, paid)] == [
        "cancelled",
        "cancelled",
        "pending",
        "pending",
        "paid",
    ]
    assert (stock(shop.drill), stock(shop.saw), stock(shop.caliper)) == (9, 10, 8)

    time_machine.move_to("2026-05-04T12:45:00Z", tick=False)
    assert release_unpaid_orders.apply().result == 1
    assert status(still_open) == "cancelled"
    assert stock(shop.drill) == 10


def test_the_job_runs_every_minute() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["store-release-unpaid-orders"]
    assert entry == {"task": "apps.store.tasks.release_unpaid_orders", "schedule": 60.0}
    assert release_unpaid_orders.name == entry["task"]
