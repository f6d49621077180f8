"""How the member shapes of items and ledger lines appear in the OpenAPI schema.

An item read answers the staff shape or the member shape (``oneOf``). The member shape
is the staff shape less its staff fields, so it says it has no other properties: a
staff answer then matches only the staff shape, as ``oneOf`` requires.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension


def _closed(auto_schema: Any, serializer: Any, direction: Any) -> Any:
    schema = auto_schema._map_basic_serializer(serializer, direction)
    schema["additionalProperties"] = False
    return schema


class MemberItemShape(OpenApiSerializerExtension):
    target_class = "apps.inventory.api.serializers.MemberInventoryItemSerializer"

    def map_serializer(self, auto_schema, direction):  # type: ignore[no-untyped-def]
        return _closed(auto_schema, self.target, direction)


class MemberMovementShape(OpenApiSerializerExtension):
    target_class = "apps.inventory.api.serializers.MemberMovementSerializer"

    def map_serializer(self, auto_schema, direction):  # type: ignore[no-untyped-def]
        return _closed(auto_schema, self.target, direction)
