"""Lean reads of the equipment API: the JSON of ``EquipmentSerializer`` and
``ReservationSerializer`` built by plain functions (see ``apps.core.api.lean``).

The serializers stay the contract (schema, writes); tests hold these functions to
exactly their output.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from apps.core.api.lean import decimal_text, iso_datetime, related_id, uuid_text
from apps.equipment.feeds import equipment_feed_urls
from apps.equipment.selectors import MachineRow, ReservationRow


def machine_json(
    machine: Any,
    *,
    skill_slugs: list[str],
    currency: str,
    open_seconds: float | None,
    feed_url: Callable[[str], str],
) -> dict[str, Any]:
    """One machine as ``EquipmentSerializer`` shows it. ``machine`` is a ``MachineRow``
    or an ``Equipment`` of ``equipment_of_space`` (the same attributes but the slugs);
    ``open_seconds`` is the space's over the utilization window."""
    used = machine.used_duration
    return {
        "id": uuid_text(machine.id),
        "makerspace": related_id(machine.makerspace_id),
        "name": machine.name,
        "type": machine.type,
        "status": machine.status,
        "location": machine.location,
        "description": machine.description,
        "specifications": machine.specifications,
        "skill_requirements": skill_slugs,
        "hourly_rate": decimal_text(machine.hourly_rate, 2),
        "currency": currency,
        "maintenance_due": bool(machine.maintenance_due),
        "usage_hours_since_maintenance": round(machine.usage_minutes_since_maintenance / 60, 2),
        "is_available": bool(machine.is_available),
        "next_available_time": iso_datetime(machine.next_available_time),
        "utilization_rate": (
            None
            if used is None or not open_seconds
            else round(min(1.0, used.total_seconds() / open_seconds), 4)
        ),
        "calendar_url": feed_url(machine.calendar_token),
        "created_at": iso_datetime(machine.created_at),
        "updated_at": iso_datetime(machine.updated_at),
        # Last, as the serializer adds it (it is no attribute of the model).
        "maintenance_schedule": {
            "interval_hours": machine.maintenance_interval_hours,
            "interval_days": machine.maintenance_interval_days,
        },
    }


def machines_json(
    machines: Iterable[MachineRow], *, currency: str, open_seconds: float | None
) -> list[dict[str, Any]]:
    """A page of machines of one space (``machine_json`` each)."""
    feed_url = equipment_feed_urls()
    return [
        machine_json(
            machine,
            skill_slugs=machine.skill_slugs,
            currency=currency,
            open_seconds=open_seconds,
            feed_url=feed_url,
        )
        for machine in machines
    ]


def reservation_json(reservation: ReservationRow) -> dict[str, Any]:
    """One booking as ``ReservationSerializer`` shows it."""
    return {
        "id": uuid_text(reservation.id),
        "equipment": related_id(reservation.equipment_id),
        "equipment_name": reservation.equipment_name,
        "user": {
            "id": uuid_text(reservation.user_id),
            "email": reservation.user_email,
            "name": reservation.user_name,
        },
        "start_time": iso_datetime(reservation.start_time),
        "end_time": iso_datetime(reservation.end_time),
        "status": reservation.status,
        "notes": reservation.notes,
        "checked_in_at": iso_datetime(reservation.checked_in_at),
        "checked_out_at": iso_datetime(reservation.checked_out_at),
        "used_minutes": reservation.used_minutes,
        "series_id": uuid_text(reservation.series_id),
        "cancel_reason": reservation.cancel_reason,
        "created_at": iso_datetime(reservation.created_at),
    }


def reservations_json(reservations: Sequence[ReservationRow]) -> list[dict[str, Any]]:
    return [reservation_json(reservation) for reservation in reservations]
