"""Cancelling an order, with its money given back when it was paid.

This sits above both ``orders`` and ``payments``: the payments module calls into the
orders module (a payment that arrives after its order was released takes the stock
again), so the orders module cannot call a refund itself without an import cycle.
The API, the admin and the pages cancel through here.
"""

from apps.accounts.models import User
from apps.store.models import Order
from apps.store.services import orders, payments

DEFAULT_REASON = "Order cancelled"


def order_cancel_and_refund(*, order: Order, acting_user: User, reason: str = "") -> Order:
    """Cancel ``order`` (``orders.order_cancel``: its rules, its stock given back), then
    refund whatever the buyer paid for it, in full.

    The refund runs after the cancellation has committed, outside any lock, since it
    may call the payment provider. Should the provider refuse, the order stays
    cancelled with the money still owed (``orders.refund_owed``) and the error comes
    back; cancelling it again, or the refund action, gives the money back then.
    """
    current = Order.objects.get(pk=order.pk)
    if not orders.refund_owed(current):
        current = orders.order_cancel(order=current, acting_user=acting_user, reason=reason)
    if orders.refund_owed(current):
        payments.refund_create(
            order=current,
            amount=None,
            reason=reason or DEFAULT_REASON,
            acting_user=acting_user,
        )
        current.refresh_from_db()
    return current
