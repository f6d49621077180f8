"""Rate limits, kept in the default cache so they hold across processes (Redis in production).

Rates are looked up on every request rather than once at import, so a change of
settings (or a test's override) takes effect at once.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _LiveRateMixin:
    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(_LiveRateMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_LiveRateMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """Per-view scopes (``throttle_scope``), rates from DEFAULT_THROTTLE_RATES."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
