import os
import uuid

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import get_hashers
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    vendor = connection.vendor
    has_redis = bool(django_settings.REDIS_URL)
    if IN_CI and (vendor != "postgresql" or not has_redis):
        raise pytest.UsageError("CI=true: the suite must run on PostgreSQL and Redis.")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (run `make test` with it reachable)")
    skip_redis = pytest.mark.skip(reason="needs Redis (run `make test` with it reachable)")
    for item in items:
        if "postgres" in item.keywords and vendor != "postgresql":
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not has_redis:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> None:
    # Real hashing costs ~0.3 s per password; tests check behaviour, not hash strength.
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _test_settings(settings) -> None:  # type: ignore[no-untyped-def]
    # Each test sees an empty cache (throttles, login failures) without flushing
    # Redis, which other test processes share.
    caches = {name: dict(conf) for name, conf in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches
    # The test client speaks plain HTTP, and static files are not collected.
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    return UserFactory.create()


@pytest.fixture
def auth_client(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def bearer_client(user) -> APIClient:  # type: ignore[no-untyped-def]
    """A client holding a real access token, as a frontend would."""
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client
