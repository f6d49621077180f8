"""Stock: every change goes through ``_apply``, on an item row the service has locked,
which writes the ledger movement and the new balance in one transaction.

Every service checks its ``acting_user`` against the role matrix before it writes
(``inventory.create``, ``update``, ``delete``, ``deduct``, ``restock``, ``adjust``); the
API, the pages and the admin check too, but only to answer early. Jobs act as
``apps.accounts.system.system_actor()``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.audit import audit_record, update_audited
from apps.core.concurrency import lock_at_version
from apps.core.exceptions import ApplicationError, ConflictError, validation_error
from apps.core.models import AuditLogEntry
from apps.core.permissions import require_makerspace_permission
from apps.inventory import project_links
from apps.inventory.models import (
    QUANTITY,
    InventoryItem,
    MovementKind,
    MovementSource,
    PurchaseOrder,
    PurchaseOrderStatus,
    ReorderAlert,
    StockMovement,
    stock_is_low,
)
from apps.inventory.selectors import sku_taken
from apps.makerspaces.models import Makerspace

Action = AuditLogEntry.Action
ITEM_FIELDS = (
    "name",
    "sku",
    "category",
    "unit",
    "min_stock_level",
    "reorder_quantity",
    "location",
    "supplier",
    "unit_cost",
    "is_active",
)


# The quantity columns are numeric(14, 3): eleven digits before the point, three after.
QUANTITY_PLACES = Decimal(1).scaleb(-QUANTITY["decimal_places"])
WHOLE_DIGITS = QUANTITY["max_digits"] - QUANTITY["decimal_places"]
MAX_QUANTITY = Decimal(10) ** WHOLE_DIGITS - QUANTITY_PLACES


# Who may take stock out for a cause. A member uses up material on their own work: the
# material of a session at its check-out, and a project's bill of materials. The calling
# service has decided that the session or project is the member's own; here the member
# must still hold, in the item's space, the right that such a cause needs. Any other
# withdrawal (no cause, a store order) is a deduction, for staff.
CONSUME_PERMISSIONS: dict[str, str] = {
    MovementSource.RESERVATION: "equipment.book",
    MovementSource.PROJECT: "projects.create",
}
DEDUCT_PERMISSION = "inventory.deduct"


def _require(acting_user: User, makerspace: Any, permission: str, doing: str) -> None:
    require_makerspace_permission(
        acting_user, makerspace, permission, message=f"You may not {doing} in this makerspace."
    )


def _sku_taken(sku: Any) -> ApplicationError:
    return validation_error("sku", f"This makerspace already has an item with SKU {sku!r}.")


def _too_large(field: str, message: str) -> ApplicationError:
    # The message names the limit, which the envelope's generic wording would hide.
    return ApplicationError("VALIDATION_ERROR", message, details={field: [message]})


def _check_quantity(field: str, value: Decimal, *, allow_zero: bool = False) -> None:
    """A quantity the ledger can hold: positive (or zero for a count), at most the
    column's largest value and no finer than its three decimal places."""
    if not value.is_finite():
        raise validation_error(field, "Must be a number.")
    if value < 0 or (value == 0 and not allow_zero):
        raise validation_error(
            field, "Cannot be negative." if allow_zero else "Must be greater than zero."
        )
    if value > MAX_QUANTITY:
        raise _too_large(field, f"Must be at most {MAX_QUANTITY}.")
    if value != value.quantize(QUANTITY_PLACES):
        raise validation_error(field, "At most 3 decimal places.")


def _insufficient(shortages: list[dict[str, Any]]) -> ApplicationError:
    names = ", ".join(f"{row['name']} (short {row['short']} {row['unit']})" for row in shortages)
    return ApplicationError(
        "INSUFFICIENT_STOCK",
        f"Not enough in stock: {names}.",
        details={"items": shortages},
    )


def _shortage(item: InventoryItem, wanted: Decimal) -> dict[str, Any]:
    return {
        "item": str(item.pk),
        "sku": item.sku,
        "name": item.name,
        "unit": item.unit,
        "requested": str(wanted),
        "available": str(item.current_stock),
        "short": str(wanted - item.current_stock),
    }


