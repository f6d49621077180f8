"""Order numbers people can read aloud and type: ``MX-`` and eight characters of
Crockford's base 32 (no I, L, O or U), e.g. ``MX-7K4Q-9ZT2``.

They are random rather than counted so that concurrent checkouts never wait on one
counter row, and they do not tell a buyer how many orders a market has. The unique
constraint on ``Order.order_number`` is the last word; at 32⁸ ≈ 10¹² numbers a clash
is rare enough that the caller simply draws again.
"""

import secrets

from django.db import IntegrityError, transaction

from apps.core.exceptions import ApplicationError
from apps.store.models import Order

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ORDER_NUMBER_ATTEMPTS = 5


def new_order_number() -> str:
    characters = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"MX-{characters[:4]}-{characters[4:]}"


def order_save_numbered(order: Order) -> None:
    """Save a new order under a fresh number; a number drawn twice (rare) is drawn again.
    Inside the caller's transaction: a clash rolls back only its own savepoint."""
    for _attempt in range(ORDER_NUMBER_ATTEMPTS):
        order.order_number = new_order_number()
        try:
            with transaction.atomic():
                order.save(force_insert=True)
        except IntegrityError:
            if not Order.objects.filter(order_number=order.order_number).exists():
                raise
            continue
        return
    raise ApplicationError(
        "ORDER_NUMBER_UNAVAILABLE", "No free order number was found; try again.", status_code=409
    )
