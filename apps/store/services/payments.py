"""Payments of the store: starting one, settling it from the provider's word, and
refunds.

One Payment covers every order of a checkout (one per market). It is paid only by
the provider's word: a verified Stripe webhook, or the test-mode provider's pay page
when no Stripe keys are set. Each provider event is stored once
(``PaymentEvent``, unique per provider and event id) in the same transaction as its
effect, so a replayed event finds its row and changes nothing, and events in any
order end in the same state: a payment once paid is never un-paid by a later
"failed".

Locks are always taken in the same order: the payment, then its orders (by id), then
the products (through ``orders.order_stock_retake``), then the markets (by id), so
settling and refunding never deadlock each other. Calls to Stripe are made outside
every transaction and lock (``apps.store.stripe_gateway``).

Market figures (``total_orders``, ``total_revenue``) count a sale when an order
becomes paid, and give back revenue when a refund of a counted order succeeds, in the
same transaction as the change.

A refund never gives back more than was paid, even when staff refund at the same
moment: the first transaction locks the payment and then the order, checks what is
left, and reserves the amount (a pending Refund, added to ``amount_refunded`` of
both) before the provider is asked; a second refund waits for that lock and sees the
reservation. The second transaction marks the refund succeeded, or failed and gives
the reservation back. ``amount_refunded`` therefore counts reserved and succeeded
refunds; the ``payment_status`` of payments and orders counts succeeded ones only.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.core.audit import audit_record
from apps.core.exceptions import ApplicationError, ConflictError, permission_denied
from apps.core.models import AuditLogEntry
from apps.store import permissions, stripe_gateway
from apps.store.emails import order_confirmation_email, order_refunded_email
from apps.store.models import (
    Market,
    Order,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentProvider,
    PaymentStatus,
    Refund,
)
from apps.store.services import orders as order_services

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger("makrx.store.payments")

SUCCEEDED = "succeeded"
FAILED = "failed"
OUTCOMES = (SUCCEEDED, FAILED)
# A payment or order in these states has been paid (some of it may be back).
PAID_STATES = frozenset(
    {PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)
CENTS = Decimal("0.01")
ZERO = Decimal("0.00")

STRIPE_INTENT_SUCCEEDED = "payment_intent.succeeded"
STRIPE_INTENT_FAILED = "payment_intent.payment_failed"
STRIPE_CHARGE_REFUNDED = "charge.refunded"
STRIPE_REFUND_UPDATED = ("charge.refund.updated", "refund.updated")
OUTSIDE_REFUND_REASON = "Refunded at Stripe"
REFUND_UNKEPT_TASK = "apps.store.tasks.refund_unkept_order"
UNKEPT_ORDER_REFUND_REASON = "Paid after the order was released, and its stock was gone"


# --- beginning a payment ---------------------------------------------------------------


def pay_url(payment: Payment) -> str:
    """The test-mode pay page of a payment."""
    try:
        return reverse("store:pay", args=[payment.pk])
    except NoReverseMatch:
        return f"/store/orders/pay/{payment.pk}/"


def payment_shape(
    payment: Payment, *, client_secret: str | None = None, url: str | None = None
) -> dict[str, Any]:
    return {
        "id": str(payment.pk),
        "provider": payment.provider,
        "status": payment.status,
        "amount": str(payment.amount.quantize(CENTS)),
        "currency": payment.currency,
        "client_secret": client_secret,
        "pay_url": url,
    }


def payment_describe(payment: Payment) -> dict[str, Any]:
    """What a client needs to pay ``payment`` now, without asking the provider."""
    if payment.provider == PaymentProvider.STRIPE:
        return payment_shape(payment, client_secret=payment.client_secret or None)
    if payment.provider == PaymentProvider.TEST and payment.status not in PAID_STATES:
        return payment_shape(payment, url=pay_url(payment))
    return payment_shape(payment)


def payment_begin(*, payment: Payment) -> dict[str, Any]:
    """Start paying ``payment``: ``{id, provider, status, amount, currency,
    client_secret, pay_url}``.

    Stripe: creates its PaymentIntent (the payment's id is the idempotency key, so a
    second call, even a concurrent one, gets the same intent) and keeps its id and
    client secret. Call it outside any transaction or lock: it waits on Stripe. Test
    mode: the local pay page. Cash on pickup: neither. A payment of nothing (a voucher
    covered it all) is settled at once, since no provider takes a payment of zero.
    """
    if payment.amount == 0 and payment.status not in PAID_STATES:
        payment = payment_settle(
            payment=payment,
            outcome=SUCCEEDED,
            event_id=f"free-{payment.pk}",
            provider=payment.provider,
            event_type="payment.nothing_to_pay",
        )
        return payment_describe(payment)
    if (
        payment.provider == PaymentProvider.STRIPE
        and payment.status not in PAID_STATES
        and not payment.client_secret
    ):
        try:
            intent = stripe_gateway.create_payment_intent(
                amount=payment.amount, currency=payment.currency, payment_id=str(payment.pk)
            )
        except ValueError as error:
            raise ApplicationError("PAYMENT_AMOUNT_INVALID", str(error)) from None
        except stripe_gateway.ProviderError as error:
            raise ApplicationError(
                "PAYMENT_PROVIDER_ERROR",
                f"The payment provider did not start the payment: {error.message}",
                status_code=502,
            ) from None
        # Only a payment without an intent takes this one; a concurrent call wrote the
        # same intent already (same idempotency key).
        Payment.objects.filter(pk=payment.pk, client_secret="").update(
            provider_reference=intent.id,
            client_secret=intent.client_secret or "",
            updated_at=timezone.now(),
        )
        payment.provider_reference = intent.id
        payment.client_secret = intent.client_secret or ""
    return payment_describe(payment)


# --- settling a payment ----------------------------------------------------------------


def _record_event(
    *, provider: str, event_id: str, event_type: str, payment_id: Any, payload: Any
) -> bool:
    """Store the event once; False when it was stored before (a replay). A concurrent
    copy of the same event waits on the unique index until this one commits."""
    try:
        with transaction.atomic():
            PaymentEvent.objects.create(
                provider=provider,
                event_id=event_id[:120],
                event_type=event_type[:80],
                payment_id=payment_id,
                payload=payload if isinstance(payload, dict) else {},
            )
    except IntegrityError:
        return False
    return True


def _lock_payment(payment_id: Any) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def _add_sales(sales: dict[Any, list[Decimal]]) -> None:
    """Count paid orders in their markets' figures, markets in id order."""
    for market_id in sorted(sales, key=str):
        totals = sales[market_id]
        Market.objects.filter(pk=market_id).update(
            total_orders=F("total_orders") + len(totals),
            total_revenue=F("total_revenue") + sum(totals, ZERO),
        )