def _apply(
    item: InventoryItem,
    *,
    delta: Decimal,
    kind: str,
    acting_user: User,
    reason: str = "",
    job_id: str = "",
    project_id: Any = None,
    source_type: str = "",
    source_id: Any = None,
    purchase_order: PurchaseOrder | None = None,
    unit_cost: Decimal | None = None,
    field: str = "quantity",
) -> StockMovement:
    """Write one movement on an item the caller has locked."""
    before = item.current_stock
    after = before + delta
    if after < 0:
        raise _insufficient([_shortage(item, -delta)])
    if after > MAX_QUANTITY:
        # Checked on the locked row, so two restocks that each fit cannot together
        # overflow the column (which would fail the whole request deep in the database).
        raise _too_large(
            field,
            f"The stock would be {after}; an item holds at most {MAX_QUANTITY} "
            f"(now {before}, so at most {MAX_QUANTITY - before} more).",
        )
    # The item is locked (or new), so its count is the ledger's length and the next
    # position is free; the count is written in the same transaction as the movement.
    position = item.movement_count + 1
    movement = StockMovement.objects.create(
        item=item,
        position=position,
        delta=delta,
        kind=kind,
        reason=reason[:300],
        user=acting_user,
        job_id=job_id,
        project_id=project_id,
        source_type=source_type,
        source_id=source_id,
        purchase_order=purchase_order,
        unit_cost=unit_cost,
        balance_after=after,
    )
    item.current_stock = after
    item.movement_count = position
    item.save(update_fields=["current_stock", "movement_count", "updated_at"])
    _track_low_stock(item, before=before, after=after)
    return movement


def _track_low_stock(item: InventoryItem, *, before: Decimal, after: Decimal) -> None:
    """One reorder email per fall to the minimum; re-armed once stock is above it again."""
    _follow_low_stock(
        item,
        was_low=stock_is_low(before, item.min_stock_level),
        is_low=stock_is_low(after, item.min_stock_level),
    )


def _follow_low_stock(item: InventoryItem, *, was_low: bool, is_low: bool) -> None:
    if is_low and not was_low:
        _open_alert(item)
    elif not is_low:
        ReorderAlert.objects.filter(item=item, is_open=True).update(is_open=False)


def _open_alert(item: InventoryItem) -> None:
    from apps.inventory.tasks import send_reorder_alert

    try:
        with transaction.atomic():
            alert = ReorderAlert.objects.create(item=item, stock_at_crossing=item.current_stock)
    except IntegrityError:
        return  # an alert for this fall is already open
    alert_id = str(alert.pk)
    transaction.on_commit(lambda: send_reorder_alert.delay(alert_id))


def _lock(item: InventoryItem) -> InventoryItem:
    return InventoryItem.objects.select_for_update(of=("self",)).get(pk=item.pk)


def stock_deduct(
    *,
    item: InventoryItem,
    quantity: Decimal,
    reason: str,
    acting_user: User,
    job_id: str = "",
    project_id: Any = None,
    source_type: str = "",
    source_id: Any = None,
    kind: str = MovementKind.DEDUCT,
) -> StockMovement:
    """Take stock out. A ``project_id`` must name a project of the item's space that
    ``acting_user`` may see, as the projects app decides (see ``project_links``)."""
    _require(acting_user, item.makerspace_id, DEDUCT_PERMISSION, "take stock out")
    _check_quantity("quantity", quantity)
    with transaction.atomic():
        if project_id is not None and not project_links.may_link(
            user=acting_user, makerspace=item.makerspace, project_id=project_id
        ):
            # Unknown, of another space and out of the caller's sight all read alike,
            # so the answer tells nothing about projects the caller cannot see.
            raise validation_error("project", "No such project in this makerspace.")
        # Lock the item first so two deductions cannot both pass the stock check.
        return _apply(
            _lock(item),
            delta=-quantity,
            kind=kind,
            acting_user=acting_user,
            reason=reason,
            job_id=job_id,
            project_id=project_id,
            source_type=source_type,
            source_id=source_id,
        )


