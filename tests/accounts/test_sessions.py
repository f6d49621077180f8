"""Sessions end when they should: a password reset or change ends every session of the
account (refresh tokens and page sessions), and a member can sign out everywhere."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.accounts.models import User
from apps.core.models import AuditLogEntry
from tests.conftest import bearer_client
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-New-Spindle-7"


def sign_in_by_api(user: User, password: str = DEFAULT_PASSWORD) -> dict:
    response = APIClient().post("/api/v1/users/login", {"email": user.email, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def refresh(refresh_token: str) -> int:
    return (
        APIClient()
        .post("/api/v1/users/token/refresh", {"refresh_token": refresh_token})
        .status_code
    )


def live_refresh_tokens(user: User) -> int:
    return OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count()


def signed_in_page_client(user: User) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.session.get(SESSION_KEY) == str(user.pk)
    return client


def is_signed_in_on_pages(client: Client) -> bool:
    # The profile page sends a signed-out browser to the sign-in page.
    return client.get("/accounts/profile/").status_code == 200


def reset_link(user: User, capture) -> str:
    with capture(execute=True):
        APIClient().post("/api/v1/users/password-reset", {"email": user.email})
    (message,) = [message for message in mail.outbox if message.to == [user.email]]
    (url,) = re.findall(r"https?://\S+", str(message.body))
    return urlsplit(url).path


def reset_by_api(user: User, capture) -> int:
    uid, token = reset_link(user, capture).rstrip("/").split("/")[-2:]
    return (
        APIClient()
        .post(
            "/api/v1/users/password-reset/confirm",
            {"uid": uid, "token": token, "new_password": NEW_PASSWORD},
        )
        .status_code
    )


def change_by_api(client: APIClient, **overrides: str):
    body = {
        "current_password": DEFAULT_PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
        **overrides,
    }
    return client.post("/api/v1/users/me/password", body)


# --- Password reset -----------------------------------------------------------------


def test_a_password_reset_by_api_revokes_every_refresh_token_of_the_account(
    django_capture_on_commit_callbacks,
) -> None:
    # Given a member signed in on two devices, and another member signed in
    member = UserFactory.create()
    laptop, phone = sign_in_by_api(member), sign_in_by_api(member)
    bystander = sign_in_by_api(UserFactory.create())

    # When the member resets the password by the emailed link
    assert reset_by_api(member, django_capture_on_commit_callbacks) == 200

    # Then neither device can refresh any more; the other member is untouched
    assert refresh(laptop["refresh_token"]) == 401
    assert refresh(phone["refresh_token"]) == 401
    assert live_refresh_tokens(member) == 0
    assert refresh(bystander["refresh_token"]) == 200
    assert refresh(sign_in_by_api(member, NEW_PASSWORD)["refresh_token"]) == 200


def test_a_password_reset_by_page_revokes_every_refresh_token_of_the_account(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    member = UserFactory.create()
    device = sign_in_by_api(member)
    form_page = client.get(reset_link(member, django_capture_on_commit_callbacks), follow=True)
    set_password_path = form_page.redirect_chain[-1][0]

    response = client.post(
        set_password_path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert refresh(device["refresh_token"]) == 401
    assert live_refresh_tokens(member) == 0


@pytest.mark.parametrize("reset_on", ["api", "page"])
def test_a_password_reset_ends_the_page_sessions_of_the_account(
    reset_on: str, django_capture_on_commit_callbacks
) -> None:
    # Given the member signed in on the pages in a browser
    member = UserFactory.create()
    browser = signed_in_page_client(member)
    assert is_signed_in_on_pages(browser)

    # When the password is reset (by the API, or on the pages in another browser)
    if reset_on == "api":
        assert reset_by_api(member, django_capture_on_commit_callbacks) == 200
    else:
        other = Client()
        form_page = other.get(reset_link(member, django_capture_on_commit_callbacks), follow=True)
        other.post(
            form_page.redirect_chain[-1][0],
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        member.refresh_from_db()
        assert member.check_password(NEW_PASSWORD)

    # Then the browser is signed out: its session hash no longer matches
    response = browser.get("/accounts/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert SESSION_KEY not in browser.session


def test_a_reset_link_with_a_weak_password_changes_nothing_and_ends_no_session(
    django_capture_on_commit_callbacks,
) -> None:
    member = UserFactory.create()
    device = sign_in_by_api(member)
    uid, token = reset_link(member, django_capture_on_commit_callbacks).rstrip("/").split("/")[-2:]

    response = APIClient().post(
        "/api/v1/users/password-reset/confirm",
        {"uid": uid, "token": token, "new_password": "12345"},
    )

    assert response.status_code == 400
    assert "new_password" in response.json()["error"]["details"]
    member.refresh_from_db()
    assert member.check_password(DEFAULT_PASSWORD)
    assert refresh(device["refresh_token"]) == 200


# --- Password change (API) ----------------------------------------------------------


def test_a_password_change_answers_a_fresh_pair_and_ends_every_other_session() -> None:
    # Given a member on two devices (tokens) and in a browser (page session)
    member = UserFactory.create()
    laptop, phone = sign_in_by_api(member), sign_in_by_api(member)
    browser = signed_in_page_client(member)
    laptop_client = APIClient()
    laptop_client.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop['access_token']}")

    # When the laptop changes the password
    response = change_by_api(laptop_client)

    # Then it gets a new token pair for itself, and every earlier session is over
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert refresh(laptop["refresh_token"]) == 401
    assert refresh(phone["refresh_token"]) == 401
    assert not is_signed_in_on_pages(browser)
    assert live_refresh_tokens(member) == 1
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.get("/api/v1/users/me").status_code == 200
    assert refresh(body["refresh_token"]) == 200
    # And access tokens issued before the change no longer open the API either
    old_phone = APIClient()
    old_phone.credentials(HTTP_AUTHORIZATION=f"Bearer {phone['access_token']}")
    assert old_phone.get("/api/v1/users/me").status_code == 401
    assert laptop_client.get("/api/v1/users/me").status_code == 401
    # And the new password is the one that signs in
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert (
        APIClient()
        .post("/api/v1/users/login", {"email": member.email, "password": DEFAULT_PASSWORD})
        .status_code
        == 401
    )
    entry = AuditLogEntry.objects.get(object_id=str(member.pk))
    assert (entry.actor, entry.action) == (member, "update")
    assert entry.changes == {"password": "changed", "sessions_ended": 2}


def test_a_password_change_with_the_page_session_keeps_that_session_only() -> None:
    # Given the member in two browsers, one of which calls the API with its session
    member = UserFactory.create()
    calling, other = signed_in_page_client(member), signed_in_page_client(member)
    api = APIClient()
    api.cookies = calling.cookies

    response = change_by_api(api)

    assert response.status_code == 200, response.content
    calling.cookies = api.cookies
    assert is_signed_in_on_pages(calling)
    assert not is_signed_in_on_pages(other)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"current_password": "not-my-password"}, "current_password"),
        ({"current_password": ""}, "current_password"),
        ({"new_password": "12345", "confirm_password": "12345"}, "new_password"),
        ({"new_password": "password", "confirm_password": "password"}, "new_password"),
        ({"confirm_password": "Something-Else-9"}, "confirm_password"),
        ({"new_password": ""}, "new_password"),
        ({"email": "new@example.org"}, "email"),
    ],
    ids=["wrong current", "blank current", "short", "common", "mismatch", "blank new", "extra"],
)
def test_a_refused_password_change_writes_nothing(overrides: dict, field: str) -> None:
    member = UserFactory.create()
    device = sign_in_by_api(member)
    before = User.objects.values().get(pk=member.pk)

    response = change_by_api(bearer_client(member), **overrides)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]
    assert User.objects.values().get(pk=member.pk) == before
    assert not BlacklistedToken.objects.exists()
    assert not AuditLogEntry.objects.exists()
    assert refresh(device["refresh_token"]) == 200


def test_a_password_change_needs_a_signed_in_caller() -> None:
    member = UserFactory.create()
    before = User.objects.values().get(pk=member.pk)

    response = change_by_api(APIClient())

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert User.objects.values().get(pk=member.pk) == before


# --- Sign out -----------------------------------------------------------------------


def test_sign_out_with_a_refresh_token_ends_only_that_device() -> None:
    member = UserFactory.create()
    laptop, phone = sign_in_by_api(member), sign_in_by_api(member)

    response = APIClient().post("/api/v1/users/logout", {"refresh_token": laptop["refresh_token"]})

    assert response.status_code == 204
    assert refresh(laptop["refresh_token"]) == 401
    assert refresh(phone["refresh_token"]) == 200


def test_sign_out_with_a_refresh_token_ignores_a_stale_access_token() -> None:
    member = UserFactory.create()
    device = sign_in_by_api(member)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer expired-or-garbage")

    response = client.post("/api/v1/users/logout", {"refresh_token": device["refresh_token"]})

    assert response.status_code == 204
    assert refresh(device["refresh_token"]) == 401


@pytest.mark.parametrize("credentials", ["refresh token", "access token"])
def test_sign_out_everywhere_revokes_every_refresh_token_of_the_account(credentials: str) -> None:
    # Given a member on three devices, and another member signed in
    member = UserFactory.create()
    devices = [sign_in_by_api(member) for _ in range(3)]
    bystander = sign_in_by_api(UserFactory.create())

    # When one device signs out everywhere
    client = APIClient()
    if credentials == "refresh token":
        body = {"refresh_token": devices[0]["refresh_token"], "all": True}
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {devices[0]['access_token']}")
        body = {"all": True}
    response = client.post("/api/v1/users/logout", body)

    # Then no device of the member can refresh; the other member still can
    assert response.status_code == 204
    assert [refresh(device["refresh_token"]) for device in devices] == [401, 401, 401]
    assert live_refresh_tokens(member) == 0
    assert refresh(bystander["refresh_token"]) == 200


def test_sign_out_everywhere_with_the_page_session() -> None:
    member = UserFactory.create()
    device = sign_in_by_api(member)
    api = APIClient()
    api.force_login(member)

    response = api.post("/api/v1/users/logout", {"all": True})

    assert response.status_code == 204
    assert refresh(device["refresh_token"]) == 401


@pytest.mark.parametrize(
    ("authorization", "body"),
    [
        (None, {"all": True}),
        ("Bearer garbage", {"all": True}),
        (None, {"all": True, "refresh_token": "garbage"}),
    ],
    ids=["no credentials", "bad access token", "bad refresh token"],
)
def test_sign_out_everywhere_without_valid_credentials_is_401_and_revokes_nothing(
    authorization: str | None, body: dict
) -> None:
    member = UserFactory.create()
    device = sign_in_by_api(member)
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)

    response = client.post("/api/v1/users/logout", body)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert not BlacklistedToken.objects.exists()
    assert refresh(device["refresh_token"]) == 200


def test_a_revoked_refresh_token_cannot_sign_out_everywhere() -> None:
    member = UserFactory.create()
    old, current = sign_in_by_api(member), sign_in_by_api(member)
    APIClient().post("/api/v1/users/logout", {"refresh_token": old["refresh_token"]})

    response = APIClient().post(
        "/api/v1/users/logout", {"refresh_token": old["refresh_token"], "all": True}
    )

    assert response.status_code == 401
    assert refresh(current["refresh_token"]) == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "refresh_token"),
        ({"all": False}, "refresh_token"),
        ({"all": "sometimes"}, "all"),
        ({"everywhere": True}, "everywhere"),
    ],
)
def test_sign_out_with_a_bad_body_is_400(body: dict, field: str) -> None:
    member = UserFactory.create()
    device = sign_in_by_api(member)

    response = bearer_client(member).post("/api/v1/users/logout", body)

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert refresh(device["refresh_token"]) == 200


def test_a_disabled_members_refresh_token_is_refused() -> None:
    member = UserFactory.create()
    device = sign_in_by_api(member)
    User.objects.filter(pk=member.pk).update(is_active=False)

    assert refresh(device["refresh_token"]) == 401
    assert OutstandingToken.objects.filter(user=member).count() == 1