def _mark_paid(payment: Payment) -> tuple[int, list[str]]:
    """The locked payment and its orders paid: how many orders became paid, and the
    ids of those whose stock could not be taken again after their release, to be
    refunded once this commits."""
    now = timezone.now()
    payment.status = PaymentStatus.PAID
    payment.paid_at = now
    payment.failure_message = ""
    payment.save(update_fields=["status", "paid_at", "failure_message", "updated_at"])
    unkept: list[str] = []
    paid_orders = 0
    sales: dict[Any, list[Decimal]] = defaultdict(list)
    for order in Order.objects.select_for_update().filter(payment=payment).order_by("pk"):
        if order.status == OrderStatus.CANCELLED:
            # Paid after the order was released for not being paid in time: it comes
            # back when its stock can be taken again, else the money goes back.
            if order_services.order_stock_retake(order=order):
                order.refresh_from_db()
            else:
                order.payment_status = PaymentStatus.PAID
                order.save(update_fields=["payment_status", "updated_at"])
                unkept.append(str(order.pk))
                continue
        if not order_services.may_move(order, OrderStatus.PAID, by=order_services.BY_PAYMENT):
            logger.warning(
                "Payment %s paid while its order %s is %s; left as it is.",
                payment.pk,
                order.pk,
                order.status,
            )
            continue
        order.status = OrderStatus.PAID
        order.payment_status = PaymentStatus.PAID
        order.paid_at = now
        order.save(update_fields=["status", "payment_status", "paid_at", "updated_at"])
        paid_orders += 1
        if order.market_id is not None:
            sales[order.market_id].append(order.total_amount)
    _add_sales(sales)
    return paid_orders, unkept


