"""OpenID Connect sign-in against a real provider process on loopback.

The provider (tests/oidc_provider.py) serves discovery, JWKS, authorize, token and
userinfo over HTTP; nothing in mozilla-django-oidc or MakrX is patched.
"""

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.oidc import (
    _JWKS_CACHE_KEY,
    JWKS_REFETCH_COOLDOWN_SECONDS,
    PROCESS_KEYS_RECHECK_SECONDS,
    forget_signing_keys,
)
from tests.conftest import bearer_client
from tests.factories import UserFactory
from tests.oidc_provider import OIDCProvider, SigningKey

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"
MOMENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BEARER_CHALLENGE = 'Bearer realm="api"'


@pytest.fixture(autouse=True)
def _process_without_keys() -> Iterator[None]:
    """Each test starts as a fresh worker: no provider keys kept in the process."""
    forget_signing_keys()
    yield
    forget_signing_keys()


@pytest.fixture
def provider() -> Iterator[OIDCProvider]:
    with OIDCProvider() as running:
        yield running


@pytest.fixture
def oidc(provider: OIDCProvider, settings) -> OIDCProvider:
    """MakrX configured against the running provider, as the OIDC_* environment would."""
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = provider.client_id
    settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
    settings.OIDC_OP_ISSUER = provider.issuer
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = provider.authorization_endpoint
    settings.OIDC_OP_TOKEN_ENDPOINT = provider.token_endpoint
    settings.OIDC_OP_USER_ENDPOINT = provider.userinfo_endpoint
    settings.OIDC_OP_JWKS_ENDPOINT = provider.jwks_uri
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_API_AUDIENCES = []
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "apps.accounts.oidc.MakrXOIDCBackend",
    ]
    return provider


def make_user(**fields: Any) -> User:
    return cast(User, UserFactory.create(**fields))


def provider_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def assert_not_authenticated(response) -> dict[str, Any]:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == BEARER_CHALLENGE
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "NOT_AUTHENTICATED"
    assert body["error"]["message"]
    return body["error"]


def jwt_kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def sign_in_through_provider(client: Client, provider: OIDCProvider) -> Any:
    """Walk the browser's path: MakrX -> provider's authorize -> MakrX's callback."""
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302
    assert start["Location"].startswith(provider.authorization_endpoint + "?")

    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302, at_provider.text
    back = query_of(at_provider.headers["Location"])
    assert at_provider.headers["Location"].startswith("http://testserver/oidc/callback/")

    return client.get("/oidc/callback/", {"code": back["code"], "state": back["state"]})


# --- pages: the authorization-code flow ---------------------------------------------


def test_sso_start_redirects_to_provider_with_state_nonce_and_scopes(oidc: OIDCProvider) -> None:
    client = Client()

    response = client.get("/oidc/authenticate/")

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(oidc.authorization_endpoint + "?")
    params = query_of(location)
    assert params["client_id"] == oidc.client_id
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == "http://testserver/oidc/callback/"
    assert set(params["scope"].split()) == {"openid", "email", "profile"}
    assert params["state"] in client.session["oidc_states"]
    assert params["nonce"] == client.session["oidc_states"][params["state"]]["nonce"]


def test_first_sso_sign_in_creates_user_and_logs_in(oidc: OIDCProvider) -> None:
    oidc.sign_in_as(email="Grace@Example.org", name="Grace Hopper", email_verified=True)
    client = Client()

    response = sign_in_through_provider(client, oidc)

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get()
    assert user.email == "grace@example.org"
    assert user.name == "Grace Hopper"
    assert user.email_verified is True
    assert not user.has_usable_password()
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session["_auth_user_backend"] == "apps.accounts.oidc.MakrXOIDCBackend"
    me = client.get(ME)
    assert me.status_code == 200
    assert me.json()["email"] == "grace@example.org"
    assert oidc.request_counts["/token"] == 1
    assert oidc.request_counts["/userinfo"] == 1


def test_sso_sign_in_records_unverified_email_as_unverified(oidc: OIDCProvider) -> None:
    oidc.sign_in_as(email="new@example.org", name="New Member", email_verified=False)
    client = Client()

    response = sign_in_through_provider(client, oidc)

    assert response.status_code == 302
    user = User.objects.get(email="new@example.org")
    assert user.email_verified is False
    assert client.session["_auth_user_id"] == str(user.pk)


