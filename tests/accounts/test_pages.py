"""The server-rendered account pages, as a member's browser uses them."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.staticfiles import finders
from django.core import mail
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from apps.accounts.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brass-Lathe-Orbit-7"


@pytest.fixture(autouse=True)
def _pages_served_without_proxy_or_collectstatic(settings) -> None:
    # With DATABASE_URL set the settings are production's: plain HTTP is redirected to
    # HTTPS (a proxy terminates TLS) and static URLs come from collectstatic's manifest,
    # which a test run does not build.
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get(SESSION_KEY)


def link_path(message: mail.EmailMessage) -> str:
    """The path of the one link in an email, to open it on the test server."""
    urls = re.findall(r"https?://\S+", str(message.body))
    assert len(urls) == 1, message.body
    return urlsplit(urls[0]).path


def register(client: Client, *, headers: dict[str, str] | None = None, **overrides: str):
    form = {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
        "locale": "en",
        **overrides,
    }
    return client.post("/accounts/register/", form, headers=headers)


def sign_in(client: Client, email: str, password: str, *, remote_addr: str = "127.0.0.1"):
    return client.post(
        "/accounts/login/", {"email": email, "password": password}, REMOTE_ADDR=remote_addr
    )


# --- Home ---------------------------------------------------------------------


def test_home_page_invites_an_anonymous_visitor_to_sign_up(client: Client) -> None:
    response = client.get("/")

    assertContains(response, "Make things, together.")
    assertContains(response, 'href="/accounts/register/"')
    assertContains(response, 'href="/accounts/login/"')
    assertNotContains(response, "Welcome back")
    assertNotContains(response, "Sign out")


def test_home_page_greets_a_signed_in_member(client: Client) -> None:
    member = UserFactory.create(name="Ada Lovelace", email_verified=False)
    client.force_login(member)

    response = client.get("/")

    assertContains(response, "Welcome back, Ada Lovelace.")
    assertContains(response, "Your email address is not verified yet.")
    assertContains(response, 'action="/accounts/logout/"')
    assertNotContains(response, "Create an account")


# --- Registration -------------------------------------------------------------


def test_register_creates_the_account_signs_in_and_sends_a_verification_email(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = register(client, email="Ada@Example.org")

    assertRedirects(response, "/", fetch_redirect_response=False)
    member = User.objects.get()
    assert member.email == "ada@example.org"
    assert member.name == "Ada Lovelace"
    assert member.locale == "en"
    assert member.email_verified is False
    assert member.check_password(NEW_PASSWORD)
    assert signed_in_user_id(client) == str(member.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert message.subject == "Verify your email address for MakrX"
    assert "Hello Ada Lovelace," in message.body
    assert link_path(message).startswith("/accounts/verify-email/")

    home = client.get("/")

    assertContains(home, "Welcome to MakrX! We sent you a link to verify your email address.")
    assertContains(home, "Welcome back, Ada Lovelace.")


def test_register_with_a_taken_email_shows_an_error_and_creates_nothing(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    UserFactory.create(email="ada@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        response = register(client, email="ADA@example.org")

    assertContains(response, "An account with this email address already exists.")
    assert User.objects.count() == 1
    assert signed_in_user_id(client) is None
    assert mail.outbox == []


def test_register_with_mismatched_passwords_shows_an_error_and_creates_nothing(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = register(client, confirm_password="Brass-Lathe-Orbit-8")

    assertContains(response, "The passwords do not match.")
    assert not User.objects.exists()
    assert signed_in_user_id(client) is None
    assert mail.outbox == []


def test_register_with_a_weak_password_shows_the_validator_error(client: Client) -> None:
    response = register(client, password="12345678", confirm_password="12345678")

    assertContains(response, "This password is entirely numeric.")
    assert not User.objects.exists()


# --- Sign in and out ------------------------------------------------------------


def test_login_with_the_right_password_signs_in_whatever_the_email_case(client: Client) -> None:
    member = UserFactory.create(email="ada@example.org")

    response = sign_in(client, "Ada@Example.ORG", DEFAULT_PASSWORD)

    assertRedirects(response, "/")
    assert signed_in_user_id(client) == str(member.pk)


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        pytest.param("/accounts/profile/", "/accounts/profile/", id="same-site page"),
        pytest.param("https://evil.example/steal", "/", id="other site ignored"),
    ],
)
def test_login_follows_next_only_within_the_site(
    client: Client, next_url: str, expected: str
) -> None:
    UserFactory.create(email="ada@example.org")

    response = client.post(
        "/accounts/login/",
        {"email": "ada@example.org", "password": DEFAULT_PASSWORD, "next": next_url},
    )

    assertRedirects(response, expected, fetch_redirect_response=False)


def test_login_with_a_wrong_password_shows_an_error(client: Client) -> None:
    UserFactory.create(email="ada@example.org")

    response = sign_in(client, "ada@example.org", "not-the-password")

    assertContains(response, "The email address or password is wrong.")
    assert signed_in_user_id(client) is None


def test_login_refuses_even_the_right_password_after_too_many_failures(
    client: Client, settings
) -> None:
    # The per-account limit, the one that holds at every address, within reach.
    settings.LOGIN_FAILURE_LIMIT_ACCOUNT = 3
    UserFactory.create(email="ada@example.org")
    for attempt in range(settings.LOGIN_FAILURE_LIMIT_ACCOUNT):
        failed = sign_in(client, "ada@example.org", f"guess-{attempt}")
        assertContains(failed, "The email address or password is wrong.")

    # From another address: the limit is per account, not only per client.
    response = sign_in(client, "ADA@example.org", DEFAULT_PASSWORD, remote_addr="203.0.113.9")

    assertContains(response, "Too many failed sign-in attempts; try again later.")
    assert signed_in_user_id(client) is None


def test_logout_needs_post(client: Client) -> None:
    member = UserFactory.create()
    client.force_login(member)

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert signed_in_user_id(client) == str(member.pk)


def test_logout_by_post_signs_out(client: Client) -> None:
    client.force_login(UserFactory.create())

    response = client.post("/accounts/logout/")

    assertRedirects(response, "/", fetch_redirect_response=False)
    assert signed_in_user_id(client) is None
    assertContains(client.get("/"), "You are signed out.")


# --- Email verification -------------------------------------------------------


def test_the_link_in_the_verification_email_verifies_the_address(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        register(client)
    client.post("/accounts/logout/")
    path = link_path(mail.outbox[0])

    response = client.get(path)

    assertContains(response, "Your email address is verified")
    assertContains(response, "Thank you: ada@example.org is confirmed.")
    assert User.objects.get(email="ada@example.org").email_verified is True


def test_a_tampered_verification_token_shows_an_error(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        register(client)
    path = link_path(mail.outbox[0])
    token = path.removeprefix("/accounts/verify-email/").rstrip("/")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = client.get(f"/accounts/verify-email/{tampered}/")

    assertContains(response, "This verification link is invalid or has expired.", status_code=400)
    assert User.objects.get(email="ada@example.org").email_verified is False


def test_a_member_can_ask_for_the_verification_email_again(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    member = UserFactory.create(email_verified=False)
    client.force_login(member)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/verify-email/resend/")

    assertRedirects(response, "/accounts/profile/")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    client.get(link_path(mail.outbox[0]))
    member.refresh_from_db()
    assert member.email_verified is True


def test_an_email_keeps_apostrophes_in_names_as_typed(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        register(client, name="Ada O'Brien")

    body = mail.outbox[0].body
    assert "Hello Ada O'Brien," in body
    assert "&#x27;" not in body


# --- Password reset -------------------------------------------------------------


def request_password_reset(client: Client, email: str, capture):
    with capture(execute=True):
        return client.post("/accounts/password-reset/", {"email": email})


def choose_new_password(client: Client, reset_path: str, password: str):
    # Django swaps the token in the link for a session value, then shows the form.
    form_page = client.get(reset_path, follow=True)
    assertContains(form_page, "Choose a new password")
    set_password_path = form_page.redirect_chain[-1][0]
    return client.post(set_password_path, {"new_password1": password, "new_password2": password})


def test_password_reset_sends_a_link_that_sets_a_new_password(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    member = UserFactory.create(email="ada@example.org")

    sent = request_password_reset(client, "Ada@Example.org", django_capture_on_commit_callbacks)

    assertContains(sent, "If an account uses this address, a reset link is on its way.")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert message.subject == "Reset your MakrX password"
    reset_path = link_path(message)
    assert reset_path.startswith("/accounts/password-reset/")

    changed = choose_new_password(client, reset_path, NEW_PASSWORD)

    assertRedirects(changed, "/accounts/login/")
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assertContains(sign_in(client, "ada@example.org", DEFAULT_PASSWORD), "is wrong")
    assertRedirects(sign_in(client, "ada@example.org", NEW_PASSWORD), "/")
    assert signed_in_user_id(client) == str(member.pk)


def test_a_password_reset_link_works_only_once(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    UserFactory.create(email="ada@example.org")
    request_password_reset(client, "ada@example.org", django_capture_on_commit_callbacks)
    reset_path = link_path(mail.outbox[0])
    choose_new_password(client, reset_path, NEW_PASSWORD)

    response = client.get(reset_path, follow=True)

    assertContains(response, "This reset link is invalid or has expired.")
    assertNotContains(response, 'name="new_password1"')


def test_password_reset_lifts_the_sign_in_lock_of_the_account(
    client: Client, settings, django_capture_on_commit_callbacks
) -> None:
    UserFactory.create(email="ada@example.org")
    for attempt in range(settings.LOGIN_FAILURE_LIMIT_ACCOUNT_ADDRESS):
        sign_in(client, "ada@example.org", f"guess-{attempt}")
    request_password_reset(client, "ada@example.org", django_capture_on_commit_callbacks)

    choose_new_password(client, link_path(mail.outbox[0]), NEW_PASSWORD)
    # From the address the failures came from, which is locked until the reset.
    response = sign_in(client, "ada@example.org", NEW_PASSWORD)

    assertRedirects(response, "/")


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    UserFactory.create(email="ada@example.org")

    response = request_password_reset(
        client, "nobody@example.org", django_capture_on_commit_callbacks
    )

    assertContains(response, "If an account uses this address, a reset link is on its way.")
    assert mail.outbox == []


# --- Profile ----------------------------------------------------------------------


def test_profile_page_needs_a_signed_in_member(client: Client) -> None:
    response = client.get("/accounts/profile/")

    assertRedirects(response, "/accounts/login/?next=/accounts/profile/")


def test_profile_page_changes_name_and_locale(client: Client) -> None:
    member = UserFactory.create(name="Ada Lovelace", locale="en")
    client.force_login(member)
    assertContains(client.get("/accounts/profile/"), member.email)

    response = client.post(
        "/accounts/profile/",
        {"name": "Ada King", "phone": "+44 20 7946 0000", "address": "", "locale": "uk"},
    )

    assertRedirects(response, "/accounts/profile/", fetch_redirect_response=False)
    member.refresh_from_db()
    assert member.name == "Ada King"
    assert member.phone == "+44 20 7946 0000"
    assert member.locale == "uk"
    page = client.get("/accounts/profile/", HTTP_ACCEPT_LANGUAGE="en")
    assertContains(page, "Профіль збережено.")
    assertContains(page, 'value="Ada King"')


def test_profile_page_rejects_an_unknown_locale(client: Client) -> None:
    member = UserFactory.create(name="Ada Lovelace", locale="en")
    client.force_login(member)

    response = client.post("/accounts/profile/", {"name": "Ada King", "locale": "xx"})

    assert response.status_code == 200
    assertContains(response, "Select a valid choice.")
    assertContains(response, '<a href="/accounts/profile/">Ada Lovelace</a>')
    member.refresh_from_db()
    assert (member.name, member.locale) == ("Ada Lovelace", "en")


# --- Language -----------------------------------------------------------------------


def test_an_anonymous_visitor_gets_the_browsers_language(client: Client) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="uk")

    assertContains(response, '<html lang="uk">')
    assertContains(response, "Майструймо разом.")
    assertContains(response, "Зареєструватися")
    assert response["Content-Language"] == "uk"


@pytest.mark.parametrize(
    ("locale", "browser_language", "expected_text"),
    [
        pytest.param("uk", "en", "З поверненням, Ada Lovelace!", id="uk member, en browser"),
        pytest.param("en", "uk", "Welcome back, Ada Lovelace.", id="en member, uk browser"),
    ],
)
def test_a_signed_in_members_locale_wins_over_the_browser(
    client: Client, locale: str, browser_language: str, expected_text: str
) -> None:
    client.force_login(UserFactory.create(name="Ada Lovelace", locale=locale))

    response = client.get("/", HTTP_ACCEPT_LANGUAGE=browser_language)

    assertContains(response, expected_text)
    assertContains(response, f'<html lang="{locale}">')


def test_the_language_switch_changes_a_signed_in_members_locale(client: Client) -> None:
    member = UserFactory.create(name="Ada Lovelace", locale="en")
    client.force_login(member)

    response = client.post("/accounts/language/", {"language": "uk", "next": "/"})

    assertRedirects(response, "/", fetch_redirect_response=False)
    member.refresh_from_db()
    assert member.locale == "uk"
    assertContains(client.get("/", HTTP_ACCEPT_LANGUAGE="en"), "З поверненням, Ada Lovelace!")


def test_the_language_switch_works_for_an_anonymous_visitor(client: Client) -> None:
    client.post("/accounts/language/", {"language": "uk", "next": "/"})

    assertContains(client.get("/", HTTP_ACCEPT_LANGUAGE="en"), "Майструймо разом.")


def test_the_register_form_offers_the_page_language_for_emails(client: Client) -> None:
    response = client.get("/accounts/register/", HTTP_ACCEPT_LANGUAGE="uk")

    assert response.status_code == 200
    locale_select = re.search(r'<select name="locale".*?</select>', response.content.decode(), re.S)
    assert locale_select is not None
    assert '<option value="uk" selected>' in locale_select.group()


def test_a_ukrainian_members_verification_email_is_in_ukrainian(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        register(client, name="Тарас О'Ніл", locale="uk", headers={"accept-language": "en"})

    assert User.objects.get().locale == "uk"
    message = mail.outbox[0]
    assert message.subject == "Підтвердьте адресу електронної пошти для MakrX"
    assert "Вітаємо, Тарас О'Ніл!" in message.body
    assert "Посилання дійсне 3 дні." in message.body


# --- API docs ---------------------------------------------------------------------


def test_api_docs_render_with_swagger_assets_served_by_makrx(client: Client) -> None:
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    swagger_assets = [url for url in assets if "swagger-ui" in url]
    assert any(url.endswith("swagger-ui-bundle.js") for url in swagger_assets)
    assert any(url.endswith("swagger-ui.css") for url in swagger_assets)
    assert all(url.startswith("/static/") for url in assets), assets
    for url in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
        assert url not in html
    for url in swagger_assets:
        assert finders.find(url.removeprefix("/static/")) is not None, url


def test_sign_up_and_reset_pages_are_rate_limited_per_address(client, settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "register": "2/hour",
            "email": "1/hour",
        },
    }
    bodies = [
        {
            "name": f"Flooder {n}",
            "email": f"flood{n}@example.org",
            "password": "Lathe-and-Mill-2026",
            "confirm_password": "Lathe-and-Mill-2026",
            "locale": "en",
        }
        for n in range(3)
    ]

    sign_ups = [client.post("/accounts/register/", body, REMOTE_ADDR="10.7.7.7") for body in bodies]
    client.logout()
    resets = [
        client.post("/accounts/password-reset/", {"email": "a@example.org"}, REMOTE_ADDR="10.7.7.8")
        for _ in range(2)
    ]

    assert [r.status_code for r in sign_ups] == [302, 302, 200]
    assert b"Too many sign-ups" in sign_ups[2].content
    assert User.objects.filter(email__startswith="flood").count() == 2
    assert b"Too many requests" in resets[1].content
