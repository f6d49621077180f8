"""Login failure limits, per account and per client address.

Only failures count, so a member who types the right password is never slowed
down by someone else guessing theirs from another address; the per-account limit
still stops a spread-out guessing attack on one account.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:40]
    return f"login-failures:{kind}:{digest}"


def login_retry_after(*, email: str, ip: str) -> int | None:
    """Seconds to wait when this account or address has failed too often, else None."""
    counts = cache.get_many([_key("account", email), _key("ip", ip)])
    account_failures = counts.get(_key("account", email), 0)
    ip_failures = counts.get(_key("ip", ip), 0)
    if (
        account_failures >= settings.LOGIN_FAILURE_LIMIT_ACCOUNT
        or ip_failures >= settings.LOGIN_FAILURE_LIMIT_IP
    ):
        return settings.LOGIN_FAILURE_WINDOW_SECONDS
    return None


def record_login_failure(*, email: str, ip: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key in (_key("account", email), _key("ip", ip)):
        # add() starts the window on the first failure; incr() is atomic in Redis.
        cache.add(key, 0, timeout=window)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=window)


def clear_login_failures(*, email: str) -> None:
    cache.delete(_key("account", email))


def page_rate_limited(*, scope: str, ip: str, limit: int, window_seconds: int) -> bool:
    """Count one use of a page form from ``ip``; True once the limit is passed.

    The pages' counterpart of the API's scoped throttles, for forms that send email
    or create accounts.
    """
    key = _key(f"page:{scope}", ip)
    cache.add(key, 0, timeout=window_seconds)
    try:
        used = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window_seconds)
        used = 1
    return used > limit
