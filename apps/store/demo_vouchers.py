"""Demo vouchers: a store-wide welcome discount, a launch offer with usage limits, and
Kyiv Fab Lab shop's own fixed discount.

Written through ``services.vouchers_admin`` by the demo store's super admin and found
by code before each is created, so loading again changes nothing. Needs the demo store
(``apps.store.demo``) loaded first; without it, nothing is written.
"""

from decimal import Decimal
from typing import Any

from apps.accounts.models import User
from apps.store.models import Market, Voucher
from apps.store.services.vouchers_admin import voucher_create

SUPER_ADMIN_EMAIL = "admin@makrx.local"
KYIV_MARKET_SLUG = "kyiv-fab-lab-shop"

# (code, market slug or None, kind, value, other fields)
VOUCHERS: list[tuple[str, str | None, str, Decimal, dict[str, Any]]] = [
    ("WELCOME10", None, "percent", Decimal("10.00"), {}),
    (
        "LAUNCH20",
        None,
        "percent",
        Decimal("20.00"),
        {"max_uses": 100, "max_uses_per_user": 1},
    ),
    ("KYIV5", KYIV_MARKET_SLUG, "fixed", Decimal("5.00"), {"minimum_order": Decimal("20.00")}),
]


def load_vouchers(stdout: Any = None) -> list[Voucher]:
    """The demo vouchers, made once; answers all of them (found or made)."""
    admin = User.objects.filter(email=SUPER_ADMIN_EMAIL, is_superuser=True).first()
    if admin is None:
        if stdout is not None:
            stdout.write("  Vouchers: skipped (load the demo store first).")
        return []
    markets = {market.slug: market for market in Market.objects.filter(slug=KYIV_MARKET_SLUG)}
    vouchers: list[Voucher] = []
    made = 0
    for code, market_slug, kind, value, fields in VOUCHERS:
        market = markets.get(market_slug) if market_slug else None
        if market_slug and market is None:
            continue
        found = Voucher.objects.filter(code__iexact=code).first()
        if found is None:
            found = voucher_create(
                acting_user=admin, market=market, code=code, kind=kind, value=value, **fields
            )
            made += 1
        vouchers.append(found)
    if stdout is not None:
        codes = ", ".join(voucher.code for voucher in vouchers)
        stdout.write(f"  Vouchers: {codes} ({made} new).")
    return vouchers
