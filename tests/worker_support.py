"""A real Celery worker and a real SMTP server, for tests that run tasks end to end."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from celery.result import AsyncResult, allow_join_result
from django.db import connection

from makrx.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.messages.append(message)


@contextmanager
def smtp_inbox() -> Iterator[tuple[Controller, Inbox]]:
    """An SMTP server on a free local port, collecting what it is sent."""
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


@contextmanager
def celery_worker(
    redis_url: str, smtp_port: int, *, route_default_queue: bool = False
) -> Iterator[str]:
    """A `celery worker` on a queue of its own, against this test's database.

    With `route_default_queue`, every task this process sends meanwhile goes to that
    queue too.
    """
    queue = f"test-{uuid.uuid4().hex}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_POOL": "false",
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
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
    # Django settings are read under the CELERY_ namespace, so those keys are the ones to flip.
    previous = {"CELERY_TASK_ALWAYS_EAGER": celery_app.conf.task_always_eager}
    overrides: dict[str, Any] = {"CELERY_TASK_ALWAYS_EAGER": False}
    if route_default_queue:
        previous["CELERY_TASK_DEFAULT_QUEUE"] = celery_app.conf.task_default_queue
        overrides["CELERY_TASK_DEFAULT_QUEUE"] = queue
    celery_app.conf.update(**overrides)
    try:
        yield queue
    finally:
        celery_app.conf.update(**previous)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def result_of(result: AsyncResult) -> object:
    """The task's return value, as the worker reports it.

    Eager tasks run by other tests in this process (from several threads at once)
    can leave Celery's process-wide "inside a task" flag set; the test itself is not
    a task, so it says so.
    """
    with allow_join_result():
        return result.get(timeout=60)


def wait_for(condition: Any, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
