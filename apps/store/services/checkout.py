"""Checkout: the buyer's cart becomes orders, one per market (the central catalogue's
lines, ``market`` null, make one too), under one payment, in one transaction.

Inside it, in this order, which every writer of these rows keeps (``services.orders``
says the same), so two checkouts never wait on each other in a circle:

1. the buyer's cart row is locked, so a double click cannot check the same lines out
   twice (the second finds the cart empty) and no line is added meanwhile;
2. the products are locked by primary key (``select_for_update(of=("self",))`` ordered
   by ``pk``): two checkouts sharing products take them in the same order, and the
   second reads the stock the first left;
3. the voucher's row is locked, then its uses are counted (``max_uses`` and
   ``max_uses_per_user`` hold under concurrent use; its check constraint on
   ``times_used`` is the last word).

Prices come from the products, never from the client. Stock is taken through the
product ledger (``_apply_stock``: reason ``sale``, source ``store.order`` and the
order's id), which refuses more than there is unless the product allows backorders;
products that do not track their stock write no movement. Tax is the market's
``tax_rate`` (the central catalogue's ``settings.STORE_TAX_RATE``) in percent of the
subtotal less its discount; shipping is the fee of the chosen method in the market's
``delivery_options`` (``settings.STORE_CENTRAL_DELIVERY_OPTIONS`` for the central
catalogue). The cart is emptied in the same transaction.

After the commit, and outside every lock, the payment is started
(``payments.payment_begin``), since that may call Stripe.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, validation_error
from apps.store import permissions, stripe_gateway
from apps.store.models import (
    Cart,
    CartItem,
    Market,
    Order,
    OrderItem,
    Payment,
    PaymentMethod,
    PaymentProvider,
    Product,
    ProductStockReason,
    ShippingMethod,
    Voucher,
    VoucherKind,
    VoucherRedemption,
)
from apps.store.services import payments, take_stock
from apps.store.services.cart import check_stock, is_purchasable, product_unavailable
from apps.store.services.numbers import order_save_numbered

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
ZERO = Decimal("0.00")
EARTH_RADIUS_KM = 6371.0088
# The key of the central catalogue's group in ``shipping_methods``.
CENTRAL = "central"
SOURCE_TYPE = "store.order"
ADDRESS_REQUIRED = ("name", "line1", "city", "postal_code", "country")
ADDRESS_OPTIONAL = ("line2", "region", "phone", "latitude", "longitude")
# The address's text, in the order it is kept and shown.
ADDRESS_TEXT = ("name", "line1", "line2", "city", "postal_code", "region", "country", "phone")
ADDRESS_TEXT_MAX = 200


@dataclass(frozen=True)
class CheckoutResult:
    payment: Payment
    orders: list[Order]
    # What ``payments.payment_begin`` answered: the client secret or the pay page.
    payment_start: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VoucherQuote:
    voucher: Voucher
    eligible_subtotal: Decimal
    discount: Decimal
    currency: str


@dataclass
class _Line:
    product: Product
    quantity: int

    @property
    def unit_price(self) -> Decimal:
        return self.product.effective_price

    @property
    def total(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENT)


@dataclass
class _Group:
    """The lines of one market (or of the central catalogue): one order."""

    market: Market | None
    lines: list[_Line] = field(default_factory=list)
    method: str = ""
    shipping: Decimal = ZERO
    discount: Decimal = ZERO

    @property
    def key(self) -> str:
        return CENTRAL if self.market is None else str(self.market.pk)

    @property
    def name(self) -> str:
        return "the MakrX catalogue" if self.market is None else self.market.name

    @property
    def subtotal(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO)


# --- input -------------------------------------------------------------------------------


def _coordinate(value: Any, field_name: str, limit: int) -> float:
    if isinstance(value, bool):
        raise validation_error(field_name, "A number.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise validation_error(field_name, "A number.") from None
    if not number.is_finite() or abs(number) > limit:
        raise validation_error(field_name, f"From -{limit} to {limit}.")
    return float(number)


def clean_address(value: Any, *, field_name: str) -> dict[str, Any]:
    """An address as the orders keep it: ``name``, ``line1``, ``city``, ``postal_code``
    and ``country`` (ISO 3166 alpha-2, upper case) required; ``line2``, ``region``,
    ``phone`` and the geocoded ``latitude`` and ``longitude`` (both or neither) optional."""
    if not isinstance(value, Mapping):
        raise validation_error(field_name, "An address object.")
    unknown = sorted(set(value) - set(ADDRESS_REQUIRED) - set(ADDRESS_OPTIONAL))
    if unknown:
        raise validation_error(field_name, f"Unknown field(s): {', '.join(unknown)}.")
    address: dict[str, Any] = {}
    for key in ADDRESS_TEXT:
        text = value.get(key, "")
        if text is None:
            text = ""
        if not isinstance(text, str) or len(text) > ADDRESS_TEXT_MAX:
            raise validation_error(
                f"{field_name}.{key}", f"Text of at most {ADDRESS_TEXT_MAX} characters."
            )
        text = text.strip()
        if key in ADDRESS_REQUIRED and not text:
            raise validation_error(f"{field_name}.{key}", "This field is required.")
        if text or key in ADDRESS_REQUIRED:
            address[key] = text
    country = address["country"].upper()
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise validation_error(f"{field_name}.country", "A two-letter country code (ISO 3166).")
    address["country"] = country
    latitude, longitude = value.get("latitude"), value.get("longitude")
    if (latitude is None) != (longitude is None):
        raise validation_error(field_name, "Give both latitude and longitude, or neither.")
    if latitude is not None:
        address["latitude"] = _coordinate(latitude, f"{field_name}.latitude", 90)
        address["longitude"] = _coordinate(longitude, f"{field_name}.longitude", 180)
    return address


def _shipping_choice(value: Any, field_name: str) -> str:
    if value not in ShippingMethod.values:
        raise validation_error(field_name, f"Use one of {', '.join(ShippingMethod.values)}.")
    return str(value)


def _shipping_choices(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise validation_error("shipping_methods", "An object of market id → method.")
    return {
        str(key): _shipping_choice(method, f"shipping_methods.{key}")
        for key, method in value.items()
    }


# --- delivery ----------------------------------------------------------------------------


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points (haversine), in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def delivery_options_of(market: Market | None) -> dict[str, Any]:
    if market is None:
        return dict(settings.STORE_CENTRAL_DELIVERY_OPTIONS)
    return dict(market.delivery_options or {})


def payment_methods_of(market: Market | None) -> list[str]:
    """How a market is paid; a market that lists none takes cards, which MakrX collects
    for it."""
    if market is None:
        return list(settings.STORE_CENTRAL_PAYMENT_METHODS)
    return list(market.payment_methods or [PaymentMethod.CARD])


def _offered(options: dict[str, Any]) -> list[str]:
    return [
        method
        for method in ShippingMethod.values
        if isinstance(options.get(method), dict) and options[method].get("enabled")
    ]


def _money_option(settings_of_method: dict[str, Any], key: str) -> Decimal:
    try:
        return Decimal(str(settings_of_method.get(key) or "0")).quantize(CENT)
    except InvalidOperation:
        return ZERO


def _market_details(group: _Group, **more: Any) -> dict[str, Any]:
    return {
        "market": None if group.market is None else str(group.market.pk),
        "market_name": group.name,
        **more,
    }


def _shipping_fee(group: _Group, address: dict[str, Any]) -> Decimal:
    """The fee of the group's chosen method; a method the market does not offer, or a
    local delivery the address cannot have, answers 400 naming the market."""
    options = delivery_options_of(group.market)
    offered = _offered(options)
    if group.method not in offered:
        raise ApplicationError(
            "SHIPPING_METHOD_UNAVAILABLE",
            f"{group.name} does not offer {group.method.replace('_', ' ')}; "
            f"choose {' or '.join(offered) or 'another market'}.",
            details=_market_details(group, shipping_method=group.method, offered=offered),
        )
    chosen = options[group.method]
    if group.method == ShippingMethod.PICKUP:
        return ZERO
    if group.method == ShippingMethod.LOCAL_DELIVERY:
        _check_local_delivery(group, chosen, address)
    return _money_option(chosen, "fee")


def _check_local_delivery(group: _Group, option: dict[str, Any], address: dict[str, Any]) -> None:
    market = group.market
    if market is None or market.latitude is None or market.longitude is None:
        raise ApplicationError(
            "SHIPPING_METHOD_UNAVAILABLE",
            f"{group.name} has no location to deliver from; choose another method.",
            details=_market_details(group, shipping_method=group.method, offered=[]),
        )
    if "latitude" not in address:
        raise ApplicationError(
            "ADDRESS_NOT_GEOCODED",
            "Local delivery needs the shipping address's latitude and longitude.",
            details=_market_details(group, field="shipping_address"),
        )
    distance = distance_km(
        float(market.latitude), float(market.longitude), address["latitude"], address["longitude"]
    )
    radius = float(option.get("radius_km") or 0)
    if distance > radius:
        raise ApplicationError(
            "OUTSIDE_DELIVERY_AREA",
            f"The address is {distance:.1f} km from {group.name}, which delivers within "
            f"{radius:g} km.",
            details=_market_details(group, distance_km=round(distance, 2), radius_km=radius),
        )
    minimum = _money_option(option, "minimum_order")
    if group.subtotal < minimum:
        raise ApplicationError(
            "BELOW_MINIMUM_ORDER",
            f"{group.name} delivers orders from {minimum}; this one is {group.subtotal}.",
            details=_market_details(
                group, minimum_order=str(minimum), subtotal=str(group.subtotal)
            ),
        )


def _check_payment_method(payment_method: str, groups: list[_Group]) -> None:
    for group in groups:
        accepted = payment_methods_of(group.market)
        if payment_method not in accepted:
            raise ApplicationError(
                "PAYMENT_METHOD_UNAVAILABLE",
                f"{group.name} does not take {payment_method.replace('_', ' ')}.",
                details=_market_details(group, payment_method=payment_method, accepted=accepted),
            )
        if payment_method == PaymentMethod.CASH_ON_PICKUP and group.method != ShippingMethod.PICKUP:
            raise ApplicationError(
                "PAYMENT_METHOD_UNAVAILABLE",
                "Cash is paid on pickup: choose pickup for every market, or pay by card.",
                details=_market_details(
                    group, payment_method=payment_method, shipping_method=group.method
                ),
            )


# --- vouchers ----------------------------------------------------------------------------


def _voucher_invalid(message: str, **details: Any) -> ApplicationError:
    return ApplicationError("VOUCHER_INVALID", message, details=details)


def _find_voucher(code: Any, *, lock: bool) -> Voucher:
    text = code.strip() if isinstance(code, str) else ""
    if not text:
        raise _voucher_invalid("Enter a voucher code.")
    vouchers = Voucher.objects.filter(code__iexact=text)
    if lock:
        vouchers = vouchers.select_for_update(of=("self",))
    voucher = vouchers.select_related("market").order_by("code").first()
    if voucher is None:
        raise _voucher_invalid(f"There is no voucher {text!r}.", code=text)
    return voucher


def _check_voucher(voucher: Voucher, *, user: User) -> None:
    """Its dates, whether it is active, and its uses: in total and by ``user``."""
    now = timezone.now()
    if not voucher.is_active:
        raise _voucher_invalid(f"The voucher {voucher.code} is no longer valid.", code=voucher.code)
    if voucher.valid_from is not None and now < voucher.valid_from:
        raise _voucher_invalid(
            f"The voucher {voucher.code} is not valid yet.",
            code=voucher.code,
            valid_from=voucher.valid_from.isoformat(),
        )
    # ``valid_until`` is the moment the voucher stops working.
    if voucher.valid_until is not None and now >= voucher.valid_until:
        raise _voucher_invalid(
            f"The voucher {voucher.code} has expired.",
            code=voucher.code,
            valid_until=voucher.valid_until.isoformat(),
        )
    if voucher.max_uses is not None and voucher.times_used >= voucher.max_uses:
        raise ApplicationError(
            "VOUCHER_USED_UP",
            f"The voucher {voucher.code} has been used as often as it may be.",
            details={"code": voucher.code, "max_uses": voucher.max_uses},
        )
    if voucher.max_uses_per_user is not None:
        # A use given back (its orders released unpaid or cancelled) does not count.
        used = VoucherRedemption.objects.filter(
            voucher=voucher, user=user, released_at__isnull=True
        ).count()
        if used >= voucher.max_uses_per_user:
            raise ApplicationError(
                "VOUCHER_ALREADY_USED",
                f"You have already used the voucher {voucher.code}.",
                details={"code": voucher.code, "max_uses_per_user": voucher.max_uses_per_user},
            )


def _is_eligible(voucher: Voucher, group: _Group) -> bool:
    return voucher.market_id is None or (
        group.market is not None and group.market.pk == voucher.market_id
    )


def _voucher_discount(voucher: Voucher, groups: list[_Group]) -> tuple[Decimal, Decimal]:
    """(the subtotal the voucher applies to, its discount on it)."""
    eligible = sum((group.subtotal for group in groups if _is_eligible(voucher, group)), ZERO)
    if eligible <= 0:
        market_name = voucher.market.name if voucher.market is not None else ""
        raise _voucher_invalid(
            f"The voucher {voucher.code} is for products of {market_name}; "
            "there are none in your cart.",
            code=voucher.code,
            market=str(voucher.market_id),
        )
    if eligible < voucher.minimum_order:
        raise ApplicationError(
            "VOUCHER_MINIMUM",
            f"The voucher {voucher.code} needs an order of at least {voucher.minimum_order} "
            f"(of the products it applies to); yours is {eligible}.",
            details={
                "code": voucher.code,
                "minimum_order": str(voucher.minimum_order),
                "eligible_subtotal": str(eligible),
            },
        )
    if voucher.kind == VoucherKind.PERCENT:
        discount = (eligible * voucher.value / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        discount = min(voucher.value, eligible)
    return eligible, min(discount, eligible)


def allocate(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``amount`` split over ``weights`` in proportion, to the cent, summing exactly to
    ``amount`` (never more than a weight): the cents rounding leaves go to the largest
    weights first."""
    total = sum(weights, ZERO)
    if total <= 0:
        return [ZERO for _ in weights]
    shares = [(amount * weight / total).quantize(CENT, rounding=ROUND_DOWN) for weight in weights]
    left = amount - sum(shares, ZERO)
    for index in sorted(range(len(weights)), key=lambda i: weights[i], reverse=True):
        if left <= 0:
            break
        if shares[index] < weights[index]:
            shares[index] += CENT
            left -= CENT
    return shares