def stock_restock(
    *,
    item: InventoryItem,
    quantity: Decimal,
    acting_user: User,
    note: str = "",
    unit_cost: Decimal | None = None,
    purchase_order: PurchaseOrder | None = None,
) -> StockMovement:
    """Stock in, from a delivery; naming its purchase order receives the order."""
    _require(acting_user, item.makerspace_id, "inventory.restock", "restock")
    _check_quantity("quantity", quantity)
    with transaction.atomic():
        item = _lock(item)
        if purchase_order is not None:
            purchase_order = PurchaseOrder.objects.select_for_update().get(pk=purchase_order.pk)
            if purchase_order.item_id != item.pk:
                raise validation_error("purchase_order", "This order is for another item.")
            if purchase_order.status != PurchaseOrderStatus.OPEN:
                raise ConflictError("ORDER_CLOSED", "This purchase order is already closed.")
            purchase_order.status = PurchaseOrderStatus.RECEIVED
            purchase_order.received_at = timezone.now()
            purchase_order.save(update_fields=["status", "received_at", "updated_at"])
        movement = _apply(
            item,
            delta=quantity,
            kind=MovementKind.RESTOCK,
            acting_user=acting_user,
            reason=note,
            purchase_order=purchase_order,
            source_type=MovementSource.PURCHASE_ORDER if purchase_order else "",
            source_id=purchase_order.pk if purchase_order else None,
            unit_cost=unit_cost,
        )
        if unit_cost is not None and unit_cost != item.unit_cost:
            item.unit_cost = unit_cost
            item.save(update_fields=["unit_cost", "updated_at"])
    return movement


def stock_adjust(
    *, item: InventoryItem, new_stock: Decimal, reason: str, acting_user: User
) -> StockMovement | None:
    """A stock count: records the difference to what was counted, with its reason."""
    _require(acting_user, item.makerspace_id, "inventory.adjust", "record stock counts")
    if new_stock.is_finite() and new_stock < 0:
        raise validation_error("new_stock", "A count cannot be negative.")
    _check_quantity("new_stock", new_stock, allow_zero=True)
    if not reason.strip():
        raise validation_error("reason", "Say why the count differs.")
    with transaction.atomic():
        item = _lock(item)
        delta = new_stock - item.current_stock
        if delta == 0:
            return None
        return _apply(
            item,
            delta=delta,
            kind=MovementKind.ADJUST,
            acting_user=acting_user,
            reason=reason,
            field="new_stock",
        )


@dataclass(frozen=True)
class Withdrawal:
    item: InventoryItem
    quantity: Decimal


def stock_consume_many(
    *,
    withdrawals: Iterable[Withdrawal],
    reason: str,
    acting_user: User,
    project_id: Any = None,
    source_type: str = "",
    source_id: Any = None,
    kind: str = MovementKind.CONSUME,
) -> list[StockMovement]:
    """Take several items at once, all or nothing (a bill of materials, a job's material).

    ``source_type`` names the cause and with it the right the caller needs in each
    item's space (``CONSUME_PERMISSIONS``; without a cause, ``inventory.deduct``).
    Items are locked in primary-key order so two such requests cannot deadlock.
    """
    withdrawals = list(withdrawals)
    permission = CONSUME_PERMISSIONS.get(source_type, DEDUCT_PERMISSION)
    for space_id in sorted({str(w.item.makerspace_id) for w in withdrawals}):
        _require(acting_user, space_id, permission, "take this stock")
    wanted: dict[Any, Decimal] = {}
    for withdrawal in withdrawals:
        if withdrawal.quantity <= 0:
            raise validation_error("quantity", "Every quantity must be greater than zero.")
        _check_quantity("quantity", withdrawal.quantity)
        wanted[withdrawal.item.pk] = (
            wanted.get(withdrawal.item.pk, Decimal("0")) + withdrawal.quantity
        )
    with transaction.atomic():
        items = list(
            InventoryItem.objects.select_for_update(of=("self",))
            .filter(pk__in=wanted)
            .order_by("pk")
        )
        shortages = [
            _shortage(item, wanted[item.pk])
            for item in items
            if item.current_stock < wanted[item.pk]
        ]
        if shortages:
            raise _insufficient(shortages)
        return [
            _apply(
                item,
                delta=-wanted[item.pk],
                kind=kind,
                acting_user=acting_user,
                reason=reason,
                project_id=project_id,
                source_type=source_type,
                source_id=source_id,
            )
            for item in items
        ]


# --- items ----------------------------------------------------------------------------------


