"""The orjson renderer writes what DRF's JSONRenderer writes, for every type the API uses."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from apps.core.api.renderers import JSONRenderer

KYIV = ZoneInfo("Europe/Kyiv")

SAMPLES = [
    {"when": datetime(2026, 12, 1, 9, 30, tzinfo=UTC)},
    {"when": datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)},
    {"when": datetime(2026, 7, 1, 9, 30, 15, 500, tzinfo=KYIV)},
    {"naive": datetime(2026, 12, 1, 9, 30, 15, 999999)},
    {"day": date(2027, 1, 1), "at": time(23, 59, 59, 10)},
    {"price": Decimal("12.50"), "tiny": Decimal("0.001"), "big": Decimal("1E+3")},
    {"span": timedelta(hours=1, seconds=1)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"message": gettext_lazy("This field is required.")},
    {"text": 'Майстерня ✓ "quoted" \\ back\nline', "none": None, "flag": True},
    {"nested": [{"a": [1, 2.5, -3]}, [], {}], "empty": ""},
    {1: "integer key"},
    [Decimal("1.10"), datetime(2026, 1, 1, tzinfo=UTC)],
    {"huge": 2**64, "negative": -(2**70), "nested": [{"n": 10**30}]},
]


@pytest.mark.parametrize("data", SAMPLES)
def test_renderer_writes_drfs_bytes(data: object) -> None:
    assert JSONRenderer().render(data) == DRFJSONRenderer().render(data)


def test_renderer_refuses_an_unknown_type_instead_of_writing_null() -> None:
    with pytest.raises(TypeError):
        JSONRenderer().render({"thing": object()})


def test_no_body_renders_empty() -> None:
    assert JSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_api_answers_through_the_orjson_renderer(client) -> None:
    response = client.get("/api/v1/makerspaces/?limit=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.accepted_renderer.__class__ is JSONRenderer


@pytest.mark.django_db
def test_a_stored_integer_beyond_64_bits_comes_back_as_sent() -> None:
    from rest_framework.test import APIClient

    from apps.accounts.models import User
    from tests.factories import UserFactory

    user = UserFactory.create()
    client = APIClient()
    client.force_authenticate(user)
    response = client.patch("/api/v1/users/me", {"preferences": {"counter": 2**70}}, format="json")

    assert response.status_code == 200
    assert response.json()["preferences"] == {"counter": 2**70}
    client.force_authenticate(User.objects.get(pk=user.pk))
    assert client.get("/api/v1/users/me").json()["preferences"] == {"counter": 2**70}
