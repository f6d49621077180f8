"""Reads of inventory: items with low-stock flags, the ledger, reorder suggestions."""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
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

from apps.accounts.models import User
from apps.core.permissions import has_makerspace_permission
from apps.inventory.models import (
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
        matches = Q(name__icontains=search) | Q(sku__icontains=search)
        matches |= Q(category__icontains=search)
        if search_supplier:
            matches |= Q(supplier__icontains=search)
        items = items.filter(matches)
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