def test_second_sso_sign_in_reuses_user_matched_by_email_case_insensitively(
    oidc: OIDCProvider,
) -> None:
    oidc.sign_in_as(email="ada@example.org", name="Ada Lovelace", email_verified=True)
    sign_in_through_provider(Client(), oidc)
    first = User.objects.get()
    oidc.sign_in_as(email="ADA@Example.ORG", name="Ada King", email_verified=True)
    client = Client()

    response = sign_in_through_provider(client, oidc)

    assert response.status_code == 302
    assert User.objects.count() == 1
    user = User.objects.get()
    assert user.pk == first.pk
    assert user.email == "ada@example.org"
    assert user.name == "Ada King"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sso_sign_in_links_existing_password_account_when_provider_verified_email(
    oidc: OIDCProvider,
) -> None:
    member = make_user(email="linus@example.org", email_verified=False)
    oidc.sign_in_as(email="Linus@example.org", name="Linus", email_verified=True)
    client = Client()

    response = sign_in_through_provider(client, oidc)

    assert response.status_code == 302
    assert User.objects.count() == 1
    member.refresh_from_db()
    assert member.email_verified is True
    assert member.has_usable_password()
    assert client.session["_auth_user_id"] == str(member.pk)


def test_sso_sign_in_with_unverified_email_cannot_take_over_password_account(
    oidc: OIDCProvider,
) -> None:
    staff = make_user(email="admin@example.org", name="Space Admin", is_staff=True)
    oidc.sign_in_as(email="admin@example.org", name="Intruder", email_verified=False)
    client = Client()

    response = sign_in_through_provider(client, oidc)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "_auth_user_id" not in client.session
    assert client.get(ME).status_code == 401
    staff.refresh_from_db()
    assert staff.name == "Space Admin"
    assert User.objects.count() == 1


def test_sso_callback_rejects_id_token_issued_for_another_client(oidc: OIDCProvider) -> None:
    oidc.id_token_overrides = {"aud": "someone-else", "azp": "someone-else"}
    client = Client()

    response = sign_in_through_provider(client, oidc)

    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert not User.objects.exists()


def test_sso_callback_rejects_id_token_from_another_issuer(oidc: OIDCProvider) -> None:
    oidc.id_token_overrides = {"iss": "https://elsewhere.example"}
    client = Client()

    response = sign_in_through_provider(client, oidc)

    assert response.status_code == 400
    assert not User.objects.exists()


def test_sso_callback_rejects_expired_id_token(oidc: OIDCProvider) -> None:
    oidc.id_token_overrides = {"exp": int(time.time()) - 3600}
    client = Client()

    response = sign_in_through_provider(client, oidc)

    assert response.status_code == 400
    assert not User.objects.exists()


def test_sso_callback_with_state_from_another_browser_is_refused(oidc: OIDCProvider) -> None:
    victim = Client()
    start = victim.get("/oidc/authenticate/")
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    code = query_of(at_provider.headers["Location"])["code"]
    attacker = Client()
    attacker.get("/oidc/authenticate/")

    response = attacker.get("/oidc/callback/", {"code": code, "state": "forged-state"})

    assert response.status_code == 400
    assert "_auth_user_id" not in attacker.session
    assert oidc.request_counts["/token"] == 0
    assert not User.objects.exists()


def test_sso_sign_in_of_disabled_user_is_refused(oidc: OIDCProvider) -> None:
    make_user(email="gone@example.org", is_active=False)
    oidc.sign_in_as(email="gone@example.org", name="Gone", email_verified=True)
    client = Client()

    response = sign_in_through_provider(client, oidc)

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- API: provider access tokens as bearer tokens -------------------------------------


def test_provider_access_token_authenticates_api_and_creates_user(oidc: OIDCProvider) -> None:
    token = oidc.mint_access_token(email="Mae@Example.org", name="Mae Jemison", email_verified=True)

    response = provider_client(token).get(ME)

    assert response.status_code == 200, response.content
    body = response.json()
    user = User.objects.get()
    assert body["id"] == str(user.pk)
    assert body["email"] == user.email == "mae@example.org"
    assert body["name"] == user.name == "Mae Jemison"
    assert body["email_verified"] is True
    assert user.email_verified is True


