"""What every page's header shows of the store: how many items are in the cart."""

from collections.abc import Callable

from django.db.models import Q, Sum
from django.http import HttpRequest

from apps.store.models import CartItem
from apps.store.services.cart import SESSION_CART_KEY


def cart(request: HttpRequest) -> dict[str, object]:
    return {"cart_item_count": _cart_item_count(request)}


def _cart_item_count(request: HttpRequest) -> Callable[[], int]:
    """A callable, so a page that renders no header asks nothing.

    The count is shown on the store's own pages, where people shop; the other pages
    link to the cart without it and keep their query budget. There, a visitor without
    a cart costs no query, anyone else one, which counts a visitor cart not yet joined
    to the user's (it joins on the next visit to the cart) together with the user's.
    """

    def count() -> int:
        match = getattr(request, "resolver_match", None)
        if match is None or match.namespace != "store":
            return 0
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        token = session.get(SESSION_CART_KEY) if session is not None else None
        carts = Q()
        if user is not None and user.is_authenticated:
            carts |= Q(cart__user_id=user.pk)
        if token:
            carts |= Q(cart__session_key=str(token), cart__user__isnull=True)
        if not carts:
            return 0
        total = CartItem.objects.filter(carts).aggregate(total=Sum("quantity"))["total"]
        return int(total or 0)

    return count
