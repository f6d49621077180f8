"""The API's shared conventions: error envelope, pagination envelope, limits, request ids."""

import json

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_anonymous_request_gets_401_envelope_with_bearer_challenge(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/users/me")

    assert_envelope(response, 401, "NOT_AUTHENTICATED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_garbage_bearer_token_gets_401_envelope(api_client: APIClient) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api_client.get("/api/v1/users/me")

    assert_envelope(response, 401, "NOT_AUTHENTICATED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_api_route_gets_404_envelope(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/no-such-thing/")

    error = assert_envelope(response, 404, "NOT_FOUND")
    assert "/api/v1/no-such-thing/" in error["message"]


def test_bad_uuid_in_path_gets_404_envelope(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/_test/users/not-a-uuid/")

    assert_envelope(response, 404, "NOT_FOUND")


def test_missing_object_gets_404_envelope(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/_test/users/00000000-0000-0000-0000-000000000000/")

    assert_envelope(response, 404, "NOT_FOUND")


def test_wrong_method_gets_405_envelope(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/users/login")

    error = assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in error["message"]


def test_malformed_json_gets_400_envelope_and_writes_nothing(api_client: APIClient) -> None:
    response = api_client.generic(
        "POST",
        "/api/v1/users/register",
        '{"email": "x@example.org",',
        content_type="application/json",
    )

    error = assert_envelope(response, 400, "MALFORMED_REQUEST")
    assert "JSON" in error["message"]


def test_json_that_is_not_an_object_is_a_validation_error(api_client: APIClient) -> None:
    response = api_client.generic(
        "POST", "/api/v1/users/login", "[1, 2, 3]", content_type="application/json"
    )

    assert_envelope(response, 400, "VALIDATION_ERROR")


def test_oversize_body_gets_413_envelope(api_client: APIClient, settings) -> None:
    settings.API_MAX_BODY_BYTES = 1024
    body = json.dumps({"email": "x@example.org", "password": "x" * 5000})

    response = api_client.generic(
        "POST", "/api/v1/users/login", body, content_type="application/json"
    )

    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


def test_unsupported_media_type_gets_415_envelope(api_client: APIClient) -> None:
    response = api_client.generic(
        "POST", "/api/v1/users/login", "email=x", content_type="text/plain"
    )

    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_crash_in_api_view_gets_500_envelope_without_internals(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/_test/explode")

    assert_envelope(response, 500, "INTERNAL_ERROR")
    assert b"hunter2" not in response.content
    assert b"Traceback" not in response.content


def test_crash_in_plain_django_view_under_api_gets_500_envelope() -> None:
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/v1/_test/explode-plain")

    assert_envelope(response, 500, "INTERNAL_ERROR")
    assert b"hunter2" not in response.content


def test_anonymous_rate_limit_gets_429_with_retry_after(api_client: APIClient, settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "3/min",
        },
    }

    statuses = [api_client.get("/api/v1/_test/users/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = api_client.get("/api/v1/_test/users/")
    assert_envelope(response, 429, "RATE_LIMITED")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_pagination_envelope_and_bounds(api_client: APIClient) -> None:
    UserFactory.create_batch(5)

    first = api_client.get("/api/v1/_test/users/?page=1&limit=2").json()
    last = api_client.get("/api/v1/_test/users/?page=3&limit=2").json()
    beyond = api_client.get("/api/v1/_test/users/?page=9&limit=2").json()

    assert first["meta"] == {"total": 5, "page": 1, "limit": 2, "has_next": True}
    assert len(first["data"]) == 2
    assert last["meta"] == {"total": 5, "page": 3, "limit": 2, "has_next": False}
    assert len(last["data"]) == 1
    assert beyond == {"data": [], "meta": {"total": 5, "page": 9, "limit": 2, "has_next": False}}
    emails = [
        u["email"]
        for page in (1, 2, 3)
        for u in api_client.get(f"/api/v1/_test/users/?page={page}&limit=2").json()["data"]
    ]
    assert emails == sorted(emails)
    assert len(set(emails)) == 5


def test_pagination_default_limit_is_20(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/_test/users/")

    assert response.json()["meta"] == {"total": 0, "page": 1, "limit": 20, "has_next": False}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
    ],
)
def test_pagination_rejects_out_of_range_values(
    api_client: APIClient, query: str, field: str
) -> None:
    response = api_client.get(f"/api/v1/_test/users/?{query}")

    error = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert field in error["details"]


def test_request_id_is_echoed_or_made(api_client: APIClient) -> None:
    given = api_client.get("/health", HTTP_X_REQUEST_ID="trace-1234abcd")
    made = api_client.get("/health", HTTP_X_REQUEST_ID="bad id with spaces\nand newline")

    assert given["X-Request-ID"] == "trace-1234abcd"
    assert made["X-Request-ID"] != "bad id with spaces\nand newline"
    assert len(made["X-Request-ID"]) == 32


def test_ui_404_stays_html(client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