def test_provider_access_token_for_existing_user_reuses_row(oidc: OIDCProvider) -> None:
    member = make_user(email="katherine@example.org", name="Katherine Johnson")
    token = oidc.mint_access_token(email="KATHERINE@example.org", email_verified=True)

    response = provider_client(token).get(ME)

    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(member.pk)
    assert User.objects.count() == 1


def test_many_api_requests_fetch_jwks_once_and_never_call_userinfo(oidc: OIDCProvider) -> None:
    tokens = [oidc.mint_access_token(email=f"m{i}@example.org") for i in range(3)]

    statuses = [provider_client(token).get(ME).status_code for token in tokens * 4]

    assert statuses == [200] * 12
    assert oidc.request_counts["/jwks"] == 1
    assert oidc.request_counts["/userinfo"] == 0
    assert oidc.request_counts["/token"] == 0
    assert User.objects.count() == 3


def test_api_keeps_working_from_cached_jwks_while_provider_is_down(
    oidc: OIDCProvider,
) -> None:
    first = oidc.mint_access_token(email="ada@example.org")
    second = oidc.mint_access_token(email="ada@example.org")
    assert provider_client(first).get(ME).status_code == 200
    oidc.stop()

    response = provider_client(second).get(ME)

    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.org"


def test_expired_provider_token_gets_401_envelope(oidc: OIDCProvider) -> None:
    token = oidc.mint_access_token(email="ada@example.org", expires_in=-120)

    response = provider_client(token).get(ME)

    error = assert_not_authenticated(response)
    assert "expired" in error["message"].lower()
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "signed_with",
    [
        pytest.param("unknown-kid", id="unpublished key, unknown kid"),
        pytest.param("known-kid", id="unpublished key claiming the provider's kid"),
    ],
)
def test_provider_token_signed_by_a_foreign_key_gets_401(
    oidc: OIDCProvider, signed_with: str
) -> None:
    forger = SigningKey.generate()
    kid = oidc.signing_key.kid if signed_with == "known-kid" else forger.kid
    token = oidc.mint_access_token(signing_key=forger, kid=kid, email="ada@example.org")

    response = provider_client(token).get(ME)

    assert_not_authenticated(response)
    assert not User.objects.exists()


def test_flood_of_unknown_key_ids_costs_provider_at_most_one_refetch(oidc: OIDCProvider) -> None:
    assert provider_client(oidc.mint_access_token()).get(ME).status_code == 200
    assert oidc.request_counts["/jwks"] == 1
    forged = [
        oidc.mint_access_token(signing_key=SigningKey.generate(kid=f"forged-{i}")) for i in range(5)
    ]

    statuses = [provider_client(token).get(ME).status_code for token in forged]

    assert statuses == [401] * 5
    assert oidc.request_counts["/jwks"] == 2


@pytest.mark.parametrize(
    ("aud", "azp", "api_audiences", "expected_status"),
    [
        pytest.param("account", "makrx-web", [], 200, id="keycloak default: our client in azp"),
        pytest.param(["account", "makrx-web"], "spa", [], 200, id="our client in aud"),
        pytest.param("makrx-api", "mobile", ["makrx-api"], 200, id="configured API audience"),
        pytest.param("account", "other-app", [], 401, id="another client's token"),
        pytest.param(["billing"], "billing", [], 401, id="token for another service"),
        pytest.param("makrx-api", "mobile", [], 401, id="API audience not configured"),
    ],
)
def test_provider_token_audience_and_authorized_party(
    oidc: OIDCProvider, settings, aud, azp, api_audiences, expected_status
) -> None:
    settings.OIDC_API_AUDIENCES = api_audiences
    token = oidc.mint_access_token(email="ada@example.org", aud=aud, azp=azp)

    response = provider_client(token).get(ME)

    if expected_status == 200:
        assert response.status_code == 200, response.content
        assert User.objects.filter(email="ada@example.org").exists()
    else:
        error = assert_not_authenticated(response)
        assert "another client" in error["message"]
        assert not User.objects.exists()


