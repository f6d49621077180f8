"""How the member shapes of items and ledger lines appear in the OpenAPI schema.

A read answers the staff shape or the member shape. The member shape is the staff shape
less its staff fields, so it says it has no other properties: a staff answer then
matches only the staff shape. A ledger line's staff fields are always there, so a
member's line matches only the member shape and the two are ``oneOf``. An item's staff
fields (supplier, cost) may be left out of the staff shape, so a member's item matches
both shapes: items are ``anyOf`` (``AnyShapeSerializer``).
"""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.serializers import PolymorphicProxySerializerExtension


def _closed(auto_schema: Any, serializer: Any, direction: Any) -> Any:
    schema = auto_schema._map_basic_serializer(serializer, direction)
    schema["additionalProperties"] = False
    return schema


class MemberItemShape(OpenApiSerializerExtension):
    target_class = "apps.inventory.api.serializers.MemberInventoryItemSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        return _closed(auto_schema, self.target, direction)


class MemberMovementShape(OpenApiSerializerExtension):
    target_class = "apps.inventory.api.serializers.MemberMovementSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        return _closed(auto_schema, self.target, direction)


class AnyShape(PolymorphicProxySerializerExtension):
    target_class = "apps.inventory.api.serializers.AnyShapeSerializer"
    priority = 1

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = super().map_serializer(auto_schema, direction)
        return {"anyOf": schema.pop("oneOf"), **schema}
