"""Reads of inventory: items with low-stock flags, the ledger, reorder suggestions."""

from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from apps.inventory.models import (
    InventoryItem,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockMovement,
)
from apps.makerspaces.models import Makerspace

QUANTITY_FIELD: DecimalField = DecimalField(max_digits=14, decimal_places=3)


def items_of_space(
    makerspace: Makerspace,
    *,
    search: str = "",
    low_stock: bool | None = None,
    category: str = "",
    include_inactive: bool = False,
) -> QuerySet[InventoryItem]:
    items = InventoryItem.objects.filter(makerspace=makerspace).annotate(
        low=Case(
            When(current_stock__lte=F("min_stock_level"), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )
    if not include_inactive:
        items = items.filter(is_active=True)
    if search:
        items = items.filter(
            Q(name__icontains=search)
            | Q(sku__icontains=search)
            | Q(category__icontains=search)
            | Q(supplier__icontains=search)
        )
    if category:
        items = items.filter(category__iexact=category)
    if low_stock is not None:
        items = items.filter(low=low_stock)
    return items.order_by("name", "sku")


def movements_of_item(
    item: InventoryItem, *, kind: str = "", since: Any = None, until: Any = None
) -> QuerySet[StockMovement]:
    movements = StockMovement.objects.filter(item=item).select_related("user")
    if kind:
        movements = movements.filter(kind__in=kind.split(","))
    if since is not None:
        movements = movements.filter(created_at__gte=since)
    if until is not None:
        movements = movements.filter(created_at__lt=until)
    return movements.order_by("-created_at", "-id")


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