def test_rotated_signing_key_is_accepted_after_one_jwks_refetch(oidc: OIDCProvider) -> None:
    old_token = oidc.mint_access_token(email="ada@example.org")
    assert provider_client(old_token).get(ME).status_code == 200
    assert oidc.request_counts["/jwks"] == 1
    new_key = oidc.rotate_key()
    new_token = oidc.mint_access_token(email="ada@example.org")
    assert jwt_kid(new_token) == new_key.kid != jwt_kid(old_token)

    first = provider_client(new_token).get(ME)
    again = provider_client(oidc.mint_access_token(email="ada@example.org")).get(ME)
    still_old = provider_client(old_token).get(ME)

    assert first.status_code == 200, first.content
    assert again.status_code == 200
    assert still_old.status_code == 200
    assert oidc.request_counts["/jwks"] == 2
    assert User.objects.count() == 1


def test_provider_token_without_email_gets_401(oidc: OIDCProvider) -> None:
    token = oidc.mint_access_token(omit=("email",))

    response = provider_client(token).get(ME)

    error = assert_not_authenticated(response)
    assert "email" in error["message"]
    assert not User.objects.exists()


def test_provider_token_with_another_issuer_is_left_to_our_jwt_and_fails(
    oidc: OIDCProvider,
) -> None:
    token = oidc.mint_access_token(email="ada@example.org", iss="https://elsewhere.example")

    response = provider_client(token).get(ME)

    assert_not_authenticated(response)
    assert oidc.request_counts["/jwks"] == 0
    assert not User.objects.exists()


def test_provider_token_with_unverified_email_cannot_take_over_password_account(
    oidc: OIDCProvider,
) -> None:
    member = make_user(email="victim@example.org", email_verified=True)
    token = oidc.mint_access_token(email="victim@example.org", email_verified=False)

    response = provider_client(token).get(ME)

    error = assert_not_authenticated(response)
    assert "not verified" in error["message"]
    member.refresh_from_db()
    assert member.email_verified is True


@pytest.mark.parametrize(
    ("claim", "stored"),
    [
        pytest.param(False, False, id="false"),
        pytest.param("false", False, id="string false"),
        pytest.param("true", True, id="string true"),
    ],
)
def test_provider_token_email_verified_claim_is_read_strictly(
    oidc: OIDCProvider, claim, stored
) -> None:
    token = oidc.mint_access_token(email="new@example.org", email_verified=claim)

    response = provider_client(token).get(ME)

    assert response.status_code == 200, response.content
    assert response.json()["email_verified"] is stored
    assert User.objects.get(email="new@example.org").email_verified is stored


def test_provider_token_of_disabled_user_gets_401(oidc: OIDCProvider) -> None:
    make_user(email="gone@example.org", is_active=False)
    token = oidc.mint_access_token(email="gone@example.org", email_verified=True)

    response = provider_client(token).get(ME)

    error = assert_not_authenticated(response)
    assert "disabled" in error["message"]


def test_our_own_jwt_still_works_with_oidc_on(oidc: OIDCProvider) -> None:
    member = make_user()

    response = bearer_client(member).get(ME)

    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(member.pk)
    assert oidc.request_counts["/jwks"] == 0


def test_provider_token_gets_401_when_oidc_is_off(provider: OIDCProvider, settings) -> None:
    settings.OIDC_ENABLED = False
    settings.OIDC_OP_ISSUER = provider.issuer
    settings.OIDC_OP_JWKS_ENDPOINT = provider.jwks_uri
    token = provider.mint_access_token(email="ada@example.org")

    response = provider_client(token).get(ME)

    assert_not_authenticated(response)
    assert provider.request_counts["/jwks"] == 0
    assert not User.objects.exists()


# --- the login page -----------------------------------------------------------------


def test_login_page_offers_sso_when_oidc_is_on(oidc: OIDCProvider) -> None:
    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert b'href="/oidc/authenticate/"' in response.content


def test_login_page_has_no_sso_link_when_oidc_is_off(settings) -> None:
    settings.OIDC_ENABLED = False

    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert b"/oidc/authenticate/" not in response.content


# --- API: what a provider-token request costs -----------------------------------------


def shared_jwks_entry(provider: OIDCProvider) -> Any:
    return cache.get(_JWKS_CACHE_KEY.format(url=provider.jwks_uri))