def _mark_failed(payment: Payment, message: str) -> None:
    payment.status = PaymentStatus.FAILED
    payment.failure_message = (message or "The payment failed.")[:300]
    payment.save(update_fields=["status", "failure_message", "updated_at"])
    Order.objects.filter(
        payment=payment, payment_status__in=(PaymentStatus.UNPAID, PaymentStatus.FAILED)
    ).update(payment_status=PaymentStatus.FAILED, updated_at=timezone.now())


def _settle(
    *,
    payment: Payment,
    outcome: str,
    event_id: str,
    provider: str,
    payload: Any,
    event_type: str,
    amount: Decimal | None,
    currency: str | None,
    failure_message: str,
) -> tuple[Payment, bool]:
    """``payment_settle``, saying whether the event changed anything."""
    if outcome not in OUTCOMES:
        raise ValueError(f"Unknown payment outcome {outcome!r}")
    if provider not in PaymentProvider.values:
        raise ValueError(f"Unknown payment provider {provider!r}")
    with transaction.atomic():
        stored = _record_event(
            provider=provider,
            event_id=event_id,
            event_type=event_type or f"payment.{outcome}",
            payment_id=payment.pk,
            payload=payload,
        )
        if not stored:
            logger.info("Payment event %s %s seen before; ignored.", provider, event_id)
            return Payment.objects.get(pk=payment.pk), False
        payment = _lock_payment(payment.pk)
        if amount is not None and (
            amount != payment.amount
            or (currency is not None and currency.upper() != payment.currency)
        ):
            logger.warning(
                "Payment event %s says %s %s for payment %s of %s %s; ignored.",
                event_id,
                amount,
                currency,
                payment.pk,
                payment.amount,
                payment.currency,
            )
            return payment, False
        if payment.status in PAID_STATES:
            # Paid stays paid: a late "failed" or a second "succeeded" changes nothing.
            return payment, False
        if outcome == FAILED:
            _mark_failed(payment, failure_message)
            return payment, True
        paid_orders, unkept = _mark_paid(payment)
        payment_id = str(payment.pk)
        if paid_orders:
            transaction.on_commit(lambda: order_confirmation_email.delay(payment_id))
        for order_id in unkept:
            transaction.on_commit(partial(_refund_unkept_later, order_id))
    return payment, True


def _refund_unkept_later(order_id: str) -> None:
    # By name: apps.store.tasks imports these services, so importing it here would be
    # a cycle. The signature finds the registered task, so eager mode runs it in place.
    current_app.signature(REFUND_UNKEPT_TASK, args=[order_id]).delay()


def payment_settle(
    *,
    payment: Payment,
    outcome: str,
    event_id: str,
    provider: str,
    payload: Any = None,
    event_type: str = "",
    amount: Decimal | None = None,
    currency: str | None = None,
    failure_message: str = "",
) -> Payment:
    """Apply the provider's word on ``payment`` ("succeeded" or "failed"), once per
    ``event_id`` (a system write: the provider, not a person, says so).

    "succeeded" marks the payment and each of its pending orders paid, counts them
    in their markets' figures and sends the confirmation email after commit; an
    order released unpaid meanwhile takes its stock again (``order_stock_retake``) or,
    when it cannot, is refunded in full after commit. "failed" is recorded only on a
    payment that is not paid. An event whose ``amount``/``currency`` (when given)
    differ from the payment's changes nothing and is logged.
    """
    settled, _changed = _settle(
        payment=payment,
        outcome=outcome,
        event_id=event_id,
        provider=provider,
        payload=payload,
        event_type=event_type,
        amount=amount,
        currency=currency,
        failure_message=failure_message,
    )
    return settled


def _check_test_mode_payer(*, buyer_id: Any, outcome: str, acting_user: User) -> None:
    if stripe_gateway.is_enabled():
        raise ApplicationError(
            "NOT_FOUND", "Paying in test mode is off: Stripe is on.", status_code=404
        )
    if not permissions.is_signed_in(acting_user) or buyer_id != acting_user.pk:
        raise permission_denied("Only the buyer pays for an order.")
    if outcome not in OUTCOMES:
        raise ApplicationError(
            "VALIDATION_ERROR",
            "The request is not valid; see details.",
            details={"outcome": ['Use "succeeded" or "failed".']},
        )


