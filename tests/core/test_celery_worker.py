"""A real Celery worker, on the Redis broker, runs our tasks and sends mail over SMTP."""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from celery.result import AsyncResult, allow_join_result
from django.db import connection

from apps.accounts.tasks import send_verification_email
from makrx.celery import app as celery_app
from makrx.celery import ping
from tests.factories import UserFactory


def wait_for(result: AsyncResult) -> object:
    """The task's return value, as the worker reports it.

    Eager tasks run by other tests in this process (from several threads at once)
    can leave Celery's process-wide "inside a task" flag set; the test itself is not
    a task, so it says so.
    """
    with allow_join_result():
        return result.get(timeout=60)


pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
        self.messages.append(message)


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def worker(settings, smtp_server):  # type: ignore[no-untyped-def]
    """Start `celery worker` on a queue of its own, against this test's database."""
    controller, _inbox = smtp_server
    queue = f"test-{uuid.uuid4().hex}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_POOL": "false",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": f"smtp://127.0.0.1:{controller.port}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "makrx",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    # Django settings are read under the CELERY_ namespace, so that key is the one to flip.
    previous = celery_app.conf.task_always_eager
    celery_app.conf.update(CELERY_TASK_ALWAYS_EAGER=False)
    try:
        yield queue
    finally:
        celery_app.conf.update(CELERY_TASK_ALWAYS_EAGER=previous)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_worker_runs_a_task_and_returns_its_result(worker: str) -> None:
    result = ping.apply_async(queue=worker)

    assert wait_for(result) == "pong"
    assert result.backend.__class__.__name__ == "RedisBackend"


def test_worker_sends_the_verification_email_over_smtp(worker: str, smtp_server) -> None:  # type: ignore[no-untyped-def]
    _controller, inbox = smtp_server
    user = UserFactory.create(email="worker-test@example.org", email_verified=False)

    result = send_verification_email.apply_async(args=(str(user.pk),), queue=worker)

    assert wait_for(result) is True
    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "worker-test@example.org"
    assert "/accounts/verify-email/" in message.get_payload(decode=True).decode()
