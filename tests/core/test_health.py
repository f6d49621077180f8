import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


def test_health_is_ok_when_everything_answers(api_client: APIClient, settings) -> None:
    response = api_client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"
    assert body["checks"]["broker"] == ("eager" if settings.CELERY_TASK_ALWAYS_EAGER else "ok")


def test_health_is_503_naming_the_cache_when_it_is_down(api_client: APIClient, settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED_PORT_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }

    response = api_client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"].startswith("failed")


@pytest.mark.redis
def test_health_checks_the_real_broker_and_names_it_when_down(
    api_client: APIClient, settings
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    healthy = api_client.get("/health")
    settings.CELERY_BROKER_URL = CLOSED_PORT_REDIS
    broken = api_client.get("/health")

    assert healthy.status_code == 200
    assert healthy.json()["checks"]["broker"] == "ok"
    assert broken.status_code == 503
    assert broken.json()["failing"] == ["broker"]
