"""A real Celery worker, on the Redis broker, runs our tasks and sends mail over SMTP."""

import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from apps.accounts.tasks import send_verification_email
from makrx.celery import ping
from tests.factories import UserFactory
from tests.worker_support import Inbox, celery_worker, result_of, smtp_inbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    with smtp_inbox() as server:
        yield server


@pytest.fixture
def worker(settings, smtp_server) -> Iterator[str]:
    """Start `celery worker` on a queue of its own, against this test's database."""
    controller, _inbox = smtp_server
    with celery_worker(settings.REDIS_URL, controller.port) as queue:
        yield queue


def test_worker_runs_a_task_and_returns_its_result(worker: str) -> None:
    result = ping.apply_async(queue=worker)

    assert result_of(result) == "pong"
    assert result.backend.__class__.__name__ == "RedisBackend"


def test_worker_sends_the_verification_email_over_smtp(worker: str, smtp_server) -> None:
    _controller, inbox = smtp_server
    user = UserFactory.create(email="worker-test@example.org", email_verified=False)

    result = send_verification_email.apply_async(args=(str(user.pk),), queue=worker)

    assert result_of(result) is True
    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "worker-test@example.org"
    assert "/accounts/verify-email/" in message.get_payload(decode=True).decode()
