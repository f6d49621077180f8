"""The /api/v1/users/* contract: sign-up, sign-in, tokens, profile, verification, reset."""

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.conftest import bearer_client
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "Lathe-and-Mill-2026"


def register_body(**overrides: object) -> dict:
    body: dict[str, object] = {
        "email": "ada@example.org",
        "name": "Ada Lovelace",
        "password": GOOD_PASSWORD,
        "confirm_password": GOOD_PASSWORD,
    }
    body.update(overrides)
    return body


def link_in(message) -> str:
    match = re.search(r"https?://\S+", message.body)
    assert match, message.body
    return match.group(0)


# --- register -----------------------------------------------------------------


def test_register_creates_user_and_sends_verification_email(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/users/register",
            register_body(email="Ada@Example.org", locale="uk", phone="+380 44 000 0000"),
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "email",
        "name",
        "phone",
        "address",
        "locale",
        "preferences",
        "email_verified",
        "is_active",
        "created_at",
    }
    assert body["email"] == "ada@example.org"
    assert body["email_verified"] is False
    user = User.objects.get(pk=body["id"])
    assert user.check_password(GOOD_PASSWORD)
    assert user.locale == "uk"
    assert user.phone == "+380 44 000 0000"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.org"]
    assert "/accounts/verify-email/" in link_in(mail.outbox[0])


def test_register_rejects_duplicate_email_in_any_case(api_client: APIClient) -> None:
    UserFactory.create(email="ada@example.org")

    response = api_client.post("/api/v1/users/register", register_body(email="ADA@example.ORG"))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "email" in error["details"]
    assert User.objects.filter(email__iexact="ada@example.org").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"confirm_password": "Other-Password-99"}, "confirm_password"),
        ({"password": "123", "confirm_password": "123"}, "password"),
        ({"password": "password", "confirm_password": "password"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"locale": "fr"}, "locale"),
        ({"name": ["a", "list"]}, "name"),
        ({"is_staff": True}, "is_staff"),
    ],
    ids=[
        "mismatch",
        "short",
        "common",
        "bad-email",
        "no-name",
        "bad-locale",
        "wrong-type",
        "unknown",
    ],
)
def test_register_rejects_bad_input_and_writes_nothing(
    api_client: APIClient, overrides: dict, field: str
) -> None:
    response = api_client.post("/api/v1/users/register", register_body(**overrides))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]
    assert not User.objects.exists()


# --- login, refresh, logout -----------------------------------------------------