def _pay_in_test_mode(*, payment: Payment, outcome: str, acting_user: User) -> Payment:
    return payment_settle(
        payment=payment,
        outcome=outcome,
        event_id=f"test-{uuid.uuid4()}",
        provider=PaymentProvider.TEST,
        event_type=f"test.payment_{outcome}",
        payload={"outcome": outcome, "by": str(acting_user.pk)},
    )


def _check_order_payable(order: Order, *, providers: tuple[str, ...], how: str) -> Payment:
    """The payment of a pending, unpaid ``order`` paid by one of ``providers``; 409
    ORDER_ALREADY_PAID once paid, 409 ORDER_NOT_PAYABLE otherwise."""
    order = Order.objects.select_related("payment").get(pk=order.pk)
    payment = order.payment
    if order.payment_status in PAID_STATES or (
        payment is not None and payment.status in PAID_STATES
    ):
        raise ConflictError(
            "ORDER_ALREADY_PAID",
            f"The order is already {order.get_payment_status_display().lower()} "
            f"(status {order.status}).",
            details={"status": order.status, "payment_status": order.payment_status},
        )
    if payment is None or payment.provider not in providers:
        raise ConflictError(
            "ORDER_NOT_PAYABLE",
            f"This order is not paid {how}.",
            details={"provider": payment.provider if payment else None},
        )
    if order.status != OrderStatus.PENDING:
        raise ConflictError(
            "ORDER_NOT_PAYABLE",
            f"The order is {order.status}; only a pending order is paid.",
            details={"status": order.status},
        )
    return payment


def order_pay_in_test_mode(*, order: Order, outcome: str, acting_user: User) -> Payment:
    """The test-mode provider's answer for the whole payment of ``order``, as its
    webhook would give it (its buyer only; no Stripe keys set): 409
    ORDER_ALREADY_PAID once paid, 409 ORDER_NOT_PAYABLE for an order no longer pending
    or not paid online."""
    _check_test_mode_payer(buyer_id=order.user_id, outcome=outcome, acting_user=acting_user)
    payment = _check_order_payable(
        order, providers=(PaymentProvider.TEST,), how="online in test mode"
    )
    return _pay_in_test_mode(payment=payment, outcome=outcome, acting_user=acting_user)


def order_payment_start(*, order: Order, acting_user: User) -> dict[str, Any]:
    """Start paying a pending order online again, as ``payment_begin`` does at checkout
    (its buyer only): with Stripe, the payment's PaymentIntent, created now when the
    provider did not answer at checkout (the same intent on every call); in test mode,
    the pay page. 409 ORDER_ALREADY_PAID once paid, ORDER_NOT_PAYABLE for an order no
    longer pending or paid in cash; 502 PAYMENT_PROVIDER_ERROR while Stripe is down."""
    if not permissions.is_signed_in(acting_user) or order.user_id != acting_user.pk:
        raise permission_denied("Only the buyer pays for an order.")
    payment = _check_order_payable(
        order, providers=(PaymentProvider.STRIPE, PaymentProvider.TEST), how="online"
    )
    return payment_begin(payment=payment)


def payment_pay_in_test_mode(*, payment: Payment, outcome: str, acting_user: User) -> Payment:
    """``order_pay_in_test_mode`` for the test-mode pay page, which names the payment
    (all its orders at once): the same answers, for the payment's pending orders."""
    _check_test_mode_payer(buyer_id=payment.user_id, outcome=outcome, acting_user=acting_user)
    payment = Payment.objects.get(pk=payment.pk)
    if payment.status in PAID_STATES:
        raise ConflictError(
            "ORDER_ALREADY_PAID",
            f"The orders are already {payment.get_status_display().lower()}.",
            details={"payment_status": payment.status},
        )
    if payment.provider != PaymentProvider.TEST:
        raise ConflictError(
            "ORDER_NOT_PAYABLE",
            "These orders are not paid online in test mode.",
            details={"provider": payment.provider},
        )
    if not payment.orders.filter(status=OrderStatus.PENDING).exists():
        raise ConflictError(
            "ORDER_NOT_PAYABLE",
            "None of these orders is pending any more; only pending orders are paid.",
            details={},
        )
    return _pay_in_test_mode(payment=payment, outcome=outcome, acting_user=acting_user)


