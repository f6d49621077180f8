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
