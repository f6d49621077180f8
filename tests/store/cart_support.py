"""Products, markets and addresses for the tests of the cart and the checkout, made
through the services so every product's stock agrees with its ledger."""

from decimal import Decimal
from typing import Any

from apps.accounts.models import User
from apps.store import services
from apps.store.models import Market, Product
from apps.store.services.cart import cart_add_item, user_cart
from tests.factories import CategoryFactory, MarketFactory, UserFactory

ADDRESS: dict[str, Any] = {
    "name": "Iryna Pokupets",
    "line1": "Khreshchatyk 1",
    "city": "Kyiv",
    "postal_code": "01001",
    "country": "UA",
}
# Kyiv's Maidan: about 1.3 km from the market below.
NEAR = {**ADDRESS, "latitude": 50.4501, "longitude": 30.5234}
# Lviv: about 470 km away.
FAR = {**ADDRESS, "city": "Lviv", "latitude": 49.8397, "longitude": 24.0297}

KYIV_OPTIONS = {
    "pickup": {"enabled": True},
    "local_delivery": {
        "enabled": True,
        "radius_km": 15,
        "fee": "4.00",
        "minimum_order": "20.00",
    },
    "shipping": {"enabled": True, "fee": "7.50"},
}


def super_admin() -> User:
    found = User.objects.filter(email="cart-root@example.org").first()
    return found or UserFactory.create(email="cart-root@example.org", is_superuser=True)


def open_market(name: str = "Kyiv Parts", **fields: Any) -> Market:
    """A market in Kyiv offering pickup, local delivery within 15 km and shipping,
    paid by card or cash on pickup, with 10 % tax."""
    defaults: dict[str, Any] = {
        "name": name,
        "latitude": Decimal("50.464200"),
        "longitude": Decimal("30.515100"),
        "delivery_options": KYIV_OPTIONS,
        "payment_methods": ["card", "cash_on_pickup"],
        "tax_rate": Decimal("10.00"),
    }
    return MarketFactory.create(**{**defaults, **fields})


def sell(
    *,
    market: Market | None = None,
    price: str = "10.00",
    stock: int = 10,
    name: str = "",
    sku: str = "",
    **fields: Any,
) -> Product:
    """A product of ``market`` (None: the central catalogue) with ``stock`` units."""
    sell.counter = getattr(sell, "counter", 0) + 1  # type: ignore[attr-defined]
    number = sell.counter  # type: ignore[attr-defined]
    return services.product_create(
        acting_user=market.owner if market is not None else super_admin(),
        market=market,
        category=CategoryFactory.create(),
        name=name or f"Part {number}",
        sku=sku or f"PART-{number}",
        price=Decimal(price),
        opening_stock=stock,
        **fields,
    )


def fill_cart(user: User, *lines: tuple[Product, int]) -> None:
    cart = user_cart(user)
    for product, quantity in lines:
        cart_add_item(cart=cart, product=product, quantity=quantity, acting_user=user)