# --- Stripe events ---------------------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(_text(value)))
    except ValueError:
        return None


def _payment_of_intent(intent_id: str, metadata: dict[str, Any]) -> Payment | None:
    """The Stripe payment an intent belongs to: by its id, or (when its webhook
    outruns the write of that id) by the payment id in its metadata."""
    if intent_id:
        payment = Payment.objects.filter(
            provider=PaymentProvider.STRIPE, provider_reference=intent_id
        ).first()
        if payment is not None:
            return payment
    payment_id = _as_uuid(metadata.get("payment_id"))
    if payment_id is None:
        return None
    payment = Payment.objects.filter(pk=payment_id, provider=PaymentProvider.STRIPE).first()
    if payment is None or payment.provider_reference not in (None, "", intent_id):
        return None
    if intent_id and not payment.provider_reference:
        Payment.objects.filter(pk=payment.pk, provider_reference__isnull=True).update(
            provider_reference=intent_id
        )
    return payment


def _minor_amount(value: Any, currency: str) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int) or not currency:
        return None
    return stripe_gateway.from_minor(value, currency)


def stripe_event_handle(*, event: dict[str, Any]) -> str:
    """Apply one verified Stripe event: "processed", "duplicate" (seen before) or
    "ignored" (a type MakrX does not act on, or no payment of ours)."""
    event_id = _text(event.get("id"))
    event_type = _text(event.get("type"))
    obj = _mapping(_mapping(event.get("data")).get("object"))
    if event_type in (STRIPE_INTENT_SUCCEEDED, STRIPE_INTENT_FAILED):
        payment = _payment_of_intent(_text(obj.get("id")), _mapping(obj.get("metadata")))
        if payment is None:
            logger.warning("Stripe event %s names no payment of ours; ignored.", event_id)
            return "ignored"
        currency = _text(obj.get("currency"))
        succeeded = event_type == STRIPE_INTENT_SUCCEEDED
        received = obj.get("amount_received", obj.get("amount"))
        error = _mapping(obj.get("last_payment_error"))
        _payment, changed = _settle(
            payment=payment,
            outcome=SUCCEEDED if succeeded else FAILED,
            event_id=event_id,
            provider=PaymentProvider.STRIPE,
            payload=event,
            event_type=event_type,
            amount=_minor_amount(received, currency) if succeeded else None,
            currency=currency or None,
            failure_message=_text(error.get("message")),
        )
        return "processed" if changed else "duplicate"
    if event_type == STRIPE_CHARGE_REFUNDED:
        payment = _payment_of_intent(_text(obj.get("payment_intent")), {})
        if payment is None:
            logger.warning("Stripe event %s names no payment of ours; ignored.", event_id)
            return "ignored"
        stored = _sync_refunds(payment=payment, charge=obj, event_id=event_id, payload=event)
        return "processed" if stored else "duplicate"
    if event_type in STRIPE_REFUND_UPDATED:
        refund_id = _as_uuid(_mapping(obj.get("metadata")).get("refund_id"))
        refund = Refund.objects.filter(pk=refund_id).first() if refund_id else None
        if refund is None:
            return "ignored"
        stored = _refund_update_from_event(
            refund=refund, provider_refund=obj, event_id=event_id, payload=event
        )
        return "processed" if stored else "duplicate"
    return "ignored"


# --- refunds ---------------------------------------------------------------------------


def _refund_amount(amount: Any) -> Decimal | None:
    if amount is None:
        return None
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or value != value.quantize(CENTS):
        raise ApplicationError(
            "VALIDATION_ERROR",
            "The request is not valid; see details.",
            details={"amount": ["An amount above zero, in cents at most."]},
        )
    return value


