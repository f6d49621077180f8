from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_schema_generates_without_warnings_and_validates(tmp_path) -> None:
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

    return SchemaGenerator().get_schema(request=None, public=True)


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


# --- Schema-valid requests are the ones the server takes -----------------------------------


def _valid(schema: dict, value: object, document: dict | None = None) -> bool:
    from openapi_schema_validator import OAS30Validator, oas30_format_checker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    if document is None:
        return OAS30Validator(schema, format_checker=oas30_format_checker).is_valid(value)
    registry = Registry().with_resource(
        "urn:makrx", Resource.from_contents(document, default_specification=DRAFT4)
    )
    # Local references ("#/components/...") resolve against the schema's own root, so it
    # carries the document's components with it.
    schema = {**schema, "components": document["components"]}
    return OAS30Validator(schema, registry=registry, format_checker=oas30_format_checker).is_valid(
        value
    )


def _component_ref(name: str) -> dict:
    return {"$ref": f"urn:makrx#/components/schemas/{name}"}


def _query_parameter(document: dict, path: str, name: str) -> dict:
    parameters = document["paths"][path]["get"]["parameters"]
    return next(parameter for parameter in parameters if parameter["name"] == name)["schema"]


def test_free_text_in_request_bodies_says_nul_is_refused(document: dict) -> None:
    # Lone surrogates cannot be said in a pattern that schema validators accept; the
    # parser refuses them (tests/core/test_bad_input.py), and UTF-8 cannot carry them.
    from apps.core.api.schema import STORABLE_TEXT

    unpatterned = []
    for name, component in document["components"]["schemas"].items():
        if not name.endswith("Request"):
            continue
        for field, prop in component.get("properties", {}).items():
            prop = prop.get("items", prop) if prop.get("type") == "array" else prop
            if prop.get("type") == "string" and not {"pattern", "format", "enum", "anyOf"} & set(
                prop
            ):
                unpatterned.append(f"{name}.{field}")
    description = _component(document, "ProjectInputRequest")["properties"]["description"]

    assert unpatterned == []
    assert description["pattern"] == STORABLE_TEXT
    assert _valid(description, "A lamp, made of plywood — з фанери 🙂")
    assert not _valid(description, "nul\x00inside")


def test_positive_quantities_refuse_every_spelling_of_zero_in_the_schema(document: dict) -> None:
    quantity = _component(document, "RestockRequest")["properties"]["quantity"]
    new_stock = _component(document, "AdjustRequest")["properties"]["new_stock"]

    for zero in ("0", "00", "0.0", "0.000"):
        assert not _valid(quantity, zero), zero
        assert _valid(new_stock, zero), zero
    assert _valid(quantity, "0.001")
    assert _valid(quantity, "10")


@pytest.mark.parametrize(
    ("path", "name", "taken", "refused"),
    [
        ("/api/v1/users/me/projects/", "status", ["draft", "draft,active", ""], ["bogus"]),
        (
            "/api/v1/makerspaces/{makerspace_pk}/projects/",
            "status",
            ["archived", "draft,,active"],
            ["draft,bogus"],
        ),
        (
            "/api/v1/makerspaces/{makerspace_pk}/reservations/",
            "status",
            ["pending,confirmed", ""],
            ["pending,", "later"],
        ),
        (
            "/api/v1/makerspaces/{makerspace_pk}/inventory/{id}/movements/",
            "kind",
            ["deduct", "restock,adjust"],
            ["theft", "deduct,"],
        ),
        ("/api/v1/makerspaces/", "near", ["50.45,30.52", "-90,180"], ["here", "91,0", "0,181"]),
    ],
)
def test_list_filters_declare_the_values_they_take(
    document: dict, path: str, name: str, taken: list[str], refused: list[str]
) -> None:
    schema = _query_parameter(document, path, name)

    for value in taken:
        assert _valid(schema, value), value
    for value in refused:
        assert not _valid(schema, value), value


