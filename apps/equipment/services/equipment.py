"""Machines: create, change (status changes reach their bookings), delete, rules."""

from typing import Any

from django.db import transaction

from apps.accounts.models import User
from apps.core.audit import audit_record, diff, update_audited
from apps.core.concurrency import lock_at_version
from apps.core.exceptions import ConflictError, validation_error
from apps.core.models import AuditLogEntry
from apps.core.permissions import require_makerspace_permission
from apps.equipment.models import (
    BookingRules,
    Equipment,
    EquipmentRules,
    EquipmentStatus,
)
from apps.equipment.rules import RULE_NAMES
from apps.equipment.services.maintenance import equipment_out_of_service
from apps.makerspaces.models import Makerspace, Skill

Action = AuditLogEntry.Action
EQUIPMENT_FIELDS = (
    "name",
    "type",
    "status",
    "location",
    "description",
    "specifications",
    "hourly_rate",
    "maintenance_interval_hours",
    "maintenance_interval_days",
)
OUT_OF_SERVICE = (EquipmentStatus.MAINTENANCE, EquipmentStatus.OFFLINE)


def _skills_of_space(makerspace: Makerspace, slugs: list[str]) -> list[Skill]:
    skills = list(Skill.objects.filter(makerspace=makerspace, slug__in=slugs))
    unknown = sorted(set(slugs) - {skill.slug for skill in skills})
    if unknown:
        raise validation_error(
            "skill_requirements", f"No such skill in this makerspace: {', '.join(unknown)}."
        )
    return skills


def equipment_create(
    *,
    makerspace: Makerspace,
    acting_user: User,
    skill_slugs: list[str] | None = None,
    **fields: Any,
) -> Equipment:
    require_makerspace_permission(
        acting_user, makerspace, "equipment.create", message="You may not add machines here."
    )
    unknown = set(fields) - set(EQUIPMENT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown equipment fields: {sorted(unknown)}")
    with transaction.atomic():
        equipment = Equipment(makerspace=makerspace, **fields)
        equipment.full_clean()
        equipment.save()
        if skill_slugs:
            equipment.skill_requirements.set(_skills_of_space(makerspace, skill_slugs))
        audit_record(
            actor=acting_user,
            instance=equipment,
            action=Action.CREATE,
            makerspace_id=makerspace.pk,
            changes={"name": equipment.name, "type": equipment.type, "skills": skill_slugs or []},
        )
    return equipment


def equipment_update(
    *,
    equipment: Equipment,
    acting_user: User,
    changes: dict[str, Any],
    skill_slugs: list[str] | None = None,
    expected_etag: str | None = None,
) -> Equipment:
    require_makerspace_permission(
        acting_user,
        equipment.makerspace_id,
        "equipment.update",
        message="You may not change this machine.",
    )
    unknown = set(changes) - set(EQUIPMENT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown equipment fields: {sorted(unknown)}")
    with transaction.atomic():
        equipment = lock_at_version(equipment, expected_etag=expected_etag)
        changed = diff(equipment, changes)
        was_in_service = equipment.status not in OUT_OF_SERVICE
        for field, value in changes.items():
            setattr(equipment, field, value)
        equipment.full_clean()
        equipment.save()
        if skill_slugs is not None:
            old = sorted(equipment.skill_requirements.values_list("slug", flat=True))
            equipment.skill_requirements.set(_skills_of_space(equipment.makerspace, skill_slugs))
            if old != sorted(skill_slugs):
                changed["skill_requirements"] = [old, sorted(skill_slugs)]
        if changed:
            audit_record(
                actor=acting_user,
                instance=equipment,
                action=Action.UPDATE,
                makerspace_id=equipment.makerspace_id,
                changes=changed,
            )
        if was_in_service and equipment.status in OUT_OF_SERVICE:
            equipment_out_of_service(
                equipment=equipment,
                acting_user=acting_user,
                reason=f"{equipment.name} is out of service ({equipment.get_status_display()}).",
            )
    return equipment


def equipment_delete(*, equipment: Equipment, acting_user: User) -> None:
    require_makerspace_permission(
        acting_user,
        equipment.makerspace_id,
        "equipment.delete",
        message="You may not delete this machine.",
    )
    with transaction.atomic():
        if equipment.reservations.exists():
            raise ConflictError(
                "EQUIPMENT_HAS_BOOKINGS",
                "This machine has bookings on record; set it offline instead of deleting it.",
            )
        audit_record(
            actor=acting_user,
            instance=equipment,
            action=Action.DELETE,
            makerspace_id=equipment.makerspace_id,
            changes={"name": equipment.name},
        )
        equipment.delete()


def _require_rules_permission(acting_user: User, equipment: Equipment) -> None:
    require_makerspace_permission(
        acting_user,
        equipment.makerspace_id,
        "equipment.update",
        message="You may not change the booking rules of this machine.",
    )


def booking_rules_update(
    *, makerspace: Makerspace, acting_user: User, changes: dict[str, Any]
) -> BookingRules:
    require_makerspace_permission(
        acting_user,
        makerspace,
        "equipment.update",
        message="You may not change the booking rules here.",
    )
    unknown = set(changes) - set(RULE_NAMES)
    if unknown:
        raise ValueError(f"Unknown booking rules: {sorted(unknown)}")
    with transaction.atomic():
        rules, _created = BookingRules.objects.select_for_update().get_or_create(
            makerspace=makerspace
        )
        update_audited(
            rules, changes=changes, actor=acting_user, makerspace_id=makerspace.pk, clean={}
        )
    return rules


def equipment_rules_update(
    *, equipment: Equipment, acting_user: User, changes: dict[str, Any]
) -> EquipmentRules:
    """Set a machine's overrides; ``None`` for a rule falls back to the space's."""
    _require_rules_permission(acting_user, equipment)
    unknown = set(changes) - set(RULE_NAMES)
    if unknown:
        raise ValueError(f"Unknown booking rules: {sorted(unknown)}")
    with transaction.atomic():
        rules, _created = EquipmentRules.objects.select_for_update().get_or_create(
            equipment=equipment
        )
        update_audited(
            rules, changes=changes, actor=acting_user, makerspace_id=equipment.makerspace_id
        )
    return rules


def equipment_rules_delete(*, equipment: Equipment, acting_user: User) -> None:
    """Drop a machine's overrides: it follows the space's booking rules again."""
    _require_rules_permission(acting_user, equipment)
    with transaction.atomic():
        rules = EquipmentRules.objects.select_for_update().filter(equipment=equipment).first()
        if rules is None:
            return
        audit_record(
            actor=acting_user,
            instance=rules,
            action=Action.DELETE,
            makerspace_id=equipment.makerspace_id,
            changes={
                name: getattr(rules, name)
                for name in RULE_NAMES
                if getattr(rules, name) is not None
            },
        )
        rules.delete()
