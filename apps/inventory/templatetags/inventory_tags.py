"""Stock quantities as people write them ("4500 g", not "4500.000"), and whether the
signed-in user runs the stock of any space (for the navigation link)."""

from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import number_format

from apps.core.permissions import makerspace_ids_with

register = template.Library()


def quantity_text(value: Decimal | None, unit: str = "") -> str:
    """A quantity without trailing zeros, localised, with its unit when given."""
    if value is None:
        return ""
    value = Decimal(value)
    exact = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    text = number_format(exact, use_l10n=True)
    return f"{text} {unit}" if unit else text


@register.filter
def quantity(value: Decimal | None, unit: str = "") -> str:
    return quantity_text(value, unit)


def signed_quantity_text(value: Decimal, unit: str = "") -> str:
    """A ledger change: "+2000 g" in, "-350 g" out."""
    text = quantity_text(value, unit)
    return text if value < 0 else f"+{text}"


@register.filter
def signed_quantity(value: Decimal | None, unit: str = "") -> str:
    return "" if value is None else signed_quantity_text(value, unit)


@register.simple_tag(takes_context=True)
def runs_stock(context: Any) -> bool:
    """Whether the user restocks somewhere (a manager or admin), or is a super admin."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_superuser) or bool(makerspace_ids_with(user, "inventory.restock"))
