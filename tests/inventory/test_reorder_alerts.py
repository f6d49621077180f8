"""Reorder emails: one per fall of an item to its minimum, to the space's admins and
managers, and a daily digest sent once per space per day."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from apps.accounts.system import system_actor
from apps.inventory import services
from apps.inventory.models import InventoryItem, LowStockDigest, ReorderAlert
from apps.inventory.services import Withdrawal
from apps.inventory.tasks import send_low_stock_digests, send_reorder_alert
from makrx.celery import app as celery_app
from tests.factories import MakerspaceFactory, MembershipFactory
from tests.inventory.support import client_for, item_url, stocked_item

pytestmark = [pytest.mark.django_db, pytest.mark.clock]
KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    # Django settings are read under the CELERY_ namespace, so that key is the one to flip.
    previous = celery_app.conf.task_always_eager
    celery_app.conf.update(CELERY_TASK_ALWAYS_EAGER=True)
    yield
    celery_app.conf.update(CELERY_TASK_ALWAYS_EAGER=previous)


@pytest.fixture
def space():
    space = MakerspaceFactory.create(name="Kyiv Lab")
    MembershipFactory.create(makerspace=space, role="admin", user__email="admin@kyivlab.org")
    MembershipFactory.create(makerspace=space, role="manager", user__email="manager@kyivlab.org")
    MembershipFactory.create(makerspace=space, role="member", user__email="member@kyivlab.org")
    MembershipFactory.create(
        makerspace=space, role="manager", status="pending", user__email="pending@kyivlab.org"
    )
    MembershipFactory.create(role="admin", user__email="admin@elsewhere.org")
    return space


@pytest.fixture
def filament(space) -> InventoryItem:
    return stocked_item(
        space,
        stock=1200,
        name="PLA white",
        sku="PLA-W",
        unit="g",
        min_stock_level=1000,
        reorder_quantity=5000,
        supplier="Acme",
    )


def deduct(item: InventoryItem, quantity: str) -> None:
    services.stock_deduct(
        item=item, quantity=Decimal(quantity), reason="Print job", acting_user=system_actor()
    )


def restock(item: InventoryItem, quantity: str) -> None:
    services.stock_restock(item=item, quantity=Decimal(quantity), acting_user=system_actor())


def test_falling_to_the_minimum_emails_the_admins_and_managers_once(
    filament, space, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        deduct(filament, "200")

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert sorted(email.to) == ["admin@kyivlab.org", "manager@kyivlab.org"]
    assert email.subject == "Low stock: PLA white at Kyiv Lab"
    assert "PLA white (PLA-W) is down to 1000 grams, at or below its minimum of 1000." in email.body
    assert "Suggested order: 5000 grams from Acme." in email.body
    alert = ReorderAlert.objects.get(item=filament)
    assert alert.stock_at_crossing == Decimal("1000")
    assert alert.sent_at is not None
    assert alert.is_open is True


def test_a_deduction_through_the_api_that_crosses_sends_the_email(
    filament, space, django_capture_on_commit_callbacks
) -> None:
    manager = space.memberships.get(role="manager", status="active").user

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(manager).post(
            item_url(filament, "deduct"), {"quantity": "250", "reason": "Big print"}
        )

    assert response.status_code == 200
    assert [email.subject for email in mail.outbox] == ["Low stock: PLA white at Kyiv Lab"]


def test_further_deductions_below_the_minimum_send_nothing(
    filament, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        deduct(filament, "300")
    assert len(mail.outbox) == 1

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deduct(filament, "100")
        services.stock_adjust(
            item=filament, new_stock=Decimal("400"), reason="Count", acting_user=system_actor()
        )
        deduct(filament, "400")

    assert callbacks == []
    assert len(mail.outbox) == 1
    assert ReorderAlert.objects.filter(item=filament).count() == 1


def test_a_restock_to_exactly_the_minimum_does_not_rearm_the_alert(
    filament, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        deduct(filament, "500")
        restock(filament, "300")
        deduct(filament, "1")

    assert len(mail.outbox) == 1
    assert ReorderAlert.objects.filter(item=filament).count() == 1


def test_a_restock_above_the_minimum_then_a_new_fall_sends_again(
    filament, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        deduct(filament, "500")
    with django_capture_on_commit_callbacks(execute=True):
        restock(filament, "1000")
    assert len(mail.outbox) == 1
    assert not ReorderAlert.objects.filter(item=filament, is_open=True).exists()

    with django_capture_on_commit_callbacks(execute=True):
        deduct(filament, "700")

    assert len(mail.outbox) == 2
    alerts = ReorderAlert.objects.filter(item=filament).order_by("created_at")
    assert [(alert.stock_at_crossing, alert.is_open) for alert in alerts] == [
        (Decimal("700"), False),
        (Decimal("1000"), True),
    ]


def test_a_count_or_a_bill_of_materials_that_crosses_sends_the_email(
    filament, space, django_capture_on_commit_callbacks
) -> None:
    inserts = stocked_item(space, stock=30, name="Brass inserts", sku="INS-M3", min_stock_level=10)

    with django_capture_on_commit_callbacks(execute=True):
        services.stock_adjust(
            item=filament, new_stock=Decimal("950"), reason="Count", acting_user=system_actor()
        )
        services.stock_consume_many(
            withdrawals=[
                Withdrawal(item=inserts, quantity=Decimal("20")),
                Withdrawal(item=filament, quantity=Decimal("50")),
            ],
            reason="Project BOM",
            acting_user=system_actor(),
        )

    assert sorted(email.subject for email in mail.outbox) == [
        "Low stock: Brass inserts at Kyiv Lab",
        "Low stock: PLA white at Kyiv Lab",
    ]


def test_an_item_created_already_low_sends_no_reorder_email(
    space, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        item = stocked_item(space, stock=5, min_stock_level=10)
        deduct(item, "1")

    assert mail.outbox == []
    assert not ReorderAlert.objects.exists()


def test_running_the_alert_job_twice_sends_one_email(
    filament, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deduct(filament, "200")
    assert len(callbacks) == 1
    alert = ReorderAlert.objects.get(item=filament)

    first = send_reorder_alert.delay(str(alert.pk)).get()
    second = send_reorder_alert.delay(str(alert.pk)).get()

    assert (first, second) == (True, False)
    assert len(mail.outbox) == 1


def test_the_daily_digest_goes_once_per_space_per_day(space, filament) -> None:
    deduct(filament, "300")
    stocked_item(space, stock=0, name="Resin grey", sku="RES-G", min_stock_level=1)
    stocked_item(space, stock=50, name="Plywood", sku="PLY-3", min_stock_level=5)
    other = MakerspaceFactory.create(name="Lviv Lab")
    MembershipFactory.create(makerspace=other, role="manager", user__email="manager@lvivlab.org")
    stocked_item(other, stock=1, name="Acrylic", sku="ACR-3", min_stock_level=2)
    quiet = MakerspaceFactory.create(name="Odesa Lab")
    MembershipFactory.create(makerspace=quiet, role="admin", user__email="admin@odesalab.org")
    stocked_item(quiet, stock=10, min_stock_level=2)
    gone = stocked_item(other, stock=0, name="Discontinued", min_stock_level=1)
    gone.is_active = False
    gone.save(update_fields=["is_active"])

    first_run = send_low_stock_digests.delay().get()
    second_run = send_low_stock_digests.delay().get()

    assert (first_run, second_run) == (2, 0)
    by_recipients = {tuple(sorted(email.to)): email for email in mail.outbox}
    assert set(by_recipients) == {
        ("admin@kyivlab.org", "manager@kyivlab.org"),
        ("manager@lvivlab.org",),
    }
    kyiv = by_recipients[("admin@kyivlab.org", "manager@kyivlab.org")]
    assert kyiv.subject == "2 items low on stock at Kyiv Lab"
    assert "- PLA white (PLA-W): 900 grams / minimum 1000" in kyiv.body
    assert "Resin grey (RES-G)" in kyiv.body
    assert "Plywood" not in kyiv.body
    lviv = by_recipients[("manager@lvivlab.org",)]
    assert lviv.subject == "1 item low on stock at Lviv Lab"
    assert "Discontinued" not in lviv.body
    assert LowStockDigest.objects.filter(sent_at__isnull=False).count() == 2


def test_the_digest_day_is_the_spaces_own_date(space, filament, time_machine) -> None:
    # Given a Kyiv space with a low item, at 23:00 on New Year's Eve in Kyiv
    deduct(filament, "300")
    time_machine.move_to(datetime(2026, 12, 31, 23, tzinfo=KYIV).astimezone(UTC), tick=False)
    on_new_years_eve = send_low_stock_digests.delay().get()

    # When the job runs again half an hour after midnight there (22:30 UTC, still 31 Dec)
    time_machine.move_to(datetime(2027, 1, 1, 0, 30, tzinfo=KYIV).astimezone(UTC), tick=False)
    on_new_years_day = send_low_stock_digests.delay().get()

    # Then each Kyiv day got its own digest, dated as Kyiv dates it
    assert (on_new_years_eve, on_new_years_day) == (1, 1)
    days = LowStockDigest.objects.filter(makerspace=space).order_by("day")
    assert [digest.day for digest in days] == [date(2026, 12, 31), date(2027, 1, 1)]
    assert "on Jan. 1, 2027:" in mail.outbox[-1].body
