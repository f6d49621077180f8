"""Writing the audit log. Call inside the service's transaction, so the entry and the
change commit or roll back together."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.db import models

from apps.core.models import AuditLogEntry


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def diff(instance: models.Model, changes: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose value really changes."""
    result: dict[str, list[Any]] = {}
    for field, new in changes.items():
        old = getattr(instance, field)
        if old != new:
            result[field] = [_plain(old), _plain(new)]
    return result


def audit_record(
    *,
    actor: Any,
    instance: models.Model,
    action: str,
    makerspace_id: Any = None,
    changes: dict[str, Any] | None = None,
) -> AuditLogEntry:
    return AuditLogEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        makerspace_id=makerspace_id,
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=False),
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        action=action,
        changes={key: _plain(value) for key, value in (changes or {}).items()},
    )


def update_audited(
    instance: models.Model,
    *,
    changes: dict[str, Any],
    actor: Any,
    makerspace_id: Any,
    clean: dict[str, Any] | None = None,
) -> dict[str, list[Any]]:
    """Apply ``changes`` to a row the caller has locked, save it, and audit what changed.

    ``clean`` holds ``full_clean`` options (``{}`` for the full check; ``None`` skips
    it). Returns ``{field: [old, new]}`` of the fields that really changed.
    """
    changed = diff(instance, changes)
    for field, value in changes.items():
        setattr(instance, field, value)
    if clean is not None:
        instance.full_clean(**clean)
    instance.save()
    if changed:
        audit_record(
            actor=actor,
            instance=instance,
            action=AuditLogEntry.Action.UPDATE,
            makerspace_id=makerspace_id,
            changes=changed,
        )
    return changed
