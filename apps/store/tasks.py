"""The store's jobs. They act as the system actor and can run twice, or twice at
once, safely: each order is released in its own transaction, on its locked row, at
most once; a refund is reserved on the locked payment before the provider is asked.

The worker discovers tasks through this module, so it also imports the modules that
hold the store's email tasks. Services never import this module (it imports them):
they enqueue the tasks defined here by name.
"""

from celery import shared_task

from apps.core.exceptions import ApplicationError
from apps.store import emails, fabrication_emails  # noqa: F401  (registers their tasks)


@shared_task
def release_unpaid_orders() -> int:
    """Every minute: orders left unpaid past their ``expires_at`` give their stock back."""
    from apps.store.services import orders

    released = 0
    for order_id in orders.expired_unpaid_order_ids():
        if orders.order_release_unpaid(order_id=order_id):
            released += 1
    return released


@shared_task(
    name="apps.store.tasks.refund_unkept_order",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def refund_unkept_order(order_id: str) -> bool:
    """Refund in full an order that was paid after its release, when its stock could
    not be taken again. Running twice refunds once: the second run finds nothing left
    to refund."""
    from apps.accounts.system import system_actor
    from apps.store.models import Order
    from apps.store.services.payments import UNKEPT_ORDER_REFUND_REASON, refund_create

    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return False
    try:
        refund_create(
            order=order, amount=None, reason=UNKEPT_ORDER_REFUND_REASON, acting_user=system_actor()
        )
    except ApplicationError as error:
        if error.code in ("REFUND_EXCEEDS_PAID", "ORDER_NOT_PAID"):
            return False
        raise
    return True
