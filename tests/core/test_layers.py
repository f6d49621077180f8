"""The apps are layers (DESIGN.md): imports are checked by import-linter in `make lint`;
a model's relations, which a string reference can hide from any import check, are
checked here.
"""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# Lowest first; apps on one line are siblings and may not refer to each other.
LAYERS: list[set[str]] = [
    {"core"},
    {"accounts", "notifications"},
    {"makerspaces"},
    {"inventory"},
    {"equipment"},
    {"projects"},
    {"store"},
    {"billing"},
    {"analytics"},
]
OURS = {label for layer in LAYERS for label in layer}


def _layer_of(label: str) -> int:
    return next(index for index, layer in enumerate(LAYERS) if label in layer)


def _relations() -> list[tuple[str, str, str]]:
    found = []
    for model in apps.get_models():
        source = model._meta.app_label
        if source not in OURS:
            continue
        for field in model._meta.get_fields(include_hidden=True):
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            if field.related_model is get_user_model():
                # settings.AUTH_USER_MODEL is Django's swappable user: any app may name
                # it (core's audit log names who acted) without depending on accounts.
                continue
            target = field.related_model._meta.app_label  # type: ignore[union-attr]
            found.append((f"{model.__name__}.{field.name}", source, target))
    return found


def test_every_relation_of_our_models_points_to_its_own_app_or_below() -> None:
    upward = [
        f"{name}: {source} -> {target}"
        for name, source, target in _relations()
        if target in OURS and target != source and _layer_of(target) >= _layer_of(source)
    ]

    assert upward == []


def test_the_relation_check_sees_relations_across_apps() -> None:
    # Guards the test above against passing because it looked at nothing.
    across = {(source, target) for _, source, target in _relations() if source != target}

    assert {("equipment", "makerspaces"), ("projects", "makerspaces")} <= across


@pytest.mark.django_db(transaction=True)
def test_links_from_stock_to_bookings_become_reservation_sources() -> None:
    """Migrating keeps what a movement was caused by, and going back restores it."""
    executor = MigrationExecutor(connection)
    before = [
        ("inventory", "0002_stock_ledger_append_only"),
        ("equipment", "0003_member_calendar_feed"),
    ]
    after = [("inventory", "0003_stock_movement_source")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old_state = _seed_old_booking_movement(old_apps)

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new_apps = executor.loader.project_state(after).apps
    movement = new_apps.get_model("inventory", "StockMovement").objects.get(
        pk=old_state["movement"]
    )
    plain = new_apps.get_model("inventory", "StockMovement").objects.get(pk=old_state["plain"])

    assert (movement.source_type, movement.source_id) == ("reservation", old_state["reservation"])
    assert (plain.source_type, plain.source_id) == ("", None)

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    back = executor.loader.project_state(before).apps.get_model("inventory", "StockMovement")
    assert back.objects.get(pk=old_state["movement"]).reservation_id == old_state["reservation"]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _seed_old_booking_movement(old_apps) -> dict:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    User = old_apps.get_model("accounts", "User")
    Makerspace = old_apps.get_model("makerspaces", "Makerspace")
    Equipment = old_apps.get_model("equipment", "Equipment")
    Reservation = old_apps.get_model("equipment", "Reservation")
    Item = old_apps.get_model("inventory", "InventoryItem")
    Movement = old_apps.get_model("inventory", "StockMovement")

    user = User.objects.create(email="layers@example.org", name="Layers")
    space = Makerspace.objects.create(name="Layers Lab", slug="layers-lab")
    machine = Equipment.objects.create(makerspace=space, name="Laser", type="laser_cutter")
    start = datetime(2026, 3, 2, 10, tzinfo=UTC)
    booking = Reservation.objects.create(
        makerspace=space,
        equipment=machine,
        user=user,
        start_time=start,
        end_time=start + timedelta(hours=1),
        block_end=start + timedelta(hours=1),
        status="completed",
    )
    item = Item.objects.create(makerspace=space, name="Plywood", sku="PLY-3")
    used = Movement.objects.create(
        item=item,
        delta=Decimal("-1"),
        kind="consume",
        balance_after=Decimal("4"),
        reservation=booking,
    )
    plain = Movement.objects.create(
        item=item, delta=Decimal("5"), kind="opening", balance_after=Decimal("5")
    )
    return {"movement": used.pk, "plain": plain.pk, "reservation": booking.pk}
