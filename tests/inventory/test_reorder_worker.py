"""With a real Celery worker and a real SMTP server: two deductions crossing the minimum
together send exactly one reorder email, and running the job again sends nothing more."""

from collections.abc import Iterator
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller

from apps.accounts.system import system_actor
from apps.core.exceptions import ApplicationError
from apps.inventory import services
from apps.inventory.models import ReorderAlert
from apps.inventory.tasks import send_reorder_alert
from makrx.celery import app as celery_app
from tests.concurrency.helpers import run_together
from tests.factories import MakerspaceFactory, MembershipFactory
from tests.inventory.support import ledger_sum, stock_of, stocked_item
from tests.worker_support import Inbox, celery_worker, result_of, smtp_inbox, wait_for

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
    """A `celery worker` on a queue of its own, against this test's database; every task
    this process sends meanwhile goes to that queue."""
    controller, _inbox = smtp_server
    with celery_worker(settings.REDIS_URL, controller.port, route_default_queue=True) as queue:
        yield queue


def test_two_deductions_crossing_together_send_one_email_and_a_rerun_sends_none(
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

    system = system_actor()

    def print_job(index: int) -> str:
        try:
            services.stock_deduct(
                item=filament, quantity=Decimal("100"), reason=f"Print {index}", acting_user=system
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
