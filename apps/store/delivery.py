"""A market's delivery options and payment methods, checked before they are stored.

``delivery_options`` holds up to three ways to get an order::

    {"pickup": {"enabled": true},
     "local_delivery": {"enabled": true, "radius_km": 15, "fee": "4.00",
                        "minimum_order": "20.00"},
     "shipping": {"enabled": true, "fee": "7.50"}}

Any of them may be left out (not offered). Money is a decimal string (or a number)
with at most two places; ``radius_km`` a number above zero.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from apps.store.models import PaymentMethod

DELIVERY_KEYS: dict[str, dict[str, str]] = {
    # option → its fields and what each holds
    "pickup": {"enabled": "bool"},
    "local_delivery": {
        "enabled": "bool",
        "radius_km": "positive",
        "fee": "money",
        "minimum_order": "money",
    },
    "shipping": {"enabled": "bool", "fee": "money"},
}
MAX_RADIUS_KM = Decimal("20000")
MAX_MONEY = Decimal("99999999.99")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _check_value(option: str, key: str, kind: str, value: Any) -> str | None:
    """The problem with one value, or None."""
    if kind == "bool":
        return None if isinstance(value, bool) else f"{option}.{key} must be true or false."
    number = _number(value)
    if number is None:
        return f"{option}.{key} must be a number."
    if kind == "positive":
        if number <= 0 or number > MAX_RADIUS_KM:
            return f"{option}.{key} must be above 0 and at most {MAX_RADIUS_KM}."
        return None
    if number < 0 or number > MAX_MONEY:
        return f"{option}.{key} cannot be negative (and at most {MAX_MONEY})."
    if number != number.quantize(Decimal("0.01")):
        return f"{option}.{key} has at most 2 decimal places."
    return None


def validate_delivery_options(value: Any) -> dict[str, Any]:
    """``value`` checked; money normalised to two-place strings. Raises ValidationError
    listing every problem."""
    if not isinstance(value, dict):
        raise ValidationError("Delivery options must be an object.")
    problems: list[str] = []
    cleaned: dict[str, Any] = {}
    for option, settings in value.items():
        fields = DELIVERY_KEYS.get(option)
        if fields is None:
            problems.append(f"Unknown delivery option {option!r}; use {', '.join(DELIVERY_KEYS)}.")
            continue
        if not isinstance(settings, dict):
            problems.append(f"{option} must be an object.")
            continue
        unknown = sorted(set(settings) - set(fields))
        if unknown:
            problems.append(f"{option}: unknown field(s) {', '.join(unknown)}.")
        missing = [key for key in fields if key not in settings]
        if missing:
            problems.append(f"{option}: missing {', '.join(missing)}.")
        option_problems = [
            problem
            for key, kind in fields.items()
            if key in settings
            for problem in [_check_value(option, key, kind, settings[key])]
            if problem
        ]
        problems.extend(option_problems)
        if not unknown and not missing and not option_problems:
            cleaned[option] = {
                key: settings[key] if kind == "bool" else _as_stored(kind, settings[key])
                for key, kind in fields.items()
            }
    if problems:
        raise ValidationError(problems)
    return cleaned


def _as_stored(kind: str, value: Any) -> Any:
    number = _number(value)
    assert number is not None
    if kind == "money":
        return f"{number.quantize(Decimal('0.01')):f}"
    return float(number)


def validate_payment_methods(value: Any) -> list[str]:
    """A list of distinct ``PaymentMethod`` values, in the order given."""
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise ValidationError("Payment methods must be a list of strings.")
    unknown = [entry for entry in value if entry not in PaymentMethod.values]
    if unknown:
        raise ValidationError(
            f"Unknown payment method(s) {', '.join(unknown)}; "
            f"use {', '.join(PaymentMethod.values)}."
        )
    if len(set(value)) != len(value):
        raise ValidationError("Each payment method once.")
    return list(value)