def _exceeds(refundable: Decimal) -> ApplicationError:
    return ApplicationError(
        "REFUND_EXCEEDS_PAID",
        f"At most {refundable} can be refunded on this order.",
        details={"refundable": str(refundable)},
    )


def _space_of(order: Order) -> Any:
    return order.market.makerspace_id if order.market is not None else None


def _succeeded_total(**lookup: Any) -> Decimal:
    total = Refund.objects.filter(status=Refund.Status.SUCCEEDED, **lookup).aggregate(
        total=Sum("amount")
    )["total"]
    return total or ZERO


def _refund_state(done: Decimal, whole: Decimal) -> str:
    if done <= 0:
        return PaymentStatus.PAID
    return PaymentStatus.REFUNDED if done >= whole else PaymentStatus.PARTIALLY_REFUNDED


def _restate(payment: Payment, order: Order) -> None:
    """Payment and order states from their succeeded refunds (both locked)."""
    payment.status = _refund_state(_succeeded_total(payment=payment), payment.amount)
    payment.save(update_fields=["status", "amount_refunded", "updated_at"])
    order.payment_status = _refund_state(_succeeded_total(order=order), order.total_amount)
    if order.payment_status == PaymentStatus.REFUNDED and order_services.may_move(
        order, OrderStatus.REFUNDED, by=order_services.BY_REFUND
    ):
        order.status = OrderStatus.REFUNDED
    order.save(update_fields=["status", "payment_status", "amount_refunded", "updated_at"])


def _refund_close(
    *,
    payment: Payment,
    order: Order,
    refund: Refund,
    succeeded: bool,
    provider_reference: str | None = None,
) -> None:
    """Mark a pending refund succeeded, or failed with its reservation given back; the
    payment, the order and the refund are locked."""
    if succeeded:
        refund.status = Refund.Status.SUCCEEDED
        refund.provider_reference = provider_reference or refund.provider_reference
        refund.save(update_fields=["status", "provider_reference", "updated_at"])
        _restate(payment, order)
        if order.market_id is not None and order.paid_at is not None:
            Market.objects.filter(pk=order.market_id).update(
                total_revenue=F("total_revenue") - refund.amount
            )
        refund_id = str(refund.pk)
        transaction.on_commit(lambda: order_refunded_email.delay(refund_id))
        return
    refund.status = Refund.Status.FAILED
    refund.provider_reference = provider_reference or refund.provider_reference
    refund.save(update_fields=["status", "provider_reference", "updated_at"])
    payment.amount_refunded -= refund.amount
    order.amount_refunded -= refund.amount
    payment.save(update_fields=["amount_refunded", "updated_at"])
    order.save(update_fields=["amount_refunded", "updated_at"])


def _lock_refund(refund_id: Any) -> tuple[Payment, Order, Refund]:
    """Payment, order, refund locked in the order every writer uses."""
    refund = Refund.objects.only("payment_id", "order_id").get(pk=refund_id)
    payment = _lock_payment(refund.payment_id)
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("market")
        .get(pk=refund.order_id)
    )
    return payment, order, Refund.objects.select_for_update().get(pk=refund_id)


def _refund_finish(
    refund_id: Any, *, succeeded: bool, provider_reference: str | None = None
) -> Refund:
    with transaction.atomic():
        payment, order, refund = _lock_refund(refund_id)
        if refund.status == Refund.Status.PENDING:
            _refund_close(
                payment=payment,
                order=order,
                refund=refund,
                succeeded=succeeded,
                provider_reference=provider_reference,
            )
    return refund


