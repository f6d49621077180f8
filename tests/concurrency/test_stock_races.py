"""Races on stock: many deductions of one item, and bills of materials taking the same
items in opposite orders. The stock service locks the item rows (in primary-key order);
the control cases show what happens without that lock."""

import threading
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, transaction

from apps.accounts.system import system_actor
from apps.core.exceptions import ApplicationError
from apps.inventory import services
from apps.inventory.models import InventoryItem, MovementKind, ReorderAlert, StockMovement
from apps.inventory.services import Withdrawal
from makrx.celery import app as celery_app
from tests.concurrency.helpers import run_together
from tests.factories import MakerspaceFactory, MembershipFactory
from tests.inventory.support import client_for, item_url, ledger_sum, stock_of, stocked_item

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.update(CELERY_TASK_ALWAYS_EAGER=True)
    yield
    celery_app.conf.update(CELERY_TASK_ALWAYS_EAGER=previous)


@pytest.fixture
def space():
    return MakerspaceFactory.create(name="Kyiv Lab")


def deduct_movements(item: InventoryItem) -> list[StockMovement]:
    return list(item.movements.filter(kind=MovementKind.DEDUCT))


def test_forty_deductions_from_twenty_five_let_exactly_twenty_five_through(space) -> None:
    manager = MembershipFactory.create(makerspace=space, role="manager").user
    MembershipFactory.create(makerspace=space, role="admin", user__email="admin@kyivlab.org")
    item = stocked_item(space, stock=25, name="M3 nuts", min_stock_level=5, acting_user=manager)
    url = item_url(item, "deduct")

    def take_one(index: int) -> tuple[int, dict]:
        response = client_for(manager).post(url, {"quantity": "1", "reason": f"Job {index}"})
        return response.status_code, response.json()

    results = run_together(40, take_one)

    assert Counter(status for status, _body in results) == {200: 25, 400: 15}
    refusals = [body["error"]["code"] for status, body in results if status == 400]
    assert refusals == ["INSUFFICIENT_STOCK"] * 15
    assert stock_of(item) == Decimal("0")
    movements = deduct_movements(item)
    assert len(movements) == 25
    assert item.movements.count() == 26
    assert sorted(movement.balance_after for movement in movements) == list(range(25))
    answered = {
        body["movement"]: Decimal(body["new_stock"]) for status, body in results if status == 200
    }
    assert answered == {movement.pk: movement.balance_after for movement in movements}
    assert ledger_sum(item) == Decimal("0")
    call_command("check_stock_ledger")
    assert ReorderAlert.objects.filter(item=item).count() == 1
    assert [email.subject for email in mail.outbox] == ["Low stock: M3 nuts at Kyiv Lab"]


def naive_deduct(item_id: uuid.UUID, both_have_read: threading.Barrier) -> bool:
    """Read, check and write the stock without locking the row: the pattern the service
    exists to avoid."""
    item = InventoryItem.objects.get(pk=item_id)
    both_have_read.wait(timeout=30)
    if item.current_stock < 1:
        return False
    after = item.current_stock - 1
    StockMovement.objects.create(
        item=item, delta=Decimal("-1"), kind=MovementKind.DEDUCT, balance_after=after
    )
    item.current_stock = after
    item.save(update_fields=["current_stock"])
    return True


def test_control_without_the_row_lock_deductions_are_lost_and_stock_oversold(space) -> None:
    item = stocked_item(space, stock=5)
    all_have_read = threading.Barrier(10)

    succeeded = run_together(10, lambda _index: naive_deduct(item.pk, all_have_read))

    assert succeeded.count(True) == 10  # ten units handed out from a stock of five
    assert stock_of(item) == Decimal("4")  # nine of the ten writes were lost
    assert ledger_sum(item) == Decimal("-5")
    with pytest.raises(CommandError, match="1 of 1 items disagree"):
        call_command("check_stock_ledger")


def test_the_service_with_the_same_threads_neither_loses_nor_oversells(space) -> None:
    item = stocked_item(space, stock=5)
    system = system_actor()

    def service_deduct(index: int) -> str:
        try:
            services.stock_deduct(
                item=item, quantity=Decimal("1"), reason=f"Job {index}", acting_user=system
            )
        except ApplicationError as exc:
            return exc.code
        return "ok"

    outcomes = Counter(run_together(10, service_deduct))

    assert outcomes == {"ok": 5, "INSUFFICIENT_STOCK": 5}
    assert stock_of(item) == ledger_sum(item) == Decimal("0")
    assert sorted(m.balance_after for m in deduct_movements(item)) == list(range(5))
    call_command("check_stock_ledger")


def test_bills_of_materials_in_opposite_orders_finish_without_deadlock(space) -> None:
    frame = stocked_item(space, stock=30, name="Frame")
    motor = stocked_item(space, stock=30, name="Motor")
    board = stocked_item(space, stock=10, name="Controller board")
    system = system_actor()

    def build(index: int) -> str:
        parts = [frame, motor, board] if index % 2 else [board, motor, frame]
        try:
            services.stock_consume_many(
                withdrawals=[Withdrawal(item=part, quantity=Decimal("1")) for part in parts],
                reason=f"Robot kit {index}",
                acting_user=system,
            )
        except ApplicationError as exc:
            return exc.code
        return "ok"

    outcomes = Counter(run_together(16, build))

    assert outcomes == {"ok": 10, "INSUFFICIENT_STOCK": 6}
    assert [stock_of(part) for part in (frame, motor, board)] == [20, 20, 0]
    for part in (frame, motor, board):
        assert part.movements.filter(kind=MovementKind.CONSUME).count() == 10
        assert ledger_sum(part) == stock_of(part)
    call_command("check_stock_ledger")


def test_control_locking_in_the_order_given_deadlocks(space) -> None:
    first = stocked_item(space, stock=5)
    second = stocked_item(space, stock=5)
    both_hold_one = threading.Barrier(2)

    def lock_in_given_order(index: int) -> str:
        order = [first, second] if index == 0 else [second, first]
        try:
            with transaction.atomic():
                InventoryItem.objects.select_for_update().get(pk=order[0].pk)
                both_hold_one.wait(timeout=30)
                InventoryItem.objects.select_for_update().get(pk=order[1].pk)
        except OperationalError as exc:
            return "deadlock" if "deadlock detected" in str(exc) else str(exc)
        return "ok"

    outcomes = Counter(run_together(2, lock_in_given_order))

    assert outcomes == {"ok": 1, "deadlock": 1}
