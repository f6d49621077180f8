"""Lean reads of the store API: rows built by plain functions from the selectors'
plain rows, giving exactly what the serializers of ``serializers.py`` give
(tests/store/test_api_presenters.py compares them). The serializers stay the schema."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.files.storage import default_storage

from apps.core.api.lean import decimal_text, iso_datetime, related_id

__all__ = ["iso_datetime"]

MONEY_PLACES = 2
RATING_PLACES = 2
WEIGHT_PLACES = 3


def product_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Product (``ProductSerializer``) from a row of ``selectors.product_rows``."""
    price = row["price"]
    sale_price = row["sale_price"]
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "slug": row["slug"],
        "sku": row["sku"],
        "description": row["description"],
        "long_description": row["long_description"],
        "price": decimal_text(price, MONEY_PLACES),
        "sale_price": decimal_text(sale_price, MONEY_PLACES),
        "effective_price": decimal_text(
            sale_price if sale_price is not None else price, MONEY_PLACES
        ),
        "currency": row["currency"],
        "category": row["category__slug"],
        "market": related_id(row["market_id"]),
        "stock_quantity": row["stock_quantity"],
        "track_inventory": row["track_inventory"],
        "allow_backorder": row["allow_backorder"],
        "in_stock": (
            not row["track_inventory"] or row["allow_backorder"] or row["stock_quantity"] > 0
        ),
        "tags": row["tags"],
        "images": image_urls(row.get("image_names")),
        "specifications": row["specifications"],
        "dimensions": row["dimensions"],
        "weight": decimal_text(row["weight"], WEIGHT_PLACES),
        "is_featured": row["is_featured"],
        "rating": decimal_text(row["rating"], RATING_PLACES),
        "review_count": row["review_count"],
        "created_at": iso_datetime(row["created_at"]),
    }


def product_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [product_row(row) for row in rows]


def image_urls(names: Iterable[str] | None) -> list[str]:
    """The URLs of stored images (``selectors.image_names``), in their order."""
    return [default_storage.url(name) for name in names or ()]


def image_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A product image (``ProductImageSerializer``) from a row of
    ``selectors.product_image_rows``."""
    return {
        "id": str(row["id"]),
        "url": default_storage.url(row["image"]),
        "alt_text": row["alt_text"],
        "position": row["position"],
        "width": row["width"],
        "height": row["height"],
    }


def _user(user_id: Any, name: str | None) -> dict[str, Any] | None:
    return None if user_id is None else {"id": str(user_id), "name": name}


def review_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Review (``ReviewSerializer``) from a row of ``selectors.review_rows``."""
    return {
        "id": str(row["id"]),
        "user": _user(row["user_id"], row["user__name"]),
        "rating": row["rating"],
        "title": row["title"],
        "comment": row["comment"],
        "verified_purchase": row["verified_purchase"],
        "created_at": iso_datetime(row["created_at"]),
    }


def movement_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger line (``StockMovementSerializer``) from a row of ``selectors.ledger_rows``."""
    return {
        "id": row["id"],
        "position": row["position"],
        "change": row["change"],
        "quantity_after": row["quantity_after"],
        "reason": row["reason"],
        "note": row["note"],
        "source_type": row["source_type"],
        "source_id": row["source_id"],
        "actor": _user(row["actor_id"], row["actor__name"]),
        "created_at": iso_datetime(row["created_at"]),
    }


def market_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Market (``MarketSerializer``) from a row of ``selectors.market_rows``."""
    latitude = row["latitude"]
    longitude = row["longitude"]
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "description": row["description"],
        "owner": {"id": str(row["owner_id"]), "name": row["owner__name"]},
        "makerspace": related_id(row["makerspace_id"]),
        "contact_email": row["contact_email"],
        "contact_phone": row["contact_phone"],
        "address": row["address"],
        "coordinates": (
            {"lat": float(latitude), "lng": float(longitude)}
            if latitude is not None and longitude is not None
            else None
        ),
        "business_hours": row["business_hours"],
        "delivery_options": row["delivery_options"],
        "payment_methods": row["payment_methods"],
        "is_active": row["is_active"],
        "verified": row["verified"],
        "rating": decimal_text(row["rating"], RATING_PLACES),
        "total_orders": row["total_orders"],
        "total_revenue": decimal_text(row["total_revenue"], MONEY_PLACES),
        "created_at": iso_datetime(row["created_at"]),
    }


def category_node(node: Mapping[str, Any]) -> dict[str, Any]:
    """A category with its children (``CategorySerializer``), from
    ``selectors.category_tree``."""
    return {
        "id": str(node["id"]),
        "name": node["name"],
        "slug": node["slug"],
        "parent": node["parent"],
        "position": node["position"],
        "children": [category_node(child) for child in node["children"]],
    }