def _refund_reserve(
    *, order: Order, amount: Decimal | None, reason: str, acting_user: User | None
) -> Refund:
    with transaction.atomic():
        if order.payment_id is None:
            raise ConflictError("ORDER_NOT_PAID", "The order has no payment to refund.", details={})
        payment = _lock_payment(order.payment_id)
        order = (
            Order.objects.select_for_update(of=("self",)).select_related("market").get(pk=order.pk)
        )
        if order.payment_status not in PAID_STATES or payment.status not in PAID_STATES:
            raise ConflictError(
                "ORDER_NOT_PAID",
                f"The order is {order.get_payment_status_display().lower()}: "
                "only what was paid is refunded.",
                details={"payment_status": order.payment_status},
            )
        refundable = min(
            order.total_amount - order.amount_refunded,
            payment.amount - payment.amount_refunded,
        )
        amount = refundable if amount is None else amount
        if amount <= 0 or amount > refundable:
            raise _exceeds(max(refundable, ZERO))
        refund = Refund.objects.create(
            payment=payment,
            order=order,
            amount=amount,
            reason=reason,
            created_by=acting_user if permissions.is_signed_in(acting_user) else None,
        )
        payment.amount_refunded += amount
        order.amount_refunded += amount
        payment.save(update_fields=["amount_refunded", "updated_at"])
        order.save(update_fields=["amount_refunded", "updated_at"])
        audit_record(
            actor=acting_user,
            instance=refund,
            action=AuditLogEntry.Action.CREATE,
            makerspace_id=_space_of(order),
            changes={"order": order.order_number, "amount": amount, "reason": reason},
        )
    return refund


def refund_create(
    *, order: Order, amount: Decimal | None = None, reason: str = "", acting_user: User
) -> Refund:
    """Give money back on a paid order: ``amount`` (None: all that is left), never more
    than the order's total or the payment's amount minus what is refunded already
    (400 REFUND_EXCEEDS_PAID with ``details.refundable``). The market's owner or staff
    refund its orders; a super admin any order (and the central catalogue's).

    The amount is reserved under the payment's lock, then the provider is asked
    outside it (Stripe: a Refund with the refund's id as idempotency key; test mode
    and cash: at once), then the refund is closed. When Stripe refuses, the
    reservation is given back and 502 PAYMENT_PROVIDER_ERROR answers; when its answer
    is unknown or still pending, the refund stays pending (and reserved) until its
    event says how it ended.
    """
    if not permissions.may_manage_products(acting_user, order.market_id):
        raise permission_denied(
            "Only a super admin refunds central orders."
            if order.market_id is None
            else "Only the market's owner and staff refund its orders."
        )
    value = _refund_amount(amount)
    refund = _refund_reserve(
        order=order, amount=value, reason=str(reason or "")[:300], acting_user=acting_user
    )
    payment = refund.payment
    if payment.provider != PaymentProvider.STRIPE:
        return _refund_finish(refund.pk, succeeded=True)
    try:
        answer = stripe_gateway.create_refund(
            payment_intent=payment.provider_reference or "",
            amount=refund.amount,
            currency=payment.currency,
            refund_id=str(refund.pk),
            order_id=str(refund.order_id),
        )
    except stripe_gateway.ProviderError as error:
        if not error.definite:
            logger.error("Refund %s: Stripe's answer is unknown; left pending.", refund.pk)
            return refund
        _refund_finish(refund.pk, succeeded=False)
        raise ApplicationError(
            "PAYMENT_PROVIDER_ERROR",
            f"Stripe refused the refund: {error.message}",
            details={"refund": str(refund.pk)},
            status_code=502,
        ) from None
    if answer.status == "succeeded":
        return _refund_finish(refund.pk, succeeded=True, provider_reference=answer.id)
    if answer.status in ("failed", "canceled"):
        _refund_finish(refund.pk, succeeded=False, provider_reference=answer.id)
        raise ApplicationError(
            "PAYMENT_PROVIDER_ERROR",
            f"Stripe did not refund ({answer.status}).",
            details={"refund": str(refund.pk)},
            status_code=502,
        )
    Refund.objects.filter(pk=refund.pk, provider_reference__isnull=True).update(
        provider_reference=answer.id
    )
    refund.provider_reference = answer.id
    return refund


def _refund_update_from_event(
    *, refund: Refund, provider_refund: dict[str, Any], event_id: str, payload: Any
) -> bool:
    status = _text(provider_refund.get("status"))
    with transaction.atomic():
        if not _record_event(
            provider=PaymentProvider.STRIPE,
            event_id=event_id,
            event_type=_text(payload.get("type")),
            payment_id=refund.payment_id,
            payload=payload,
        ):
            return False
        payment, order, refund = _lock_refund(refund.pk)
        if refund.status == Refund.Status.PENDING and status in (
            "succeeded",
            "failed",
            "canceled",
        ):
            _refund_close(
                payment=payment,
                order=order,
                refund=refund,
                succeeded=status == "succeeded",
                provider_reference=_text(provider_refund.get("id")) or None,
            )
    return True