def test_directory_radius_is_bounded_and_timezones_are_an_enum(document: dict) -> None:
    radius = _query_parameter(document, "/api/v1/makerspaces/", "radius_km")
    timezone = _component(document, "MakerspaceRequest")["properties"]["timezone"]
    # The generator names the choice set as a component of its own.
    zones = _component(document, timezone["allOf"][0]["$ref"].rsplit("/", 1)[-1])["enum"]

    assert (radius["minimum"], radius["maximum"]) == (0.1, 20000)
    assert "Europe/Kyiv" in zones
    assert "makerspace.delete" not in zones


@pytest.mark.django_db
def test_a_status_filter_with_an_unknown_status_is_refused() -> None:
    from tests.factories import UserFactory

    client = APIClient()
    client.force_authenticate(UserFactory.create())

    response = client.get("/api/v1/users/me/projects/", {"status": "draft,bogus"})

    assert response.status_code == 400
    assert "status" in response.json()["error"]["details"]


def test_rules_between_fields_are_in_the_schema(document: dict) -> None:
    logout = _component(document, "LogoutRequest")
    collaborator = _component(document, "CollaboratorInputRequest")
    role_change = _component(document, "PatchedCollaboratorRoleRequest")
    member_role = _component(document, "PatchedMemberRoleRequest")

    assert not _valid(logout, {})
    assert not _valid(logout, {"all": False})
    assert _valid(logout, {"refresh_token": "r"})
    assert _valid(logout, {"all": True})
    assert _valid(collaborator, {"user": "00000000-0000-4000-8000-000000000000"})
    assert _valid(collaborator, {"email": "a@lab.example"})
    assert not _valid(collaborator, {})
    assert not _valid(
        collaborator, {"user": "00000000-0000-4000-8000-000000000000", "email": "a@lab.example"}
    )
    assert role_change["required"] == ["role"]
    assert member_role["required"] == ["role"]


@pytest.mark.django_db
def test_a_logout_without_token_or_all_and_a_role_change_without_role_are_refused() -> None:
    from tests.factories import MembershipFactory

    membership = MembershipFactory.create(role="admin")
    client = APIClient()
    client.force_authenticate(membership.user)
    other = MembershipFactory.create(makerspace=membership.makerspace, role="member")
    url = f"/api/v1/makerspaces/{membership.makerspace.pk}/members/{other.pk}/"

    logout = client.post("/api/v1/users/logout", {}, format="json")
    role_change = client.patch(url, {}, format="json")

    assert logout.status_code == 400
    assert role_change.status_code == 400
    other.refresh_from_db()
    assert other.role == "member"


def test_tags_and_free_form_objects_say_what_they_take(document: dict) -> None:
    project = _component(document, "ProjectInputRequest")["properties"]
    equipment = _component(document, "EquipmentRequest")["properties"]
    makerspace = _component(document, "MakerspaceRequest")["properties"]
    me = _component(document, "PatchedMeUpdateRequest")["properties"]
    schedule = _component(document, "MaintenanceScheduleRequest")

    assert _valid(project["tags"], ["laser", "3d printing", "фанера"])
    assert not _valid(project["tags"], ["a=b"])
    for free_form in (equipment["specifications"], makerspace["settings"], me["preferences"]):
        assert _valid(free_form, {"power": "40W"})
        assert not _valid(free_form, ["not", "an", "object"])
    assert _valid(makerspace["business_hours"], {"mon": [["09:00", "17:00"]], "sun": []})
    assert not _valid(makerspace["business_hours"], {"someday": []})
    assert not _valid(makerspace["business_hours"], {"mon": [["9am", "5pm"]]})
    assert schedule["additionalProperties"] is False


