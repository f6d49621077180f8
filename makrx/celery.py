"""The Celery app: Redis broker in production, eager in the embedded default."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "makrx.settings")

app = Celery("makrx")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="makrx.ping")
def ping() -> str:
    return "pong"
