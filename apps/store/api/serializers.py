"""Shapes of the store API (API.md "Store and markets"). These serializers are the
schema and check writes; the hot reads are built by ``presenters.py``, which gives
exactly their JSON."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.serializers import JSONObjectField, StrictFieldsMixin
from apps.makerspaces.api.serializers import (
    BusinessHoursField,
    CoordinatesSerializer,
    TimezoneField,
)
from apps.makerspaces.hours import validate_business_hours, validate_timezone
from apps.makerspaces.models import Makerspace
from apps.store.delivery import validate_delivery_options, validate_payment_methods
from apps.store.models import (
    Category,
    Market,
    MarketClosure,
    PaymentMethod,
    Product,
    ProductImage,
    ProductStockReason,
)

MONEY: dict[str, Any] = {"max_digits": 10, "decimal_places": 2}


def _django_check(check: Any, value: Any) -> Any:
    try:
        result = check(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from exc
    return value if result is None else result


class UserNameSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


@extend_schema_field({"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$", "maxLength": 80})
class SlugReferenceField(serializers.SlugRelatedField):
    """A category named by its slug."""


# --- categories ------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "object", "additionalProperties": {}},
        "description": "The categories right below this one, each of this same shape.",
    }
)
class ChildrenField(serializers.ListField):
    """Nested categories (the tree); read-only."""


class CategorySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    parent = SlugReferenceField(  # type: ignore[assignment]
        slug_field="slug",
        queryset=Category.objects.all(),
        allow_null=True,
        required=False,
        help_text="The parent category's slug; null for a top-level category.",
    )
    children = ChildrenField(read_only=True, child=serializers.DictField())

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent", "position", "children"]
        read_only_fields = ["id"]
        extra_kwargs = {"slug": {"required": False}}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["children"] = [
            self.to_representation(child) for child in getattr(instance, "tree_children", [])
        ]
        return data


# --- products --------------------------------------------------------------------------


@extend_schema_field(
    {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": 50}
)
class TagsField(serializers.ListField):
    child = serializers.CharField(max_length=60)
    max_length = 50


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "format": "uri"},
        "readOnly": True,
        "description": "The URLs of the product's pictures, first shown first; upload and "
        "remove them at `/products/{id}/images`.",
    }
)
class ImagesField(serializers.ReadOnlyField):
    def to_representation(self, value: Any) -> list[str]:
        # Sorted here rather than by the database, so a prefetch serves it.
        pictures = sorted(
            value.images.all(), key=lambda image: (image.position, image.created_at, image.pk)
        )
        return [picture.image.url for picture in pictures]


class ProductSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    price = serializers.DecimalField(**MONEY, min_value=0)
    sale_price = serializers.DecimalField(**MONEY, min_value=0, allow_null=True, required=False)
    effective_price = serializers.DecimalField(**MONEY, read_only=True)
    category = SlugReferenceField(slug_field="slug", queryset=Category.objects.all())
    market = serializers.PrimaryKeyRelatedField(
        queryset=Market.objects.all(),
        allow_null=True,
        required=False,
        help_text="The market's id; null (a super admin's) for the central catalogue. "
        "Set on create; it does not change.",
    )
    stock_quantity = serializers.IntegerField(
        min_value=0,
        max_value=2_000_000_000,
        required=False,
        help_text="On create: the opening stock (recorded in the ledger). Read-only after: "
        "use the stock route.",
    )
    in_stock = serializers.BooleanField(read_only=True)
    tags = TagsField(required=False)
    images = ImagesField(source="*")
    specifications = JSONObjectField(required=False)
    dimensions = JSONObjectField(required=False)
    is_active = serializers.BooleanField(
        write_only=True, required=False, help_text="False hides the product from the catalogue."
    )

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "sku",
            "description",
            "long_description",
            "price",
            "sale_price",
            "effective_price",
            "currency",
            "category",
            "market",
            "stock_quantity",
            "track_inventory",
            "allow_backorder",
            "in_stock",
            "tags",
            "images",
            "specifications",
            "dimensions",
            "weight",
            "is_featured",
            "rating",
            "review_count",
            "created_at",
            "is_active",
        ]
        read_only_fields = ["id", "rating", "review_count", "created_at"]
        extra_kwargs = {"slug": {"required": False}}

    def get_validators(self) -> list[Any]:
        # Slug and SKU uniqueness (per market, or in the central catalogue) is the
        # service's to check, with messages that name the field.
        return []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            errors = {}
            if "stock_quantity" in attrs:
                errors["stock_quantity"] = ["Change stock through the stock route."]
            if "market" in attrs and attrs["market"] != self.instance.market:
                errors["market"] = ["A product's market does not change."]
            if errors:
                raise serializers.ValidationError(errors)
            attrs.pop("market", None)
        return attrs


class StockChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    change = serializers.IntegerField(
        min_value=-1_000_000, max_value=1_000_000, help_text="Units in (> 0) or out (< 0); not 0."
    )
    reason = serializers.ChoiceField(choices=ProductStockReason.choices)
    note = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)

    def validate_change(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("A change of zero changes nothing.")
        return value


class StockMovementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    change = serializers.IntegerField()
    quantity_after = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=ProductStockReason.choices)
    note = serializers.CharField()
    source_type = serializers.CharField()
    source_id = serializers.CharField()
    actor = UserNameSerializer(allow_null=True)
    created_at = serializers.DateTimeField()


class ProductStockResultSerializer(serializers.Serializer):
    stock_quantity = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    movement = StockMovementSerializer()


# --- product images --------------------------------------------------------------------


class ProductImageSerializer(serializers.ModelSerializer):
    """One picture of a product; `url` is where the stored file is served from."""

    url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "alt_text", "position", "width", "height"]
        read_only_fields = fields

    def get_url(self, image: ProductImage) -> str:
        return str(image.image.url)


class ProductImageUploadSerializer(StrictFieldsMixin, serializers.Serializer):
    image = serializers.FileField(
        # An empty file is the image check's to refuse, with its own code.
        allow_empty_file=True,
        help_text="A JPEG, PNG or WEBP file, checked by its content (size, type, pixels).",
    )
    alt_text = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class ProductImageChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    alt_text = serializers.CharField(max_length=200, required=False, allow_blank=True)
    position = serializers.IntegerField(
        min_value=0,
        max_value=32767,
        required=False,
        help_text="Where the picture goes: 0 is first; past the end means last.",
    )


# --- reviews ---------------------------------------------------------------------------


class ReviewSerializer(StrictFieldsMixin, serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    user = UserNameSerializer(read_only=True)
    rating = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    comment = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)
    verified_purchase = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


# --- markets ---------------------------------------------------------------------------

MONEY_TEXT = {"type": "string", "pattern": r"^\d{1,8}(?:\.\d{1,2})?$"}


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "pickup": {
                "type": "object",
                "additionalProperties": False,
                "required": ["enabled"],
                "properties": {"enabled": {"type": "boolean"}},
            },
            "local_delivery": {
                "type": "object",
                "additionalProperties": False,
                "required": ["enabled", "radius_km", "fee", "minimum_order"],
                "properties": {
                    "enabled": {"type": "boolean"},
                    "radius_km": {
                        "type": "number",
                        "exclusiveMinimum": True,
                        "minimum": 0,
                        "maximum": 20000,
                    },
                    "fee": MONEY_TEXT,
                    "minimum_order": MONEY_TEXT,
                },
            },
            "shipping": {
                "type": "object",
                "additionalProperties": False,
                "required": ["enabled", "fee"],
                "properties": {"enabled": {"type": "boolean"}, "fee": MONEY_TEXT},
            },
        },
        "description": "Pickup, local delivery within radius_km of the market (a fee and a "
        "minimum order) and shipping (a fee); an option left out is not offered.",
    }
)
class DeliveryOptionsField(serializers.JSONField):
    """Checked by ``apps.store.delivery.validate_delivery_options``."""


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "enum": PaymentMethod.values},
        "uniqueItems": True,
    }
)
class PaymentMethodsField(serializers.ListField):
    """Each of ``PaymentMethod`` at most once."""


class MarketSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    owner = UserNameSerializer(read_only=True)
    makerspace = serializers.PrimaryKeyRelatedField(
        queryset=Makerspace.objects.all(),
        allow_null=True,
        required=False,
        help_text="The makerspace the market runs for (its admins only).",
    )
    coordinates = CoordinatesSerializer(required=False, allow_null=True)
    business_hours = BusinessHoursField(required=False)
    delivery_options = DeliveryOptionsField(required=False)
    payment_methods = PaymentMethodsField(
        child=serializers.ChoiceField(choices=PaymentMethod.choices), required=False
    )
    timezone = TimezoneField(
        max_length=64, required=False, write_only=True, help_text="The hours' timezone."
    )

    class Meta:
        model = Market
        fields = [
            "id",
            "name",
            "description",
            "owner",
            "makerspace",
            "contact_email",
            "contact_phone",
            "address",
            "coordinates",
            "business_hours",
            "delivery_options",
            "payment_methods",
            "is_active",
            "verified",
            "rating",
            "total_orders",
            "total_revenue",
            "created_at",
            "timezone",
        ]
        read_only_fields = [
            "id",
            "verified",
            "rating",
            "total_orders",
            "total_revenue",
            "created_at",
        ]

    def to_representation(self, instance: Market) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["coordinates"] = (
            {"lat": float(instance.latitude), "lng": float(instance.longitude)}
            if instance.latitude is not None and instance.longitude is not None
            else None
        )
        return data

    def validate_timezone(self, value: str) -> str:
        return _django_check(validate_timezone, value)

    def validate_business_hours(self, value: Any) -> Any:
        return _django_check(validate_business_hours, value)

    def validate_delivery_options(self, value: Any) -> Any:
        return _django_check(validate_delivery_options, value)

    def validate_payment_methods(self, value: Any) -> Any:
        return _django_check(validate_payment_methods, value)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        if "coordinates" in values:
            coordinates = values.pop("coordinates")
            values["latitude"] = coordinates["lat"] if coordinates else None
            values["longitude"] = coordinates["lng"] if coordinates else None
        return values


class MarketVerifySerializer(StrictFieldsMixin, serializers.Serializer):
    verified = serializers.BooleanField(default=True)


class MarketStaffSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    user = UserNameSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class MarketStaffAddSerializer(StrictFieldsMixin, serializers.Serializer):
    email = serializers.EmailField(help_text="The account to make staff of the market.")


class MarketClosureSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = MarketClosure
        fields = ["id", "date", "reason"]
        read_only_fields = ["id"]
