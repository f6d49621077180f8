from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_schema_generates_without_warnings_and_validates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "schema.yml"

    # --fail-on-warn turns any generation warning or error into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    document = yaml.safe_load(target.read_text())
    validate(document)
    assert "/api/v1/users/login" in document["paths"]
    assert "/api/v1/users/me" in document["paths"]


@pytest.mark.django_db
def test_schema_and_docs_are_served(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = api_client.get("/api/docs/")

    assert schema.status_code == 200
    validate(schema.json())
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


@pytest.mark.django_db
def test_every_model_change_has_a_migration() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


# --- The schema says what the API answers ------------------------------------------------


@pytest.fixture(scope="module")
def document() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[return-value]


def _component(document: dict, name: str) -> dict:
    return document["components"]["schemas"][name]


def _responses(document: dict, path: str, method: str) -> dict:
    return document["paths"][path][method]["responses"]


def test_project_settings_generate_the_schema_with_makrx_auto_schema() -> None:
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] == (
        "apps.core.api.schema.MakrXAutoSchema"
    )


def test_coordinates_are_numbers_both_ways(document: dict) -> None:
    for name in ("Coordinates", "CoordinatesRequest"):
        properties = _component(document, name)["properties"]
        assert properties["lat"]["type"] == "number", name
        assert properties["lng"]["type"] == "number", name
        assert (properties["lat"]["minimum"], properties["lat"]["maximum"]) == (-90, 90)


@pytest.mark.django_db
def test_makerspace_answer_matches_its_schema_for_coordinates_and_blank_email(
    document: dict,
) -> None:
    from openapi_schema_validator import OAS30Validator, oas30_format_checker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    from tests.factories import MakerspaceFactory

    space = MakerspaceFactory.create(latitude="50.450100", longitude="30.523400", contact_email="")

    body = APIClient().get(f"/api/v1/makerspaces/{space.pk}/").json()

    assert body["coordinates"] == {"lat": 50.4501, "lng": 30.5234}
    assert body["contact_email"] == ""
    # The schema as served (JSON), read with OpenAPI 3.0's rules (nullable, formats).
    served = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    registry = Registry().with_resource(
        "urn:makrx", Resource.from_contents(served, default_specification=DRAFT4)
    )
    OAS30Validator(
        {"$ref": "urn:makrx#/components/schemas/Makerspace"},
        registry=registry,
        format_checker=oas30_format_checker,
    ).validate(body)


def test_blank_contact_email_is_declared_but_a_given_one_is_an_address(document: dict) -> None:
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    contact_email = _component(document, "Makerspace")["properties"]["contact_email"]
    validator = OAS30Validator(contact_email, format_checker=oas30_format_checker)

    assert validator.is_valid("")
    assert validator.is_valid("hello@lab.example")
    assert not validator.is_valid("not an address")


def test_csv_export_is_declared_as_text_csv(document: dict) -> None:
    path = "/api/v1/makerspaces/{makerspace_pk}/inventory/export/"
    content = _responses(document, path, "get")["200"]["content"]

    assert set(content) == {"text/csv"}


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        ("/api/v1/users/me", "patch", {"400", "401", "403", "409", "412", "413", "415", "429"}),
        ("/api/v1/users/me", "get", {"401", "429"}),
        ("/api/v1/makerspaces/", "get", {"400", "401", "429"}),
        ("/api/v1/makerspaces/{id}/", "get", {"401", "404", "429"}),
        ("/api/v1/makerspaces/{id}/", "patch", {"400", "401", "403", "404", "409", "412"}),
        ("/api/v1/makerspaces/{makerspace_pk}/members/", "get", {"400", "401", "403", "404"}),
        ("/api/v1/users/login", "post", {"400", "401", "413", "415", "429"}),
    ],
)
def test_operations_declare_the_error_envelopes_they_can_answer(
    document: dict, path: str, method: str, expected: set[str]
) -> None:
    responses = _responses(document, path, method)

    assert expected <= set(responses), sorted(responses)
    for status in expected:
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}, status


def test_operations_do_not_declare_errors_they_cannot_answer(document: dict) -> None:
    # No path parameter: nothing to look up. No If-Match: no 412. A read: no CSRF.
    assert "404" not in _responses(document, "/api/v1/users/me", "get")
    assert "412" not in _responses(document, "/api/v1/makerspaces/{id}/verify/", "post")
    assert "403" not in _responses(document, "/api/v1/makerspaces/", "get")
    assert "401" not in _responses(document, "/api/v1/users/register", "post")


def test_rate_limit_and_authentication_errors_declare_their_headers(document: dict) -> None:
    responses = _responses(document, "/api/v1/users/me", "get")

    assert "Retry-After" in responses["429"]["headers"]
    assert "WWW-Authenticate" in responses["401"]["headers"]


def test_strict_request_bodies_refuse_unknown_fields_in_the_schema(document: dict) -> None:
    for name in ("PatchedMeUpdateRequest", "RegisterRequest", "PatchedMakerspaceRequest"):
        assert _component(document, name)["additionalProperties"] is False, name
    # Serializers that ignore unknown fields are not marked.
    assert "additionalProperties" not in _component(document, "LoginRequest")
    # Answers may grow new fields.
    assert "additionalProperties" not in _component(document, "User")


@pytest.mark.django_db
def test_unknown_field_really_is_refused() -> None:
    from tests.factories import UserFactory

    user = UserFactory.create(name="Olena")
    client = APIClient()
    client.force_authenticate(user)

    response = client.patch("/api/v1/users/me", {"name": "Oksana", "nickname": "o"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"nickname": ["Unknown field."]}
    user.refresh_from_db()
    assert user.name == "Olena"


def test_decimal_strings_hold_a_digit_and_no_sign_where_negatives_are_refused(
    document: dict,
) -> None:
    import re

    quantity = _component(document, "RestockRequest")["properties"]["quantity"]["pattern"]
    rate = _component(document, "EquipmentRequest")["properties"]["hourly_rate"]["pattern"]

    assert re.match(quantity, "2.5")
    assert not re.match(quantity, "")
    assert not re.match(quantity, "-1")
    assert re.match(rate, "12.50")
    assert not re.match(rate, "-12.50")


@pytest.mark.django_db
def test_a_negative_or_empty_decimal_really_is_refused() -> None:
    from tests.factories import EquipmentFactory, MembershipFactory

    membership = MembershipFactory.create(role="manager")
    machine = EquipmentFactory.create(makerspace=membership.makerspace, hourly_rate="10.00")
    client = APIClient()
    client.force_authenticate(membership.user)
    url = f"/api/v1/makerspaces/{membership.makerspace.pk}/equipment/{machine.pk}/"

    for value in ("-12.50", ""):
        response = client.patch(url, {"hourly_rate": value}, format="json")

        assert response.status_code == 400, value
        machine.refresh_from_db()
        assert machine.hourly_rate == Decimal("10.00")