def statements_of(client: APIClient, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return [query["sql"] for query in queries.captured_queries]


def test_known_user_costs_the_same_queries_as_our_jwt_and_writes_nothing(
    oidc: OIDCProvider,
) -> None:
    member = make_user(email="joan@example.org", email_verified=True)
    client = provider_client(oidc.mint_access_token(email="Joan@Example.org"))
    assert client.get(ME).status_code == 200

    with_provider_token = statements_of(client, ME)
    with_our_jwt = statements_of(bearer_client(member), ME)

    assert len(with_provider_token) == len(with_our_jwt)
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in with_provider_token)
    member.refresh_from_db()
    assert member.email == "joan@example.org"


def test_provider_vouching_for_email_is_recorded_once_then_never_written_again(
    oidc: OIDCProvider,
) -> None:
    member = make_user(email="hedy@example.org", email_verified=False)
    member.set_unusable_password()
    member.save(update_fields=["password"])
    client = provider_client(oidc.mint_access_token(email="hedy@example.org", email_verified=True))

    first = statements_of(client, ME)
    again = statements_of(client, ME)

    member.refresh_from_db()
    assert member.email_verified is True
    assert sum(sql.lstrip().upper().startswith("UPDATE") for sql in first) == 1
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in again)


def test_account_stored_with_mixed_case_email_is_still_found(oidc: OIDCProvider) -> None:
    member = make_user(email="dorothy@example.org")
    User.objects.filter(pk=member.pk).update(email="Dorothy.V@Example.org")
    token = oidc.mint_access_token(email="dorothy.v@example.org", email_verified=True)

    response = provider_client(token).get(ME)

    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(member.pk)
    assert User.objects.count() == 1


def test_unverified_email_cannot_take_over_account_stored_with_mixed_case_email(
    oidc: OIDCProvider,
) -> None:
    member = make_user(email="barbara@example.org", email_verified=True)
    User.objects.filter(pk=member.pk).update(email="Barbara@Example.org")
    token = oidc.mint_access_token(email="barbara@example.org", email_verified=False)

    response = provider_client(token).get(ME)

    error = assert_not_authenticated(response)
    assert "not verified" in error["message"]
    assert User.objects.count() == 1


def test_worker_verifies_with_the_keys_it_holds_without_cache_or_provider(
    oidc: OIDCProvider, time_machine
) -> None:
    time_machine.move_to(MOMENT, tick=False)
    first = oidc.mint_access_token(email="ada@example.org")
    assert provider_client(first).get(ME).status_code == 200
    later = oidc.mint_access_token(email="ada@example.org")
    cache.delete(_JWKS_CACHE_KEY.format(url=oidc.jwks_uri))
    oidc.stop()

    response = provider_client(later).get(ME)

    assert response.status_code == 200, response.content
    assert oidc.request_counts["/jwks"] == 1


def test_new_worker_takes_the_keys_from_the_shared_cache(oidc: OIDCProvider) -> None:
    first = oidc.mint_access_token(email="ada@example.org")
    assert provider_client(first).get(ME).status_code == 200
    forget_signing_keys()

    response = provider_client(oidc.mint_access_token(email="ada@example.org")).get(ME)

    assert response.status_code == 200, response.content
    assert oidc.request_counts["/jwks"] == 1


def test_worker_picks_up_keys_another_worker_fetched_after_a_rotation(
    oidc: OIDCProvider,
) -> None:
    old_token = oidc.mint_access_token(email="ada@example.org")
    assert provider_client(old_token).get(ME).status_code == 200
    before_rotation = shared_jwks_entry(oidc)
    oidc.rotate_key()
    new_token = oidc.mint_access_token(email="ada@example.org")
    # Another worker meets the new key first: it refetches (taking the cooldown) and
    # shares what it fetched.
    forget_signing_keys()
    assert provider_client(new_token).get(ME).status_code == 200
    after_rotation = shared_jwks_entry(oidc)
    assert oidc.request_counts["/jwks"] == 2
    # This worker still holds the keys from before the rotation.
    forget_signing_keys()
    cache.set(_JWKS_CACHE_KEY.format(url=oidc.jwks_uri), before_rotation)
    assert provider_client(old_token).get(ME).status_code == 200
    cache.set(_JWKS_CACHE_KEY.format(url=oidc.jwks_uri), after_rotation)

    response = provider_client(oidc.mint_access_token(email="ada@example.org")).get(ME)

    assert response.status_code == 200, response.content
    assert oidc.request_counts["/jwks"] == 2


