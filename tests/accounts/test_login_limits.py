"""Sign-in failure limits: per account and address, per address, per account; none of
them lets a guesser lock a member out from elsewhere (apps/accounts/throttles.py)."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"
NEW_PASSWORD = "Brand-New-Spindle-7"
PINNED_NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def sign_in(user: User, password: str, address: str):
    return APIClient().post(
        "/api/v1/users/login", {"email": user.email, "password": password}, REMOTE_ADDR=address
    )


def guess(user: User, address: str) -> int:
    return sign_in(user, "wrong-guess", address).status_code


def assert_rate_limited(response, retry_after: int | None = None) -> None:
    assert response.status_code == 429, response.content
    assert response.json() == {
        "error": {
            "code": "RATE_LIMITED",
            "message": "Too many failed sign-in attempts; try again later.",
            "details": {},
        }
    }
    seconds = int(response["Retry-After"])
    assert 1 <= seconds <= 900
    if retry_after is not None:
        assert seconds == retry_after


# --- per account and address -----------------------------------------------------


def test_a_guesser_locks_only_themselves_out_not_the_owner_at_another_address(
    user: User,
) -> None:
    guesses = [guess(user, ATTACKER) for _ in range(5)]

    attacker_with_the_right_password = sign_in(user, DEFAULT_PASSWORD, ATTACKER)
    owner = sign_in(user, DEFAULT_PASSWORD, OWNER)

    assert guesses == [401] * 5
    assert_rate_limited(attacker_with_the_right_password)
    assert owner.status_code == 200


def test_hammering_a_locked_pair_counts_nowhere_else(user: User, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT_ACCOUNT = 10
    settings.LOGIN_FAILURE_LIMIT_IP = 10
    other_member = UserFactory.create()

    guesses = [guess(user, ATTACKER) for _ in range(5)]
    refused = [guess(user, ATTACKER) for _ in range(30)]
    owner = sign_in(user, DEFAULT_PASSWORD, OWNER)
    attacker_own_account = sign_in(other_member, DEFAULT_PASSWORD, ATTACKER)

    assert guesses == [401] * 5
    assert refused == [429] * 30
    # Had the refused attempts counted, the account (and the address) would be
    # past 10 and refuse these.
    assert owner.status_code == 200
    assert attacker_own_account.status_code == 200


def test_a_successful_sign_in_clears_the_count_of_its_account_and_address(
    user: User,
) -> None:
    before = [guess(user, OWNER) for _ in range(4)]
    signed_in = sign_in(user, DEFAULT_PASSWORD, OWNER)
    after = [guess(user, OWNER) for _ in range(6)]

    assert before == [401] * 4
    assert signed_in.status_code == 200
    assert after == [401] * 5 + [429]


def test_a_successful_sign_in_does_not_wipe_the_address_count(settings) -> None:
    settings.LOGIN_FAILURE_LIMIT_IP = 6
    own_account, *victims = UserFactory.create_batch(4)

    guesses = [guess(victims[0], ATTACKER) for _ in range(5)]
    own = sign_in(own_account, DEFAULT_PASSWORD, ATTACKER)
    sixth = guess(victims[1], ATTACKER)
    seventh = sign_in(victims[2], DEFAULT_PASSWORD, ATTACKER)

    assert guesses == [401] * 5
    assert own.status_code == 200
    assert sixth == 401
    assert_rate_limited(seventh)


def test_password_reset_lifts_the_locks_of_the_account_at_every_address(
    user: User, django_capture_on_commit_callbacks
) -> None:
    for address in (OWNER, ATTACKER):
        assert [guess(user, address) for _ in range(5)] == [401] * 5
    assert_rate_limited(sign_in(user, DEFAULT_PASSWORD, OWNER))

    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post("/api/v1/users/password-reset", {"email": user.email})
    match = re.search(r"https?://\S+", str(mail.outbox[0].body))
    assert match is not None
    uid, token = match.group(0).rstrip("/").split("/")[-2:]
    confirmed = APIClient().post(
        "/api/v1/users/password-reset/confirm",
        {"uid": uid, "token": token, "new_password": NEW_PASSWORD},
    )

    assert confirmed.status_code == 200, confirmed.content
    assert sign_in(user, NEW_PASSWORD, OWNER).status_code == 200
    assert sign_in(user, NEW_PASSWORD, ATTACKER).status_code == 200


# --- per address -------------------------------------------------------------------


def test_the_address_limit_holds_across_accounts() -> None:
    members = UserFactory.create_batch(21)

    guesses = [guess(member, ATTACKER) for member in members[:20]]
    same_address = sign_in(members[20], DEFAULT_PASSWORD, ATTACKER)
    other_address = sign_in(members[20], DEFAULT_PASSWORD, OWNER)

    assert guesses == [401] * 20
    assert_rate_limited(same_address)
    assert other_address.status_code == 200


def test_members_signing_in_behind_one_address_do_not_use_up_its_allowance() -> None:
    members = UserFactory.create_batch(25)

    statuses = [sign_in(member, DEFAULT_PASSWORD, ATTACKER).status_code for member in members]

    assert statuses == [200] * 25


# --- per account -------------------------------------------------------------------


def test_the_account_limit_stops_guessing_spread_over_many_addresses(user: User) -> None:
    # 99 failures from 25 addresses, each under its own limits.
    spread = [f"10.20.{n // 4}.{n % 4 + 1}" for n in range(99)]
    guesses = [guess(user, address) for address in spread]
    owner_at_99 = sign_in(user, DEFAULT_PASSWORD, OWNER)
    hundredth = guess(user, "10.30.0.1")
    owner_at_100 = sign_in(user, DEFAULT_PASSWORD, OWNER)
    other_member = sign_in(UserFactory.create(), DEFAULT_PASSWORD, OWNER)

    assert guesses == [401] * 99
    assert owner_at_99.status_code == 200
    assert hundredth == 401
    assert_rate_limited(owner_at_100)
    assert other_member.status_code == 200


# --- the window --------------------------------------------------------------------


def test_retry_after_counts_from_the_first_failure_and_later_ones_do_not_extend_it(
    user: User,
) -> None:
    with time_machine.travel(PINNED_NOW, tick=False) as clock:
        guesses = []
        for _ in range(5):
            guesses.append(guess(user, ATTACKER))
            clock.shift(100)
        at_500 = sign_in(user, DEFAULT_PASSWORD, ATTACKER)
        clock.shift(250)
        at_750 = sign_in(user, DEFAULT_PASSWORD, ATTACKER)

    assert guesses == [401] * 5
    assert_rate_limited(at_500, retry_after=400)
    assert_rate_limited(at_750, retry_after=150)


@pytest.mark.redis
def test_later_failures_do_not_extend_the_counters_expiry_in_redis(user: User) -> None:
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    pattern = cache.make_key("login-failures:*")

    def counter_keys() -> list[bytes]:
        return [
            key
            for key in client.scan_iter(match=pattern)
            if not key.endswith(b":ends") and b":generation:" not in key
        ]

    assert guess(user, ATTACKER) == 401
    keys = counter_keys()
    assert len(keys) == 3  # account and address, address, account
    assert all(890 <= client.ttl(key) <= 900 for key in keys)
    for key in keys:
        client.expire(key, 30)  # as if the window were nearly over

    assert [guess(user, ATTACKER) for _ in range(3)] == [401] * 3
    assert all(0 < client.ttl(key) <= 30 for key in counter_keys())