@pytest.mark.django_db
def test_a_number_given_as_text_is_refused_and_nothing_is_written() -> None:
    from apps.projects.models import Project
    from tests.factories import MembershipFactory

    membership = MembershipFactory.create(role="member")
    client = APIClient()
    client.force_authenticate(membership.user)
    url = f"/api/v1/makerspaces/{membership.makerspace.pk}/projects/"

    description = client.post(url, {"name": "Lamp", "description": 12345}, format="json")
    tag = client.post(url, {"name": "Lamp", "tags": [7]}, format="json")

    assert description.status_code == 400
    assert description.json()["error"]["details"] == {"description": ["Not a valid string."]}
    assert tag.status_code == 400
    assert "tags" in tag.json()["error"]["details"]
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_an_unknown_maintenance_schedule_key_is_refused() -> None:
    from tests.factories import EquipmentFactory, MembershipFactory

    membership = MembershipFactory.create(role="admin")
    machine = EquipmentFactory.create(makerspace=membership.makerspace)
    client = APIClient()
    client.force_authenticate(membership.user)
    url = f"/api/v1/makerspaces/{membership.makerspace.pk}/equipment/{machine.pk}/"

    response = client.patch(
        url, {"maintenance_schedule": {"interval_hours": 5, "every": "week"}}, format="json"
    )

    assert response.status_code == 400
    machine.refresh_from_db()
    assert machine.maintenance_interval_hours != 5


def test_item_reads_match_a_caller_shape_even_when_both_fit(document: dict) -> None:
    shapes = _component(document, "InventoryItemForCaller")
    member_item = {
        "id": "00000000-0000-4000-8000-000000000000",
        "name": "PLA",
        "sku": "PLA-1",
        "category": "",
        "unit": "g",
        "current_stock": "5.000",
        "min_stock_level": "0.000",
        "reorder_quantity": "0.000",
        "location": "",
        "is_low_stock": False,
        "is_active": True,
        "created_at": "2026-02-10T08:00:00Z",
        "updated_at": "2026-02-10T08:00:00Z",
    }

    assert "oneOf" not in shapes
    assert _valid(_component_ref("InventoryItemForCaller"), member_item, document)


def test_inventory_bodies_are_json_and_the_import_takes_a_file(document: dict) -> None:
    item = document["paths"]["/api/v1/makerspaces/{makerspace_pk}/inventory/{id}/"]
    imported = document["paths"]["/api/v1/makerspaces/{makerspace_pk}/inventory/import/"]["post"]
    suggestions = document["paths"][
        "/api/v1/makerspaces/{makerspace_pk}/inventory/reorder-suggestions/"
    ]["get"]

    assert set(item["patch"]["requestBody"]["content"]) == {"application/json"}
    assert set(imported["requestBody"]["content"]) == {"multipart/form-data", "text/csv"}
    assert imported["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == [
        "file"
    ]
    refused = imported["responses"]["400"]["content"]["application/json"]["schema"]
    assert _valid(refused, {"error": {"code": "X", "message": "m", "details": {}}}, document)
    assert set(suggestions["responses"]["200"]["content"]) == {"application/json", "text/csv"}


@pytest.mark.django_db
def test_inventory_takes_json_only_and_a_csv_body_imports() -> None:
    from apps.inventory.models import InventoryItem
    from tests.factories import InventoryItemFactory, MembershipFactory

    membership = MembershipFactory.create(role="manager")
    item = InventoryItemFactory.create(makerspace=membership.makerspace, name="PLA")
    client = APIClient()
    client.force_authenticate(membership.user)
    base = f"/api/v1/makerspaces/{membership.makerspace.pk}/inventory/"

    patched = client.generic("PATCH", f"{base}{item.pk}/", "{}", content_type="image/webp")
    imported = client.generic(
        "POST", f"{base}import", "sku,name\nNEW-1,Brass inserts\n", content_type="text/csv"
    )
    empty = client.post(f"{base}import", {}, format="multipart")

    assert patched.status_code == 415
    assert imported.status_code == 200, imported.content
    assert InventoryItem.objects.filter(sku="NEW-1", name="Brass inserts").exists()
    assert empty.status_code == 400
    assert empty.json()["error"]["details"] == {"file": ["Upload a CSV file in the `file` field."]}
