"""Rate limits, kept in the default cache so they hold across processes (Redis in production).

Rates are looked up on every request rather than once at import, so a change of
settings (or a test's override) takes effect at once. Anonymous requests are
counted per client address as ``apps.core.net.client_address`` finds it, never
per whatever ``X-Forwarded-For`` a client sends.

Each check is one round trip to Redis: a counter per window of the rate's duration
(``60/min`` counts per clock minute), INCR and its expiry in one pipeline. DRF's own
throttles keep every request's timestamp in one list that they read, unpickle,
rewrite and store again on each request: two round trips and a list as long as the
rate allows. The price of the fixed window is that a client may spend one window's
allowance at its very end and the next one's at the start; these limits guard
against abuse, for which that is close enough, and ``Retry-After`` is exact: the
seconds left in the window.
"""

import math
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from apps.core.net import client_address


def count_in_window(key: str, seconds: int) -> int:
    """Add one to the counter ``key`` (which names its window) and return its value.

    The counter lives a little longer than its window, never to be counted again once
    the window has passed.
    """
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # INCR and EXPIRE in one pipeline on Django's own client (its pool, its key
        # prefix); RedisCache offers no public pipeline.
        client = backend._cache.get_client(write=True)  # type: ignore[attr-defined]
        name = backend.make_and_validate_key(key)
        pipe = client.pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, seconds + 1)
        used, _expiry = pipe.execute()
        return int(used)
    backend.add(key, 0, timeout=seconds + 1)
    try:
        return int(backend.incr(key))
    except ValueError:  # expired between add and incr
        backend.set(key, 1, timeout=seconds + 1)
        return 1


class _FixedWindowCounter(throttling.SimpleRateThrottle):
    """``allow_request`` and ``wait`` of a counter per window (module docstring).

    Listed after DRF's class, so that ScopedRateThrottle's ``allow_request`` first
    finds the view's scope and rate, then calls this one.

    Refused requests count too: they change nothing of when the window ends.
    """

    # Set by SimpleRateThrottle.__init__ from the rate (the stubs leave them out).
    num_requests: int | None
    duration: int | None
    now: float
    _window_ends: float

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        assert self.num_requests is not None
        assert self.duration is not None
        self.now = self.timer()
        window = int(self.now // self.duration)
        self._window_ends = (window + 1) * self.duration
        return count_in_window(f"{self.key}:{window}", self.duration) <= self.num_requests

    def wait(self) -> float | None:
        """Seconds until the window ends and a new allowance starts."""
        return max(1.0, math.ceil(self._window_ends - self.now))


def _live_rate(scope: str | None) -> str | None:
    rates = api_settings.DEFAULT_THROTTLE_RATES
    rate = rates.get(scope) if scope else None
    return str(rate) if rate is not None else None


class _ClientAddressIdent:
    """DRF's own ``get_ident`` believes any ``X-Forwarded-For`` (NUM_PROXIES unset), so a
    client could pick a fresh address, and a fresh allowance, per request."""

    def get_ident(self, request: Request) -> str:
        return client_address(request)


class AnonRateThrottle(_ClientAddressIdent, throttling.AnonRateThrottle, _FixedWindowCounter):
    def get_rate(self) -> str | None:
        return _live_rate(self.scope)


class UserRateThrottle(_ClientAddressIdent, throttling.UserRateThrottle, _FixedWindowCounter):
    """Per user id when signed in, per client address otherwise."""

    def get_rate(self) -> str | None:
        return _live_rate(self.scope)


class ScopedRateThrottle(_ClientAddressIdent, throttling.ScopedRateThrottle, _FixedWindowCounter):
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
