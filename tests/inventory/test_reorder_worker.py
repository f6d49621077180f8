"""With a real Celery worker and a real SMTP server: two deductions crossing the minimum
together send exactly one reorder email, and running the job again sends nothing more."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from celery.result import AsyncResult, allow_join_result
from django.db import connection

from apps.core.exceptions import ApplicationError
from apps.inventory import services
from apps.inventory.models import ReorderAlert
from apps.inventory.tasks import send_reorder_alert
from makrx.celery import app as celery_app
from tests.concurrency.helpers import run_together
from tests.factories import MakerspaceFactory, MembershipFactory
from tests.inventory.support import ledger_sum, stock_of, stocked_item


def result_of(result: AsyncResult) -> object:
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
        self.messages: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
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
def worker(settings, smtp_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A `celery worker` on a queue of its own, against this test's database; every task
    this process sends meanwhile goes to that queue."""
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
    # Django settings are read under the CELERY_ namespace, so those keys are the ones to flip.
    previous = {
        "CELERY_TASK_ALWAYS_EAGER": celery_app.conf.task_always_eager,
        "CELERY_TASK_DEFAULT_QUEUE": celery_app.conf.task_default_queue,
    }
    celery_app.conf.update(CELERY_TASK_ALWAYS_EAGER=False, CELERY_TASK_DEFAULT_QUEUE=queue)
    try:
        yield queue
    finally:
        celery_app.conf.update(**previous)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for(condition: Any, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_two_deductions_crossing_together_send_one_email_and_a_rerun_sends_none(  # type: ignore[no-untyped-def]
    worker, smtp_server
) -> None:
    _controller, inbox = smtp_server
    assert celery_app.conf.task_default_queue == worker
    space = MakerspaceFactory.create(name="Kyiv Lab")
    MembershipFactory.create(makerspace=space, role="admin", user__email="admin@kyivlab.org")
    MembershipFactory.create(makerspace=space, role="manager", user__email="manager@kyivlab.org")
    MembershipFactory.create(makerspace=space, role="member", user__email="member@kyivlab.org")
    filament = stocked_item(
        space, stock=1100, name="PLA white", sku="PLA-W", unit="g", min_stock_level=1000
    )

    def print_job(index: int) -> str:
        try:
            services.stock_deduct(
                item=filament, quantity=Decimal("100"), reason=f"Print {index}", acting_user=None
            )
        except ApplicationError as exc:
            return exc.code
        return "ok"

    outcomes = run_together(2, print_job)

    assert outcomes == ["ok", "ok"]
    assert stock_of(filament) == ledger_sum(filament) == Decimal("900")
    alert = ReorderAlert.objects.get(item=filament)
    assert alert.stock_at_crossing == Decimal("1000")
    assert wait_for(lambda: len(inbox.messages) >= 1)
    alert.refresh_from_db()
    assert alert.sent_at is not None

    rerun = send_reorder_alert.apply_async(args=(str(alert.pk),), queue=worker)

    # The worker runs one task at a time in order, so the rerun's result comes after
    # every job the deductions queued.
    assert result_of(rerun) is False
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["Subject"] == "Low stock: PLA white at Kyiv Lab"
    assert sorted(address.strip() for address in message["To"].split(",")) == [
        "admin@kyivlab.org",
        "manager@kyivlab.org",
    ]
    body = message.get_payload(decode=True).decode()
    assert "PLA white (PLA-W) is down to 1000 grams" in body
