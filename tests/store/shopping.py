"""Buying through the real cart and checkout, for the tests of what follows a checkout
(payments, refunds, emails)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from apps.accounts.models import User
from apps.store import services
from apps.store.models import Market, Order, Payment, Product
from apps.store.services.cart import cart_add_item, user_cart
from apps.store.services.checkout import CheckoutResult, checkout
from tests.factories import CategoryFactory, MarketFactory, UserFactory

ADDRESS = {
    "name": "Iryna Pokupets",
    "line1": "Khreshchatyk 1",
    "city": "Kyiv",
    "postal_code": "01001",
    "country": "UA",
}


def market_selling(
    name: str, *, price: str = "40.00", stock: int = 10, sku: str = "PART-1"
) -> tuple[Market, Product]:
    """A market offering pickup, shipping (5.00) and card payments, with one product in
    stock."""
    market = MarketFactory.create(
        name=name,
        delivery_options={
            "pickup": {"enabled": True},
            "shipping": {"enabled": True, "fee": "5.00"},
        },
        payment_methods=["card"],
    )
    product = services.product_create(
        acting_user=market.owner,
        market=market,
        category=CategoryFactory.create(),
        name=f"{name} part",
        sku=sku,
        price=Decimal(price),
        opening_stock=stock,
    )
    return market, product


def buy(
    buyer: User,
    *lines: tuple[Product, int],
    shipping_method: str = "pickup",
    payment_method: str = "card",
) -> CheckoutResult:
    """Put the lines in the buyer's cart and check out."""
    cart = user_cart(buyer)
    for product, quantity in lines:
        cart_add_item(cart=cart, product=product, quantity=quantity, acting_user=buyer)
    return checkout(
        user=buyer,
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        shipping_method=shipping_method,
        payment_method=payment_method,
    )


@dataclass
class TwoMarketPurchase:
    """One buyer's checkout from two markets: two orders under one payment."""

    buyer: User
    kyiv: Market
    lviv: Market
    drill: Product
    filament: Product
    payment: Payment

    @property
    def orders(self) -> list[Order]:
        return list(self.payment.orders.order_by("total_amount"))

    def order_of(self, market: Market) -> Order:
        return Order.objects.get(payment=self.payment, market=market)

    def refresh(self) -> None:
        self.payment.refresh_from_db()
        self.kyiv.refresh_from_db()
        self.lviv.refresh_from_db()


def two_market_purchase(*, locale: str = "en") -> TwoMarketPurchase:
    """2 × 15.00 from Kyiv and 1 × 40.00 from Lviv (no tax, pickup): 70.00 in all."""
    kyiv, filament = market_selling("Kyiv Fab Lab", price="15.00", stock=5, sku="PLA-1")
    lviv, drill = market_selling("Lviv Tools", price="40.00", stock=3, sku="DR-1")
    buyer = UserFactory.create(name="Iryna Pokupets", locale=locale)
    result = buy(buyer, (filament, 2), (drill, 1))
    return TwoMarketPurchase(
        buyer=buyer,
        kyiv=kyiv,
        lviv=lviv,
        drill=drill,
        filament=filament,
        payment=result.payment,
    )
