"""Who may do what in the store.

Markets are not makerspaces, so the store has its own small matrix:

- a super admin (``is_superuser``) may do everything;
- a market's owner and its staff (``MarketStaff``) manage the market's products and
  their stock;
- only the owner (or a super admin) changes the market itself and its staff;
- only a super admin verifies markets, manages categories and the central catalogue
  (products whose ``market`` is null).

Services call the ``require_*`` functions before they write; the API, the admin and
the pages call the ``may_*`` ones to answer early and to hide what a user cannot do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q

from apps.core.exceptions import permission_denied

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from apps.accounts.models import User
    from apps.store.models import Market

    Caller = User | AnonymousUser | None


def is_signed_in(user: Caller) -> bool:
    return user is not None and bool(user.is_authenticated) and bool(user.is_active)


def is_super_admin(user: Caller) -> bool:
    return is_signed_in(user) and bool(user.is_superuser)  # type: ignore[union-attr]


def managed_market_ids(user: Caller) -> frozenset[str]:
    """The ids (text) of the markets ``user`` owns or is staff of; cached on the user."""
    if not is_signed_in(user):
        return frozenset()
    cached: frozenset[str] | None = getattr(user, "_makrx_markets", None)
    if cached is None:
        from apps.store.models import Market

        owned_or_staffed = (
            Market.objects.filter(Q(owner=user) | Q(staff__user=user))
            .values_list("id", flat=True)
            .distinct()
        )
        cached = frozenset(str(pk) for pk in owned_or_staffed)
        user._makrx_markets = cached  # type: ignore[union-attr]
    return cached


def forget_markets(user: Any) -> None:
    """Drop the cached market ids after the user's markets or staff places changed."""
    if hasattr(user, "_makrx_markets"):
        delattr(user, "_makrx_markets")


def _market_id(market: Market | Any) -> str | None:
    if market is None:
        return None
    return str(getattr(market, "pk", market))


def may_manage_products(user: Caller, market: Market | Any) -> bool:
    """Products and stock of ``market`` (a Market, its id, or None for the central
    catalogue)."""
    if is_super_admin(user):
        return True
    market_id = _market_id(market)
    return market_id is not None and market_id in managed_market_ids(user)


def may_edit_market(user: Caller, market: Market) -> bool:
    """The market's own fields and its staff: the owner or a super admin."""
    if is_super_admin(user):
        return True
    return is_signed_in(user) and market.owner_id == user.pk  # type: ignore[union-attr]


def require_signed_in(user: Caller) -> None:
    if not is_signed_in(user):
        raise permission_denied("Sign in first.")


def require_super_admin(user: Caller, message: str) -> None:
    if not is_super_admin(user):
        raise permission_denied(message)


def require_manage_products(user: Caller, market: Market | Any) -> None:
    if not may_manage_products(user, market):
        if market is None:
            raise permission_denied("Only a super admin manages the central catalogue.")
        raise permission_denied("Only the market's owner and staff manage its products.")


def require_edit_market(user: Caller, market: Market) -> None:
    if not may_edit_market(user, market):
        raise permission_denied("Only the market's owner changes the market and its staff.")
