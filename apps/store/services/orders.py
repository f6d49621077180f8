"""Orders after checkout: the state machine, cancelling, and the stock of orders left
unpaid.

An order moves only along ``TRANSITIONS``. Each move names who makes it:

- the payment (``payments.payment_settle``) makes pending → paid, and brings back to
  pending an order released unpaid when its money arrives late
  (``order_stock_retake``);
- refunds (``payments.refund_create``) make the moves to refunded;
- the market's owner and staff (super admins for any order, and for the central
  catalogue's) fulfil: paid → processing → shipped → delivered (``order_transition``);
- cancelling (``order_cancel``): the buyer cancels a pending order, the market's staff a
  pending, paid or processing one, and the release job a pending one left unpaid past
  its ``expires_at`` (``order_release_unpaid``).

Any other move answers 409 ORDER_STATE_CONFLICT naming the current state
(``details.current``) and the moves open from it (``details.allowed``).

Cancelling gives the order's stock back through the product ledger, exactly what the
order took (its ``store.order`` movements), once: ``stock_released_at`` records it.
An unpaid order also gives back its checkout's voucher use, once every order of that
checkout is cancelled. A paid order's money is not refunded here, since the payments
module calls into this one (``order_stock_retake``) and may not be called back:
``cancellations.order_cancel_and_refund`` cancels and then refunds, and is what the
API, the admin and the pages call.

Locks are taken in one order everywhere: the payment row, then the order row, then the
products by primary key, then the voucher, as checkout and the payments module do, so
two of these never wait on each other in a circle.
"""

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.system import system_actor
from apps.core.audit import audit_record
from apps.core.exceptions import ConflictError, permission_denied, validation_error
from apps.core.models import AuditLogEntry
from apps.store import permissions
from apps.store.emails import order_shipped_email
from apps.store.models import (
    FabricationJob,
    FabricationStatus,
    FulfillmentStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Product,
    ProductStockMovement,
    ProductStockReason,
    ShippingMethod,
    Voucher,
    VoucherRedemption,
)
from apps.store.services import _apply_stock

Action = AuditLogEntry.Action

# Who makes a move.
BY_PAYMENT = "payment"
BY_REFUND = "refund"
BY_STAFF = "staff"
BY_CANCEL = "cancel"

PENDING = OrderStatus.PENDING
PAID = OrderStatus.PAID
PROCESSING = OrderStatus.PROCESSING
SHIPPED = OrderStatus.SHIPPED
DELIVERED = OrderStatus.DELIVERED
CANCELLED = OrderStatus.CANCELLED
REFUNDED = OrderStatus.REFUNDED

# status → {status it may move to: who moves it}.
TRANSITIONS: dict[str, dict[str, str]] = {
    PENDING: {PAID: BY_PAYMENT, CANCELLED: BY_CANCEL},
    PAID: {PROCESSING: BY_STAFF, CANCELLED: BY_CANCEL, REFUNDED: BY_REFUND},
    PROCESSING: {
        SHIPPED: BY_STAFF,
        DELIVERED: BY_STAFF,  # picked up: only for pickup orders (HANDED_OVER)
        CANCELLED: BY_CANCEL,
        REFUNDED: BY_REFUND,
    },
    SHIPPED: {DELIVERED: BY_STAFF, REFUNDED: BY_REFUND},
    DELIVERED: {REFUNDED: BY_REFUND},
    # A payment that arrives after the release takes the stock again (back to
    # pending, then paid); a paid order cancelled by staff is refunded.
    CANCELLED: {PENDING: BY_PAYMENT, REFUNDED: BY_REFUND},
    REFUNDED: {},
}

# A pickup order is never shipped: it is delivered when the buyer collects it. The
# other orders are shipped first.
HANDED_OVER = (PROCESSING, DELIVERED)

# Where the fulfilment stands after each move by staff or by cancelling.
FULFILMENT_AFTER: dict[str, str] = {
    PROCESSING: FulfillmentStatus.PROCESSING,
    SHIPPED: FulfillmentStatus.SHIPPED,
    DELIVERED: FulfillmentStatus.DELIVERED,
    CANCELLED: FulfillmentStatus.CANCELLED,
}

