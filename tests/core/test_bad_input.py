"""Bad input is a 4xx in the error envelope and writes nothing, never a 500.

Covers what the shared API plumbing refuses for every route: JSON nested too deep,
text PostgreSQL cannot store, numbers out of range, absurd page numbers, writes to
paths that do not exist, and the session (cookie + CSRF) flavour of a versioned write.
"""

import json
from typing import Any

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.core.api.pagination import MAX_PAGE
from apps.core.api.parsers import MAX_JSON_DEPTH
from apps.core.models import AuditLogEntry
from apps.equipment.models import Equipment
from apps.makerspaces.models import Makerspace
from tests.factories import (
    EquipmentFactory,
    MakerspaceFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    error: dict[str, Any] = body["error"]
    return error


def nested(depth: int, leaf: Any = 1) -> Any:
    """A value ``depth`` containers deep, alternating lists and objects."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


def raw_post(client: APIClient, method: str, url: str, text: str) -> Any:
    return client.generic(method, url, text, content_type="application/json")


def snapshot() -> dict[str, list[Any]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values_list())
        for model in (User, Makerspace, Equipment, AuditLogEntry)
    }


@pytest.fixture
def admin_space() -> tuple[User, Makerspace, Equipment]:
    admin = UserFactory.create(preferences={"theme": "dark"})
    space = MakerspaceFactory.create(settings={"door": "code"})
    MembershipFactory.create(user=admin, makerspace=space, role="admin")
    machine = EquipmentFactory.create(makerspace=space, specifications={"bed": "600x400"})
    return admin, space, machine


def authed(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


# --- nesting --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
def test_a_body_nested_too_deep_is_refused_before_sign_in(
    api_client: APIClient, depth: int
) -> None:
    # Given a login body nested past the limit, up to far past the interpreter's stack
    text = "[" * depth + "]" * depth

    # When anyone posts it
    response = raw_post(api_client, "POST", "/api/v1/users/login", text)

    # Then it is a malformed request, not a crash
    error = assert_envelope(response, 400, "MALFORMED_REQUEST")
    assert str(MAX_JSON_DEPTH) in error["message"]


def test_a_body_at_the_depth_limit_is_parsed(api_client: APIClient) -> None:
    # Given a body exactly as deep as allowed
    body = {"email": "a@example.org", "password": "x", "extra": nested(MAX_JSON_DEPTH - 1)}

    # When it is posted
    response = raw_post(api_client, "POST", "/api/v1/users/login", json.dumps(body))

    # Then the parser lets it through to the view, which judges the fields
    assert response.status_code != 500
    assert response.json()["error"]["code"] != "MALFORMED_REQUEST"


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("PATCH", "/api/v1/users/me", "preferences"),
        ("PATCH", "/api/v1/makerspaces/{space}", "settings"),
        ("PATCH", "/api/v1/makerspaces/{space}/equipment/{machine}", "specifications"),
        ("POST", "/api/v1/makerspaces/{space}/equipment", "specifications"),
    ],
)
def test_a_json_field_nested_too_deep_is_refused(
    admin_space: tuple[User, Makerspace, Equipment], method: str, url: str, field: str
) -> None:
    # Given an admin of a space, and a JSON field of theirs nested far too deep
    admin, space, machine = admin_space
    url = url.format(space=space.pk, machine=machine.pk)
    body = {"name": "Deep", "type": "laser_cutter", field: nested(2 * MAX_JSON_DEPTH)}
    if method == "PATCH":
        body = {field: body[field]}
    before = snapshot()

    # When they save it
    response = authed(admin).generic(method, url, json.dumps(body), content_type="application/json")

    # Then it is refused and nothing changed
    assert_envelope(response, 400, "MALFORMED_REQUEST")
    assert snapshot() == before


# --- text PostgreSQL cannot store -----------------------------------------------------

# Written as JSON text: json.dumps would escape them the same way a client does.
NUL = "\\u0000"
SURROGATE = "\\ud800"


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "lone surrogate"])
@pytest.mark.parametrize(
    ("template", "path"),
    [
        ('{{"preferences": {{"theme": "da{bad}rk"}}}}', "preferences.theme"),
        ('{{"preferences": {{"the{bad}me": "dark"}}}}', "preferences.the{bad}me"),
        ('{{"preferences": {{"list": [1, ["{bad}"]]}}}}', "preferences.list[1][0]"),
        ('{{"name": "Ada{bad}"}}', "name"),
        ('{{"na{bad}me": "Ada"}}', "na{bad}me"),
    ],
    ids=["json value", "json key", "inside a list", "text field", "top-level key"],
)
def test_text_postgresql_cannot_store_is_refused_with_its_path(
    admin_space: tuple[User, Makerspace, Equipment], bad: str, template: str, path: str
) -> None:
    # Given a profile change carrying a NUL or a lone surrogate in a value or a key
    admin = admin_space[0]
    before = snapshot()

    # When it is sent
    response = raw_post(authed(admin), "PATCH", "/api/v1/users/me", template.format(bad=bad))

    # Then it is a validation error naming where, and nothing was written
    error = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert path.format(bad=bad) in error["details"], error["details"]
    assert snapshot() == before


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "lone surrogate"])
def test_bad_text_is_refused_before_sign_in(api_client: APIClient, bad: str) -> None:
    # Given a login whose email carries a NUL or a lone surrogate
    text = f'{{"email": "a{bad}@example.org", "password": "x"}}'

    # When it is posted
    response = raw_post(api_client, "POST", "/api/v1/users/login", text)

    # Then the field is named
    error = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert "email" in error["details"]


@pytest.mark.parametrize(
    ("field", "number"),
    [("settings", "1e309"), ("settings", "-1e309"), ("coordinates", "1e309")],
)
def test_a_number_past_floating_point_is_refused(
    admin_space: tuple[User, Makerspace, Equipment], field: str, number: str
) -> None:
    # Given a space's field set to a number that overflows to infinity
    admin, space, _ = admin_space
    value = f'{{"a": {number}}}' if field == "settings" else f'{{"lat": {number}, "lng": 1}}'
    before = snapshot()

    # When the admin saves it
    response = raw_post(
        authed(admin), "PATCH", f"/api/v1/makerspaces/{space.pk}", f'{{"{field}": {value}}}'
    )

    # Then it is refused and nothing changed
    assert_envelope(response, 400, "VALIDATION_ERROR")
    assert snapshot() == before


def test_a_form_body_is_not_accepted_by_the_json_api(
    admin_space: tuple[User, Makerspace, Equipment],
) -> None:
    # Given a form-encoded profile change whose JSON field is text nested too deep
    admin = admin_space[0]
    text = "[" * 100_000 + "]" * 100_000
    before = snapshot()

    # When it is sent as a form
    response = authed(admin).patch("/api/v1/users/me", {"preferences": text}, format="multipart")

    # Then the API answers that it speaks JSON, and nothing changed
    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert snapshot() == before


# --- pages of lists -------------------------------------------------------------------


@pytest.fixture
def three_spaces() -> None:
    for _ in range(3):
        MakerspaceFactory.create()


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("page=99999999999999999999", "page"),
        (f"page={MAX_PAGE + 1}", "page"),
        ("page=" + "9" * 5000, "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=-99999999999999999999", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=1e3", "page"),
        ("page=%00", "page"),
        ("limit=99999999999999999999", "limit"),
        ("limit=0", "limit"),
        ("limit=-5", "limit"),
        ("limit=ten", "limit"),
        ("limit=101", "limit"),
    ],
)
def test_an_absurd_page_or_limit_is_a_validation_error(
    api_client: APIClient, three_spaces: None, query: str, name: str
) -> None:
    response = api_client.get(f"/api/v1/makerspaces/?{query}")

    error = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert name in error["details"]


@pytest.mark.parametrize("page", [2, 1_000, MAX_PAGE])
def test_a_page_past_the_last_is_empty(
    api_client: APIClient, three_spaces: None, page: int
) -> None:
    # Given three spaces, two to a page
    # When a client asks for a page past the last
    response = api_client.get(f"/api/v1/makerspaces/?page={page}&limit=2")

    # Then it is an empty page with the true total
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["meta"] == {"total": 3, "page": page, "limit": 2, "has_next": False}
    assert body["data"] == ([] if page > 2 else body["data"])
    assert len(body["data"]) == (1 if page == 2 else 0)


# --- writes to paths that do not exist ------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "session"])
def test_a_write_to_an_unrouted_api_path_is_a_json_404(method: str, signed_in: bool) -> None:
    # Given a browser client that enforces CSRF like a real one, with or without a session
    client = Client(enforce_csrf_checks=True)
    if signed_in:
        client.force_login(UserFactory.create())

    # When it writes to a path under /api/ that does not exist, without a CSRF token
    response = client.generic(method, "/api/v1/no-such-thing/", b"{}", "application/json")

    # Then it hears 404 in the envelope, not the pages' CSRF page
    error = assert_envelope(response, 404, "NOT_FOUND")
    assert "/api/v1/no-such-thing/" in error["message"]


def test_a_page_post_without_a_csrf_token_is_still_refused() -> None:
    # Given a browser client with no CSRF token
    client = Client(enforce_csrf_checks=True)

    # When it posts the sign-in form
    response = client.post(
        "/accounts/login/", {"email": "a@example.org", "password": "Correct-Horse-42"}
    )

    # Then CSRF still protects the page
    assert response.status_code == 403


def test_a_session_api_write_without_a_csrf_token_is_still_refused() -> None:
    # Given a signed-in browser session with no CSRF token
    user = UserFactory.create(name="Before")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    # When it changes the profile through the API
    response = client.patch("/api/v1/users/me", b'{"name": "After"}', "application/json")

    # Then it is refused, and the name is unchanged
    assert_envelope(response, 403, "PERMISSION_DENIED")
    user.refresh_from_db()
    assert user.name == "Before"


# --- versioned writes over a session --------------------------------------------------


def session_client(user: User) -> tuple[Client, str]:
    """A signed-in browser: session cookie plus the CSRF cookie and its header value."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    return client, token


def test_a_session_profile_change_with_a_csrf_token_is_saved() -> None:
    # Given a signed-in browser holding its CSRF token and the profile's version
    user = UserFactory.create(name="Before")
    client, token = session_client(user)
    etag = client.get("/api/v1/users/me")["ETag"]

    # When it changes the profile, naming that version
    response = client.patch(
        "/api/v1/users/me",
        b'{"name": "After"}',
        "application/json",
        HTTP_X_CSRFTOKEN=token,
        HTTP_IF_MATCH=etag,
    )

    # Then the change is saved and the new version returned
    assert response.status_code == 200, response.content[:500]
    assert response.json()["name"] == "After"
    assert response["ETag"] != etag
    user.refresh_from_db()
    assert user.name == "After"


def test_a_session_profile_change_against_an_old_version_is_412() -> None:
    # Given a browser holding a version of the profile that has since changed
    user = UserFactory.create(name="Before")
    client, token = session_client(user)
    stale = client.get("/api/v1/users/me")["ETag"]
    User.objects.filter(pk=user.pk).update(name="Elsewhere")
    user.refresh_from_db()
    user.save()

    # When it saves against the old version
    response = client.patch(
        "/api/v1/users/me",
        b'{"name": "After"}',
        "application/json",
        HTTP_X_CSRFTOKEN=token,
        HTTP_IF_MATCH=stale,
    )

    # Then it is told the profile changed, and the other change stands
    assert_envelope(response, 412, "PRECONDITION_FAILED")
    user.refresh_from_db()
    assert user.name == "Elsewhere"


# --- JSON typed into the staff admin's forms ------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps(nested(MAX_JSON_DEPTH + 1)),
        '{"door": "a\\u0000b"}',
    ],
    ids=["far too deep", "just too deep", "NUL"],
)
@pytest.mark.parametrize("target", ["makerspace settings", "user preferences"])
def test_json_typed_into_an_admin_form_is_a_form_error(
    admin_space: tuple[User, Makerspace, Equipment], text: str, target: str
) -> None:
    # Given a super admin on a change form with a JSON field
    from tests.admin_support import change_url, form_data, logged_in

    admin, space, _ = admin_space
    root = UserFactory.create(is_staff=True, is_superuser=True)
    client = logged_in(root)
    obj, field = (space, "settings") if target == "makerspace settings" else (admin, "preferences")
    page = client.get(change_url(obj))
    assert page.status_code == 200
    data = form_data(page)
    before = snapshot()

    # When the JSON field is saved with a document the database could not hold
    response = client.post(change_url(obj), {**data, field: text})

    # Then the form is shown again with the field's error, and nothing changed
    assert response.status_code == 200, response.content[:300]
    assert response.context["adminform"].form.errors[field]
    assert snapshot() == before


# --- bodies that are not JSON at all -----------------------------------------------------


@pytest.mark.parametrize("text", ["\n", "   ", "\t\r\n"], ids=["newline", "spaces", "mixed"])
def test_a_body_of_whitespace_alone_is_refused(
    admin_space: tuple[User, Makerspace, Equipment], text: str
) -> None:
    admin, _, _ = admin_space
    before = snapshot()

    response = raw_post(authed(admin), "PATCH", "/api/v1/users/me", text)

    assert_envelope(response, 400, "MALFORMED_REQUEST")
    assert snapshot() == before


def test_no_body_at_all_is_an_empty_object(
    admin_space: tuple[User, Makerspace, Equipment],
) -> None:
    admin, _, _ = admin_space

    response = raw_post(authed(admin), "PATCH", "/api/v1/users/me", "")

    assert response.status_code == 200
    assert response.json()["email"] == admin.email
