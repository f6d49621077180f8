"""Machine upkeep: usage counters, due routine maintenance, the maintenance log."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.core.audit import audit_record
from apps.core.models import AuditLogEntry
from apps.core.permissions import require_makerspace_permission
from apps.equipment.emails import send_maintenance_due_email, send_reservation_email
from apps.equipment.models import (
    Equipment,
    MaintenanceKind,
    MaintenanceLog,
    Reservation,
    ReservationStatus,
)


def record_usage(*, equipment_id: UUID | str, minutes: int) -> bool:
    """Add used minutes to the machine's counter; flag it and tell staff once it is due.

    Returns whether this usage made routine maintenance due. A step of check-out (and
    of loading the demo), which checked who acts; no one calls it on their own.
    """
    with transaction.atomic():
        Equipment.objects.filter(pk=equipment_id).update(
            usage_minutes_since_maintenance=F("usage_minutes_since_maintenance") + minutes
        )
        equipment = Equipment.objects.select_for_update(of=("self",)).get(pk=equipment_id)
        interval = equipment.maintenance_interval_hours
        if (
            interval
            and not equipment.maintenance_due
            and equipment.usage_minutes_since_maintenance >= interval * 60
        ):
            equipment.maintenance_due = True
            equipment.save(update_fields=["maintenance_due", "updated_at"])
            transaction.on_commit(lambda: send_maintenance_due_email.delay(str(equipment_id)))
            return True
    return False


def maintenance_log_add(
    *,
    equipment: Equipment,
    kind: str,
    acting_user: User,
    notes: str = "",
    cost: Decimal = Decimal("0.00"),
    performed_at: datetime | None = None,
) -> MaintenanceLog:
    """Record maintenance; a routine one resets the usage counter and the due flag."""
    require_makerspace_permission(
        acting_user,
        equipment.makerspace_id,
        "equipment.maintain",
        message="You may not record maintenance of this machine.",
    )
    performed_at = performed_at or timezone.now()
    with transaction.atomic():
        equipment = Equipment.objects.select_for_update(of=("self",)).get(pk=equipment.pk)
        log = MaintenanceLog.objects.create(
            equipment=equipment,
            kind=kind,
            notes=notes,
            cost=cost,
            performed_by=acting_user,
            performed_at=performed_at,
        )
        if kind == MaintenanceKind.ROUTINE:
            equipment.usage_minutes_since_maintenance = 0
            equipment.maintenance_due = False
            equipment.last_maintained_at = performed_at
            equipment.save(
                update_fields=[
                    "usage_minutes_since_maintenance",
                    "maintenance_due",
                    "last_maintained_at",
                    "updated_at",
                ]
            )
        audit_record(
            actor=acting_user,
            instance=log,
            action=AuditLogEntry.Action.CREATE,
            makerspace_id=equipment.makerspace_id,
            changes={"equipment": equipment.name, "kind": kind, "cost": cost},
        )
    return log


def equipment_out_of_service(
    *, equipment: Equipment, acting_user: User, reason: str
) -> list[Reservation]:
    """The machine went into maintenance or offline: cancel its future bookings and tell
    each member. Runs inside the caller's transaction."""
    require_makerspace_permission(
        acting_user,
        equipment.makerspace_id,
        "equipment.update",
        message="You may not take this machine out of service.",
    )
    future = list(
        Reservation.objects.select_for_update(of=("self",))
        .filter(
            equipment=equipment,
            status__in=(ReservationStatus.PENDING, ReservationStatus.CONFIRMED),
            start_time__gt=timezone.now(),
        )
        .order_by("pk")
    )
    now = timezone.now()
    for reservation in future:
        old = reservation.status
        reservation.status = ReservationStatus.CANCELLED
        reservation.cancelled_at = now
        reservation.cancelled_by = acting_user
        reservation.cancel_reason = reason[:300]
        reservation.save(
            update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "updated_at"]
        )
        audit_record(
            actor=acting_user,
            instance=reservation,
            action=AuditLogEntry.Action.UPDATE,
            makerspace_id=equipment.makerspace_id,
            changes={"status": [old, ReservationStatus.CANCELLED], "cancel_reason": reason},
        )
        reservation_id = str(reservation.pk)
        transaction.on_commit(
            lambda reservation_id=reservation_id: send_reservation_email.delay(  # type: ignore[misc]
                reservation_id, "cancelled"
            )
        )
    return future
