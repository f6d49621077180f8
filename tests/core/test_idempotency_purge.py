"""Idempotency-Key answers are kept a day, then purged by an hourly job."""

import pytest
import time_machine
from django.conf import settings

from apps.core.models import IdempotencyRecord
from apps.core.tasks import purge_idempotency_records
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def record(user, key: str) -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(
        user=user, scope="store.checkout", key=key, request_hash="0" * 64, status_code=201
    )


def test_the_job_forgets_answers_older_than_a_day(
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    user = UserFactory.create()
    time_machine.move_to("2026-05-01T08:00:00Z", tick=False)
    old = record(user, "old")
    unanswered = IdempotencyRecord.objects.create(
        user=user, scope="store.pay", key="died", request_hash="1" * 64
    )
    time_machine.move_to("2026-05-01T20:00:00Z", tick=False)
    recent = record(user, "recent")

    time_machine.move_to("2026-05-02T08:30:00Z", tick=False)
    assert purge_idempotency_records.apply().result == 2
    assert purge_idempotency_records.apply().result == 0

    remaining = set(IdempotencyRecord.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk}
    assert old.pk not in remaining
    assert unanswered.pk not in remaining


def test_the_job_runs_every_hour() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["core-purge-idempotency-records"]
    assert (
        entry["task"]
        == purge_idempotency_records.name
        == "apps.core.tasks.purge_idempotency_records"
    )
    assert entry["schedule"].minute == {17}
    assert entry["schedule"].hour == set(range(24))
