from decimal import Decimal
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, inline_serializer
from rest_framework import serializers

from apps.core.api.serializers import ErrorSerializer, StrictFieldsMixin
from apps.inventory.models import InventoryItem, PurchaseOrder, StockMovement

QUANTITY: dict[str, Any] = {"max_digits": 14, "decimal_places": 3}
WHOLE_DIGITS = QUANTITY["max_digits"] - QUANTITY["decimal_places"]


class QuantityField(serializers.DecimalField):
    """A stock quantity given as input. A number too large for the ledger is passed on to
    the stock service, whose refusal names the largest quantity an item can hold (and
    which also judges the stock the change would leave)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**QUANTITY, **kwargs)

    def _is_too_large(self, value: Decimal) -> bool:
        return value.is_finite() and value.adjusted() >= WHOLE_DIGITS

    def validate_precision(self, value: Decimal) -> Decimal:
        return value if self._is_too_large(value) else super().validate_precision(value)

    def quantize(self, value: Decimal) -> Decimal:
        return value if self._is_too_large(value) else super().quantize(value)


class InventoryItemSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    current_stock = QuantityField(
        min_value=Decimal("0"),
        required=False,
        help_text="On create: the opening balance (recorded in the ledger). Read-only after.",
    )
    is_low_stock = serializers.SerializerMethodField()

    class Meta:
        model = InventoryItem
        fields = [
            "id",
            "name",
            "sku",
            "category",
            "unit",
            "current_stock",
            "min_stock_level",
            "reorder_quantity",
            "location",
            "supplier",
            "unit_cost",
            "is_low_stock",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "is_active", "created_at", "updated_at"]

    def get_is_low_stock(self, item: InventoryItem) -> bool:
        low = getattr(item, "low", None)
        return bool(low) if low is not None else item.is_low_stock

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "current_stock" in attrs:
            raise serializers.ValidationError(
                {"current_stock": ["Change stock with deduct, restock or adjust."]}
            )
        return attrs


# What staff (``selectors.sees_purchasing``) see of an item and members do not.
STAFF_ITEM_FIELDS = ("supplier", "unit_cost")


class MemberInventoryItemSerializer(InventoryItemSerializer):
    """An item as a member sees it: what there is and where, without what it costs or
    where it is bought."""

    class Meta(InventoryItemSerializer.Meta):
        fields = [
            name for name in InventoryItemSerializer.Meta.fields if name not in STAFF_ITEM_FIELDS
        ]
        read_only_fields = fields


class AnyShapeSerializer(PolymorphicProxySerializer):
    """Shapes an answer may match more than one of (``anyOf``; see api/schema.py)."""


def item_for_caller(*, many: bool = False) -> PolymorphicProxySerializer:
    """The schema of an item read: the staff shape or the member shape, by the caller."""
    return AnyShapeSerializer(
        component_name="InventoryItemForCaller",
        serializers=[InventoryItemSerializer, MemberInventoryItemSerializer],
        resource_type_field_name=None,
        many=many,
    )


class DeductSerializer(StrictFieldsMixin, serializers.Serializer):
    quantity = QuantityField(min_value=Decimal("0.001"))
    reason = serializers.CharField(max_length=300)
    job_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    project = serializers.UUIDField(required=False, allow_null=True, default=None)


class RestockSerializer(StrictFieldsMixin, serializers.Serializer):
    quantity = QuantityField(min_value=Decimal("0.001"))
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    unit_cost = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    purchase_order = serializers.UUIDField(required=False, allow_null=True, default=None)


class AdjustSerializer(StrictFieldsMixin, serializers.Serializer):
    new_stock = QuantityField(min_value=Decimal("0"))
    reason = serializers.CharField(max_length=300)


class StockResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    new_stock = serializers.DecimalField(**QUANTITY)
    movement = serializers.IntegerField(allow_null=True)


class MovementSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()
    project = serializers.UUIDField(source="project_id", allow_null=True)

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "delta",
            "kind",
            "reason",
            "user",
            "job_id",
            "project",
            "source_type",
            "source_id",
            "purchase_order",
            "unit_cost",
            "balance_after",
            "created_at",
        ]

    def get_user(self, movement: StockMovement) -> dict[str, Any] | None:
        user = movement.user
        return {"id": str(user.pk), "name": user.name, "email": user.email} if user else None


# Who made a movement, and what a delivery cost or which order it filled, are for staff.
STAFF_MOVEMENT_FIELDS = ("user", "unit_cost", "purchase_order")


class MemberMovementSerializer(MovementSerializer):
    """A ledger line as a member sees it: how much, why and when, but not by whom."""

    user = None  # type: ignore[assignment]

    class Meta(MovementSerializer.Meta):
        fields = [
            name for name in MovementSerializer.Meta.fields if name not in STAFF_MOVEMENT_FIELDS
        ]


def movement_for_caller(*, many: bool = False) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name="StockMovementForCaller",
        serializers=[MovementSerializer, MemberMovementSerializer],
        resource_type_field_name=None,
        many=many,
    )


class SuggestionSerializer(serializers.Serializer):
    item = serializers.UUIDField(source="pk")
    sku = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    current_stock = serializers.DecimalField(**QUANTITY)
    min_stock_level = serializers.DecimalField(**QUANTITY)
    reorder_quantity = serializers.DecimalField(**QUANTITY)
    on_order = serializers.DecimalField(**QUANTITY)
    suggested_quantity = serializers.DecimalField(**QUANTITY)
    supplier = serializers.CharField()


class PurchaseOrderSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    item = serializers.UUIDField(source="item_id")
    quantity = QuantityField(min_value=Decimal("0.001"))

    class Meta:
        model = PurchaseOrder
        fields = ["id", "item", "quantity", "supplier", "status", "received_at", "created_at"]
        read_only_fields = ["id", "status", "received_at", "created_at"]


# A declared field may not be called ``errors`` on a DRF serializer, so the import
# report's schema is built from a plain field map.
ImportReportSerializer = inline_serializer(
    name="ImportReport",
    fields={
        "dry_run": serializers.BooleanField(),
        "ok": serializers.BooleanField(),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "errors": serializers.ListField(child=serializers.DictField()),
    },
)

# An import refused as a whole (no file, not CSV text) answers the error envelope; one
# with bad rows answers the report listing them.
ImportRefusalSerializer = PolymorphicProxySerializer(
    component_name="ImportRefusal",
    serializers=[ImportReportSerializer, ErrorSerializer],
    resource_type_field_name=None,
)

# The import takes the file as a multipart form field `file`, or as the body itself.
IMPORT_REQUEST = {
    "multipart/form-data": {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}},
        "required": ["file"],
    },
    "text/csv": {"type": "string"},
}
