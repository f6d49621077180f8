"""Orders after checkout: the state machine and who moves what, cancelling with the
stock (and the voucher use) given back exactly once, the release of orders left
unpaid, and the stock taken again when a payment comes in late."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from apps.store.models import (
    FabricationStatus,
    FulfillmentStatus,
    Order,
    OrderStatus,
    PaymentProvider,
    PaymentStatus,
    Product,
    ProductStockMovement,
    ShippingMethod,
    Voucher,
    VoucherRedemption,
)
from apps.store.services import cancellations, orders
from tests.store.orders_support import (
    ADDRESS,
    Shop,
    fabrication_order,
    make_shop,
    new_payment,
    place_order,
    redeem,
    voucher_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Shop:
    return make_shop()


def refused(call: Any, code: str, status: int) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert (caught.value.code, caught.value.status_code) == (code, status), caught.value.message
    return caught.value


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock_quantity


def snapshot(order: Order) -> tuple[Any, ...]:
    order = Order.objects.get(pk=order.pk)
    return (
        order.status,
        order.fulfillment_status,
        order.tracking_number,
        order.stock_released_at,
        ProductStockMovement.objects.count(),
        AuditLogEntry.objects.filter(object_id=str(order.pk)).count(),
    )


# --- the transition table ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target", "fulfilment"),
    [
        ("paid", "processing", "processing"),
        ("processing", "shipped", "shipped"),
        ("shipped", "delivered", "delivered"),
    ],
)
def test_staff_move_an_order_along_and_the_fulfilment_follows(
    shop, start, target, fulfilment
) -> None:
    order = place_order(shop, [(shop.drill, 1)], status=start)

    moved = orders.order_transition(
        order=order, to=target, acting_user=shop.staff, tracking_number="UA123"
    )

    assert (moved.status, moved.fulfillment_status) == (target, fulfilment)
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.fulfillment_status) == (target, fulfilment)
    entry = AuditLogEntry.objects.get(object_id=str(order.pk))
    assert entry.actor == shop.staff
    assert entry.changes["status"] == [start, target]


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("pending", "processing", ["cancelled"]),
        ("pending", "shipped", ["cancelled"]),
        ("pending", "paid", ["cancelled"]),
        ("paid", "shipped", ["processing", "cancelled"]),
        ("paid", "delivered", ["processing", "cancelled"]),
        ("paid", "refunded", ["processing", "cancelled"]),
        ("processing", "paid", ["shipped", "cancelled"]),
        ("processing", "delivered", ["shipped", "cancelled"]),
        ("shipped", "processing", ["delivered"]),
        ("delivered", "shipped", []),
        ("cancelled", "processing", []),
        ("refunded", "processing", []),
    ],
)
def test_an_illegal_move_answers_409_naming_the_current_state(shop, start, target, allowed) -> None:
    order = place_order(shop, [(shop.drill, 1)], status=start)
    before = snapshot(order)

    error = refused(
        lambda: orders.order_transition(
            order=order, to=target, acting_user=shop.owner, tracking_number="UA1"
        ),
        "ORDER_STATE_CONFLICT",
        409,
    )

    assert error.details == {"current": start, "requested": target, "allowed": allowed}
    assert f"The order is {start}" in error.message
    assert snapshot(order) == before


def test_a_pickup_order_is_delivered_from_processing_and_never_shipped(shop) -> None:
    order = place_order(
        shop, [(shop.drill, 1)], status="processing", shipping_method=ShippingMethod.PICKUP
    )

    error = refused(
        lambda: orders.order_transition(order=order, to="shipped", acting_user=shop.owner),
        "ORDER_STATE_CONFLICT",
        409,
    )
    assert error.details["allowed"] == ["delivered", "cancelled"]

    moved = orders.order_transition(order=order, to="delivered", acting_user=shop.owner)
    assert (moved.status, moved.fulfillment_status) == ("delivered", "delivered")


def test_an_unknown_status_is_a_400_naming_the_field(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")

    error = refused(
        lambda: orders.order_transition(order=order, to="teleported", acting_user=shop.owner),
        "VALIDATION_ERROR",
        400,
    )

    assert "to" in error.details
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_shipping_by_post_needs_a_tracking_number(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="processing")

    error = refused(
        lambda: orders.order_transition(
            order=order, to="shipped", acting_user=shop.owner, tracking_number="  "
        ),
        "VALIDATION_ERROR",
        400,
    )

    assert "tracking_number" in error.details
    assert Order.objects.get(pk=order.pk).status == "processing"


def test_shipping_stores_the_tracking_number_and_emails_the_buyer_after_commit(
    shop, django_capture_on_commit_callbacks
) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="processing")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        orders.order_transition(
            order=order, to="shipped", acting_user=shop.owner, tracking_number=" 20450012345UA "
        )

    assert len(callbacks) == 1
    assert Order.objects.get(pk=order.pk).tracking_number == "20450012345UA"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [shop.buyer.email]
    assert "20450012345UA" in mail.outbox[0].body


def test_a_local_delivery_ships_without_a_tracking_number(shop) -> None:
    order = place_order(
        shop,
        [(shop.drill, 1)],
        status="processing",
        shipping_method=ShippingMethod.LOCAL_DELIVERY,
    )

    moved = orders.order_transition(order=order, to="shipped", acting_user=shop.owner)

    assert (moved.status, moved.tracking_number) == ("shipped", "")


# --- who moves what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("owner", True),
        ("staff", True),
        ("admin", True),
        ("buyer", False),
        ("stranger", False),
        ("other_owner", False),
    ],
)
def test_the_markets_owner_and_staff_and_super_admins_fulfil_a_market_order(
    shop, who, allowed
) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")
    before = snapshot(order)

    def move() -> Order:
        return orders.order_transition(order=order, to="processing", acting_user=getattr(shop, who))

    if allowed:
        assert move().status == "processing"
    else:
        refused(move, "PERMISSION_DENIED", 403)
        assert snapshot(order) == before


@pytest.mark.parametrize(("who", "allowed"), [("admin", True), ("owner", False), ("buyer", False)])
def test_only_super_admins_fulfil_central_orders(shop, who, allowed) -> None:
    order = place_order(shop, [(shop.caliper, 1)], status="paid")
    before = snapshot(order)

    def move() -> Order:
        return orders.order_transition(order=order, to="processing", acting_user=getattr(shop, who))

    if allowed:
        assert move().status == "processing"
    else:
        refused(move, "PERMISSION_DENIED", 403)
        assert snapshot(order) == before


@pytest.mark.parametrize(
    ("status", "who", "outcome"),
    [
        ("pending", "buyer", "cancelled"),
        ("pending", "owner", "cancelled"),
        ("pending", "staff", "cancelled"),
        ("pending", "admin", "cancelled"),
        ("pending", "stranger", "PERMISSION_DENIED"),
        ("pending", "other_owner", "PERMISSION_DENIED"),
        ("paid", "buyer", "PERMISSION_DENIED"),
        ("paid", "owner", "cancelled"),
        ("processing", "staff", "cancelled"),
        ("processing", "buyer", "PERMISSION_DENIED"),
        ("shipped", "owner", "ORDER_STATE_CONFLICT"),
        ("delivered", "admin", "ORDER_STATE_CONFLICT"),
        ("cancelled", "buyer", "ORDER_STATE_CONFLICT"),
    ],
)
def test_who_cancels_which_order(shop, status, who, outcome) -> None:
    order = place_order(shop, [(shop.drill, 2)], status=status)
    before = snapshot(order)

    def cancel() -> Order:
        return orders.order_cancel(order=order, acting_user=getattr(shop, who))

    if outcome == "cancelled":
        cancelled = cancel()
        assert (cancelled.status, cancelled.fulfillment_status) == ("cancelled", "cancelled")
        assert stock(shop.drill) == 10
    else:
        refused(cancel, outcome, 409 if outcome == "ORDER_STATE_CONFLICT" else 403)
        assert snapshot(order) == before
        assert stock(shop.drill) == 8


# --- cancelling gives the stock back, once ---------------------------------------------------


def test_cancelling_a_pending_order_gives_its_stock_back_through_the_ledger(shop) -> None:
    hammer = shop.product(shop.market, "Hammer", stock=3)
    order = place_order(shop, [(shop.drill, 2), (hammer, 3)])
    assert (stock(shop.drill), stock(hammer)) == (8, 0)

    orders.order_cancel(order=order, acting_user=shop.buyer, reason="Changed my mind")

    assert (stock(shop.drill), stock(hammer)) == (10, 3)
    released = ProductStockMovement.objects.filter(reason="release").order_by("product__name")
    assert [(m.product_id, m.change, m.source_type, m.source_id, m.actor_id) for m in released] == [
        (hammer.pk, 3, "store.order", str(order.pk), shop.buyer.pk),
        (shop.drill.pk, 2, "store.order", str(order.pk), shop.buyer.pk),
    ]
    order.refresh_from_db()
    assert order.stock_released_at is not None
    entry = AuditLogEntry.objects.get(object_id=str(order.pk))
    assert entry.changes["status"] == ["pending", "cancelled"]
    assert entry.changes["reason"] == "Changed my mind"


def test_cancelling_a_paid_order_returns_its_stock_and_leaves_the_refund_owed(shop) -> None:
    order = place_order(shop, [(shop.drill, 4)], status="paid")

    cancelled = orders.order_cancel(order=order, acting_user=shop.owner)

    assert stock(shop.drill) == 10
    assert ProductStockMovement.objects.get(reason="return").change == 4
    assert cancelled.payment_status == PaymentStatus.PAID
    assert orders.refund_owed(cancelled)


def test_cancel_and_refund_gives_the_money_back_in_full(shop) -> None:
    order = place_order(shop, [(shop.drill, 2)], status="processing")

    refunded = cancellations.order_cancel_and_refund(order=order, acting_user=shop.staff)

    assert refunded.status == OrderStatus.REFUNDED
    assert refunded.fulfillment_status == FulfillmentStatus.CANCELLED
    assert refunded.payment_status == PaymentStatus.REFUNDED
    assert refunded.amount_refunded == Decimal("50.00")
    assert refunded.refunds.get().amount == Decimal("50.00")
    assert stock(shop.drill) == 10
    assert not orders.refund_owed(refunded)


def test_cancel_and_refund_of_a_pending_order_refunds_nothing(shop) -> None:
    order = place_order(shop, [(shop.drill, 2)])

    cancelled = cancellations.order_cancel_and_refund(order=order, acting_user=shop.buyer)

    assert (cancelled.status, cancelled.amount_refunded) == ("cancelled", Decimal("0.00"))
    assert not cancelled.refunds.exists()


def test_cancel_and_refund_finishes_a_refund_still_owed(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")
    orders.order_cancel(order=order, acting_user=shop.owner)

    refunded = cancellations.order_cancel_and_refund(order=order, acting_user=shop.owner)

    assert refunded.status == OrderStatus.REFUNDED
    assert ProductStockMovement.objects.filter(reason="return").count() == 1
    assert stock(shop.drill) == 10


def test_cancel_and_refund_by_the_buyer_of_a_paid_order_changes_nothing(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")
    before = snapshot(order)

    refused(
        lambda: cancellations.order_cancel_and_refund(order=order, acting_user=shop.buyer),
        "PERMISSION_DENIED",
        403,
    )

    assert snapshot(order) == before
    assert not order.refunds.exists()


def test_a_voucher_use_comes_back_once_every_order_of_the_checkout_is_cancelled(shop) -> None:
    voucher = voucher_for(None, max_uses=3)
    payment = new_payment(shop.buyer, Decimal("37.00"))
    redemption = redeem(voucher, payment, shop.buyer)
    first = place_order(shop, [(shop.drill, 1)], payment=payment, voucher=voucher)
    second = place_order(shop, [(shop.saw, 1)], payment=payment, voucher=voucher)

    orders.order_cancel(order=first, acting_user=shop.buyer)
    redemption.refresh_from_db()
    assert redemption.released_at is None
    assert Voucher.objects.get(pk=voucher.pk).times_used == 1

    orders.order_cancel(order=second, acting_user=shop.other_owner)
    redemption.refresh_from_db()
    assert redemption.released_at is not None
    assert Voucher.objects.get(pk=voucher.pk).times_used == 0


def test_a_paid_order_cancelled_keeps_its_voucher_use(shop) -> None:
    voucher = voucher_for(shop.market)
    payment = new_payment(shop.buyer, Decimal("20.00"))
    redemption = redeem(voucher, payment, shop.buyer)
    order = place_order(shop, [(shop.drill, 1)], payment=payment, voucher=voucher, status="paid")

    orders.order_cancel(order=order, acting_user=shop.owner)

    redemption.refresh_from_db()
    assert redemption.released_at is None
    assert Voucher.objects.get(pk=voucher.pk).times_used == 1


# --- orders left unpaid ------------------------------------------------------------------------


def test_an_unpaid_order_is_released_only_after_it_expires_and_only_once(
    shop, time_machine
) -> None:
    time_machine.move_to("2026-05-04T12:00:00Z", tick=False)
    order = place_order(shop, [(shop.drill, 3)])
    assert order.expires_at == timezone.now() + timedelta(minutes=30)

    time_machine.move_to("2026-05-04T12:29:59Z", tick=False)
    assert orders.order_release_unpaid(order_id=order.pk) is False
    assert (stock(shop.drill), Order.objects.get(pk=order.pk).status) == (7, "pending")

    time_machine.move_to("2026-05-04T12:30:00Z", tick=False)
    assert orders.order_release_unpaid(order_id=order.pk) is True
    assert orders.order_release_unpaid(order_id=order.pk) is False

    order.refresh_from_db()
    assert (order.status, order.fulfillment_status) == ("cancelled", "cancelled")
    assert order.stock_released_at == timezone.now()
    assert stock(shop.drill) == 10
    assert ProductStockMovement.objects.filter(reason="release").count() == 1
    entry = AuditLogEntry.objects.get(object_id=str(order.pk))
    assert entry.actor is not None
    assert entry.actor.email == "system@makrx.invalid"
    assert entry.changes["by"] == "release"


@pytest.mark.parametrize("case", ["paid", "cash", "cancelled by the buyer", "no expiry", "missing"])
def test_the_release_leaves_alone_what_it_must_not_release(shop, case, time_machine) -> None:
    time_machine.move_to("2026-05-04T12:00:00Z", tick=False)
    if case == "paid":
        order = place_order(shop, [(shop.drill, 1)], status="paid")
    elif case == "cash":
        order = place_order(shop, [(shop.drill, 1)], provider=PaymentProvider.CASH)
    else:
        order = place_order(shop, [(shop.drill, 1)])
    if case == "cancelled by the buyer":
        orders.order_cancel(order=order, acting_user=shop.buyer)
    if case == "no expiry":
        Order.objects.filter(pk=order.pk).update(expires_at=None)
    order_id: Any = order.pk
    if case == "missing":
        order_id = "9c2a3f3e-0000-4000-8000-000000000000"
    before = snapshot(order)
    time_machine.move_to("2026-05-05T12:00:00Z", tick=False)

    assert orders.order_release_unpaid(order_id=order_id) is False
    assert snapshot(order) == before


def test_a_failed_payment_does_not_keep_the_stock(shop, time_machine) -> None:
    time_machine.move_to("2026-05-04T12:00:00Z", tick=False)
    order = place_order(shop, [(shop.drill, 1)])
    Order.objects.filter(pk=order.pk).update(payment_status=PaymentStatus.FAILED)
    time_machine.move_to("2026-05-04T13:00:00Z", tick=False)

    assert orders.order_release_unpaid(order_id=order.pk) is True
    assert stock(shop.drill) == 10


def test_the_release_gives_the_quote_back_to_a_fabrication_job(shop, time_machine) -> None:
    time_machine.move_to("2026-05-04T12:00:00Z", tick=False)
    order, job = fabrication_order(shop)
    time_machine.move_to("2026-05-04T13:00:00Z", tick=False)

    assert orders.order_release_unpaid(order_id=order.pk) is True

    job.refresh_from_db()
    assert job.status == FabricationStatus.QUOTED
    assert Order.objects.get(pk=order.pk).status == "cancelled"


def test_the_release_gives_back_the_voucher_use_of_the_checkout(shop, time_machine) -> None:
    time_machine.move_to("2026-05-04T12:00:00Z", tick=False)
    voucher = voucher_for(None, max_uses=1)
    payment = new_payment(shop.buyer, Decimal("20.00"))
    redeem(voucher, payment, shop.buyer)
    order = place_order(shop, [(shop.drill, 1)], payment=payment, voucher=voucher)
    time_machine.move_to("2026-05-04T13:00:00Z", tick=False)

    assert orders.order_release_unpaid(order_id=order.pk) is True
    assert orders.order_release_unpaid(order_id=order.pk) is False

    assert Voucher.objects.get(pk=voucher.pk).times_used == 0
    assert VoucherRedemption.objects.get().released_at == timezone.now()


def test_expired_unpaid_orders_are_found_oldest_first_without_cash_ones(shop, time_machine) -> None:
    time_machine.move_to("2026-05-04T12:00:00Z", tick=False)
    later = place_order(shop, [(shop.drill, 1)], expires_at=timezone.now() + timedelta(minutes=20))
    sooner = place_order(shop, [(shop.saw, 1)], expires_at=timezone.now() + timedelta(minutes=10))
    place_order(shop, [(shop.drill, 1)], expires_at=timezone.now() + timedelta(hours=2))
    place_order(shop, [(shop.drill, 1)], provider=PaymentProvider.CASH)
    place_order(shop, [(shop.caliper, 1)], status="paid", expires_at=timezone.now())
    time_machine.move_to("2026-05-04T12:30:00Z", tick=False)

    assert orders.expired_unpaid_order_ids() == [sooner.pk, later.pk]


# --- a payment that arrives after the release ----------------------------------------------


def released(shop: Shop, lines: list[tuple[Product, int]], **fields: Any) -> Order:
    order = place_order(shop, lines, **fields)
    orders.order_cancel(order=order, acting_user=shop.buyer)
    return Order.objects.get(pk=order.pk)


def test_a_late_payment_takes_the_stock_again_and_the_order_is_pending_again(shop) -> None:
    voucher = voucher_for(None)
    payment = new_payment(shop.buyer, Decimal("50.00"))
    redeem(voucher, payment, shop.buyer)
    order = released(shop, [(shop.drill, 2)], payment=payment, voucher=voucher)
    assert (stock(shop.drill), Voucher.objects.get(pk=voucher.pk).times_used) == (10, 0)

    assert orders.order_stock_retake(order=order) is True

    order.refresh_from_db()
    assert (order.status, order.fulfillment_status, order.stock_released_at) == (
        "pending",
        "unfulfilled",
        None,
    )
    assert stock(shop.drill) == 8
    assert Voucher.objects.get(pk=voucher.pk).times_used == 1
    assert VoucherRedemption.objects.get().released_at is None
    # Released again later, it gives back what it took the second time.
    orders.order_cancel(order=order, acting_user=shop.buyer)
    assert stock(shop.drill) == 10


def test_a_late_payment_cannot_take_units_sold_meanwhile(shop) -> None:
    order = released(shop, [(shop.drill, 2)])
    place_order(shop, [(shop.drill, 9)], buyer=shop.stranger)
    before = snapshot(order)

    assert orders.order_stock_retake(order=order) is False

    assert snapshot(order) == before
    assert stock(shop.drill) == 1


def test_a_late_payment_takes_a_backorder(shop) -> None:
    spool = shop.product(shop.market, "Spool", stock=1, allow_backorder=True)
    order = released(shop, [(spool, 3)])
    place_order(shop, [(spool, 1)], buyer=shop.stranger)

    assert orders.order_stock_retake(order=order) is True
    assert stock(spool) == -3


def test_a_late_payment_takes_the_fabrication_job_back(shop) -> None:
    order, job = fabrication_order(shop)
    orders.order_cancel(order=order, acting_user=shop.buyer)

    assert orders.order_stock_retake(order=order) is True

    job.refresh_from_db()
    assert job.status == FabricationStatus.ORDERED


@pytest.mark.parametrize(("status", "expected"), [("pending", True), ("paid", False)])
def test_the_retake_of_an_order_never_released(shop, status, expected) -> None:
    order = place_order(shop, [(shop.drill, 1)], status=status)
    before = snapshot(order)

    assert orders.order_stock_retake(order=order) is expected
    assert snapshot(order) == before


# --- who sees which orders -----------------------------------------------------------------


def test_orders_are_visible_to_their_buyer_their_markets_people_and_super_admins(shop) -> None:
    own = place_order(shop, [(shop.drill, 1)])
    other_market = place_order(shop, [(shop.saw, 1)])
    central = place_order(shop, [(shop.caliper, 1)])
    bought_by_owner = place_order(shop, [(shop.saw, 1)], buyer=shop.owner)

    def seen(who: str) -> set[Any]:
        return set(orders.order_visible_to(getattr(shop, who)).values_list("pk", flat=True))

    assert seen("buyer") == {own.pk, other_market.pk, central.pk}
    assert seen("owner") == {own.pk, bought_by_owner.pk}
    assert seen("staff") == {own.pk}
    assert seen("other_owner") == {other_market.pk, bought_by_owner.pk}
    assert seen("stranger") == set()
    assert seen("admin") == {own.pk, other_market.pk, central.pk, bought_by_owner.pk}
    assert not orders.order_visible_to(None).exists()


# --- after a real checkout -----------------------------------------------------------------


def test_the_release_undoes_a_real_checkout_of_two_markets_exactly(shop, time_machine) -> None:
    from apps.store.services import cart as carts
    from apps.store.services import checkout

    time_machine.move_to("2026-05-04T12:00:00Z", tick=False)
    untracked = shop.product(shop.market, "Sandpaper", stock=0, track_inventory=False)
    for market in (shop.market, shop.other_market):
        market.delivery_options = {"pickup": {"enabled": True}}
        market.save(update_fields=["delivery_options"])
    voucher = voucher_for(None, code="WELCOME10", kind="percent", max_uses=5)
    Voucher.objects.filter(pk=voucher.pk).update(value=Decimal("10.00"))
    cart = carts.user_cart(shop.buyer)
    for product, quantity in ((shop.drill, 3), (shop.saw, 2), (untracked, 4)):
        carts.cart_add_item(cart=cart, product=product, quantity=quantity, acting_user=shop.buyer)
    result = checkout.checkout(
        user=shop.buyer,
        shipping_address=dict(ADDRESS),
        billing_address=dict(ADDRESS),
        shipping_method="pickup",
        voucher_code="welcome10",
    )
    assert len(result.orders) == 2
    assert (stock(shop.drill), stock(shop.saw)) == (7, 8)
    assert Voucher.objects.get(pk=voucher.pk).times_used == 1
    movements_before = ProductStockMovement.objects.count()
    time_machine.move_to("2026-05-04T12:31:00Z", tick=False)

    released = [orders.order_release_unpaid(order_id=order.pk) for order in result.orders]

    assert released == [True, True]
    assert (stock(shop.drill), stock(shop.saw), stock(untracked)) == (10, 10, 0)
    assert ProductStockMovement.objects.count() == movements_before + 2
    assert Voucher.objects.get(pk=voucher.pk).times_used == 0
    assert VoucherRedemption.objects.get().released_at == timezone.now()
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}