# Moves people ask for (the API's ``status`` action, the admin's actions); paid and
# refunded follow the money and are not theirs to set.
MANUAL_MOVES = (BY_STAFF, BY_CANCEL)

UNPAID_STATES = (PaymentStatus.UNPAID, PaymentStatus.FAILED)
SOURCE_TYPE = "store.order"
TRACKING_NUMBER_LENGTH = 100

# A fabrication job's status when its order is cancelled: unpaid, the quote stands
# again; paid, the job will not be made.
JOB_AFTER_UNPAID_CANCEL = FabricationStatus.QUOTED
JOB_AFTER_PAID_CANCEL = FabricationStatus.CANCELLED


# --- the state machine ------------------------------------------------------------------


def _fits_shipping(current: str, target: str, shipping_method: str) -> bool:
    if shipping_method == ShippingMethod.PICKUP:
        return target != SHIPPED
    return (current, target) != HANDED_OVER


def allowed_moves(
    status: str, shipping_method: str, *, by: tuple[str, ...] = MANUAL_MOVES
) -> list[str]:
    """The statuses an order in ``status``, sent by ``shipping_method``, may move to by
    the given movers."""
    return [
        target
        for target, mover in TRANSITIONS.get(status, {}).items()
        if mover in by and _fits_shipping(status, target, shipping_method)
    ]


def may_move(order: Order, target: str, *, by: str) -> bool:
    current = str(order.status)
    return TRANSITIONS.get(current, {}).get(target) == by and _fits_shipping(
        current, target, order.shipping_method
    )


def state_conflict(order: Order, target: str) -> ConflictError:
    """409 ORDER_STATE_CONFLICT: the order cannot move to ``target`` from where it is."""
    current = str(order.status)
    allowed = allowed_moves(current, order.shipping_method)
    mover = TRANSITIONS.get(current, {}).get(target)
    if mover == BY_PAYMENT:
        reason = "only its payment moves it there"
    elif mover == BY_REFUND:
        reason = "only a refund moves it there"
    elif mover == BY_STAFF:
        reason = (
            "a pickup order is delivered when collected, never shipped"
            if target == SHIPPED
            else "an order sent to the buyer is shipped first"
        )
    elif allowed:
        reason = f"from here it can become {' or '.join(allowed)}"
    else:
        reason = "it cannot move any more"
    return ConflictError(
        "ORDER_STATE_CONFLICT",
        f"The order is {current}, so it cannot become {target}: {reason}.",
        details={"current": current, "requested": target, "allowed": allowed},
    )


def _check_target(target: Any) -> str:
    if target not in OrderStatus.values:
        raise validation_error("to", f"Unknown status; use one of {', '.join(OrderStatus.values)}.")
    return str(target)


# --- who may see and move orders ----------------------------------------------------------


def order_visible_to(user: Any) -> QuerySet[Order]:
    """A buyer's own orders, the orders of the markets a user runs, and every order for
    a super admin."""
    orders = Order.objects.all()
    if not permissions.is_signed_in(user):
        return orders.none()
    if permissions.is_super_admin(user):
        return orders
    visible = Q(user_id=user.pk)
    managed = permissions.managed_market_ids(user)
    if managed:
        visible |= Q(market_id__in=sorted(managed))
    return orders.filter(visible)


def may_fulfil(user: Any, order: Order) -> bool:
    """The market's owner and staff, and super admins (alone for central orders)."""
    return permissions.may_manage_products(user, order.market_id)


def _require_fulfiller(user: Any, order: Order) -> None:
    if not may_fulfil(user, order):
        if order.market_id is None:
            raise permission_denied("Only a super admin fulfils orders of the MakrX catalogue.")
        raise permission_denied("Only the market's owner and staff fulfil its orders.")


# --- locks ----------------------------------------------------------------------------------


def _lock_payment(payment_id: Any) -> Payment | None:
    if payment_id is None:
        return None
    return Payment.objects.select_for_update(of=("self",)).get(pk=payment_id)


def _lock_order(order_id: Any) -> Order:
    return Order.objects.select_for_update(of=("self",)).get(pk=order_id)


def _payment_id_of(order_id: Any) -> Any:
    return Order.objects.filter(pk=order_id).values_list("payment_id", flat=True).first()