def item_create(
    *,
    makerspace: Makerspace,
    acting_user: User,
    opening_stock: Decimal = Decimal("0"),
    **fields: Any,
) -> InventoryItem:
    """Create an item; a starting stock is recorded as the ledger's opening movement."""
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(f"Unknown item fields: {sorted(unknown)}")
    _require(acting_user, makerspace, "inventory.create", "add items")
    _check_quantity("current_stock", opening_stock, allow_zero=True)
    try:
        with transaction.atomic():
            item = InventoryItem(makerspace=makerspace, **fields)
            item.full_clean(validate_unique=False, validate_constraints=False)
            if sku_taken(makerspace_id=makerspace.pk, sku=item.sku):
                raise _sku_taken(item.sku)
            item.save()
            if opening_stock > 0:
                _apply(
                    item,
                    delta=opening_stock,
                    kind=MovementKind.OPENING,
                    acting_user=acting_user,
                    reason="Opening balance",
                    field="current_stock",
                )
            audit_record(
                actor=acting_user,
                instance=item,
                action=Action.CREATE,
                makerspace_id=makerspace.pk,
                changes={"sku": item.sku, "name": item.name, "opening_stock": opening_stock},
            )
    except IntegrityError:
        # Another request took the SKU between the check and the write.
        raise _sku_taken(fields.get("sku")) from None
    return item


def item_update(
    *,
    item: InventoryItem,
    acting_user: User,
    changes: dict[str, Any],
    expected_etag: str | None = None,
) -> InventoryItem:
    """Change an item's details; its stock only ever changes through movements."""
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(f"Unknown item fields: {sorted(unknown)}")
    _require(acting_user, item.makerspace_id, "inventory.update", "change items")
    try:
        with transaction.atomic():
            item = lock_at_version(item, expected_etag=expected_etag)
            before_level = item.min_stock_level
            if "sku" in changes and sku_taken(
                makerspace_id=item.makerspace_id, sku=changes["sku"], exclude_pk=item.pk
            ):
                raise _sku_taken(changes["sku"])
            update_audited(
                item,
                changes=changes,
                actor=acting_user,
                makerspace_id=item.makerspace_id,
                clean={"validate_unique": False, "validate_constraints": False},
            )
            if item.min_stock_level != before_level:
                # A new minimum can make the current stock low (or fine) without a movement.
                _follow_low_stock(
                    item,
                    was_low=stock_is_low(item.current_stock, before_level),
                    is_low=stock_is_low(item.current_stock, item.min_stock_level),
                )
    except IntegrityError:
        raise _sku_taken(changes.get("sku")) from None
    return item


def item_delete(*, item: InventoryItem, acting_user: User) -> None:
    """Items with a ledger are deactivated, not deleted: the ledger stays on record."""
    _require(acting_user, item.makerspace_id, "inventory.delete", "delete items")
    with transaction.atomic():
        item = _lock(item)
        has_ledger = item.movements.exists()
        audit_record(
            actor=acting_user,
            instance=item,
            action=Action.DELETE,
            makerspace_id=item.makerspace_id,
            changes={"sku": item.sku, "kept_for_ledger": has_ledger},
        )
        if has_ledger:
            item.is_active = False
            item.save(update_fields=["is_active", "updated_at"])
        else:
            item.delete()


# --- reorder --------------------------------------------------------------------------------


def purchase_order_create(
    *, item: InventoryItem, quantity: Decimal, acting_user: User, supplier: str = ""
) -> PurchaseOrder:
    # Ordering goes with restocking: the same people place, receive and cancel orders.
    _require(acting_user, item.makerspace_id, "inventory.restock", "order stock")
    _check_quantity("quantity", quantity)
    with transaction.atomic():
        order = PurchaseOrder.objects.create(
            item=item, quantity=quantity, supplier=supplier or item.supplier, created_by=acting_user
        )
        audit_record(
            actor=acting_user,
            instance=order,
            action=Action.CREATE,
            makerspace_id=item.makerspace_id,
            changes={"item": item.sku, "quantity": quantity},
        )
    return order


def purchase_order_cancel(*, order: PurchaseOrder, acting_user: User) -> PurchaseOrder:
    _require(acting_user, order.item.makerspace_id, "inventory.restock", "cancel orders")
    with transaction.atomic():
        order = PurchaseOrder.objects.select_for_update().select_related("item").get(pk=order.pk)
        if order.status != PurchaseOrderStatus.OPEN:
            raise ConflictError("ORDER_CLOSED", "This purchase order is already closed.")
        order.status = PurchaseOrderStatus.CANCELLED
        order.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=acting_user,
            instance=order,
            action=Action.UPDATE,
            makerspace_id=order.item.makerspace_id,
            changes={"status": [PurchaseOrderStatus.OPEN, PurchaseOrderStatus.CANCELLED]},
        )
    return order
