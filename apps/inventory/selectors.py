"""Reads of inventory: items with low-stock flags, the ledger, reorder suggestions."""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest

from apps.accounts.models import User
from apps.core.permissions import has_makerspace_permission
from apps.inventory.models import (
    LOW_STOCK,
    LOW_STOCK_FLAG,
    InventoryItem,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockMovement,
)
from apps.makerspaces.models import Makerspace

QUANTITY_FIELD: DecimalField = DecimalField(max_digits=14, decimal_places=3)

# Members see what is in stock and where; what it costs, where it is bought, what is on
# order and who moved it are for the people who run the space. Purchasing goes with the
# right to restock (which places and receives orders and sets the unit cost); names and
# emails in the ledger with the right to see the space's members.
PURCHASING_PERMISSION = "inventory.restock"
WHO_PERMISSION = "members.view"


def sees_purchasing(user: User | AnonymousUser | None, makerspace: Makerspace) -> bool:
    """Supplier, unit cost, purchase orders and reorder suggestions."""
    return has_makerspace_permission(user, makerspace, PURCHASING_PERMISSION)


def sees_who(user: User | AnonymousUser | None, makerspace: Makerspace) -> bool:
    """Who made each movement of the ledger, by name and email."""
    return has_makerspace_permission(user, makerspace, WHO_PERMISSION)


def items_of_space(
    makerspace: Makerspace,
    *,
    search: str = "",
    low_stock: bool | None = None,
    category: str = "",
    include_inactive: bool = False,
    search_supplier: bool = True,
) -> QuerySet[InventoryItem]:
    """``search_supplier=False`` for callers who may not see suppliers, so a search
    cannot tell them which items a supplier delivers."""
    items: QuerySet[InventoryItem] = InventoryItem.objects.filter(makerspace=makerspace).annotate(
        low=LOW_STOCK_FLAG
    )
    if not include_inactive:
        items = items.filter(is_active=True)
    items = items_matching(items, search, search_supplier=search_supplier)
    items = items_in_category(items, category)
    items = items_low_or_not(items, low_stock)
    return items.order_by("name", "sku")


# The filters of an item list, shared by the pages and the API's FilterSet.


def items_matching(
    items: QuerySet[InventoryItem], search: str, *, search_supplier: bool
) -> QuerySet[InventoryItem]:
    if not search:
        return items
    matches = Q(name__icontains=search) | Q(sku__icontains=search)
    matches |= Q(category__icontains=search)
    if search_supplier:
        matches |= Q(supplier__icontains=search)
    return items.filter(matches)


def items_in_category(items: QuerySet[InventoryItem], category: str) -> QuerySet[InventoryItem]:
    return items.filter(category__iexact=category) if category else items


def items_low_or_not(
    items: QuerySet[InventoryItem], low_stock: bool | None
) -> QuerySet[InventoryItem]:
    """Only low items (True), only items above their minimum (False), or all (None)."""
    if low_stock is None:
        return items
    return items.filter(LOW_STOCK) if low_stock else items.exclude(LOW_STOCK)


def sku_taken(*, makerspace_id: Any, sku: str, exclude_pk: Any = None) -> bool:
    """Whether another item of the space already has this SKU (unique per space). The
    item service and the admin's form both ask this; the database constraint stays the
    last word when two writes race."""
    items = InventoryItem.objects.filter(makerspace_id=makerspace_id, sku=sku)
    if exclude_pk is not None:
        items = items.exclude(pk=exclude_pk)
    return items.exists()


# The ledger's order: newest first, by the place of each movement in its item's ledger
# (which follows the balances, and which an index on item and position finds).
LEDGER_ORDER = ("-position",)


def movements_of_item(
    item: InventoryItem, *, kind: str = "", since: Any = None, until: Any = None
) -> QuerySet[StockMovement]:
    movements = StockMovement.objects.filter(item=item).select_related("user")
    movements = movements_of_kinds(movements, kind)
    movements = movements_between(movements, since=since, until=until)
    return movements.order_by(*LEDGER_ORDER)


# What a ledger line shows everyone, and what it shows staff besides (who made it, by
# name and email, what a delivery cost and which order it filled).
LEDGER_COLUMNS = (
    "position",
    "id",
    "delta",
    "kind",
    "reason",
    "job_id",
    "project_id",
    "source_type",
    "source_id",
    "balance_after",
    "created_at",
)
STAFF_LEDGER_COLUMNS = (
    *LEDGER_COLUMNS,
    "user_id",
    "user__name",
    "user__email",
    "unit_cost",
    "purchase_order_id",
)


def ledger_items(makerspace: Makerspace) -> QuerySet[InventoryItem]:
    """The items whose ledgers can be read (those ``items_of_space`` lists), with only
    what a ledger page needs of them: which item it is and how long its ledger is."""
    return InventoryItem.objects.filter(makerspace=makerspace, is_active=True).only(
        "id", "movement_count"
    )


def ledger_rows(item: InventoryItem, *, staff: bool) -> QuerySet[StockMovement, dict[str, Any]]:
    """An item's ledger as plain rows, newest first: the columns a ledger page shows,
    with the columns for staff (``staff``) or without them."""
    columns = STAFF_LEDGER_COLUMNS if staff else LEDGER_COLUMNS
    return StockMovement.objects.filter(item=item).order_by(*LEDGER_ORDER).values(*columns)


def movements_of_kinds(movements: QuerySet[StockMovement], kinds: str) -> QuerySet[StockMovement]:
    """``kinds``: one kind or several, comma-separated."""
    return movements.filter(kind__in=kinds.split(",")) if kinds else movements


def movements_between(
    movements: QuerySet[StockMovement], *, since: Any = None, until: Any = None
) -> QuerySet[StockMovement]:
    if since is not None:
        movements = movements.filter(created_at__gte=since)
    if until is not None:
        movements = movements.filter(created_at__lt=until)
    return movements


def purchase_orders_of_space(makerspace: Makerspace) -> QuerySet[PurchaseOrder]:
    return PurchaseOrder.objects.filter(item__makerspace=makerspace).order_by("-created_at")


def orders_in_status(orders: QuerySet[PurchaseOrder], status: str) -> QuerySet[PurchaseOrder]:
    return orders.filter(status=status) if status else orders


def reorder_suggestions(makerspace: Makerspace) -> QuerySet[InventoryItem]:
    """Low items with what to order: up to the reorder quantity, less what is on order."""
    on_order = (
        PurchaseOrder.objects.filter(item=OuterRef("pk"), status=PurchaseOrderStatus.OPEN)
        .order_by()
        .values("item")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return (
        items_of_space(makerspace, low_stock=True)
        .annotate(
            on_order=Coalesce(
                Subquery(on_order, output_field=QUANTITY_FIELD),
                Value(Decimal("0")),
                output_field=QUANTITY_FIELD,
            )
        )
        .annotate(
            suggested_quantity=ExpressionWrapper(
                Greatest(F("reorder_quantity") - F("on_order"), Value(Decimal("0"))),
                output_field=QUANTITY_FIELD,
            )
        )
        .order_by("name")
    )
