"""Booking rules: the space's, overlaid by a machine's own overrides."""

from dataclasses import dataclass, fields
from typing import Any

from django.db.models import QuerySet, UUIDField

from apps.core.prepared import Param, PreparedQuery
from apps.equipment.models import BookingRules, Equipment
from apps.makerspaces.models import Makerspace


@dataclass(frozen=True)
class EffectiveRules:
    min_minutes: int = 30
    max_minutes: int = 480
    granularity_minutes: int = 15
    buffer_minutes: int = 0
    horizon_days: int = 60
    within_business_hours: bool = True
    max_active_per_member: int = 5
    requires_approval: bool = False
    check_in_grace_minutes: int = 15
    waitlist_hold_minutes: int = 60


RULE_NAMES = tuple(field.name for field in fields(EffectiveRules))


def space_rules(makerspace: Makerspace) -> EffectiveRules:
    """The space's rules; a space that never changed them gets the defaults of API.md."""
    row = BookingRules.objects.filter(makerspace=makerspace).first()
    if row is None:
        return EffectiveRules()
    return EffectiveRules(**{name: getattr(row, name) for name in RULE_NAMES})


def _both_rules() -> QuerySet[Any]:
    # The machine's overrides and its space's rules side by side; a missing row of
    # either reads as nulls (the space's rules are never null where they exist).
    return (
        Equipment.objects.filter(pk=Param("equipment", UUIDField()))
        .order_by()
        .values_list(
            *(f"rules_override__{name}" for name in RULE_NAMES),
            *(f"makerspace__booking_rules__{name}" for name in RULE_NAMES),
        )
    )


_BOTH_RULES = PreparedQuery(_both_rules)
_DEFAULTS = EffectiveRules()


def rules_for(equipment: Equipment) -> EffectiveRules:
    """The machine's overrides over its space's rules over the defaults, in one query."""
    found = _BOTH_RULES.rows({"equipment": equipment.pk})
    if not found:
        # A machine not saved yet has no overrides.
        return space_rules(equipment.makerspace)
    count = len(RULE_NAMES)
    overrides, space = found[0][:count], found[0][count:]
    values = {}
    for name, override, own in zip(RULE_NAMES, overrides, space, strict=True):
        if override is not None:
            values[name] = override
        elif own is not None:
            values[name] = own
        else:
            values[name] = getattr(_DEFAULTS, name)
    return EffectiveRules(**values)