def _apply_voucher(voucher: Voucher, groups: list[_Group]) -> Decimal:
    _eligible, discount = _voucher_discount(voucher, groups)
    eligible_groups = [group for group in groups if _is_eligible(voucher, group)]
    shares = allocate(discount, [group.subtotal for group in eligible_groups])
    for group, share in zip(eligible_groups, shares, strict=True):
        group.discount = share
    return discount


# --- reading the cart --------------------------------------------------------------------


def _cart_empty() -> ApplicationError:
    return ApplicationError("CART_EMPTY", "Your cart is empty.")


def _groups(lines: list[_Line]) -> list[_Group]:
    """The lines by market: the central catalogue first, then markets by name."""
    by_market: dict[Any, _Group] = {}
    for line in lines:
        group = by_market.get(line.product.market_id)
        if group is None:
            group = by_market[line.product.market_id] = _Group(market=line.product.market)
        group.lines.append(line)
    return sorted(
        by_market.values(),
        key=lambda group: (group.market is not None, group.name, group.key),
    )


def _lines(quantities: dict[Any, int], products: list[Product]) -> list[_Line]:
    lines = []
    for product in products:
        if not is_purchasable(product):
            raise product_unavailable(product)
        lines.append(_Line(product=product, quantity=quantities[product.pk]))
    currencies = sorted({line.product.currency for line in lines})
    if len(currencies) > 1:
        raise ApplicationError(
            "CURRENCY_MIXED",
            f"Your cart mixes {' and '.join(currencies)}; one checkout pays in one currency. "
            "Check out the products of each currency separately.",
            details={"currencies": currencies},
        )
    return lines


