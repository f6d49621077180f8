"""Keyset pagination, for lists that grow without bound (a ledger, a log).

``?page=N`` costs what comes before the page: OFFSET reads and throws away every
earlier row, and the page's ``total`` counts all of them, so page 10,000 of a ledger
costs thousands of times page 1. A keyset page starts after a position instead: the
values of the order's key on the last row shown, which an index finds directly. The
order ends on a unique key, so a walk gives every row once and in order, even while
rows are added ahead of it.

A position travels as an opaque ``?cursor=``: signed, so a client cannot make up a
position the server never gave, and checked, so a malformed or tampered cursor
answers 400 in the error envelope, never 500.

``KeysetPagination`` answers both ways. ``?cursor=`` pages by keyset; ``?page=`` keeps
API.md's envelope for the clients that use it, with ``next_cursor`` added so a walk
can go on by cursor. A list whose key numbers its rows 1, 2, 3 ... without gaps (a
ledger's positions) can tell the paginator how many rows it holds; then ``?page=N``
is a keyset page as well, starting after the position that page N starts after, and
its total needs no count.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field, Model, Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.core.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_PAGE,
    EnvelopePagination,
    positive_int,
)

CURSOR = "cursor"
# Far longer than any cursor this module gives: a longer one is refused before its
# signature is computed.
MAX_CURSOR_LENGTH = 512
INVALID_CURSOR = "Not a cursor of this list; start again without one."


def _invalid_cursor() -> ValidationError:
    return ValidationError({CURSOR: [INVALID_CURSOR]})


def _plain(value: Any) -> Any:
    """A key's value as JSON holds it; the model field reads it back (``to_python``)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    return value


def _model_field(model: type[Model], name: str) -> Field:
    return model._meta.pk if name == "pk" else model._meta.get_field(name)  # type: ignore[return-value]


