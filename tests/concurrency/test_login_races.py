"""Races on sign-in limits: a burst of parallel wrong passwords gets exactly the limit's
number of password checks, because each attempt is counted (Redis INCR) before its
password is checked; the control case shows what a read-then-count check lets through."""

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.concurrency.helpers import run_together
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

BURST = 30


@pytest.fixture
def password_checks() -> Iterator[Counter]:
    """How many wrong passwords reached Django's password check, per email."""
    checks: Counter = Counter()
    lock = threading.Lock()

    def count(sender, credentials, **kwargs) -> None:
        with lock:
            checks[credentials.get("username")] += 1

    user_login_failed.connect(count, dispatch_uid="test-login-races")
    yield checks
    user_login_failed.disconnect(dispatch_uid="test-login-races")


def wrong_sign_in(email: str, address: str) -> int:
    response = APIClient().post(
        "/api/v1/users/login", {"email": email, "password": "wrong-guess"}, REMOTE_ADDR=address
    )
    if response.status_code == 429:
        assert response.json()["error"]["code"] == "RATE_LIMITED"
        assert int(response["Retry-After"]) >= 1
    return response.status_code


def test_a_burst_on_one_account_from_one_address_gets_five_checks(password_checks) -> None:
    member = UserFactory.create()

    statuses = Counter(run_together(BURST, lambda _i: wrong_sign_in(member.email, "203.0.113.66")))

    assert statuses == {401: 5, 429: BURST - 5}
    assert password_checks == {member.email: 5}


def test_a_burst_from_one_address_on_many_accounts_gets_twenty_checks(password_checks) -> None:
    members = UserFactory.create_batch(BURST)

    statuses = Counter(
        run_together(BURST, lambda i: wrong_sign_in(members[i].email, "203.0.113.66"))
    )

    assert statuses == {401: 20, 429: BURST - 20}
    assert sum(password_checks.values()) == 20


def test_a_burst_on_one_account_from_many_addresses_stops_at_the_account_limit(
    password_checks, settings
) -> None:
    settings.LOGIN_FAILURE_LIMIT_ACCOUNT = 7
    member = UserFactory.create()

    statuses = Counter(
        run_together(BURST, lambda i: wrong_sign_in(member.email, f"10.20.0.{i + 1}"))
    )

    assert statuses == {401: 7, 429: BURST - 7}
    assert password_checks == {member.email: 7}


def naive_sign_in(email: str, all_have_read: threading.Barrier) -> bool:
    """Read the failure count, check the password, then count the failure: the pattern
    the limits exist to avoid. True when the password was checked."""
    key = "naive-login-failures"
    failures = cache.get(key, 0)
    all_have_read.wait(timeout=30)
    if failures >= 5:
        return False
    if authenticate(username=email, password="wrong-guess") is None:
        cache.add(key, 0, timeout=900)
        cache.incr(key)
    return True


def test_control_reading_before_counting_lets_every_racer_check_a_password(
    password_checks,
) -> None:
    member: User = UserFactory.create()
    all_have_read = threading.Barrier(BURST)

    checked = run_together(BURST, lambda _i: naive_sign_in(member.email, all_have_read))

    assert checked.count(True) == BURST  # thirty guesses against a limit of five
    assert password_checks == {member.email: BURST}
