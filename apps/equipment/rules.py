"""Booking rules: the space's, overlaid by a machine's own overrides."""

from dataclasses import dataclass, fields

from apps.equipment.models import BookingRules, Equipment, EquipmentRules
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


def rules_for(equipment: Equipment) -> EffectiveRules:
    base = space_rules(equipment.makerspace)
    override = EquipmentRules.objects.filter(equipment=equipment).first()
    if override is None:
        return base
    values = {name: getattr(base, name) for name in RULE_NAMES}
    for name in RULE_NAMES:
        value = getattr(override, name)
        if value is not None:
            values[name] = value
    return EffectiveRules(**values)
