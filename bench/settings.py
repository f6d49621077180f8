"""Benchmark-only settings: the production settings plus the floor routes under /bench/.

Never used in production: only ``bench/run.py`` points gunicorn at this module, with
the production environment it sets itself (DATABASE_URL, REDIS_URL, SECRET_KEY,
ALLOWED_HOSTS, DEBUG off).
"""

from makrx.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
