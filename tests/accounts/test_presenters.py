"""The lean account rows equal their serializers' output."""

from datetime import UTC, datetime

import pytest

from apps.accounts.api.presenters import user_row
from apps.accounts.api.serializers import UserSerializer
from apps.accounts.models import User
from tests.factories import UserFactory
from tests.lean import assert_lean_matches

pytestmark = pytest.mark.django_db


def test_user_row_is_the_user_serializer() -> None:
    plain = UserFactory.create(phone="", address="", preferences={})
    full = UserFactory.create(
        name="Олена Коваль",
        phone="+380 44 123 4567",
        address="вул. Хрещатик 1\nКиїв",
        locale="uk",
        preferences={"units": "metric", "notify": {"email": True, "days": [1, 2]}},
        email_verified=False,
        is_active=False,
    )
    User.objects.filter(pk=full.pk).update(
        created_at=datetime(2026, 7, 1, 8, 15, 30, 123456, tzinfo=UTC)
    )
    users = User.objects.filter(pk__in=[plain.pk, full.pk]).order_by("email")

    assert assert_lean_matches(user_row, UserSerializer, users) == 2