def test_login_returns_tokens_and_user(api_client: APIClient, user: User) -> None:
    response = api_client.post(
        "/api/v1/users/login", {"email": user.email.upper(), "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"]["id"] == str(user.pk)
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.get("/api/v1/users/me").json()["email"] == user.email
    user.refresh_from_db()
    assert user.last_login is not None


def test_login_with_wrong_password_is_401(api_client: APIClient, user: User) -> None:
    response = api_client.post("/api/v1/users/login", {"email": user.email, "password": "nope"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert "WWW-Authenticate" in response


def test_login_failures_are_throttled_per_account(
    api_client: APIClient, user: User, settings
) -> None:
    settings.LOGIN_FAILURE_LIMIT_ACCOUNT = 3
    for index in range(3):
        # From different addresses: the account limit must hold on its own.
        api_client.post(
            "/api/v1/users/login",
            {"email": user.email, "password": "wrong"},
            REMOTE_ADDR=f"10.0.0.{index + 1}",
        )

    blocked = api_client.post(
        "/api/v1/users/login", {"email": user.email, "password": DEFAULT_PASSWORD}
    )
    other = UserFactory.create()
    unaffected = api_client.post(
        "/api/v1/users/login", {"email": other.email, "password": DEFAULT_PASSWORD}
    )

    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "RATE_LIMITED"
    assert int(blocked["Retry-After"]) > 0
    assert unaffected.status_code == 200


def test_login_failures_are_throttled_per_ip(api_client: APIClient, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT_IP = 4
    victims = UserFactory.create_batch(5)
    for victim in victims[:4]:
        api_client.post(
            "/api/v1/users/login",
            {"email": victim.email, "password": "guess"},
            REMOTE_ADDR="10.9.9.9",
        )

    same_ip = api_client.post(
        "/api/v1/users/login",
        {"email": victims[4].email, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="10.9.9.9",
    )
    other_ip = api_client.post(
        "/api/v1/users/login",
        {"email": victims[4].email, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="10.9.9.10",
    )

    assert same_ip.status_code == 429
    assert other_ip.status_code == 200


def test_inactive_user_cannot_log_in_nor_use_old_token(api_client: APIClient, user: User) -> None:
    client = bearer_client(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    login = api_client.post(
        "/api/v1/users/login", {"email": user.email, "password": DEFAULT_PASSWORD}
    )
    me = client.get("/api/v1/users/me")

    assert login.status_code == 401
    assert me.status_code == 401


def _login(client: APIClient, user: User) -> dict:
    response = client.post(
        "/api/v1/users/login", {"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    return response.json()


def test_refresh_rotates_and_a_used_refresh_token_is_refused(
    api_client: APIClient, user: User
) -> None:
    tokens = _login(api_client, user)

    first = api_client.post(
        "/api/v1/users/token/refresh", {"refresh_token": tokens["refresh_token"]}
    )
    replay = api_client.post(
        "/api/v1/users/token/refresh", {"refresh_token": tokens["refresh_token"]}
    )

    assert first.status_code == 200
    assert set(first.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert first.json()["refresh_token"] != tokens["refresh_token"]
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "NOT_AUTHENTICATED"
    again = api_client.post(
        "/api/v1/users/token/refresh", {"refresh_token": first.json()["refresh_token"]}
    )
    assert again.status_code == 200


def test_logout_revokes_the_refresh_token(api_client: APIClient, user: User) -> None:
    tokens = _login(api_client, user)

    logout = api_client.post("/api/v1/users/logout", {"refresh_token": tokens["refresh_token"]})
    refresh = api_client.post(
        "/api/v1/users/token/refresh", {"refresh_token": tokens["refresh_token"]}
    )

    assert logout.status_code == 204
    assert refresh.status_code == 401


@pytest.mark.parametrize("route", ["/api/v1/users/token/refresh", "/api/v1/users/logout"])
def test_garbage_refresh_token_is_401_and_missing_is_400(api_client: APIClient, route: str) -> None:
    garbage = api_client.post(route, {"refresh_token": "garbage"})
    missing = api_client.post(route, {})

    assert garbage.status_code == 401
    assert missing.status_code == 400
    assert "refresh_token" in missing.json()["error"]["details"]


def test_an_access_token_is_not_a_refresh_token(api_client: APIClient, user: User) -> None:
    tokens = _login(api_client, user)

    response = api_client.post(
        "/api/v1/users/token/refresh", {"refresh_token": tokens["access_token"]}
    )

    assert response.status_code == 401


# --- me -----------------------------------------------------------------------------


def test_me_patch_changes_profile_fields(user: User) -> None:
    client = bearer_client(user)

    response = client.patch(
        "/api/v1/users/me",
        {"name": "New Name", "locale": "uk", "preferences": {"theme": "dark"}, "address": "Kyiv"},
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.name, user.locale, user.preferences, user.address) == (
        "New Name",
        "uk",
        {"theme": "dark"},
        "Kyiv",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email_verified": True}, "email_verified"),
        ({"is_staff": True}, "is_staff"),
        ({"is_superuser": True}, "is_superuser"),
        ({"email": "new@example.org"}, "email"),
        ({"favourite_colour": "red"}, "favourite_colour"),
        ({"locale": "xx"}, "locale"),
        ({"preferences": "not-an-object"}, "preferences"),
        ({"name": ""}, "name"),
    ],
)
def test_me_patch_refuses_fields_it_may_not_change(user: User, body: dict, field: str) -> None:
    client = bearer_client(user)
    before = User.objects.values().get(pk=user.pk)

    response = client.patch("/api/v1/users/me", body)

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert User.objects.values().get(pk=user.pk) == before


def test_me_patch_with_stale_etag_is_412_and_changes_nothing(user: User) -> None:
    first_tab = bearer_client(user)
    second_tab = bearer_client(user)
    etag = first_tab.get("/api/v1/users/me")["ETag"]
    assert second_tab.get("/api/v1/users/me")["ETag"] == etag

    saved = first_tab.patch("/api/v1/users/me", {"name": "First"}, HTTP_IF_MATCH=etag)
    stale = second_tab.patch("/api/v1/users/me", {"name": "Second"}, HTTP_IF_MATCH=etag)

    assert saved.status_code == 200
    assert saved["ETag"] != etag
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "PRECONDITION_FAILED"
    user.refresh_from_db()
    assert user.name == "First"
    fresh = second_tab.patch("/api/v1/users/me", {"name": "Second"}, HTTP_IF_MATCH=saved["ETag"])
    assert fresh.status_code == 200


# --- email verification and password reset ------------------------------------------


def test_verify_email_with_the_emailed_token(
    user: User, django_capture_on_commit_callbacks
) -> None:
    User.objects.filter(pk=user.pk).update(email_verified=False)
    client = bearer_client(user)
    with django_capture_on_commit_callbacks(execute=True):
        resend = client.post("/api/v1/users/verify-email/resend")
    token = link_in(mail.outbox[0]).rstrip("/").split("/")[-1]

    verified = APIClient().post("/api/v1/users/verify-email", {"token": token})
    tampered = APIClient().post("/api/v1/users/verify-email", {"token": token[:-3] + "xyz"})

    assert resend.status_code == 202
    assert verified.status_code == 200
    assert verified.json()["email_verified"] is True
    user.refresh_from_db()
    assert user.email_verified is True
    assert tampered.status_code == 400
    assert tampered.json()["error"]["code"] == "INVALID_TOKEN"


def test_verification_token_expires(user: User, settings) -> None:
    from datetime import timedelta

    from apps.accounts.tokens import make_email_verification_token

    token = make_email_verification_token(user_id=str(user.pk), email=user.email)
    settings.EMAIL_VERIFICATION_MAX_AGE = timedelta(seconds=-1)

    response = APIClient().post("/api/v1/users/verify-email", {"token": token})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_TOKEN"


def test_password_reset_flow(
    api_client: APIClient, user: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        requested = api_client.post("/api/v1/users/password-reset", {"email": user.email.upper()})
    uid, token = link_in(mail.outbox[0]).rstrip("/").split("/")[-2:]

    confirmed = api_client.post(
        "/api/v1/users/password-reset/confirm",
        {"uid": uid, "token": token, "new_password": "Brand-New-Spindle-7"},
    )
    reused = api_client.post(
        "/api/v1/users/password-reset/confirm",
        {"uid": uid, "token": token, "new_password": "Another-Spindle-8"},
    )

    assert requested.status_code == 202
    assert confirmed.status_code == 200
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "INVALID_TOKEN"
    user.refresh_from_db()
    assert user.check_password("Brand-New-Spindle-7")


def test_password_reset_for_unknown_email_answers_the_same_and_sends_nothing(
    api_client: APIClient, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/users/password-reset", {"email": "ghost@example.org"})

    assert response.status_code == 202
    assert mail.outbox == []


@pytest.mark.parametrize(
    "body",
    [
        {"uid": "garbage", "token": "garbage", "new_password": "Brand-New-Spindle-7"},
        {"uid": "", "token": "", "new_password": "Brand-New-Spindle-7"},
    ],
)
def test_password_reset_confirm_with_bad_link_is_400(api_client: APIClient, body: dict) -> None:
    response = api_client.post("/api/v1/users/password-reset/confirm", body)

    assert response.status_code == 400