@dataclass(frozen=True)
class Keyset:
    """An order over a unique key, and the cursors that resume it.

    ``ordering`` as ``order_by`` takes it, ending on a unique key: ``("-position",)``
    for one item's ledger, ``("-created_at", "-id")`` for a log. ``salt`` names the
    list, so a cursor of one list is refused by another.
    """

    ordering: tuple[str, ...]
    salt: str

    def __post_init__(self) -> None:
        if not self.ordering:
            raise ValueError("A keyset needs at least one field to order by.")

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(term.lstrip("-") for term in self.ordering)

    def _signer(self) -> signing.Signer:
        return signing.Signer(salt=f"keyset:{self.salt}")

    def order(self, rows: QuerySet[Any]) -> QuerySet[Any]:
        return rows.order_by(*self.ordering)

    def cursor(self, row: Any) -> str:
        """The cursor of the page after ``row`` (a model instance or a ``values()`` row
        holding the key's fields)."""
        if isinstance(row, dict):
            values = [_plain(row[name]) for name in self.fields]
        else:
            values = [_plain(getattr(row, name)) for name in self.fields]
        return self._signer().sign_object(values)

    def position(self, cursor: str, model: type[Model]) -> tuple[Any, ...]:
        """The key values a cursor of this list holds; 400 for anything else."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise _invalid_cursor()
        try:
            values = self._signer().unsign_object(cursor)
        except (signing.BadSignature, ValueError, UnicodeDecodeError):
            raise _invalid_cursor() from None
        if not isinstance(values, list) or len(values) != len(self.fields):
            raise _invalid_cursor()
        try:
            position = tuple(
                _model_field(model, name).to_python(value)
                for name, value in zip(self.fields, values, strict=True)
            )
        except (DjangoValidationError, TypeError, ValueError):
            raise _invalid_cursor() from None
        if any(value is None for value in position):
            raise _invalid_cursor()
        return position

    def after(self, rows: QuerySet[Any], position: tuple[Any, ...]) -> QuerySet[Any]:
        """The rows that come after ``position`` in this order."""
        # (a, b) after (x, y), both descending: a < x, or a = x and b < y.
        later: Q | None = None
        same = Q()
        for term, value in zip(self.ordering, position, strict=True):
            name = term.lstrip("-")
            step = same & Q(**{f"{name}__{'lt' if term.startswith('-') else 'gt'}": value})
            later = step if later is None else later | step
            same &= Q(**{name: value})
        assert later is not None
        if len(self.ordering) > 1:
            # The first field's bound alone as well, where an index on the key starts.
            first = self.ordering[0]
            bound = "lte" if first.startswith("-") else "gte"
            later = Q(**{f"{self.fields[0]}__{bound}": position[0]}) & later
        return rows.filter(later)

    def numbered_start(self, total: int, skipped: int) -> tuple[int]:
        """In a list numbered 1 to ``total`` without gaps by this keyset's one field, the
        position that the row ``skipped + 1`` comes right after."""
        if len(self.ordering) != 1:
            raise ValueError("Only a list ordered by one numbering field is numbered.")
        return (total - skipped + 1,) if self.ordering[0].startswith("-") else (skipped,)


class KeysetPagination(EnvelopePagination):
    """``?cursor=`` pages by keyset, ``?page=`` as ``EnvelopePagination`` (plus
    ``next_cursor``); ``?limit=`` for both, and one of cursor or page.

    The view names its order as ``keyset``. A view whose rows its keyset numbers 1, 2,
    3 ... without gaps defines ``numbered_total(queryset)``, answering how many rows
    the queryset holds (or None when it cannot tell, say for a filtered list); then
    ``?page=N`` starts by keyset too, and ``total`` is that number, not a count.
    """

    cursor_mode = False
    next_cursor: str | None = None
    has_next = False

    def paginate_queryset(
        self, queryset: QuerySet[Any] | list[Any], request: Request, view: Any = None
    ) -> list[Any]:
        if not isinstance(queryset, QuerySet):
            raise TypeError("Keyset pagination pages querysets.")
        keyset: Keyset = view.keyset
        self.limit = positive_int(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        rows = keyset.order(queryset)
        cursor = request.query_params.get(CURSOR)
        if cursor is not None:
            if request.query_params.get("page"):
                raise ValidationError({CURSOR: ["Give a cursor or a page, not both."]})
            self.cursor_mode = True
            if cursor:
                rows = keyset.after(rows, keyset.position(cursor, queryset.model))
            fetched = list(rows[: self.limit + 1])
            self.has_next = len(fetched) > self.limit
            page = fetched[: self.limit]
        else:
            self.page = positive_int(request, "page", 1, MAX_PAGE)
            skipped = (self.page - 1) * self.limit
            numbered = getattr(view, "numbered_total", None)
            total = numbered(queryset) if numbered is not None else None
            if total is None:
                total = rows.count()
                page = list(rows[skipped : skipped + self.limit]) if skipped < total else []
            elif skipped < total:
                # Page N starts after a position counted from ``total``; rows written
                # since the total was read lie beyond it, so the page stays the one
                # that total names.
                start = keyset.after(rows, keyset.numbered_start(total, skipped))
                page = list(start[: self.limit])
            else:
                page = []
            self.total = total
            self.has_next = self.page * self.limit < total
        self.next_cursor = keyset.cursor(page[-1]) if self.has_next and page else None
        return page

    def meta(self) -> dict[str, Any]:
        if self.cursor_mode:
            return {"limit": self.limit, "has_next": self.has_next, "next_cursor": self.next_cursor}
        return {**super().meta(), "has_next": self.has_next, "next_cursor": self.next_cursor}

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        envelope = super().get_paginated_response_schema(schema)
        meta = envelope["properties"]["meta"]
        meta["description"] = (
            "`total` and `page` answer a `page` request; a `cursor` request answers "
            "`limit`, `has_next` and `next_cursor` only."
        )
        meta["required"] = ["limit", "has_next", "next_cursor"]
        meta["properties"]["next_cursor"] = {
            "type": "string",
            "nullable": True,
            "description": "Pass as `cursor` for the next page; null on the last page.",
        }
        return envelope

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        parameters[0]["description"] = "Page number, from 1 (not with `cursor`)."
        parameters.append(
            {
                "name": CURSOR,
                "required": False,
                "in": "query",
                "description": (
                    "Where the page starts: the `next_cursor` of the page before, or empty "
                    "for the first page. Opaque; a cursor not given by this list answers "
                    "400. Not with `page`."
                ),
                "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
            }
        )
        return parameters
