"""API rate limits: one counter per window, exact under concurrency, on Redis and locmem."""

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import caches
from rest_framework.test import APIClient

from apps.core.api.throttles import count_in_window

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]

# 50 seconds into a clock minute: a 3/min window has 10 seconds left.
LATE_IN_A_MINUTE = datetime(2026, 12, 1, 12, 0, 50, tzinfo=UTC)


@pytest.fixture
def three_a_minute(settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "3/min",
        },
    }


@pytest.fixture(params=["configured", "locmem"])
def cache_backend(request, settings) -> str:
    """The configured cache (Redis in the suite) and the embedded default's locmem."""
    if request.param == "locmem":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": f"throttle-test-{request.node.name}",
            }
        }
    return caches["default"].__class__.__name__


def _statuses(client: APIClient, n: int) -> list[int]:
    return [client.get("/api/v1/_test/users/").status_code for _ in range(n)]


@pytest.mark.usefixtures("three_a_minute")
def test_allowance_ends_with_the_window_and_a_new_one_starts(cache_backend: str) -> None:
    client = APIClient()
    with time_machine.travel(LATE_IN_A_MINUTE, tick=False) as clock:
        assert _statuses(client, 4) == [200, 200, 200, 429]
        refused = client.get("/api/v1/_test/users/")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        assert refused["Retry-After"] == "10"

        clock.shift(9)
        assert _statuses(client, 1) == [429]
        assert client.get("/api/v1/_test/users/")["Retry-After"] == "1"

        clock.shift(1)  # 12:01:00, a new window
        assert _statuses(client, 4) == [200, 200, 200, 429]
    assert cache_backend in {"RedisCache", "LocMemCache"}


@pytest.mark.usefixtures("three_a_minute")
def test_clients_are_counted_apart(settings) -> None:
    settings.TRUSTED_PROXIES = []
    with time_machine.travel(LATE_IN_A_MINUTE, tick=False):
        first = APIClient(REMOTE_ADDR="198.51.100.1")
        second = APIClient(REMOTE_ADDR="198.51.100.2")
        assert _statuses(first, 4) == [200, 200, 200, 429]
        assert _statuses(second, 3) == [200, 200, 200]


def test_counter_is_exact_when_many_threads_count_at_once() -> None:
    key = "throttle-test:race"
    counted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def hit() -> None:
        start.wait()
        for _ in range(5):
            value = count_in_window(key, 60)
            with lock:
                counted.append(value)

    threads = [threading.Thread(target=hit) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(counted) == list(range(1, 201))


def test_counter_expires_after_its_window() -> None:
    backend = caches["default"]
    assert count_in_window("throttle-test:expiry", 60) == 1
    assert count_in_window("throttle-test:expiry", 60) == 2
    if backend.__class__.__name__ == "RedisCache":
        client = backend._cache.get_client(write=True)  # type: ignore[attr-defined]
        ttl = client.ttl(backend.make_and_validate_key("throttle-test:expiry"))
        assert 59 <= ttl <= 61
