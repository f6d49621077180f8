"""The stock ledger never lies: over any sequence of deductions, restocks and counts the
stock stays non-negative and equals the sum of the ledger, and the ledger itself cannot
be edited."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.inventory import services
from apps.inventory.models import InventoryItem, MovementKind, StockMovement
from tests.factories import MakerspaceFactory, MembershipFactory
from tests.inventory.support import stocked_item

pytestmark = pytest.mark.django_db

quantities = st.decimals(
    min_value=Decimal("-2"), max_value=Decimal("40"), places=3, allow_nan=False
)
operations = st.lists(
    st.tuples(st.sampled_from(["deduct", "restock", "adjust"]), quantities),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def space():
    return MakerspaceFactory.create()


@pytest.fixture
def keeper(space):
    return MembershipFactory.create(makerspace=space, role="manager").user


def apply(item: InventoryItem, operation: str, quantity: Decimal, keeper: User) -> None:
    if operation == "deduct":
        services.stock_deduct(item=item, quantity=quantity, reason="Job", acting_user=keeper)
    elif operation == "restock":
        services.stock_restock(item=item, quantity=quantity, acting_user=keeper)
    else:
        services.stock_adjust(item=item, new_stock=quantity, reason="Count", acting_user=keeper)


def stock_ledger_and_last_balance(item: InventoryItem) -> tuple[Decimal, Decimal, Decimal | None]:
    ledger = StockMovement.objects.filter(item=OuterRef("pk")).order_by().values("item")
    row = (
        InventoryItem.objects.filter(pk=item.pk)
        .annotate(
            ledger=Subquery(ledger.annotate(total=Sum("delta")).values("total")),
            last_balance=Subquery(
                StockMovement.objects.filter(item=OuterRef("pk"))
                .order_by("-position")
                .values("balance_after")[:1]
            ),
        )
        .values_list("current_stock", "ledger", "last_balance")
        .get()
    )
    return row[0], row[1] if row[1] is not None else Decimal("0"), row[2]


def expected_after(stock: Decimal, operation: str, quantity: Decimal) -> Decimal | None:
    """The stock a correct ledger has after the operation, or None if it must be refused."""
    if operation == "adjust":
        return quantity if quantity >= 0 else None
    if quantity <= 0:
        return None
    after = stock - quantity if operation == "deduct" else stock + quantity
    return after if after >= 0 else None


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(opening=st.integers(min_value=0, max_value=20), steps=operations)
def test_random_sequences_keep_stock_equal_to_the_ledger(space, keeper, opening, steps) -> None:
    item = stocked_item(space, stock=opening, min_stock_level=5, acting_user=keeper)
    expected = Decimal(opening)

    for operation, quantity in steps:
        wanted = expected_after(expected, operation, quantity)
        if wanted is None:
            with pytest.raises(ApplicationError) as refusal:
                apply(item, operation, quantity, keeper)
            assert refusal.value.code in {"INSUFFICIENT_STOCK", "VALIDATION_ERROR"}
        else:
            apply(item, operation, quantity, keeper)
            expected = wanted
        stock, ledger, last_balance = stock_ledger_and_last_balance(item)
        assert stock == expected
        assert stock >= 0
        assert ledger == stock
        assert last_balance in (None, stock)

    call_command("check_stock_ledger")


def test_check_stock_ledger_passes_when_stock_and_ledger_agree(space) -> None:
    stocked_item(space, stock=10, sku="PLA-W")
    stocked_item(space, sku="EMPTY-1")
    out = io.StringIO()

    call_command("check_stock_ledger", stdout=out)

    assert "All 2 items agree with their ledger." in out.getvalue()


def test_check_stock_ledger_exits_non_zero_and_names_the_sku_on_a_mismatch(space) -> None:
    stocked_item(space, stock=10, sku="PLA-W")
    broken = stocked_item(space, stock=10, sku="PLA-BK")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_inventoryitem SET current_stock = current_stock + 1 WHERE id = %s",
            [broken.pk],
        )
    err = io.StringIO()

    with pytest.raises(CommandError, match="1 of 2 items disagree with their ledger") as failure:
        call_command("check_stock_ledger", stderr=err)

    # manage.py exits with this code when the command raises.
    assert failure.value.returncode != 0
    assert f"MISMATCH {space.pk} PLA-BK: stock 11.000, ledger 10.000" in err.getvalue()
    assert "PLA-W" not in err.getvalue()


def test_check_stock_ledger_names_an_item_whose_movement_count_is_off(space, keeper) -> None:
    stocked_item(space, stock=10, sku="PLA-W")
    broken = stocked_item(space, stock=10, sku="PLA-BK")
    services.stock_deduct(item=broken, quantity=Decimal("1"), reason="Job", acting_user=keeper)
    InventoryItem.objects.filter(pk=broken.pk).update(movement_count=5)
    err = io.StringIO()

    with pytest.raises(CommandError, match="1 of 2 items disagree with their ledger"):
        call_command("check_stock_ledger", stderr=err)

    assert (
        f"MISMATCH {space.pk} PLA-BK: movement count 5, movements 2, last position 2"
        in err.getvalue()
    )
    assert "PLA-W" not in err.getvalue()


def test_each_movement_takes_the_next_position_and_the_item_counts_them(space, keeper) -> None:
    item = stocked_item(space, stock=5, acting_user=keeper)
    other = stocked_item(space, stock=5, acting_user=keeper)

    services.stock_deduct(item=item, quantity=Decimal("1"), reason="Job", acting_user=keeper)
    services.stock_restock(item=other, quantity=Decimal("1"), acting_user=keeper)
    services.stock_adjust(item=item, new_stock=Decimal("9"), reason="Count", acting_user=keeper)
    # A count that changes nothing writes no movement and takes no position.
    services.stock_adjust(item=item, new_stock=Decimal("9"), reason="Count", acting_user=keeper)

    assert list(item.movements.order_by("id").values_list("kind", "position")) == [
        (MovementKind.OPENING, 1),
        (MovementKind.DEDUCT, 2),
        (MovementKind.ADJUST, 3),
    ]
    assert list(other.movements.order_by("id").values_list("position", flat=True)) == [1, 2]
    counts = dict(InventoryItem.objects.values_list("pk", "movement_count"))
    assert (counts[item.pk], counts[other.pk]) == (3, 2)
    empty = stocked_item(space, acting_user=keeper)
    assert InventoryItem.objects.get(pk=empty.pk).movement_count == 0


def test_the_orm_refuses_to_change_or_delete_a_movement(space) -> None:
    item = stocked_item(space, stock=10)
    movement = item.movements.get()

    movement.delta = Decimal("100")
    with pytest.raises(ValueError, match="append-only"):
        movement.save()
    with pytest.raises(ValueError, match="append-only"):
        movement.delete()

    assert StockMovement.objects.get(pk=movement.pk).delta == Decimal("10")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE inventory_stockmovement SET delta = 100 WHERE id = %s", id="UPDATE"),
        pytest.param(
            "UPDATE inventory_stockmovement SET position = 7 WHERE id = %s", id="UPDATE position"
        ),
        pytest.param("DELETE FROM inventory_stockmovement WHERE id = %s", id="DELETE"),
    ],
)
def test_postgres_refuses_update_and_delete_of_the_ledger(space, statement) -> None:
    item = stocked_item(space, stock=10)
    movement = item.movements.get()

    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [movement.pk])

    assert StockMovement.objects.filter(pk=movement.pk, delta=Decimal("10")).exists()


@pytest.mark.postgres
def test_queryset_update_and_delete_are_refused_too(space) -> None:
    item = stocked_item(space, stock=10)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.filter(item=item).update(reason="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.filter(item=item).delete()

    assert list(item.movements.values_list("kind", "reason")) == [
        (MovementKind.OPENING, "Opening balance")
    ]


@pytest.mark.postgres
def test_a_user_who_moved_stock_can_still_be_deleted() -> None:
    from apps.inventory.models import StockMovement
    from apps.inventory.services import item_create, stock_deduct
    from tests.factories import MembershipFactory

    membership = MembershipFactory.create(role="manager")
    item = item_create(
        makerspace=membership.makerspace,
        acting_user=membership.user,
        opening_stock=Decimal("5"),
        name="Washer",
        sku="WASH-1",
    )
    stock_deduct(item=item, quantity=Decimal("2"), reason="Fixture", acting_user=membership.user)

    membership.user.delete()

    movements = list(StockMovement.objects.filter(item=item).order_by("id"))
    assert [m.user_id for m in movements] == [None, None]
    assert [m.delta for m in movements] == [Decimal("5"), Decimal("-2")]