def _lock_products(product_ids: Any) -> dict[Any, Product]:
    """The products, locked in primary-key order as checkout locks them."""
    locked = Product.objects.select_for_update(of=("self",)).filter(pk__in=list(product_ids))
    return {product.pk: product for product in locked.order_by("pk")}


# --- giving stock back ------------------------------------------------------------------------


def _taken_by(order: Order) -> dict[Any, int]:
    """Units each product still owes the order's ledger: what checkout (or a retake)
    took, less what was given back."""
    rows = (
        ProductStockMovement.objects.filter(source_type=SOURCE_TYPE, source_id=str(order.pk))
        .values("product_id")
        .annotate(net=Sum("change"))
    )
    return {row["product_id"]: -row["net"] for row in rows if row["net"] < 0}


def _give_stock_back(order: Order, *, reason: str, actor: User) -> dict[str, int]:
    taken = _taken_by(order)
    products = _lock_products(taken)
    given: dict[str, int] = {}
    for product_id, product in products.items():
        _apply_stock(
            product,
            change=taken[product_id],
            reason=reason,
            acting_user=actor,
            note=f"Order {order.order_number} cancelled",
            source_type=SOURCE_TYPE,
            source_id=str(order.pk),
        )
        given[str(product_id)] = taken[product_id]
    return given


def _give_voucher_back(payment: Payment | None, *, now: datetime) -> int:
    """Once every order of the checkout is cancelled unpaid, its voucher use is given
    back: the redemption is marked released and the voucher counts one use less."""
    if payment is None:
        return 0
    if Order.objects.filter(payment_id=payment.pk).exclude(status=CANCELLED).exists():
        return 0
    released = 0
    redemptions = VoucherRedemption.objects.filter(payment_id=payment.pk, released_at__isnull=True)
    for redemption in redemptions.order_by("voucher_id"):
        claimed = VoucherRedemption.objects.filter(
            pk=redemption.pk, released_at__isnull=True
        ).update(released_at=now)
        if claimed:
            Voucher.objects.filter(pk=redemption.voucher_id, times_used__gt=0).update(
                times_used=F("times_used") - 1
            )
            released += 1
    return released


def _set_jobs(order: Order, status: str) -> int:
    job_ids = order.items.filter(fabrication_job__isnull=False).values("fabrication_job_id")
    return FabricationJob.objects.filter(pk__in=job_ids).update(
        status=status, updated_at=timezone.now()
    )


def _cancel_locked(
    order: Order,
    payment: Payment | None,
    *,
    actor: User,
    reason: str,
    released_by: str,
    now: datetime,
) -> Order:
    """Cancel a locked order whose move to cancelled is allowed: stock back (once),
    fabrication jobs, the voucher use of an unpaid checkout, the audit entry."""
    old_status = order.status
    unpaid = old_status == PENDING
    given: dict[str, int] = {}
    if order.stock_released_at is None:
        given = _give_stock_back(
            order,
            reason=ProductStockReason.RELEASE if unpaid else ProductStockReason.RETURN,
            actor=actor,
        )
        order.stock_released_at = now
    order.status = CANCELLED
    order.fulfillment_status = FulfillmentStatus.CANCELLED
    order.save(update_fields=["status", "fulfillment_status", "stock_released_at", "updated_at"])
    _set_jobs(order, JOB_AFTER_UNPAID_CANCEL if unpaid else JOB_AFTER_PAID_CANCEL)
    vouchers_given = _give_voucher_back(payment, now=now) if unpaid else 0
    audit_record(
        actor=actor,
        instance=order,
        action=Action.UPDATE,
        changes={
            "status": [old_status, CANCELLED],
            "by": released_by,
            "reason": reason[:300],
            "stock_given_back": given,
            "voucher_uses_given_back": vouchers_given,
        },
    )
    return order


# --- moves ------------------------------------------------------------------------------------