def voucher_quote(*, cart: Cart | None, code: Any, user: User) -> VoucherQuote:
    """What ``code`` would take off this cart now; nothing is used up. The same answers
    as the checkout's (VOUCHER_INVALID, VOUCHER_MINIMUM, VOUCHER_USED_UP,
    VOUCHER_ALREADY_USED, CART_EMPTY)."""
    permissions.require_signed_in(user)
    if cart is not None and cart.user_id != user.pk:
        raise ApplicationError("NOT_FOUND", "No such cart.", status_code=404)
    voucher = _find_voucher(code, lock=False)
    _check_voucher(voucher, user=user)
    rows = dict(
        CartItem.objects.filter(cart=cart).values_list("product_id", "quantity")
        if cart is not None
        else []
    )
    if not rows:
        raise _cart_empty()
    products = list(Product.objects.select_related("market").filter(pk__in=rows).order_by("pk"))
    lines = _lines(rows, products)
    eligible, discount = _voucher_discount(voucher, _groups(lines))
    return VoucherQuote(
        voucher=voucher,
        eligible_subtotal=eligible,
        discount=discount,
        currency=lines[0].product.currency,
    )


# --- the checkout ------------------------------------------------------------------------


def _tax_rate(market: Market | None) -> Decimal:
    if market is None:
        return Decimal(str(settings.STORE_TAX_RATE))
    return market.tax_rate


