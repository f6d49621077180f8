"""Sign-in limits that stop password guessing without handing anyone a way to lock
a member out.

Failed sign-ins are counted three ways, each against its own limit:

- per account and client address, ``LOGIN_FAILURE_LIMIT_ACCOUNT_ADDRESS`` (5): one
  client guessing one account. Someone who fails five times against a member's
  account blocks only themselves: the member signing in from another address is
  not affected.
- per client address, ``LOGIN_FAILURE_LIMIT_IP`` (20): one client trying a few
  passwords on many accounts.
- per account, ``LOGIN_FAILURE_LIMIT_ACCOUNT`` (100): guessing spread over many
  addresses. This one, once passed, refuses every address for that account until
  its window ends; it is set far above the per-address limits so that only an
  attack from at least twenty addresses reaches it, and below that the member
  is never slowed down.

Every counter's window is ``LOGIN_FAILURE_WINDOW_SECONDS`` (900) long and starts
with the first failure it counts; later failures do not extend it. A refused
attempt answers 429 with ``Retry-After``: the seconds left in the window of the
counter that refused it.

Each attempt is counted before its password is checked, by an atomic increment
whose returned value is compared with the limit, so parallel attempts cannot all
pass a check made before any of them was counted: a burst of wrong passwords gets
exactly the limit's number of password checks, and the rest are refused.

What is not a failure is given back:

- a refused attempt checked no password, so it counts nowhere, and hammering a
  locked account or address does not push any other counter up;
- a successful sign-in clears its own account-and-address counter and gives back
  its count on the address and account counters, so members signing in behind one
  shared address do not use up its allowance. It clears nothing else: a guesser
  who also has an account cannot wipe their address's failures by signing in to
  it, and a member signing in does not reset a spread-out attack on their account.
- a password reset (the emailed link proves the account is the member's) lifts
  every lock on that account: its account counter and its account-and-address
  counters at every address. Address counters stay.

Counters live in the default cache (Redis in production, so they hold across
processes); keys carry hashes, never an email or address in the clear.
"""

import contextlib
import hashlib
import math
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:40]
    return f"login-failures:{kind}:{digest}"


def _deadline_key(key: str) -> str:
    return f"{key}:ends"


def _generation_key(email: str) -> str:
    return _key("generation", email)


def _counters(*, email: str, ip: str) -> tuple[_Counter, _Counter, _Counter]:
    """The account-and-address, address and account counters of one attempt.

    The account-and-address key carries the account's generation, which a password
    reset renews, so one write forgets that account's counters at every address.
    """
    email = email.strip().lower()
    generation = cache.get(_generation_key(email), "")
    return (
        _Counter(
            _key("account-address", f"{generation}\n{email}\n{ip}"),
            settings.LOGIN_FAILURE_LIMIT_ACCOUNT_ADDRESS,
        ),
        _Counter(_key("ip", ip), settings.LOGIN_FAILURE_LIMIT_IP),
        _Counter(_key("account", email), settings.LOGIN_FAILURE_LIMIT_ACCOUNT),
    )


def _count(key: str, window_seconds: int) -> int:
    """Add one to a counter and return its new value, atomically (Redis INCR).

    ``add`` creates the counter with its expiry only when it does not exist, and
    INCR keeps an existing expiry, so later counts never extend the window.
    """
    for _attempt in range(2):
        cache.add(key, 0, timeout=window_seconds)
        try:
            used = cache.incr(key)
        except ValueError:
            # The window ended between the two calls; this count opens the next one.
            continue
        if used <= 1:
            # Nothing was counted before this in the window, which therefore starts
            # now. Setting the expiry again also mends a counter that INCR created
            # without one, had the old one expired between Django's check and INCR.
            cache.touch(key, timeout=window_seconds)
            cache.set(_deadline_key(key), time.time() + window_seconds, timeout=window_seconds)
        return int(used)
    cache.set(key, 1, timeout=window_seconds)
    cache.set(_deadline_key(key), time.time() + window_seconds, timeout=window_seconds)
    return 1


def _give_back(key: str) -> None:
    # A counter whose window has ended has nothing left to give back.
    with contextlib.suppress(ValueError):
        cache.decr(key)


def _seconds_left(key: str, window_seconds: int) -> int:
    ends = cache.get(_deadline_key(key))
    if ends is None:
        return window_seconds
    return max(1, min(window_seconds, math.ceil(float(ends) - time.time())))


def login_attempt_begin(*, email: str, ip: str) -> int | None:
    """Count one sign-in attempt before its password is checked.

    Returns the seconds to wait when a limit is passed (the attempt is then counted
    nowhere and its password must not be checked), else None: the attempt stands as
    a failure unless ``login_attempt_succeeded`` follows.
    """
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    counted: list[_Counter] = []
    for counter in _counters(email=email, ip=ip):
        used = _count(counter.key, window)
        counted.append(counter)
        if used > counter.limit:
            for given in counted:
                _give_back(given.key)
            return _seconds_left(counter.key, window)
    return None


def login_attempt_succeeded(*, email: str, ip: str) -> None:
    account_address, address, account = _counters(email=email, ip=ip)
    cache.delete_many([account_address.key, _deadline_key(account_address.key)])
    _give_back(address.key)
    _give_back(account.key)


def clear_login_failures(*, email: str) -> None:
    """Lift every sign-in lock on an account, at every address (after a password reset)."""
    email = email.strip().lower()
    account_key = _key("account", email)
    cache.delete_many([account_key, _deadline_key(account_key)])
    # Kept without expiry: were it to lapse, counters of an earlier generation still
    # inside their window would count again.
    cache.set(_generation_key(email), uuid.uuid4().hex, timeout=None)


def page_rate_limited(*, scope: str, ip: str, limit: int, window_seconds: int) -> bool:
    """Count one use of a page form from ``ip``; True once the limit is passed.

    The pages' counterpart of the API's scoped throttles, for forms that send email
    or create accounts.
    """
    return _count(_key(f"page:{scope}", ip), window_seconds) > limit
