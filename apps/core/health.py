"""Health of the parts MakrX cannot work without: database, cache, broker."""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger("makrx.health")


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(key)


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from kombu import Connection

    # A fresh connection, not one from the pool: the point is to learn whether the
    # broker answers now.
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=0, timeout=2)
    return "ok"


def run_checks() -> tuple[bool, dict[str, str]]:
    checks: dict[str, str] = {}
    healthy = True
    for name, check in (("database", check_database), ("cache", check_cache)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:
            logger.warning("health check %s failed: %s", name, exc)
            checks[name] = f"failed: {exc.__class__.__name__}"
            healthy = False
    try:
        checks["broker"] = check_broker()
    except Exception as exc:
        logger.warning("health check broker failed: %s", exc)
        checks["broker"] = f"failed: {exc.__class__.__name__}"
        healthy = False
    return healthy, checks
