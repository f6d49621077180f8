"""Lean reads: the hot list and detail endpoints build their JSON rows with plain
functions instead of DRF's field machinery, which costs tens of microseconds a field.

The DRF serializer of each resource stays the contract: it documents the shape in the
OpenAPI schema and validates writes. A lean function must give exactly what that
serializer gives for the same row, and a test per resource says so
(``tests/lean.py``'s ``assert_lean_matches``). The converters here reproduce DRF's
field output byte for byte under the project's settings (ISO 8601 times, decimals
as strings).
"""

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.utils import timezone

_QUANTA: dict[int, Decimal] = {}


def iso_datetime(value: datetime | None) -> str | None:
    """What ``serializers.DateTimeField().to_representation`` answers: the moment in the
    current time zone, ISO 8601, ``Z`` for UTC."""
    if not value:
        return None
    text = timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def iso_time(value: time | None) -> str | None:
    return value.isoformat() if value else None


def decimal_text(value: Decimal | int | float | None, decimal_places: int) -> str | None:
    """What ``serializers.DecimalField(decimal_places=n)`` answers: the value rounded
    to ``n`` places as DRF rounds (the decimal context's, half even), as text."""
    if value is None:
        return None
    quantum = _QUANTA.get(decimal_places)
    if quantum is None:
        quantum = _QUANTA.setdefault(decimal_places, Decimal(1).scaleb(-decimal_places))
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return f"{value.quantize(quantum):f}"


def uuid_text(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


def related_id(value: Any) -> str | None:
    """A foreign key as DRF's ``PrimaryKeyRelatedField`` shows a UUID key: text."""
    return None if value is None else str(value)
