"""Checkout: one order per market under one payment, stock taken through the ledger,
tax and delivery from each market's rules, vouchers with their limits, and nothing
written when anything is refused."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from apps.core.exceptions import ApplicationError
from apps.store.models import (
    CartItem,
    Order,
    OrderItem,
    Payment,
    Product,
    ProductStockMovement,
    Voucher,
    VoucherRedemption,
)
from apps.store.services.cart import user_cart
from apps.store.services.checkout import allocate, checkout, distance_km, voucher_quote
from tests.factories import UserFactory, VoucherFactory
from tests.store.cart_support import ADDRESS, FAR, NEAR, fill_cart, open_market, sell

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def refused(call: Any, code: str, status: int = 400) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert (caught.value.code, caught.value.status_code) == (code, status), caught.value.message
    return caught.value


def buy(user: Any, method: str = "pickup", **options: Any) -> Any:
    return checkout(
        user=user,
        shipping_address=options.pop("shipping_address", ADDRESS),
        billing_address=options.pop("billing_address", ADDRESS),
        shipping_method=method,
        **options,
    )


def nothing_written(user: Any, lines: dict[str, int]) -> None:
    """The refusal left no order, payment, redemption or sale, and the cart as it was."""
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert not VoucherRedemption.objects.exists()
    assert not ProductStockMovement.objects.filter(reason="sale").exists()
    assert (
        dict(CartItem.objects.filter(cart__user=user).values_list("product__sku", "quantity"))
        == lines
    )


# --- the happy path ----------------------------------------------------------------------


def test_a_cart_of_two_markets_and_the_catalogue_becomes_three_orders_under_one_payment() -> None:
    # Given a cart with lines of the central catalogue and of two markets
    buyer = UserFactory.create(locale="uk")
    kyiv = open_market("Kyiv Parts", tax_rate=Decimal("10.00"))
    lviv = open_market("Lviv Bits", tax_rate=Decimal("0.00"))
    filament = sell(price="20.00", stock=5, sku="PLA", name="PLA filament")
    drill = sell(market=kyiv, price="100.00", sale_price=Decimal("80.00"), stock=3, sku="DR")
    solder = sell(market=lviv, price="7.35", stock=10, sku="SOLDER")
    fill_cart(buyer, (filament, 2), (drill, 1), (solder, 3))

    # When the buyer checks out: the catalogue ships, the markets are picked up
    with time_machine.travel(NOW, tick=False):
        result = buy(buyer, "pickup", shipping_methods={"central": "shipping"})

    # Then one order per seller, central first, priced from the database
    central, kyiv_order, lviv_order = result.orders
    assert [o.market for o in result.orders] == [None, kyiv, lviv]
    assert [
        (o.subtotal, o.discount_amount, o.tax_amount, o.shipping_amount, o.total_amount)
        for o in result.orders
    ] == [
        (Decimal("40.00"), Decimal("0.00"), Decimal("8.00"), Decimal("6.90"), Decimal("54.90")),
        (Decimal("80.00"), Decimal("0.00"), Decimal("8.00"), Decimal("0.00"), Decimal("88.00")),
        (Decimal("22.05"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("22.05")),
    ]
    assert [o.shipping_method for o in result.orders] == ["shipping", "pickup", "pickup"]
    for order in result.orders:
        order.refresh_from_db()
        assert order.payment_id == result.payment.pk
        assert (order.status, order.payment_status, order.fulfillment_status) == (
            "pending",
            "unpaid",
            "unfulfilled",
        )
        assert order.expires_at == NOW + timedelta(minutes=30)
        assert order.locale == "uk"
        assert order.currency == "EUR"
        assert order.shipping_address == ADDRESS
        assert order.order_number.startswith("MX-")
        assert len(order.order_number) == 12
    assert len({o.order_number for o in result.orders}) == 3
    # under one payment of the whole amount, in test mode (no Stripe keys)
    payment = Payment.objects.get()
    assert (payment.provider, payment.status, payment.amount, payment.currency) == (
        "test",
        "unpaid",
        Decimal("164.95"),
        "EUR",
    )
    assert result.payment_start["id"] == str(payment.pk)
    assert result.payment_start["pay_url"]
    assert result.payment_start["client_secret"] is None
    # with the lines copied, and the stock taken through the ledger
    assert list(
        OrderItem.objects.filter(order=kyiv_order).values_list(
            "product_id", "name", "sku", "unit_price", "quantity", "line_total"
        )
    ) == [(drill.pk, drill.name, "DR", Decimal("80.00"), 1, Decimal("80.00"))]
    sales = ProductStockMovement.objects.filter(reason="sale").order_by("product__sku")
    assert [
        (m.product.sku, m.change, m.quantity_after, m.source_type, m.source_id, m.actor_id)
        for m in sales
    ] == [
        ("DR", -1, 2, "store.order", str(kyiv_order.pk), buyer.pk),
        ("PLA", -2, 3, "store.order", str(central.pk), buyer.pk),
        ("SOLDER", -3, 7, "store.order", str(lviv_order.pk), buyer.pk),
    ]
    assert sales.get(product=drill).note == kyiv_order.order_number
    call_command("check_product_stock")
    # and the cart is empty
    assert not CartItem.objects.filter(cart__user=buyer).exists()


def test_tax_is_rounded_half_up_on_the_discounted_subtotal() -> None:
    buyer = UserFactory.create()
    market = open_market(tax_rate=Decimal("7.00"))
    fill_cart(buyer, (sell(market=market, price="0.50", sku="R1"), 1))

    order = buy(buyer).orders[0]

    # 7 % of 0.50 is 0.035
    assert (order.tax_amount, order.total_amount) == (Decimal("0.04"), Decimal("0.54"))


def test_a_second_checkout_of_the_same_cart_finds_it_empty() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(), 1))
    buy(buyer)

    refused(lambda: buy(buyer), "CART_EMPTY")
    assert Order.objects.count() == 1


def test_an_empty_or_missing_cart_is_refused() -> None:
    no_cart, empty_cart = UserFactory.create(), UserFactory.create()
    user_cart(empty_cart)

    refused(lambda: buy(no_cart), "CART_EMPTY")
    refused(lambda: buy(empty_cart), "CART_EMPTY")


# --- stock -------------------------------------------------------------------------------


def test_a_line_the_stock_no_longer_covers_refuses_the_whole_checkout() -> None:
    buyer, rival = UserFactory.create(), UserFactory.create()
    scarce = sell(stock=3, sku="SCARCE")
    other = sell(stock=10, sku="OTHER")
    fill_cart(buyer, (scarce, 3), (other, 1))
    fill_cart(rival, (scarce, 2))
    buy(rival)

    error = refused(lambda: buy(buyer), "INSUFFICIENT_STOCK")

    assert error.details == {"product": str(scarce.pk), "requested": 3, "available": 1}
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=other.pk).stock_quantity == 10
    assert dict(
        CartItem.objects.filter(cart__user=buyer).values_list("product__sku", "quantity")
    ) == {
        "SCARCE": 3,
        "OTHER": 1,
    }


def test_backorders_let_the_stock_go_below_zero() -> None:
    buyer = UserFactory.create()
    product = sell(stock=2, sku="BACK", allow_backorder=True)
    fill_cart(buyer, (product, 5))

    buy(buyer)

    product.refresh_from_db()
    assert product.stock_quantity == -3
    call_command("check_product_stock")


def test_a_product_that_does_not_track_its_stock_writes_no_movement() -> None:
    buyer = UserFactory.create()
    hour = sell(stock=0, sku="LASER-HOUR", track_inventory=False)
    fill_cart(buyer, (hour, 2))

    buy(buyer)

    assert not ProductStockMovement.objects.filter(product=hour, reason="sale").exists()
    assert OrderItem.objects.get().quantity == 2


def test_a_product_withdrawn_after_it_was_added_is_refused() -> None:
    buyer = UserFactory.create()
    product = sell(sku="GONE")
    fill_cart(buyer, (product, 1))
    Product.objects.filter(pk=product.pk).update(is_active=False)

    refused(lambda: buy(buyer), "PRODUCT_UNAVAILABLE")
    nothing_written(buyer, {"GONE": 1})


def test_a_cart_mixing_currencies_is_refused() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(sku="EUR-1"), 1))
    hryvnia = sell(market=open_market("Lviv", currency="UAH"), sku="UAH-1")
    # A line that got in another way (a merged visitor cart)
    CartItem.objects.create(cart=user_cart(buyer), product=hryvnia, quantity=1)

    error = refused(lambda: buy(buyer), "CURRENCY_MIXED")

    assert error.details == {"currencies": ["EUR", "UAH"]}
    nothing_written(buyer, {"EUR-1": 1, "UAH-1": 1})


# --- delivery ----------------------------------------------------------------------------


def test_a_method_a_market_does_not_offer_is_refused_naming_the_market() -> None:
    buyer = UserFactory.create()
    market = open_market("Pickup Only", delivery_options={"pickup": {"enabled": True}})
    fill_cart(buyer, (sell(market=market, sku="P"), 1))

    error = refused(lambda: buy(buyer, "shipping"), "SHIPPING_METHOD_UNAVAILABLE")

    assert error.details == {
        "market": str(market.pk),
        "market_name": "Pickup Only",
        "shipping_method": "shipping",
        "offered": ["pickup"],
    }
    nothing_written(buyer, {"P": 1})


def test_the_central_catalogue_offers_pickup_and_shipping_only() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(sku="C"), 1))

    error = refused(lambda: buy(buyer, "local_delivery"), "SHIPPING_METHOD_UNAVAILABLE")

    assert error.details["market"] is None
    assert error.details["offered"] == ["pickup", "shipping"]


def test_shipping_methods_name_only_sellers_of_the_cart() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(sku="C"), 1))

    error = refused(
        lambda: buy(buyer, shipping_methods={str(open_market().pk): "shipping"}),
        "VALIDATION_ERROR",
    )

    assert list(error.details) == ["shipping_methods"]


def test_local_delivery_within_the_radius_costs_the_markets_fee() -> None:
    buyer = UserFactory.create()
    market = open_market()
    fill_cart(buyer, (sell(market=market, price="25.00", sku="L"), 1))

    order = buy(buyer, "local_delivery", shipping_address=NEAR).orders[0]

    assert (order.shipping_method, order.shipping_amount) == ("local_delivery", Decimal("4.00"))
    assert order.shipping_address["latitude"] == 50.4501


def test_local_delivery_needs_a_geocoded_address() -> None:
    buyer = UserFactory.create()
    market = open_market()
    fill_cart(buyer, (sell(market=market, price="25.00", sku="L"), 1))

    error = refused(lambda: buy(buyer, "local_delivery"), "ADDRESS_NOT_GEOCODED")

    assert error.details["market"] == str(market.pk)
    nothing_written(buyer, {"L": 1})


def test_local_delivery_outside_the_radius_is_refused_with_the_distance() -> None:
    buyer = UserFactory.create()
    market = open_market()
    fill_cart(buyer, (sell(market=market, price="25.00", sku="L"), 1))

    error = refused(
        lambda: buy(buyer, "local_delivery", shipping_address=FAR), "OUTSIDE_DELIVERY_AREA"
    )

    assert 465 < error.details["distance_km"] < 475
    assert error.details["radius_km"] == 15
    nothing_written(buyer, {"L": 1})


def test_local_delivery_below_the_minimum_order_is_refused() -> None:
    buyer = UserFactory.create()
    market = open_market()
    fill_cart(buyer, (sell(market=market, price="19.99", sku="L"), 1))

    error = refused(
        lambda: buy(buyer, "local_delivery", shipping_address=NEAR), "BELOW_MINIMUM_ORDER"
    )

    assert (error.details["minimum_order"], error.details["subtotal"]) == ("20.00", "19.99")


def test_the_distance_is_the_great_circle_distance() -> None:
    kyiv_to_lviv = distance_km(50.4501, 30.5234, 49.8397, 24.0297)

    assert 465 < kyiv_to_lviv < 472
    assert distance_km(50.0, 30.0, 50.0, 30.0) == 0


# --- paying ------------------------------------------------------------------------------


def test_cash_on_pickup_makes_a_cash_payment_whose_orders_do_not_expire() -> None:
    buyer = UserFactory.create()
    market = open_market()
    fill_cart(buyer, (sell(market=market, sku="CASH"), 1))

    result = buy(buyer, "pickup", payment_method="cash_on_pickup")

    assert result.payment.provider == "cash"
    assert result.orders[0].expires_at is None
    assert (result.payment_start["client_secret"], result.payment_start["pay_url"]) == (None, None)


@pytest.mark.parametrize(
    ("case", "method", "market_methods", "central"),
    [
        ("market takes no cash", "pickup", ["card"], False),
        ("cash but shipped", "shipping", ["card", "cash_on_pickup"], False),
        ("the catalogue takes no cash", "pickup", ["card", "cash_on_pickup"], True),
    ],
)
def test_cash_is_refused_unless_every_seller_takes_it_at_pickup(
    case: str, method: str, market_methods: list[str], central: bool
) -> None:
    buyer = UserFactory.create()
    market = open_market(payment_methods=market_methods)
    fill_cart(buyer, (sell(market=market, sku="M"), 1))
    expected = {"M": 1}
    if central:
        fill_cart(buyer, (sell(sku="C"), 1))
        expected["C"] = 1

    refused(
        lambda: buy(buyer, method, payment_method="cash_on_pickup"), "PAYMENT_METHOD_UNAVAILABLE"
    )
    nothing_written(buyer, expected)


def test_a_market_taking_only_cash_refuses_cards() -> None:
    buyer = UserFactory.create()
    market = open_market(payment_methods=["cash_on_pickup"])
    fill_cart(buyer, (sell(market=market, sku="M"), 1))

    error = refused(lambda: buy(buyer), "PAYMENT_METHOD_UNAVAILABLE")

    assert error.details["accepted"] == ["cash_on_pickup"]


# --- vouchers ----------------------------------------------------------------------------


def test_a_store_wide_percentage_is_shared_between_the_orders_to_the_cent() -> None:
    buyer = UserFactory.create()
    kyiv, lviv = open_market("Kyiv", tax_rate=Decimal("10.00")), open_market("Lviv")
    fill_cart(
        buyer,
        (sell(market=kyiv, price="10.01", sku="K"), 1),
        (sell(market=lviv, price="20.02", sku="L"), 1),
    )
    voucher = VoucherFactory.create(code="WELCOME10", kind="percent", value=Decimal("10"))

    result = buy(buyer, voucher_code="welcome10")

    # 10 % of 30.03 is 3.00 (3.003), shared 1:2 as 1.00 and 2.00.
    assert [o.discount_amount for o in result.orders] == [Decimal("1.00"), Decimal("2.00")]
    assert [o.tax_amount for o in result.orders] == [Decimal("0.90"), Decimal("1.80")]
    assert [o.voucher_id for o in result.orders] == [voucher.pk, voucher.pk]
    voucher.refresh_from_db()
    assert voucher.times_used == 1
    assert VoucherRedemption.objects.get().payment == result.payment


def test_a_market_voucher_takes_off_its_markets_order_only() -> None:
    buyer = UserFactory.create()
    kyiv = open_market("Kyiv", tax_rate=Decimal("0.00"))
    fill_cart(buyer, (sell(market=kyiv, price="30.00", sku="K"), 1), (sell(price="9.00"), 1))
    VoucherFactory.create(code="KYIV5", market=kyiv, kind="fixed", value=Decimal("5.00"))

    central, kyiv_order = buy(buyer, voucher_code="KYIV5").orders

    assert (central.discount_amount, central.voucher_id) == (Decimal("0.00"), None)
    assert (kyiv_order.discount_amount, kyiv_order.total_amount) == (
        Decimal("5.00"),
        Decimal("25.00"),
    )


def test_a_fixed_voucher_never_takes_more_than_the_lines_it_applies_to() -> None:
    buyer = UserFactory.create()
    market = open_market(tax_rate=Decimal("0.00"))
    fill_cart(buyer, (sell(market=market, price="3.00", sku="K"), 1))
    VoucherFactory.create(code="BIG", kind="fixed", value=Decimal("50.00"))

    order = buy(buyer, voucher_code="BIG").orders[0]

    assert (order.discount_amount, order.total_amount) == (Decimal("3.00"), Decimal("0.00"))


def test_a_voucher_below_its_minimum_order_is_refused() -> None:
    buyer = UserFactory.create()
    kyiv = open_market("Kyiv")
    fill_cart(buyer, (sell(market=kyiv, price="15.00", sku="K"), 1), (sell(price="50.00"), 1))
    VoucherFactory.create(
        code="KYIV5", market=kyiv, kind="fixed", value=Decimal("5"), minimum_order=Decimal("20")
    )

    error = refused(lambda: buy(buyer, voucher_code="KYIV5"), "VOUCHER_MINIMUM")

    assert error.details["minimum_order"] == "20.00"
    assert error.details["eligible_subtotal"] == "15.00"
    assert Voucher.objects.get().times_used == 0


def test_a_market_voucher_with_nothing_of_its_market_in_the_cart_is_refused() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(price="50.00"), 1))
    VoucherFactory.create(code="KYIV5", market=open_market(), kind="fixed", value=Decimal("5"))

    refused(lambda: buy(buyer, voucher_code="KYIV5"), "VOUCHER_INVALID")


@pytest.mark.parametrize(
    ("case", "fields", "code"),
    [
        ("unknown", None, "VOUCHER_INVALID"),
        ("inactive", {"is_active": False}, "VOUCHER_INVALID"),
        ("not yet", {"valid_from": NOW + timedelta(seconds=1)}, "VOUCHER_INVALID"),
        ("expired", {"valid_until": NOW}, "VOUCHER_INVALID"),
        ("used up", {"max_uses": 3, "times_used": 3}, "VOUCHER_USED_UP"),
    ],
)
def test_vouchers_that_do_not_apply_are_refused_and_nothing_is_written(
    case: str, fields: dict[str, Any] | None, code: str
) -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(price="50.00", sku="C"), 1))
    if fields is not None:
        VoucherFactory.create(code="SPRING", **fields)

    with time_machine.travel(NOW, tick=False):
        refused(lambda: buy(buyer, voucher_code="SPRING"), code)
        refused(lambda: voucher_quote(cart=user_cart(buyer), code="SPRING", user=buyer), code)

    nothing_written(buyer, {"C": 1})


def test_a_voucher_works_from_its_first_moment_to_just_before_its_end() -> None:
    buyer = UserFactory.create()
    VoucherFactory.create(
        code="WEEK", valid_from=NOW, valid_until=NOW + timedelta(days=7), max_uses_per_user=5
    )

    for moment in (NOW, NOW + timedelta(days=7) - timedelta(microseconds=1)):
        fill_cart(buyer, (sell(price="10.00"), 1))
        with time_machine.travel(moment, tick=False):
            assert buy(buyer, voucher_code="WEEK").orders[0].discount_amount == Decimal("1.00")


def test_a_voucher_once_per_person_is_refused_the_second_time_until_its_use_is_given_back() -> None:
    buyer = UserFactory.create()
    VoucherFactory.create(code="ONCE", max_uses_per_user=1)
    fill_cart(buyer, (sell(price="10.00"), 1))
    buy(buyer, voucher_code="ONCE")
    fill_cart(buyer, (sell(price="10.00", sku="AGAIN"), 1))

    error = refused(lambda: buy(buyer, voucher_code="ONCE"), "VOUCHER_ALREADY_USED")
    assert error.details == {"code": "ONCE", "max_uses_per_user": 1}
    # Another buyer may still use it
    other = UserFactory.create()
    fill_cart(other, (sell(price="10.00"), 1))
    buy(other, voucher_code="ONCE")
    # and a use given back (its orders released unpaid) no longer counts
    VoucherRedemption.objects.filter(user=buyer).update(released_at=NOW)
    assert buy(buyer, voucher_code="ONCE").orders[0].discount_amount == Decimal("1.00")


def test_a_voucher_preview_takes_no_use() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(price="40.00"), 1))
    voucher = VoucherFactory.create(code="TRY", kind="percent", value=Decimal("12.5"), max_uses=1)

    quote = voucher_quote(cart=user_cart(buyer), code=" try ", user=buyer)

    assert (quote.eligible_subtotal, quote.discount, quote.currency) == (
        Decimal("40.00"),
        Decimal("5.00"),
        "EUR",
    )
    voucher.refresh_from_db()
    assert voucher.times_used == 0
    assert not VoucherRedemption.objects.exists()


def test_sharing_an_amount_sums_exactly_and_never_exceeds_a_share() -> None:
    assert allocate(Decimal("0.10"), [Decimal("1"), Decimal("1"), Decimal("1")]) == [
        Decimal("0.04"),
        Decimal("0.03"),
        Decimal("0.03"),
    ]
    assert allocate(Decimal("3.00"), [Decimal("1.00"), Decimal("2.00")]) == [
        Decimal("1.00"),
        Decimal("2.00"),
    ]
    assert allocate(Decimal("5"), [Decimal("0")]) == [Decimal("0.00")]


# --- who and what ------------------------------------------------------------------------


def test_only_a_signed_in_user_checks_out() -> None:
    from django.contrib.auth.models import AnonymousUser

    refused(lambda: buy(AnonymousUser()), "PERMISSION_DENIED", 403)


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({**ADDRESS, "city": ""}, "shipping_address.city"),
        ({k: v for k, v in ADDRESS.items() if k != "name"}, "shipping_address.name"),
        ({**ADDRESS, "country": "Ukraine"}, "shipping_address.country"),
        ({**ADDRESS, "latitude": 50.1}, "shipping_address"),
        ({**ADDRESS, "latitude": 91, "longitude": 30}, "shipping_address.latitude"),
        ({**ADDRESS, "latitude": "NaN", "longitude": 30}, "shipping_address.latitude"),
        ({**ADDRESS, "floor": 3}, "shipping_address"),
        ("Khreshchatyk 1, Kyiv", "shipping_address"),
    ],
)
def test_addresses_are_checked(address: Any, field: str) -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(sku="C"), 1))

    error = refused(lambda: buy(buyer, shipping_address=address), "VALIDATION_ERROR")

    assert list(error.details) == [field]
    nothing_written(buyer, {"C": 1})


def test_the_address_is_kept_trimmed_with_its_country_in_capitals() -> None:
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(sku="C"), 1))

    order = buy(buyer, shipping_address={**ADDRESS, "name": "  Iryna  ", "country": "ua"}).orders[0]

    assert order.shipping_address == {**ADDRESS, "name": "Iryna", "country": "UA"}


# --- demo vouchers -----------------------------------------------------------------------


def test_the_demo_vouchers_load_once_and_apply_at_checkout() -> None:
    from io import StringIO

    from apps.store.demo_vouchers import load_vouchers

    assert load_vouchers() == []  # nothing without the demo store
    UserFactory.create(email="admin@makrx.local", is_superuser=True)
    kyiv = open_market("Kyiv Fab Lab shop", slug="kyiv-fab-lab-shop", tax_rate=Decimal("0"))
    output = StringIO()

    first = load_vouchers(stdout=output)
    again = load_vouchers()

    assert [v.code for v in first] == ["WELCOME10", "LAUNCH20", "KYIV5"]
    assert [v.pk for v in again] == [v.pk for v in first]
    assert Voucher.objects.count() == 3
    assert "3 new" in output.getvalue()
    buyer = UserFactory.create()
    fill_cart(buyer, (sell(market=kyiv, price="25.00"), 1))
    assert buy(buyer, voucher_code="kyiv5").orders[0].total_amount == Decimal("20.00")
