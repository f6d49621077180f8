"""The jobs of the project's common parts."""

from celery import shared_task

from apps.core import idempotency


@shared_task
def purge_idempotency_records() -> int:
    """Every hour: forget the ``Idempotency-Key`` answers older than a day."""
    return idempotency.purge_expired()
