"""Rate limits, kept in the default cache so they hold across processes (Redis in production).

Rates are looked up on every request rather than once at import, so a change of
settings (or a test's override) takes effect at once. Anonymous requests are
counted per client address as ``apps.core.net.client_address`` finds it, never
per whatever ``X-Forwarded-For`` a client sends.
"""

from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from apps.core.net import client_address


def _live_rate(scope: str | None) -> str | None:
    rates = api_settings.DEFAULT_THROTTLE_RATES
    rate = rates.get(scope) if scope else None
    return str(rate) if rate is not None else None


class _ClientAddressIdent:
    """DRF's own ``get_ident`` believes any ``X-Forwarded-For`` (NUM_PROXIES unset), so a
    client could pick a fresh address, and a fresh allowance, per request."""

    def get_ident(self, request: Request) -> str:
        return client_address(request)


class AnonRateThrottle(_ClientAddressIdent, throttling.AnonRateThrottle):
    def get_rate(self) -> str | None:
        return _live_rate(self.scope)


class UserRateThrottle(_ClientAddressIdent, throttling.UserRateThrottle):
    """Per user id when signed in, per client address otherwise."""

    def get_rate(self) -> str | None:
        return _live_rate(self.scope)


class ScopedRateThrottle(_ClientAddressIdent, throttling.ScopedRateThrottle):
    """Per-view scopes (``throttle_scope``), rates from DEFAULT_THROTTLE_RATES."""

    def get_rate(self) -> str | None:
        return _live_rate(self.scope)


def scope_limit(scope: str) -> tuple[int, int] | None:
    """``(requests, seconds)`` of a configured scope, for limits outside DRF views (pages)."""
    rate = _live_rate(scope)
    if rate is None:
        return None
    count, seconds = throttling.SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
    return (count, seconds) if count is not None and seconds is not None else None
