"""Response headers: CORS for frontends on other origins, CSP and Permissions-Policy on
pages, and no caching of what a signed-in caller was answered."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import bearer_client
from tests.factories import (
    DEFAULT_PASSWORD,
    EquipmentFactory,
    MakerspaceFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

FRONTEND = "https://app.makrx.example"
SOME_SPACE = "/api/v1/makerspaces/00000000-0000-0000-0000-000000000000"
STRANGER = "https://evil.example"


@pytest.fixture(autouse=True)
def _frontend_origin(settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]


def _preflight(client: APIClient, path: str, origin: str, method: str = "PATCH"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, if-match",
    )


def _lower_list(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(",") if part.strip()}


# --- CORS ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "path", "method"),
    [
        ("profile of the caller", "/api/v1/users/me", "PATCH"),
        (
            "a space's members",
            "/api/v1/makerspaces/00000000-0000-0000-0000-000000000000/members/",
            "POST",
        ),
        ("the public directory", "/api/v1/makerspaces/", "GET"),
    ],
)
def test_preflight_from_allowed_origin_answers_without_authentication(
    api_client: APIClient, label: str, path: str, method: str
) -> None:
    # Given a browser frontend on an allowed origin, not signed in (a preflight never is)
    # When it asks whether it may send an authorized, conditional request
    response = _preflight(api_client, path, FRONTEND, method)

    # Then the answer is 200 with the allow headers, not a 401 envelope
    assert response.status_code == 200, (label, response.content)
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert method.lower() in _lower_list(response["Access-Control-Allow-Methods"])
    assert {"authorization", "if-match"} <= _lower_list(response["Access-Control-Allow-Headers"])
    assert "WWW-Authenticate" not in response


def test_preflight_from_other_origin_is_not_allowed(api_client: APIClient) -> None:
    response = _preflight(api_client, "/api/v1/users/me", STRANGER)

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Headers" not in response


def test_real_request_from_allowed_origin_may_read_etag() -> None:
    # Given a member reading their profile from the frontend's origin
    user = UserFactory.create()
    client = bearer_client(user)

    response = client.get("/api/v1/users/me", HTTP_ORIGIN=FRONTEND)

    # Then the browser lets the frontend read the answer and its ETag
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert "etag" in _lower_list(response["Access-Control-Expose-Headers"])
    assert response["ETag"]


def test_real_request_from_other_origin_gets_no_cors_headers() -> None:
    client = bearer_client(UserFactory.create())

    response = client.get("/api/v1/users/me", HTTP_ORIGIN=STRANGER)

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_pages_are_outside_cors(client: Client) -> None:
    response = client.get("/", HTTP_ORIGIN=FRONTEND)

    assert "Access-Control-Allow-Origin" not in response


# --- CSP and Permissions-Policy -----------------------------------------------------


def _directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize(
    "path",
    ["/", "/accounts/login/", "/spaces/", "/api/docs/"],
    ids=["home", "login", "dir", "docs"],
)
def test_pages_carry_a_self_only_content_security_policy(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_makerspace_page_carries_the_policy(client: Client) -> None:
    space = MakerspaceFactory.create()

    response = client.get(f"/spaces/{space.slug}/")

    assert response.status_code == 200
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert _directives(response["Content-Security-Policy"])["default-src"] == ["'self'"]


# What the policy refuses in a page: a <script> without src, a <style> block, a
# style="" attribute and an on...="" handler.
INLINE_CODE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=", re.IGNORECASE
)


def test_pages_hold_no_inline_code_the_policy_would_refuse(client: Client) -> None:
    # Given an admin of a space with a machine (the timetable, members and docs pages)
    admin = UserFactory.create()
    membership = MembershipFactory.create(user=admin, role="admin")
    space = membership.makerspace
    machine = EquipmentFactory.create(makerspace=space)
    client.force_login(admin)
    pages = [
        "/",
        "/spaces/",
        f"/spaces/{space.slug}/",
        f"/spaces/{space.slug}/members/",
        f"/bookings/{space.slug}/{machine.pk}/",
        "/api/docs/",
    ]

    for path in pages:
        response = client.get(path)
        html = response.content.decode()

        # Then every page renders, and nothing in it needs 'unsafe-inline'
        assert response.status_code == 200, path
        assert INLINE_CODE.findall(html) == [], path
    assert (
        'data-place="top:' in client.get(f"/bookings/{space.slug}/{machine.pk}/").content.decode()
    )


def test_signed_out_pages_hold_no_inline_code(client: Client) -> None:
    for path in ["/accounts/login/", "/accounts/register/"]:
        response = client.get(path)

        assert response.status_code == 200, path
        assert INLINE_CODE.findall(response.content.decode()) == [], path


def test_swagger_ui_starts_from_a_static_script(client: Client) -> None:
    response = client.get("/api/docs/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "js/swagger-init.js" in html
    assert 'data-schema-url="/api/schema/"' in html
    assert finders.find("js/swagger-init.js") is not None
    assert finders.find("css/swagger.css") is not None


@pytest.mark.parametrize(
    "path", ["/", "/spaces/", "/api/v1/makerspaces/", "/api/v1/users/me", "/api/schema/"]
)
def test_permissions_policy_on_pages_and_api(client: Client, settings, path: str) -> None:
    response = client.get(path)

    assert response["Permissions-Policy"] == settings.PERMISSIONS_POLICY
    assert "camera=()" in response["Permissions-Policy"]


# --- Cache-Control on the API ----------------------------------------------------------


def _cache_control(response) -> set[str]:
    return _lower_list(response.get("Cache-Control", ""))


def test_answer_to_bearer_caller_is_not_stored() -> None:
    client = bearer_client(UserFactory.create())

    response = client.get("/api/v1/users/me")

    assert response.status_code == 200
    assert "no-store" in _cache_control(response)
    assert "authorization" in _lower_list(response["Vary"])


def test_answer_to_session_caller_is_not_stored() -> None:
    user = UserFactory.create()
    client = APIClient()
    assert client.login(email=user.email, password=DEFAULT_PASSWORD)

    response = client.get("/api/v1/users/me")

    assert response.status_code == 200
    assert "no-store" in _cache_control(response)


def test_public_directory_read_by_bearer_caller_is_not_stored() -> None:
    # The same public route answered to a signed-in caller may carry their view
    MakerspaceFactory.create()
    client = bearer_client(UserFactory.create())

    response = client.get("/api/v1/makerspaces/")

    assert response.status_code == 200
    assert "no-store" in _cache_control(response)


def test_error_answer_to_bearer_caller_is_not_stored() -> None:
    client = bearer_client(UserFactory.create())

    response = client.get(f"{SOME_SPACE}/")

    assert response.status_code == 404
    assert "no-store" in _cache_control(response)


def test_anonymous_public_directory_may_be_cached(api_client: APIClient) -> None:
    MakerspaceFactory.create()

    response = api_client.get("/api/v1/makerspaces/")

    assert response.status_code == 200
    assert "no-store" not in _cache_control(response)


def test_error_answer_reaches_the_allowed_origin(api_client: APIClient) -> None:
    # A frontend must be able to read the 401 envelope to know it should sign in again
    response = api_client.get("/api/v1/users/me", HTTP_ORIGIN=FRONTEND)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert {"etag", "retry-after", "x-request-id"} <= _lower_list(
        response["Access-Control-Expose-Headers"]
    )
