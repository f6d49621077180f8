"""Races on the credentials of a session: one refresh token gives one refresh, and one
password reset link sets one password, however many present them at once. The
refresh service locks the token's row; the control case shows what the unlocked
rotation (check the blacklist, then write) does with the same threads."""

import threading
import time
from collections import Counter

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection, connections, transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import services
from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from tests.concurrency.helpers import run_together
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 10


def signed_in_refresh_token(member: User) -> str:
    response = APIClient().post(
        "/api/v1/users/login", {"email": member.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    return str(response.json()["refresh_token"])


def jti_of(refresh_token: str) -> str:
    return str(RefreshToken(refresh_token, verify=False)["jti"])  # type: ignore[arg-type]


def blacklisted_jtis(member: User) -> set[str]:
    return set(
        BlacklistedToken.objects.filter(token__user=member).values_list("token__jti", flat=True)
    )


def test_ten_refreshes_with_one_token_let_exactly_one_through() -> None:
    # Given a member's refresh token
    member = UserFactory.create()
    original = signed_in_refresh_token(member)

    # When ten requests present it at the same instant
    def refresh(index: int) -> tuple[int, dict]:
        response = APIClient().post(
            "/api/v1/users/token/refresh",
            {"refresh_token": original},
            REMOTE_ADDR=f"10.2.0.{index}",
        )
        return response.status_code, response.json()

    results = run_together(RACERS, refresh)

    # Then one gets a new pair and nine are refused
    assert Counter(status for status, _body in results) == {200: 1, 401: RACERS - 1}
    refusals = [body["error"]["code"] for status, body in results if status == 401]
    assert refusals == ["NOT_AUTHENTICATED"] * (RACERS - 1)
    (winner,) = [body for status, body in results if status == 200]
    # And only the winner holds a live token: the one presented is revoked, and the
    # losers got no token of their own
    assert set(OutstandingToken.objects.filter(user=member).values_list("jti", flat=True)) == {
        jti_of(original),
        jti_of(winner["refresh_token"]),
    }
    assert blacklisted_jtis(member) == {jti_of(original)}
    replay = APIClient().post("/api/v1/users/token/refresh", {"refresh_token": original})
    assert replay.status_code == 401
    # And the winner's new refresh token works
    onward = APIClient().post(
        "/api/v1/users/token/refresh", {"refresh_token": winner["refresh_token"]}
    )
    assert onward.status_code == 200


def unlocked_rotation(refresh_token: str, all_have_checked: threading.Barrier) -> str:
    """The rotation of simplejwt's refresh serializer: check the blacklist, then revoke
    and issue, with no lock between the check and the write."""
    with transaction.atomic():
        token = RefreshToken(refresh_token)  # type: ignore[arg-type]
        all_have_checked.wait(timeout=30)
        token.blacklist()
        token.set_jti()
        token.set_exp()
        token.set_iat()
        token.outstand()
        return str(token)


def test_control_without_the_row_lock_every_racer_gets_a_live_token() -> None:
    member = UserFactory.create()
    original = signed_in_refresh_token(member)
    all_have_checked = threading.Barrier(RACERS)

    issued = run_together(RACERS, lambda _index: unlocked_rotation(original, all_have_checked))

    # Ten live chains grew from one refresh token
    assert len(set(issued)) == RACERS
    live = OutstandingToken.objects.filter(user=member, blacklistedtoken__isnull=True)
    assert live.count() == RACERS
    assert blacklisted_jtis(member) == {jti_of(original)}


def test_ten_uses_of_one_reset_link_set_one_password() -> None:
    # Given a member's password reset link, and a device signed in before the reset
    member = UserFactory.create()
    device = signed_in_refresh_token(member)
    member.refresh_from_db()  # the link signs last_login, which signing in just set
    uid = urlsafe_base64_encode(force_bytes(member.pk))
    token = default_token_generator.make_token(member)

    # When ten requests use it at the same instant, each with its own new password
    def confirm(index: int) -> int:
        return (
            APIClient()
            .post(
                "/api/v1/users/password-reset/confirm",
                {"uid": uid, "token": token, "new_password": f"Racing-Spindle-{index}-2026"},
                REMOTE_ADDR=f"10.3.0.{index}",
            )
            .status_code
        )

    statuses = run_together(RACERS, confirm)

    # Then one sets its password and the link is spent for the other nine
    assert Counter(statuses) == {200: 1, 400: RACERS - 1}
    member.refresh_from_db()
    assert member.check_password(f"Racing-Spindle-{statuses.index(200)}-2026")
    refreshed = APIClient().post("/api/v1/users/token/refresh", {"refresh_token": device})
    assert refreshed.status_code == 401


def wait_until_a_lock_is_awaited() -> None:
    """Poll until some connection waits for a lock another transaction holds."""
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("no connection came to wait for a lock")


def test_a_reset_link_used_while_another_reset_writes_is_spent() -> None:
    # Given a reset link, and a first reset by it that holds the account's row
    member = UserFactory.create()
    uid = urlsafe_base64_encode(force_bytes(member.pk))
    token = default_token_generator.make_token(member)
    outcome: dict[str, str] = {}

    def second_reset() -> None:
        try:
            services.password_reset_confirm(uid=uid, token=token, new_password="Second-Spindle-26")
            outcome["second"] = "password set"
        except ApplicationError as exc:
            outcome["second"] = exc.code
        finally:
            connections.close_all()

    with transaction.atomic():
        first = User.objects.select_for_update().get(pk=member.pk)
        # When the link is used again before the first reset commits
        second = threading.Thread(target=second_reset)
        second.start()
        wait_until_a_lock_is_awaited()
        first.set_password("First-Spindle-26")
        first.save(update_fields=["password", "updated_at"])
    second.join(timeout=30)

    # Then the second use checks the link against the new password and is refused
    assert outcome == {"second": "INVALID_TOKEN"}
    member.refresh_from_db()
    assert member.check_password("First-Spindle-26")