def _sync_refunds(*, payment: Payment, charge: dict[str, Any], event_id: str, payload: Any) -> bool:
    """A ``charge.refunded`` event: close the pending refunds it names, and book what
    was refunded at Stripe itself (its dashboard) on the payment's orders, never
    beyond what was paid. False when the event was seen before."""
    with transaction.atomic():
        if not _record_event(
            provider=PaymentProvider.STRIPE,
            event_id=event_id,
            event_type=STRIPE_CHARGE_REFUNDED,
            payment_id=payment.pk,
            payload=payload,
        ):
            return False
        payment = _lock_payment(payment.pk)
        if payment.status not in PAID_STATES:
            # Its "succeeded" has not arrived yet: answering 409 leaves the event
            # unstored, and Stripe sends it again later.
            raise ConflictError(
                "PAYMENT_NOT_SETTLED",
                "The payment is not settled yet; send the refund event again later.",
            )
        orders = list(
            Order.objects.select_for_update(of=("self",))
            .select_related("market")
            .filter(payment=payment)
            .order_by("pk")
        )
        by_id = {str(order.pk): order for order in orders}
        listed = _mapping(charge.get("refunds")).get("data")
        for provider_refund in listed if isinstance(listed, list) else []:
            provider_refund = _mapping(provider_refund)
            refund_id = _as_uuid(_mapping(provider_refund.get("metadata")).get("refund_id"))
            status = _text(provider_refund.get("status"))
            if refund_id is None or status not in ("succeeded", "failed", "canceled"):
                continue
            refund = (
                Refund.objects.select_for_update()
                .filter(pk=refund_id, payment=payment, status=Refund.Status.PENDING)
                .first()
            )
            if refund is not None and str(refund.order_id) in by_id:
                _refund_close(
                    payment=payment,
                    order=by_id[str(refund.order_id)],
                    refund=refund,
                    succeeded=status == "succeeded",
                    provider_reference=_text(provider_refund.get("id")) or None,
                )
        currency = _text(charge.get("currency")) or payment.currency
        refunded_there = _minor_amount(charge.get("amount_refunded"), currency)
        if refunded_there is None:
            return True
        outside = min(
            refunded_there - payment.amount_refunded, payment.amount - payment.amount_refunded
        )
        for order in orders:
            if outside <= 0:
                break
            share = min(outside, order.total_amount - order.amount_refunded)
            if share <= 0:
                continue
            refund = Refund.objects.create(
                payment=payment, order=order, amount=share, reason=OUTSIDE_REFUND_REASON
            )
            payment.amount_refunded += share
            order.amount_refunded += share
            _refund_close(payment=payment, order=order, refund=refund, succeeded=True)
            outside -= share
    return True


def order_cash_received(*, order: Order, acting_user: User) -> Order:
    """The buyer paid a cash-on-pickup order at the market's counter: its owner or
    staff (a super admin for any) record it, and the order is paid as by any provider
    (figures, confirmation email). Each cash order has its own payment, so one market
    recording its cash never marks another market's order paid."""
    if not permissions.may_manage_products(acting_user, order.market_id):
        raise permission_denied("Only the market's owner and staff record cash it received.")
    payment = order.payment
    if payment is None or payment.provider != PaymentProvider.CASH:
        raise ConflictError(
            "ORDER_NOT_CASH",
            "This order is paid online, not in cash at pickup.",
            details={"current": order.status},
        )
    if payment.status in PAID_STATES or order.status != OrderStatus.PENDING:
        raise ConflictError(
            "ORDER_STATE_CONFLICT",
            f"The order is {order.status}; only a pending order is paid in cash.",
            details={"current": order.status, "requested": OrderStatus.PAID},
        )
    payment_settle(
        payment=payment,
        outcome=SUCCEEDED,
        event_id=f"cash-{payment.pk}",
        provider=PaymentProvider.CASH,
        event_type="cash.received",
    )
    order.refresh_from_db()
    return order