def order_transition(
    *, order: Order, to: str, acting_user: User, tracking_number: str = ""
) -> Order:
    """Move an order on: paid → processing → shipped → delivered (the market's owner and
    staff; super admins for any order), or cancel it (``order_cancel``).

    Shipping an order sent by post needs its ``tracking_number`` (400 otherwise); the
    buyer is emailed once the move has committed. A move the state machine does not
    allow answers 409 ORDER_STATE_CONFLICT.
    """
    target = _check_target(to)
    if target == CANCELLED:
        return order_cancel(order=order, acting_user=acting_user)
    permissions.require_signed_in(acting_user)
    tracking_number = (tracking_number or "").strip()
    if len(tracking_number) > TRACKING_NUMBER_LENGTH:
        raise validation_error("tracking_number", f"At most {TRACKING_NUMBER_LENGTH} characters.")
    with transaction.atomic():
        order = _lock_order(order.pk)
        _require_fulfiller(acting_user, order)
        if not may_move(order, target, by=BY_STAFF):
            raise state_conflict(order, target)
        if (
            target == SHIPPED
            and order.shipping_method == ShippingMethod.SHIPPING
            and not tracking_number
        ):
            raise validation_error(
                "tracking_number", "An order sent by post needs its tracking number."
            )
        changes: dict[str, Any] = {"status": [order.status, target]}
        order.status = target
        order.fulfillment_status = FULFILMENT_AFTER[target]
        fields = ["status", "fulfillment_status", "updated_at"]
        if target == SHIPPED and tracking_number:
            changes["tracking_number"] = [order.tracking_number, tracking_number]
            order.tracking_number = tracking_number
            fields.append("tracking_number")
        order.save(update_fields=fields)
        audit_record(actor=acting_user, instance=order, action=Action.UPDATE, changes=changes)
        if target == SHIPPED:
            order_id = str(order.pk)
            transaction.on_commit(lambda: order_shipped_email.delay(order_id))
    return order


def order_cancel(*, order: Order, acting_user: User, reason: str = "") -> Order:
    """Cancel an order and give its stock back.

    The buyer cancels their pending order; the market's owner and staff (super admins
    for any) cancel a pending, paid or processing one. A paid order's money is given
    back by ``cancellations.order_cancel_and_refund``, which calls this first. 403 for
    anyone else, 409 ORDER_STATE_CONFLICT once the order has shipped or ended.
    """
    permissions.require_signed_in(acting_user)
    now = timezone.now()
    with transaction.atomic():
        payment = _lock_payment(_payment_id_of(order.pk))
        order = _lock_order(order.pk)
        is_fulfiller = may_fulfil(acting_user, order)
        is_buyer = order.user_id == acting_user.pk
        if not (is_fulfiller or is_buyer):
            raise permission_denied("Only the buyer or the market's staff cancel an order.")
        if not may_move(order, CANCELLED, by=BY_CANCEL):
            raise state_conflict(order, CANCELLED)
        if order.status != PENDING and not is_fulfiller:
            raise permission_denied(
                "A paid order is cancelled by the market's staff; ask them to cancel it."
            )
        return _cancel_locked(
            order,
            payment,
            actor=acting_user,
            reason=reason,
            released_by="staff" if is_fulfiller and not is_buyer else "buyer",
            now=now,
        )


def refund_owed(order: Order) -> bool:
    """Whether a cancelled order still holds money the buyer paid."""
    return (
        order.status == CANCELLED
        and order.payment_status in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)
        and order.amount_refunded < order.total_amount
    )


# --- orders left unpaid ---------------------------------------------------------------------


def _releasable(order: Order, payment: Payment | None, now: datetime) -> bool:
    return (
        order.status == PENDING
        and order.payment_status in UNPAID_STATES
        and order.stock_released_at is None
        and order.expires_at is not None
        and order.expires_at <= now
        and (payment is None or payment.provider != PaymentProvider.CASH)
    )


def order_release_unpaid(*, order_id: Any, now: datetime | None = None) -> bool:
    """Cancel an order left unpaid past its ``expires_at`` and give its stock and its
    checkout's voucher use back, exactly once (the release job, as the system actor).

    False, changing nothing, when the order is gone, paid, cancelled already, paid in
    cash at pickup, or not yet expired: a job that runs twice, or ten at once, releases
    the stock one time.
    """
    now = now or timezone.now()
    with transaction.atomic():
        payment_id = _payment_id_of(order_id)
        if payment_id is None and not Order.objects.filter(pk=order_id).exists():
            return False
        payment = _lock_payment(payment_id)
        order = _lock_order(order_id)
        if not _releasable(order, payment, now):
            return False
        _cancel_locked(
            order,
            payment,
            actor=system_actor(),
            reason="Not paid in time",
            released_by="release",
            now=now,
        )
    return True


