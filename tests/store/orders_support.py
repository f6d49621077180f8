"""Orders as checkout leaves them, for the tests of what happens to orders afterwards.

``place_order`` writes what checkout writes (a payment, the order, its lines) and takes
the stock through the product ledger with the checkout's source (``store.order`` and
the order's id), so releasing and cancelling work on the same rows as after a real
checkout.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.accounts.models import User
from apps.store import services
from apps.store.models import (
    Category,
    FabricationJob,
    FabricationMaterial,
    FabricationStatus,
    Market,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Product,
    ShippingMethod,
    Voucher,
    VoucherRedemption,
)
from apps.store.services.numbers import new_order_number
from tests.factories import MakerspaceFactory, MarketFactory, UserFactory

ADDRESS = {
    "name": "Bohdan Buyer",
    "line1": "Khreshchatyk 1",
    "city": "Kyiv",
    "postal_code": "01001",
    "country": "UA",
}


@dataclass
class Shop:
    """Two markets (one with an owner and a staff member), a buyer, a stranger and a
    super admin, and a product with stock in each market and in the central catalogue."""

    market: Market
    owner: User
    staff: User
    other_market: Market
    other_owner: User
    buyer: User
    stranger: User
    admin: User
    category: Category
    drill: Product
    saw: Product
    caliper: Product
    made: list[Order] = field(default_factory=list)

    def product(
        self, market: Market | None, name: str, *, stock: int = 10, **fields: Any
    ) -> Product:
        actor = self.admin if market is None else market.owner
        return services.product_create(
            acting_user=actor,
            market=market,
            category=self.category,
            name=name,
            sku=name.upper().replace(" ", "-"),
            price=fields.pop("price", Decimal("10.00")),
            opening_stock=stock,
            **fields,
        )


def make_shop() -> Shop:
    owner = UserFactory.create(name="Olena Owner")
    staff = UserFactory.create(name="Stepan Staff")
    market = MarketFactory.create(owner=owner, name="Kyiv Parts")
    market.staff.create(user=staff)
    other_owner = UserFactory.create(name="Lesya Lviv")
    other_market = MarketFactory.create(owner=other_owner, name="Lviv Bits")
    admin = UserFactory.create(name="Ada Admin", is_superuser=True)
    category = Category.objects.create(name="Tools", slug="tools")
    shop = Shop(
        market=market,
        owner=owner,
        staff=staff,
        other_market=other_market,
        other_owner=other_owner,
        buyer=UserFactory.create(name="Bohdan Buyer"),
        stranger=UserFactory.create(name="Stefa Stranger"),
        admin=admin,
        category=category,
        drill=None,  # type: ignore[arg-type]
        saw=None,  # type: ignore[arg-type]
        caliper=None,  # type: ignore[arg-type]
    )
    shop.drill = shop.product(market, "Hand drill", price=Decimal("25.00"))
    shop.saw = shop.product(other_market, "Fret saw", price=Decimal("12.00"))
    shop.caliper = shop.product(None, "Caliper", price=Decimal("8.00"))
    return shop


def new_payment(buyer: User, amount: Decimal, provider: str = PaymentProvider.TEST) -> Payment:
    return Payment.objects.create(user=buyer, provider=provider, amount=amount)


def place_order(
    shop: Shop,
    lines: list[tuple[Product, int]],
    *,
    buyer: User | None = None,
    payment: Payment | None = None,
    provider: str = PaymentProvider.TEST,
    shipping_method: str = ShippingMethod.SHIPPING,
    expires_at: datetime | None = None,
    status: str = OrderStatus.PENDING,
    voucher: Voucher | None = None,
) -> Order:
    """One order of ``lines`` (all of one market) as checkout writes it, its stock
    taken; ``status`` paid (or further) marks it paid as the payment would."""
    buyer = buyer or shop.buyer
    market = lines[0][0].market
    subtotal = sum((product.effective_price * quantity for product, quantity in lines), Decimal(0))
    if payment is None:
        payment = new_payment(buyer, subtotal, provider)
    paid = status != OrderStatus.PENDING
    order = Order.objects.create(
        order_number=new_order_number(),
        user=buyer,
        market=market,
        payment=payment,
        status=status,
        payment_status=PaymentStatus.PAID if paid else PaymentStatus.UNPAID,
        subtotal=subtotal,
        tax_amount=Decimal("0.00"),
        shipping_amount=Decimal("0.00"),
        total_amount=subtotal,
        currency="EUR",
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        shipping_method=shipping_method,
        voucher=voucher,
        expires_at=None
        if provider == PaymentProvider.CASH
        else (expires_at or timezone.now() + timedelta(minutes=30)),
        paid_at=timezone.now() if paid else None,
    )
    for product, quantity in lines:
        OrderItem.objects.create(
            order=order,
            product=product,
            name=product.name,
            sku=product.sku,
            unit_price=product.effective_price,
            quantity=quantity,
            line_total=product.effective_price * quantity,
        )
        services.product_stock_change(
            product=product,
            change=-quantity,
            reason="sale",
            acting_user=shop.admin,
            source_type="store.order",
            source_id=order.pk,
        )
    if paid:
        Payment.objects.filter(pk=payment.pk).update(
            status=PaymentStatus.PAID, paid_at=timezone.now()
        )
    shop.made.append(order)
    return order


def redeem(voucher: Voucher, payment: Payment, buyer: User) -> VoucherRedemption:
    """The voucher used by a checkout, as checkout counts it."""
    Voucher.objects.filter(pk=voucher.pk).update(times_used=voucher.times_used + 1)
    voucher.refresh_from_db()
    return VoucherRedemption.objects.create(voucher=voucher, user=buyer, payment=payment)


def fabrication_order(shop: Shop, *, buyer: User | None = None) -> tuple[Order, FabricationJob]:
    """A central order whose one line is an ordered 3D-print job."""
    buyer = buyer or shop.buyer
    space = MakerspaceFactory.create()
    material = FabricationMaterial.objects.create(
        makerspace=space,
        name="PLA",
        price_per_cm3=Decimal("0.10"),
        printer_name="Prusa MK4",
        build_x_mm=Decimal("250.0"),
        build_y_mm=Decimal("210.0"),
        build_z_mm=Decimal("220.0"),
    )
    job = FabricationJob(
        makerspace=space,
        user=buyer,
        material=material,
        original_filename="bracket.stl",
        quantity=2,
        volume_cm3=Decimal("10.000"),
        size_x_mm=Decimal("20.00"),
        size_y_mm=Decimal("20.00"),
        size_z_mm=Decimal("20.00"),
        unit_price=Decimal("1.00"),
        setup_fee=Decimal("3.00"),
        quote_amount=Decimal("5.00"),
        status=FabricationStatus.ORDERED,
    )
    # The file itself is never read here.
    job.model_file.name = "store/fabrication/bracket.stl"
    job.save()
    payment = new_payment(buyer, Decimal("5.00"))
    order = Order.objects.create(
        order_number=new_order_number(),
        user=buyer,
        market=None,
        payment=payment,
        subtotal=Decimal("5.00"),
        tax_amount=Decimal("0.00"),
        shipping_amount=Decimal("0.00"),
        total_amount=Decimal("5.00"),
        shipping_method=ShippingMethod.PICKUP,
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    OrderItem.objects.create(
        order=order,
        fabrication_job=job,
        name="3D print: bracket.stl",
        unit_price=Decimal("1.00"),
        quantity=2,
        line_total=Decimal("5.00"),
    )
    return order, job


def voucher_for(market: Market | None, *, code: str = "SAVE5", **fields: Any) -> Voucher:
    return Voucher.objects.create(
        code=code, market=market, kind=fields.pop("kind", "fixed"), value=Decimal("5.00"), **fields
    )
