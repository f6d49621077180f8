import re
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
# No list of ours has a billion pages; a bigger number is a typo or a probe, and
# refusing it keeps the OFFSET far inside PostgreSQL's bigint.
MAX_PAGE = 10**9
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def positive_int(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    # Plain ASCII digits only: int() would also take "1_000", " 7" or other scripts'
    # digits, and spends quadratic time on a number thousands of digits long.
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise ValidationError({name: [f"Must be a whole number, not {raw[:40]!r}."]})
    digits = raw.lstrip("-").lstrip("0")
    value = int(raw) if len(digits) <= len(str(maximum)) else maximum + 1
    if value < 1 or value > maximum:
        raise ValidationError({name: [f"Must be between 1 and {maximum}."]})
    return value


def expected_page(request: Request) -> tuple[int, int]:
    """The offset and limit of the page EnvelopePagination is going to read (a bad page
    or limit is its 400): a listing told them reads the page and its count at once."""
    page = positive_int(request, "page", 1, MAX_PAGE)
    limit = positive_int(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    return (page - 1) * limit, limit


class EnvelopePagination(BasePagination):
    """``?page=&limit=`` pagination answering ``{"data": [...], "meta": {...}}``.

    A page past the end is an empty ``data`` with ``has_next: false``, not an error,
    so a client walking pages never trips over a row deleted meanwhile.
    """

    def paginate_queryset(
        self, queryset: QuerySet[Any] | list[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.page = positive_int(request, "page", 1, MAX_PAGE)
        self.limit = positive_int(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        self.total = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        offset = (self.page - 1) * self.limit
        if offset >= self.total:
            return []
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
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            },
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {MAX_LIMIT}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
        ]