def expired_unpaid_order_ids(*, now: datetime | None = None, limit: int = 500) -> list[Any]:
    """Pending orders past their ``expires_at``, oldest first (the partial index
    ``store_order_pending_expiry`` finds them); cash orders wait for pickup."""
    now = now or timezone.now()
    return list(
        Order.objects.filter(status=PENDING, expires_at__lte=now)
        .exclude(payment__provider=PaymentProvider.CASH)
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def _lines_by_product(order: Order) -> dict[Any, int]:
    """Units per product of the order's lines; checkout takes none of a product that
    does not track its stock, and neither does a retake."""
    wanted: dict[Any, int] = defaultdict(int)
    lines = order.items.filter(product__isnull=False, product__track_inventory=True)
    for product_id, quantity in lines.values_list("product_id", "quantity"):
        wanted[product_id] += quantity
    return dict(wanted)


def _short(product: Product, quantity: int) -> bool:
    return (
        product.track_inventory
        and not product.allow_backorder
        and product.stock_quantity < quantity
    )


def _retake_voucher(payment: Payment | None) -> int:
    """The voucher use comes back with the order, if the voucher has a use left; the
    buyer paid the discounted price either way."""
    if payment is None:
        return 0
    taken = 0
    for redemption in VoucherRedemption.objects.filter(
        payment_id=payment.pk, released_at__isnull=False
    ).order_by("voucher_id"):
        bumped = (
            Voucher.objects.filter(pk=redemption.voucher_id)
            .filter(Q(max_uses__isnull=True) | Q(times_used__lt=F("max_uses")))
            .update(times_used=F("times_used") + 1)
        )
        if bumped:
            VoucherRedemption.objects.filter(pk=redemption.pk).update(released_at=None)
            taken += 1
    return taken


def order_stock_retake(*, order: Order) -> bool:
    """For a payment that arrives after its order was released: take the stock again
    and put the order back to pending, so the payment can mark it paid.

    Called by the payments module inside its transaction, with the payment locked.
    False, changing nothing, when a product no longer has the units (and takes no
    backorders) or the order is not one cancelled unpaid; the caller then refunds. An
    order still pending needs nothing and answers True.
    """
    actor = system_actor()
    with transaction.atomic():
        payment = _lock_payment(_payment_id_of(order.pk))
        order = _lock_order(order.pk)
        if order.status == PENDING and order.stock_released_at is None:
            return True
        if (
            order.status != CANCELLED
            or order.stock_released_at is None
            or order.payment_status not in UNPAID_STATES
        ):
            return False
        wanted = _lines_by_product(order)
        products = _lock_products(wanted)
        # Checked for every line before any is taken, so a refusal writes nothing.
        if len(products) != len(wanted) or any(
            _short(products[pk], quantity) for pk, quantity in wanted.items()
        ):
            return False
        for product_id, quantity in wanted.items():
            _apply_stock(
                products[product_id],
                change=-quantity,
                reason=ProductStockReason.SALE,
                acting_user=actor,
                note=f"Order {order.order_number} paid after its release",
                source_type=SOURCE_TYPE,
                source_id=str(order.pk),
            )
        _set_jobs(order, FabricationStatus.ORDERED)
        vouchers_taken = _retake_voucher(payment)
        order.status = PENDING
        order.fulfillment_status = FulfillmentStatus.UNFULFILLED
        order.stock_released_at = None
        order.save(
            update_fields=["status", "fulfillment_status", "stock_released_at", "updated_at"]
        )
        audit_record(
            actor=actor,
            instance=order,
            action=Action.UPDATE,
            changes={
                "status": [CANCELLED, PENDING],
                "by": "payment",
                "stock_taken_again": {str(pk): quantity for pk, quantity in wanted.items()},
                "voucher_uses_taken_again": vouchers_taken,
            },
        )
    return True
