"""The password change page: the browser that changes it stays signed in, every other
session of the member ends."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from pytest_django.asserts import assertContains, assertRedirects
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from apps.accounts.models import User
from apps.core.models import AuditLogEntry
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/accounts/profile/password/"
NEW_PASSWORD = "Brass-Lathe-Orbit-7"


def signed_in(member: User) -> Client:
    client = Client()
    response = client.post(
        "/accounts/login/", {"email": member.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/accounts/profile/").status_code == 200


def api_refresh_token(member: User) -> str:
    response = APIClient().post(
        "/api/v1/users/login", {"email": member.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    return str(response.json()["refresh_token"])


def refresh_status(refresh_token: str) -> int:
    return (
        APIClient()
        .post("/api/v1/users/token/refresh", {"refresh_token": refresh_token})
        .status_code
    )


def change(client: Client, **overrides: str):
    form = {
        "current_password": DEFAULT_PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
        **overrides,
    }
    return client.post(PAGE, form)


def test_the_page_needs_a_signed_in_member(client: Client) -> None:
    response = client.get(PAGE)

    assertRedirects(response, f"/accounts/login/?next={PAGE}")


def test_the_profile_page_links_to_it() -> None:
    client = signed_in(UserFactory.create())

    page = client.get("/accounts/profile/")

    assertContains(page, f'href="{PAGE}"')
    form = client.get(PAGE)
    assertContains(form, 'name="current_password"')
    assertContains(form, 'name="new_password"')
    assertContains(form, 'name="confirm_password"')


def test_changing_the_password_keeps_this_browser_and_ends_every_other_session() -> None:
    # Given a member signed in in two browsers and on a device of the API
    member = UserFactory.create()
    this_browser, other_browser = signed_in(member), signed_in(member)
    device = api_refresh_token(member)

    # When one browser changes the password
    response = change(this_browser)

    # Then it stays signed in and is told so; the other browser and the device are out
    assertRedirects(response, "/accounts/profile/", fetch_redirect_response=False)
    assertContains(
        this_browser.get("/accounts/profile/"),
        "Your password is changed; you are signed out everywhere else.",
    )
    assert this_browser.session[SESSION_KEY] == str(member.pk)
    assert not is_signed_in(other_browser)
    assert refresh_status(device) == 401
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    entry = AuditLogEntry.objects.get(object_id=str(member.pk))
    assert (entry.actor, entry.changes) == (member, {"password": "changed", "sessions_ended": 1})


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"current_password": "not-my-password"}, "current_password", "current password is wrong"),
        ({"confirm_password": "Something-Else-9"}, "confirm_password", "do not match"),
        ({"new_password": "12345", "confirm_password": "12345"}, "new_password", "too short"),
        (
            {"new_password": "password", "confirm_password": "password"},
            "new_password",
            "too common",
        ),
    ],
    ids=["wrong current", "mismatch", "short", "common"],
)
def test_a_refused_change_shows_the_error_and_changes_nothing(
    overrides: dict, field: str, message: str
) -> None:
    member = UserFactory.create()
    this_browser, other_browser = signed_in(member), signed_in(member)
    device = api_refresh_token(member)
    before = User.objects.values().get(pk=member.pk)

    response = change(this_browser, **overrides)

    assert response.status_code == 200
    assertContains(response, message)
    assert field in response.context["form"].errors
    assert User.objects.values().get(pk=member.pk) == before
    assert is_signed_in(this_browser)
    assert is_signed_in(other_browser)
    assert not BlacklistedToken.objects.exists()
    assert refresh_status(device) == 200


def test_the_page_speaks_ukrainian_to_a_ukrainian_member() -> None:
    member = UserFactory.create(locale="uk")
    client = signed_in(member)

    form = client.get(PAGE)
    assertContains(form, "Змінити пароль")
    assertContains(form, "Поточний пароль")
    assertContains(client.get("/accounts/profile/"), f'href="{PAGE}"')

    wrong = change(client, current_password="not-my-password")
    assertContains(wrong, "Поточний пароль неправильний.")

    change(client)
    assertContains(
        client.get("/accounts/profile/"), "Пароль змінено; на інших пристроях ви вийшли з акаунта."
    )