def test_worker_drops_a_key_another_worker_found_removed_within_the_recheck_window(
    oidc: OIDCProvider, time_machine
) -> None:
    assert PROCESS_KEYS_RECHECK_SECONDS < JWKS_REFETCH_COOLDOWN_SECONDS
    time_machine.move_to(MOMENT, tick=False)
    old_token = oidc.mint_access_token(email="ada@example.org")
    assert provider_client(old_token).get(ME).status_code == 200
    before_rotation = shared_jwks_entry(oidc)
    # The provider replaces its key (the old one is no longer published) and another
    # worker, meeting the new key id, refetches and shares the new set.
    oidc.rotate_key(keep_old=False)
    forget_signing_keys()
    new_token = oidc.mint_access_token(email="ada@example.org")
    assert provider_client(new_token).get(ME).status_code == 200
    after_rotation = shared_jwks_entry(oidc)
    # This worker still holds the old set.
    forget_signing_keys()
    cache.set(_JWKS_CACHE_KEY.format(url=oidc.jwks_uri), before_rotation)
    assert provider_client(old_token).get(ME).status_code == 200
    cache.set(_JWKS_CACHE_KEY.format(url=oidc.jwks_uri), after_rotation)
    time_machine.move_to(MOMENT + timedelta(seconds=PROCESS_KEYS_RECHECK_SECONDS + 1), tick=False)

    response = provider_client(old_token).get(ME)

    error = assert_not_authenticated(response)
    assert "no provider key" in error["message"]
    assert oidc.request_counts["/jwks"] == 2


def test_keys_are_fetched_again_once_their_cache_lifetime_has_passed(
    oidc: OIDCProvider, settings, time_machine
) -> None:
    settings.OIDC_JWKS_CACHE_SECONDS = 600
    start = MOMENT
    time_machine.move_to(start, tick=False)
    first = oidc.mint_access_token(email="ada@example.org")
    assert provider_client(first).get(ME).status_code == 200

    time_machine.move_to(start + timedelta(seconds=599), tick=False)
    within = provider_client(oidc.mint_access_token(email="ada@example.org")).get(ME)
    fetches_within = oidc.request_counts["/jwks"]
    time_machine.move_to(start + timedelta(seconds=601), tick=False)
    after = provider_client(oidc.mint_access_token(email="ada@example.org")).get(ME)

    assert within.status_code == after.status_code == 200
    assert fetches_within == 1
    assert oidc.request_counts["/jwks"] == 2


def test_a_key_that_cannot_be_read_does_not_stop_the_others(oidc: OIDCProvider) -> None:
    oidc.extra_jwks = [
        {"kty": "RSA", "kid": "broken", "n": "not base64!", "e": "AQAB"},
        {"kty": "XYZ", "kid": "unknown-type"},
        {"kty": "RSA", "kid": "for-encryption", "use": "enc", "n": "AQAB", "e": "AQAB"},
    ]

    response = provider_client(oidc.mint_access_token(email="ada@example.org")).get(ME)

    assert response.status_code == 200, response.content


def _segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("shape", "key_fetches"),
    [
        pytest.param("not-a-jwt", 0, id="one segment"),
        pytest.param("a.b.c", 0, id="segments that are not JSON"),
        pytest.param("provider-issuer-bad-header", 0, id="provider issuer, header not JSON"),
        pytest.param("provider-issuer-unsigned", 1, id="provider issuer, alg none"),
    ],
)
def test_malformed_bearer_token_gets_401(oidc: OIDCProvider, shape: str, key_fetches: int) -> None:
    claims = {"iss": oidc.issuer, "sub": "x", "email": "ada@example.org", "exp": 2**40}
    token = {
        "not-a-jwt": "not-a-jwt",
        "a.b.c": "a.b.c",
        "provider-issuer-bad-header": f"bm90IGpzb24.{_segment(claims)}.c2ln",
        "provider-issuer-unsigned": f"{_segment({'alg': 'none'})}.{_segment(claims)}.",
    }[shape]

    response = provider_client(token).get(ME)

    assert_not_authenticated(response)
    assert oidc.request_counts["/jwks"] == key_fetches
    assert not User.objects.exists()
