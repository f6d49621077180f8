"""The cart as the buyer sees it: its lines with today's prices, per-market groups (each
becomes one order at checkout) and totals. One query whatever the number of lines."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from apps.core.api.lean import decimal_text, related_id
from apps.store.models import Cart, CartItem

MONEY_PLACES = 2
CENT = Decimal("0.01")

LINE_COLUMNS = (
    "id",
    "quantity",
    "product_id",
    "product__name",
    "product__slug",
    "product__sku",
    "product__price",
    "product__sale_price",
    "product__currency",
    "product__stock_quantity",
    "product__track_inventory",
    "product__allow_backorder",
    "product__market_id",
    "product__market__name",
)


def _money(value: Decimal) -> str:
    text = decimal_text(value, MONEY_PLACES)
    assert text is not None
    return text


def cart_lines(cart: Cart | None) -> list[dict[str, Any]]:
    """The cart's lines as plain rows (the product and its market joined), oldest first."""
    if cart is None:
        return []
    return list(
        CartItem.objects.filter(cart=cart).order_by("created_at", "id").values(*LINE_COLUMNS)
    )


def _line(row: Mapping[str, Any]) -> tuple[dict[str, Any], Decimal]:
    price = row["product__sale_price"]
    if price is None:
        price = row["product__price"]
    line_total = (price * row["quantity"]).quantize(CENT)
    in_stock = (
        not row["product__track_inventory"]
        or row["product__allow_backorder"]
        or row["product__stock_quantity"] > 0
    )
    return (
        {
            "id": str(row["id"]),
            "product": {
                "id": str(row["product_id"]),
                "name": row["product__name"],
                "slug": row["product__slug"],
                "sku": row["product__sku"],
                "effective_price": _money(price),
                "currency": row["product__currency"],
                "in_stock": in_stock,
                "market": related_id(row["product__market_id"]),
            },
            "quantity": row["quantity"],
            "unit_price": _money(price),
            "line_total": _money(line_total),
        },
        line_total,
    )


def cart_summary(cart: Cart | None) -> dict[str, Any]:
    """``{id, items, groups, subtotal, item_count, currency}``: ``groups`` holds one entry
    per market (``market`` null for the central catalogue, listed first) with its
    subtotal; ``currency`` is the cart's, null when it is empty or mixes currencies
    (which the checkout refuses)."""
    items: list[dict[str, Any]] = []
    groups: dict[Any, dict[str, Any]] = {}
    currencies: set[str] = set()
    subtotal = Decimal("0")
    item_count = 0
    for row in cart_lines(cart):
        line, line_total = _line(row)
        items.append(line)
        subtotal += line_total
        item_count += row["quantity"]
        currencies.add(row["product__currency"])
        market_id = row["product__market_id"]
        group = groups.get(market_id)
        if group is None:
            group = groups[market_id] = {
                "market": None
                if market_id is None
                else {"id": str(market_id), "name": row["product__market__name"]},
                "subtotal": Decimal("0"),
                "item_count": 0,
            }
        group["subtotal"] += line_total
        group["item_count"] += row["quantity"]
    ordered = sorted(
        groups.values(),
        key=lambda group: (
            group["market"] is not None,
            group["market"]["name"] if group["market"] else "",
        ),
    )
    return {
        "id": None if cart is None else str(cart.pk),
        "items": items,
        "groups": [{**group, "subtotal": _money(group["subtotal"])} for group in ordered],
        "subtotal": _money(subtotal),
        "item_count": item_count,
        "currency": currencies.pop() if len(currencies) == 1 else None,
    }
