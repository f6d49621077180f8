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
from django.db import IntegrityError, OperationalError, transaction

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


def naive_deduct(item_id: uuid.UUID, both_have_read: threading.Barrier, *, apart: int) -> bool:
    """Read, check and write the stock without locking the row: the pattern the service
    exists to avoid. The movement takes the position after the count it read, plus
    ``apart``: writers given different ``apart`` number their movements apart."""
    item = InventoryItem.objects.get(pk=item_id)
    both_have_read.wait(timeout=30)
    if item.current_stock < 1:
        return False
    after = item.current_stock - 1
    try:
        StockMovement.objects.create(
            item=item,
            position=item.movement_count + 1 + apart,
            delta=Decimal("-1"),
            kind=MovementKind.DEDUCT,
            balance_after=after,
        )
    except IntegrityError:
        return False
    item.current_stock = after
    item.save(update_fields=["current_stock"])
    return True


def test_control_without_the_row_lock_deductions_are_lost_and_stock_oversold(space) -> None:
    item = stocked_item(space, stock=5)
    all_have_read = threading.Barrier(10)

    succeeded = run_together(10, lambda index: naive_deduct(item.pk, all_have_read, apart=index))

    assert succeeded.count(True) == 10  # ten units handed out from a stock of five
    assert stock_of(item) == Decimal("4")  # nine of the ten writes were lost
    assert ledger_sum(item) == Decimal("-5")
    with pytest.raises(CommandError, match="1 of 1 items disagree"):
        call_command("check_stock_ledger")


def test_control_without_the_row_lock_the_ledger_position_lets_one_writer_through(
    space,
) -> None:
    # Given writers that skip the lock but number their movements from the count they
    # read, as the service does: all read the same count.
    item = stocked_item(space, stock=5)
    all_have_read = threading.Barrier(10)

    succeeded = run_together(10, lambda _index: naive_deduct(item.pk, all_have_read, apart=0))

    # Then the ledger's unique position is the last word: one movement, nothing oversold.
    assert succeeded.count(True) == 1
    assert stock_of(item) == ledger_sum(item) == Decimal("4")
    assert list(item.movements.order_by("position").values_list("position", flat=True)) == [1, 2]


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


def test_the_ledger_count_and_its_pages_stay_right_while_deductions_race(space) -> None:
    # Given an item with 40 in stock: twenty deductions race ten reads of the ledger.
    manager = MembershipFactory.create(makerspace=space, role="manager").user
    item = stocked_item(space, stock=40, acting_user=manager)
    clients = [client_for(manager) for _ in range(30)]

    def deduct_or_read(index: int) -> tuple[str, int, dict]:
        if index % 3 == 0:
            response = clients[index].get(item_url(item, "movements/"), {"limit": 5})
            return "read", response.status_code, response.json()
        response = clients[index].post(
            item_url(item, "deduct"), {"quantity": "1", "reason": f"Job {index}"}
        )
        return "deduct", response.status_code, response.json()

    results = run_together(30, deduct_or_read)

    assert Counter((kind, status) for kind, status, _body in results) == {
        ("deduct", 200): 20,
        ("read", 200): 10,
    }
    item.refresh_from_db()
    assert item.movement_count == item.movements.count() == 21
    positions = dict(item.movements.values_list("id", "position"))
    assert sorted(positions.values()) == list(range(1, 22))
    # Each read answered the newest movements as of the count it gives as its total.
    for kind, _status, body in results:
        if kind == "read":
            total = body["meta"]["total"]
            shown = [positions[row["id"]] for row in body["data"]]
            assert shown == list(range(total, max(total - 5, 0), -1)), (total, shown)
            assert body["meta"]["has_next"] == (total > 5)
    # The positions follow the balances: each is the one before plus its change.
    balance = Decimal("0")
    for delta, balance_after in item.movements.order_by("position").values_list(
        "delta", "balance_after"
    ):
        balance += delta
        assert balance_after == balance
    whole = client_for(manager).get(item_url(item, "movements/"), {"limit": 100}).json()
    assert whole["meta"]["total"] == len(whole["data"]) == 21
    call_command("check_stock_ledger")
