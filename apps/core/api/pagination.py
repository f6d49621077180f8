from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def _positive_int(request: Request, name: str, default: int, maximum: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"Must be a whole number, not {raw!r}."]}) from None
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"between 1 and {maximum}" if maximum else "1 or more"
        raise ValidationError({name: [f"Must be {bound}."]})
    return value


class EnvelopePagination(BasePagination):
    """``?page=&limit=`` pagination answering ``{"data": [...], "meta": {...}}``.

    A page past the end is an empty ``data`` with ``has_next: false``, not an error,
    so a client walking pages never trips over a row deleted meanwhile.
    """

    def paginate_queryset(
        self, queryset: QuerySet[Any] | list[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.page = _positive_int(request, "page", 1, None)
        self.limit = _positive_int(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        self.total = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        offset = (self.page - 1) * self.limit
        return list(queryset[offset : offset + self.limit])

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"data": data, "meta": self.meta()})

    def meta(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.page,
            "limit": self.limit,
            "has_next": self.page * self.limit < self.total,
        }

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {
                "data": schema,
                "meta": {
                    "type": "object",
                    "required": ["total", "page", "limit", "has_next"],
                    "properties": {
                        "total": {"type": "integer", "example": 123},
                        "page": {"type": "integer", "example": 1},
                        "limit": {"type": "integer", "example": 20},
                        "has_next": {"type": "boolean", "example": True},
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {MAX_LIMIT}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
        ]
