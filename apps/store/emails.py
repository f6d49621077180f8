"""The store's emails to buyers, sent by Celery after the write that causes them has
committed (services enqueue them with ``transaction.on_commit``).

Each is written in the buyer's language: the one they ordered in (``Order.locale``),
else their account's. Each task takes an id, loads the row and sends nothing unless
the row still says what the email tells (a payment that is paid, an order that is
shipped, a refund that succeeded).

A task may run twice (a retry after a lost acknowledgement, a replayed job). Each email
is claimed once in the shared cache before it is sent (``cache.add`` is atomic on
Redis), so a second run finds the claim and sends nothing; the claim is dropped again
when sending fails, so a retry can send it. The claim outlives any retry by far
(a week); after that a rerun would send the email once more, which is harmless.
"""

from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from apps.store.models import (
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
)

CLAIM_SECONDS = 7 * 24 * 3600
PAID_STATES = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
SHIPPED_STATES = (OrderStatus.SHIPPED, OrderStatus.DELIVERED)


def _language(order: Order | None, user: Any) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    if order is not None and order.locale in supported:
        return order.locale
    return user.locale if user.locale in supported else settings.LANGUAGE_CODE


def _link(name: str, *args: Any) -> str:
    """An absolute link to a store page."""
    return settings.SITE_URL + reverse(name, args=args)


def _deliver(claim: str, *, template: str, context: dict[str, Any], to: str) -> bool:
    """Render ``template`` (subject and body) and send it, once per ``claim``."""
    subject = render_to_string(f"store/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"store/email/{template}.txt", context)
    if not cache.add(f"store:email:{claim}", "sent", timeout=CLAIM_SECONDS):
        return False
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception:
        cache.delete(f"store:email:{claim}")
        raise
    return True


def _orders_with_items() -> Prefetch:
    return Prefetch(
        "orders",
        queryset=Order.objects.select_related("market")
        .prefetch_related(
            Prefetch("items", queryset=OrderItem.objects.order_by("created_at", "name"))
        )
        .order_by("order_number"),
    )


@shared_task(
    name="apps.store.emails.order_confirmation_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def order_confirmation_email(payment_id: str) -> bool:
    """One email for a paid payment, listing each of its orders (one per market)."""
    payment = (
        Payment.objects.select_related("user")
        .prefetch_related(_orders_with_items())
        .filter(pk=payment_id, status__in=PAID_STATES)
        .first()
    )
    if payment is None:
        return False
    orders = list(payment.orders.all())
    if not orders:
        return False
    user = payment.user
    with translation.override(_language(orders[0], user)):
        context = {
            "user": user,
            "payment": payment,
            "orders": orders,
            "numbers": ", ".join(order.order_number for order in orders),
            "link": _link("store:orders"),
        }
        return _deliver(
            f"confirmation:{payment.pk}",
            template="order_confirmation",
            context=context,
            to=user.email,
        )


@shared_task(
    name="apps.store.emails.order_shipped_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def order_shipped_email(order_id: str) -> bool:
    """The order is on its way, with its tracking number when it has one."""
    order = (
        Order.objects.select_related("user", "market")
        .prefetch_related("items")
        .filter(pk=order_id, status__in=SHIPPED_STATES)
        .first()
    )
    if order is None:
        return False
    with translation.override(_language(order, order.user)):
        context = {
            "user": order.user,
            "order": order,
            "link": _link("store:order", order.order_number),
        }
        return _deliver(
            f"shipped:{order.pk}", template="order_shipped", context=context, to=order.user.email
        )


@shared_task(
    name="apps.store.emails.order_refunded_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def order_refunded_email(refund_id: str) -> bool:
    """Money given back on an order, once the provider has confirmed it."""
    refund = (
        Refund.objects.select_related("order__user", "order__market", "payment")
        .filter(pk=refund_id, status=Refund.Status.SUCCEEDED)
        .first()
    )
    if refund is None:
        return False
    order = refund.order
    with translation.override(_language(order, order.user)):
        context = {
            "user": order.user,
            "order": order,
            "refund": refund,
            "fully_refunded": order.amount_refunded >= order.total_amount,
            "link": _link("store:order", order.order_number),
        }
        return _deliver(
            f"refund:{refund.pk}", template="order_refunded", context=context, to=order.user.email
        )
