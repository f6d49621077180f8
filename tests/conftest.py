import os
import uuid
from collections.abc import Generator
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.hashers import get_hashers
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"
_PINNED_AT = pytest.StashKey[datetime]()
_SESSION_TRAVEL = pytest.StashKey[time_machine.travel]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pin-clock",
        metavar="MOMENT",
        default=None,
        help=(
            "Run every test as if the clock read MOMENT (ISO 8601 with a UTC offset, e.g. "
            "2026-11-29T23:30:00+00:00); the clock still ticks from there so timeouts move."
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("pin_clock")
    if not value:
        return
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise pytest.UsageError(f"--pin-clock: {value!r} is not an ISO 8601 moment.") from None
    if moment.tzinfo is None:
        raise pytest.UsageError(f"--pin-clock: {value!r} needs a UTC offset, e.g. +02:00.")
    # Pinned in UTC so the process's own timezone stays as Django set it; only the
    # moment moves. Pinning here already covers values computed while test modules import.
    moment = moment.astimezone(UTC)
    config.stash[_PINNED_AT] = moment
    session_travel = time_machine.travel(moment, tick=True)
    session_travel.start()
    config.stash[_SESSION_TRAVEL] = session_travel


def pytest_unconfigure(config: pytest.Config) -> None:
    session_travel = config.stash.get(_SESSION_TRAVEL, None)
    if session_travel is not None:
        session_travel.stop()
        del config.stash[_SESSION_TRAVEL]


def pytest_report_header(config: pytest.Config) -> str | None:
    moment = config.stash.get(_PINNED_AT, None)
    return f"clock pinned at {moment.isoformat()} (ticking)" if moment else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator:
    # Every test starts at the pinned moment itself, before any of its fixtures run,
    # however long the tests before it took.
    moment = item.config.stash.get(_PINNED_AT, None)
    if moment is None:
        return (yield)
    with time_machine.travel(moment, tick=True):
        return (yield)


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    # File contents (3D models, images) make unstable ids: a 3MF carries a fresh UUID
    # each time it is made, and xdist requires every worker to collect the same ids.
    if isinstance(val, bytes):
        return argname
    return None


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
def _test_settings(settings) -> None:
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
def user(db):
    return UserFactory.create()


@pytest.fixture
def auth_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def bearer_client(user) -> APIClient:
    """A client holding a real access token, as a frontend would."""
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client