def _provider(payment_method: str) -> str:
    if payment_method == PaymentMethod.CASH_ON_PICKUP:
        return PaymentProvider.CASH
    return PaymentProvider.STRIPE if stripe_gateway.is_enabled() else PaymentProvider.TEST


def _place(
    *,
    user: User,
    shipping_address: dict[str, Any],
    billing_address: dict[str, Any],
    shipping_method: str,
    shipping_methods: dict[str, str],
    voucher_code: str | None,
    payment_method: str,
) -> tuple[Payment, list[Order]]:
    cart = Cart.objects.select_for_update().filter(user=user).first()
    if cart is None:
        raise _cart_empty()
    quantities = dict(CartItem.objects.filter(cart=cart).values_list("product_id", "quantity"))
    if not quantities:
        raise _cart_empty()
    # Read without a lock: the rows of the products most in demand are locked only at
    # the end, by the statements that take their stock, so that concurrent checkouts
    # of one product wait on each other for a few statements, not a whole checkout.
    products = list(
        Product.objects.select_related("market").filter(pk__in=quantities).order_by("pk")
    )
    lines = _lines(quantities, products)
    # Said before anything is written; ``take_stock`` decides under the row lock.
    for line in lines:
        check_stock(line.product, line.quantity)
    currency = lines[0].product.currency
    groups = _groups(lines)

    unknown = sorted(set(shipping_methods) - {group.key for group in groups})
    if unknown:
        raise validation_error(
            "shipping_methods",
            f"Nothing in the cart is sold by {', '.join(unknown)}; use a market id of the "
            f"cart's products or {CENTRAL!r}.",
        )
    for group in groups:
        group.method = shipping_methods.get(group.key, shipping_method)
        group.shipping = _shipping_fee(group, shipping_address)
    _check_payment_method(payment_method, groups)

    voucher = None
    if voucher_code is not None:
        # Checked here to refuse early; checked again under its lock after the stock.
        voucher = _find_voucher(voucher_code, lock=False)
        _check_voucher(voucher, user=user)
        _apply_voucher(voucher, groups)

    now = timezone.now()
    is_cash = payment_method == PaymentMethod.CASH_ON_PICKUP
    # Cash is paid at the counter: the market holds the goods until then, or cancels.
    expires_at = None if is_cash else now + timedelta(minutes=settings.STORE_UNPAID_ORDER_MINUTES)
    orders: list[Order] = []
    for group in groups:
        taxable = group.subtotal - group.discount
        tax = (taxable * _tax_rate(group.market) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
        orders.append(
            Order(
                user=user,
                market=group.market,
                subtotal=group.subtotal,
                discount_amount=group.discount,
                tax_amount=tax,
                shipping_amount=group.shipping,
                total_amount=taxable + tax + group.shipping,
                currency=currency,
                shipping_address=shipping_address,
                billing_address=billing_address,
                shipping_method=group.method,
                voucher=voucher if group.discount > 0 else None,
                expires_at=expires_at,
                locale=user.locale or "en",
            )
        )
    if is_cash:
        # Each market takes its own cash at its counter: one payment per order, which
        # the market's staff settle when the buyer pays (``order_cash_received``).
        cash_payments = [
            Payment.objects.create(
                user=user,
                provider=PaymentProvider.CASH,
                amount=order.total_amount,
                currency=currency,
            )
            for order in orders
        ]
        for order, cash_payment in zip(orders, cash_payments, strict=True):
            order.payment = cash_payment
        payment = cash_payments[0]
    else:
        payment = Payment.objects.create(
            user=user,
            provider=_provider(payment_method),
            amount=sum((order.total_amount for order in orders), ZERO),
            currency=currency,
        )
        for order in orders:
            order.payment = payment
    items: list[OrderItem] = []
    for order, group in zip(orders, groups, strict=True):
        order_save_numbered(order)
        items.extend(
            OrderItem(
                order=order,
                product=line.product,
                name=line.product.name,
                sku=line.product.sku,
                unit_price=line.unit_price,
                quantity=line.quantity,
                line_total=line.total,
            )
            for line in group.lines
        )
    OrderItem.objects.bulk_create(items)

    CartItem.objects.filter(cart=cart).delete()

    order_of = {
        line.product.pk: order
        for order, group in zip(orders, groups, strict=True)
        for line in group.lines
    }
    # Last, in primary-key order (the fixed order every writer of products uses): each
    # statement locks one product row, takes the stock only if it is there, and numbers
    # the movement; the locks are held from here to the commit.
    for line in lines:
        if not line.product.track_inventory:
            continue
        order = order_of[line.product.pk]
        take_stock(
            line.product,
            quantity=line.quantity,
            reason=ProductStockReason.SALE,
            acting_user=user,
            note=order.order_number,
            source_type=SOURCE_TYPE,
            source_id=str(order.pk),
        )

    if voucher is not None:
        # Products, then the voucher: the order in which releases lock them too.
        voucher = _find_voucher(voucher.code, lock=True)
        _check_voucher(voucher, user=user)
        VoucherRedemption.objects.create(voucher=voucher, user=user, payment=payment)
        try:
            with transaction.atomic():
                Voucher.objects.filter(pk=voucher.pk).update(times_used=F("times_used") + 1)
        except IntegrityError:
            # The constraint times_used <= max_uses: never reached past the lock's
            # check, but it is what holds should a writer ever skip the lock.
            raise ApplicationError(
                "VOUCHER_USED_UP",
                f"The voucher {voucher.code} has been used as often as it may be.",
                details={"code": voucher.code, "max_uses": voucher.max_uses},
            ) from None
    return payment, orders


def checkout(
    *,
    user: User,
    shipping_address: Any,
    billing_address: Any,
    shipping_method: str,
    shipping_methods: Mapping[str, str] | None = None,
    voucher_code: str | None = None,
    payment_method: str = PaymentMethod.CARD,
) -> CheckoutResult:
    """Check out ``user``'s cart (see the module's docstring): one order per market under
    one payment, the stock taken, the cart emptied; then the payment started.

    ``shipping_method`` applies to every market unless ``shipping_methods`` names
    another for a market (by its id, or ``"central"``). ``payment_method`` is ``card``
    (Stripe, or the test-mode provider without Stripe keys) or ``cash_on_pickup``
    (every market must take cash, and every order be picked up; such orders do not
    expire). Refusals are 400s with their own codes: CART_EMPTY, PRODUCT_UNAVAILABLE,
    INSUFFICIENT_STOCK, CURRENCY_MIXED, SHIPPING_METHOD_UNAVAILABLE,
    ADDRESS_NOT_GEOCODED, OUTSIDE_DELIVERY_AREA, BELOW_MINIMUM_ORDER,
    PAYMENT_METHOD_UNAVAILABLE and the voucher's codes; nothing changes on a refusal.
    When the payment provider does not start the payment (502 PAYMENT_PROVIDER_ERROR),
    the orders are placed all the same: its details name them and their payment.
    """
    permissions.require_signed_in(user)
    shipping = clean_address(shipping_address, field_name="shipping_address")
    billing = clean_address(billing_address, field_name="billing_address")
    method = _shipping_choice(shipping_method, "shipping_method")
    per_market = _shipping_choices(shipping_methods)
    if payment_method not in PaymentMethod.values:
        raise validation_error("payment_method", f"Use one of {', '.join(PaymentMethod.values)}.")
    if voucher_code is not None and not isinstance(voucher_code, str):
        raise validation_error("voucher_code", "A text code.")
    code = voucher_code.strip() if voucher_code else None
    with transaction.atomic():
        payment, orders = _place(
            user=user,
            shipping_address=shipping,
            billing_address=billing,
            shipping_method=method,
            shipping_methods=per_market,
            voucher_code=code or None,
            payment_method=str(payment_method),
        )
    try:
        payment_start = payments.payment_begin(payment=payment)
    except ApplicationError as error:
        # The orders are placed and hold their stock until they expire: the buyer
        # starts the payment again on one of them (``payments.order_payment_start``).
        error.message = (
            f"{error.message} The orders are placed and wait for payment: start it again "
            "on one of them."
        )
        error.details = {
            **error.details,
            "payment": str(payment.pk),
            "orders": [
                {"id": str(order.pk), "order_number": order.order_number} for order in orders
            ],
        }
        raise
    return CheckoutResult(payment=payment, orders=orders, payment_start=payment_start)
