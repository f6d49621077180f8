from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel
from apps.makerspaces.models import Makerspace

QUANTITY: dict[str, Any] = {"max_digits": 14, "decimal_places": 3}
MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}


class Unit(models.TextChoices):
    PIECE = "pcs", _("pieces")
    GRAM = "g", _("grams")
    KILOGRAM = "kg", _("kilograms")
    METRE = "m", _("metres")
    MILLILITRE = "ml", _("millilitres")
    LITRE = "l", _("litres")
    SHEET = "sheet", _("sheets")


def stock_is_low(current_stock: Decimal, min_stock_level: Decimal) -> bool:
    """The low-stock rule: at or below the minimum (an item at exactly its minimum is
    already low, so the reorder email goes out before the shelf is empty)."""
    return current_stock <= min_stock_level


def low_stock_q(prefix: str = "") -> Q:
    """The same rule in SQL; ``prefix`` reaches items through a relation
    (``"inventory_items__"`` from a makerspace)."""
    return Q(**{f"{prefix}current_stock__lte": F(f"{prefix}min_stock_level")})


LOW_STOCK = low_stock_q()
# ``low`` on each row of a list that filters and sorts on it.
LOW_STOCK_FLAG = ExpressionWrapper(LOW_STOCK, output_field=BooleanField())


class InventoryItem(BaseModel):
    """A consumable or part a makerspace keeps in stock (filament in grams, sheets in units)."""

    makerspace = models.ForeignKey(
        Makerspace, on_delete=models.CASCADE, related_name="inventory_items"
    )
    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64)
    category = models.CharField(_("category"), max_length=100, blank=True)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit, default=Unit.PIECE)
    # Changed only by the stock service, which writes a ledger movement for every change.
    current_stock = models.DecimalField(_("current stock"), default=Decimal("0"), **QUANTITY)
    min_stock_level = models.DecimalField(
        _("minimum stock"),
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        **QUANTITY,
    )
    reorder_quantity = models.DecimalField(
        _("reorder quantity"),
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        **QUANTITY,
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    unit_cost = models.DecimalField(
        _("unit cost"),
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        **MONEY,
    )
    is_active = models.BooleanField(_("active"), default=True)
    # How many movements the ledger holds, counted by the stock service in the
    # transaction that writes each one: the ledger's pages need no count(*) over it.
    movement_count = models.PositiveIntegerField(
        _("ledger movements"), default=0, db_default=0, editable=False
    )

    class Meta:
        ordering = ["makerspace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["makerspace", "sku"], name="inventory_sku_unique"),
            models.CheckConstraint(
                condition=Q(current_stock__gte=0), name="inventory_stock_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["makerspace", "category"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def is_low_stock(self) -> bool:
        return stock_is_low(self.current_stock, self.min_stock_level)


class MovementKind(models.TextChoices):
    OPENING = "opening", _("Opening balance")
    DEDUCT = "deduct", _("Deduct")
    RESTOCK = "restock", _("Restock")
    ADJUST = "adjust", _("Stock count")
    CONSUME = "consume", _("Consumed")
    RETURN = "return", _("Returned")


class MovementSource(models.TextChoices):
    RESERVATION = "reservation", _("Booking")
    PROJECT = "project", _("Project")
    ORDER = "order", _("Store order")
    PURCHASE_ORDER = "purchase_order", _("Purchase order")


class StockMovement(models.Model):
    """One line of the append-only ledger: current stock is always the sum of deltas."""

    id = models.BigAutoField(primary_key=True)
    item = models.ForeignKey(InventoryItem, on_delete=models.PROTECT, related_name="movements")
    delta = models.DecimalField(**QUANTITY)
    kind = models.CharField(max_length=10, choices=MovementKind)
    reason = models.CharField(max_length=300, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job_id = models.CharField(max_length=100, blank=True)
    project_id = models.UUIDField(null=True, blank=True, db_index=True)
    # What caused the movement, named generically so the ledger needs no foreign key
    # to the apps above it (a booking's check-out, a project's bill of materials, a
    # store order, a purchase order).
    source_type = models.CharField(max_length=20, choices=MovementSource, blank=True)
    source_id = models.UUIDField(null=True, blank=True)
    purchase_order = models.ForeignKey(
        "inventory.PurchaseOrder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="movements",
    )
    unit_cost = models.DecimalField(null=True, blank=True, **MONEY)
    balance_after = models.DecimalField(**QUANTITY)
    # The movement's place in its item's ledger: 1 for the first, then one more for each
    # (the item's ``movement_count`` when it was written). Given under the item's row
    # lock, so the positions run without gaps in the order the balances follow, and any
    # page of the ledger is a range of positions that the index finds at once.
    position = models.PositiveIntegerField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The last word should two writers ever number a movement from the same
            # count: one of them fails instead of the ledger holding a position twice.
            models.UniqueConstraint(fields=["item", "position"], name="stock_movement_position"),
            models.CheckConstraint(
                condition=Q(position__gte=1), name="stock_movement_position_from_one"
            ),
            models.CheckConstraint(condition=~Q(delta=0), name="stock_movement_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="stock_movement_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(source_type="", source_id__isnull=True)
                | (~Q(source_type="") & Q(source_id__isnull=False)),
                name="stock_movement_source_complete",
            ),
        ]
        indexes = [
            models.Index(
                fields=["source_type", "source_id"],
                name="stock_movement_source",
                condition=~Q(source_type=""),
            )
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.delta:+} → {self.balance_after}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Stock movements are append-only; record a correcting movement.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("Stock movements are append-only; record a correcting movement.")


class PurchaseOrderStatus(models.TextChoices):
    OPEN = "open", _("On order")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


class PurchaseOrder(BaseModel):
    """Stock a manager has ordered; restocking against it closes it."""

    item = models.ForeignKey(
        InventoryItem, on_delete=models.CASCADE, related_name="purchase_orders"
    )
    quantity = models.DecimalField(validators=[MinValueValidator(Decimal("0.001"))], **QUANTITY)
    supplier = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=PurchaseOrderStatus, default=PurchaseOrderStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.item} ({self.status})"


class ReorderAlert(BaseModel):
    """One crossing of an item from above to at-or-below its minimum: one email."""

    item = models.ForeignKey(InventoryItem, on_delete=models.CASCADE, related_name="alerts")
    stock_at_crossing = models.DecimalField(**QUANTITY)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Open until the stock rises above the minimum again; only one open alert per item,
    # so a second crossing cannot be recorded before the item recovered.
    is_open = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"], condition=Q(is_open=True), name="reorder_alert_one_open_per_item"
            ),
        ]

    def __str__(self) -> str:
        return f"Low stock: {self.item}"


class LowStockDigest(BaseModel):
    """The daily digest of a space, sent once per day."""

    makerspace = models.ForeignKey(Makerspace, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    item_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["makerspace", "day"], name="digest_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"Low-stock digest of {self.makerspace} for {self.day}"
