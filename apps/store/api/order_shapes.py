"""The Order of API.md, for every route that answers orders (the checkout, the orders
list and detail): ``OrderSerializer`` is the schema; ``order_shapes`` builds the same
JSON with plain functions, the items of all the orders read in one query."""

from collections.abc import Mapping, Sequence
from typing import Any

from rest_framework import serializers

from apps.core.api.lean import decimal_text, iso_datetime, related_id
from apps.core.api.serializers import StrictFieldsMixin
from apps.store.models import (
    FulfillmentStatus,
    Order,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    ShippingMethod,
)

MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}
MONEY_PLACES = 2
# The keys of an address, in the order they are shown.
ADDRESS_FIELDS = (
    "name",
    "line1",
    "line2",
    "city",
    "postal_code",
    "region",
    "country",
    "phone",
    "latitude",
    "longitude",
)
ORDER_ITEM_COLUMNS = (
    "id",
    "order_id",
    "product_id",
    "name",
    "sku",
    "unit_price",
    "quantity",
    "line_total",
)


class PostalAddressSerializer(StrictFieldsMixin, serializers.Serializer):
    """A postal address; ``latitude`` and ``longitude`` (both or neither) are its geocoded
    position, which local delivery needs."""

    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=200)
    postal_code = serializers.CharField(max_length=20)
    region = serializers.CharField(max_length=200, required=False, allow_blank=True)
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$", max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. UA or DE."
    )
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("latitude" in attrs) != ("longitude" in attrs):
            raise serializers.ValidationError("Give both latitude and longitude, or neither.")
        return attrs


class MarketRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class OrderItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    product_id = serializers.UUIDField(allow_null=True)
    name = serializers.CharField()
    sku = serializers.CharField()
    unit_price = serializers.DecimalField(**MONEY)
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(**MONEY)


class OrderSerializer(serializers.Serializer):
    """An order: what one market (``market`` null: the MakrX catalogue) sells to the
    buyer in one checkout."""

    id = serializers.UUIDField()
    order_number = serializers.CharField()
    market = MarketRefSerializer(allow_null=True)
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices)
    fulfillment_status = serializers.ChoiceField(choices=FulfillmentStatus.choices)
    items = OrderItemSerializer(many=True, source="items.all")
    subtotal = serializers.DecimalField(**MONEY)
    tax_amount = serializers.DecimalField(**MONEY)
    shipping_amount = serializers.DecimalField(**MONEY)
    discount_amount = serializers.DecimalField(**MONEY)
    total_amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    shipping_address = PostalAddressSerializer()
    billing_address = PostalAddressSerializer()
    shipping_method = serializers.ChoiceField(choices=ShippingMethod.choices)
    tracking_number = serializers.CharField()
    order_date = serializers.DateTimeField(source="created_at")


def _money(value: Any) -> str | None:
    return decimal_text(value, MONEY_PLACES)


def address_shape(address: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stored address with its keys in the shown order."""
    address = address or {}
    return {key: address[key] for key in ADDRESS_FIELDS if key in address}


def item_shape(row: Mapping[str, Any]) -> dict[str, Any]:
    """An order line from a row of ``ORDER_ITEM_COLUMNS``."""
    return {
        "id": str(row["id"]),
        "product_id": related_id(row["product_id"]),
        "name": row["name"],
        "sku": row["sku"],
        "unit_price": _money(row["unit_price"]),
        "quantity": row["quantity"],
        "line_total": _money(row["line_total"]),
    }


def order_shape(order: Order, item_rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An Order (``OrderSerializer``); ``order.market`` is read, so load it with the order."""
    market = order.market if order.market_id is not None else None
    return {
        "id": str(order.pk),
        "order_number": order.order_number,
        "market": None if market is None else {"id": str(market.pk), "name": market.name},
        "status": order.status,
        "payment_status": order.payment_status,
        "fulfillment_status": order.fulfillment_status,
        "items": [item_shape(row) for row in item_rows],
        "subtotal": _money(order.subtotal),
        "tax_amount": _money(order.tax_amount),
        "shipping_amount": _money(order.shipping_amount),
        "discount_amount": _money(order.discount_amount),
        "total_amount": _money(order.total_amount),
        "currency": order.currency,
        "shipping_address": address_shape(order.shipping_address),
        "billing_address": address_shape(order.billing_address),
        "shipping_method": order.shipping_method,
        "tracking_number": order.tracking_number,
        "order_date": iso_datetime(order.created_at),
    }


def order_item_rows(order_ids: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    """The lines of the orders, by order id (text), in one query."""
    by_order: dict[str, list[dict[str, Any]]] = {str(pk): [] for pk in order_ids}
    rows = (
        OrderItem.objects.filter(order_id__in=list(order_ids))
        .order_by("created_at", "name", "id")
        .values(*ORDER_ITEM_COLUMNS)
    )
    for row in rows:
        by_order[str(row["order_id"])].append(row)
    return by_order


def order_shapes(orders: Sequence[Order]) -> list[dict[str, Any]]:
    """Orders (with their markets loaded) as API.md's Order, their items in one query."""
    items = order_item_rows([order.pk for order in orders])
    return [order_shape(order, items[str(order.pk)]) for order in orders]
