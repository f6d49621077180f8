"""Lean reads of the inventory API: rows built by plain functions, giving exactly what the
serializers of ``serializers.py`` give (``tests/inventory/test_lean_presenters.py``
compares them), at a fraction of the cost. The serializers stay the schema."""

from typing import Any

from apps.core.api.lean import decimal_text, iso_datetime, related_id, uuid_text

QUANTITY_PLACES = 3
MONEY_PLACES = 2


def movement_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ledger line as staff see it (``MovementSerializer``), from a row of
    ``selectors.ledger_rows(item, staff=True)``."""
    user_id = row["user_id"]
    return {
        "id": row["id"],
        "delta": decimal_text(row["delta"], QUANTITY_PLACES),
        "kind": row["kind"],
        "reason": row["reason"],
        "user": None
        if user_id is None
        else {"id": str(user_id), "name": row["user__name"], "email": row["user__email"]},
        "job_id": row["job_id"],
        "project": uuid_text(row["project_id"]),
        "source_type": row["source_type"],
        "source_id": uuid_text(row["source_id"]),
        "purchase_order": related_id(row["purchase_order_id"]),
        "unit_cost": decimal_text(row["unit_cost"], MONEY_PLACES),
        "balance_after": decimal_text(row["balance_after"], QUANTITY_PLACES),
        "created_at": iso_datetime(row["created_at"]),
    }


def member_movement_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ledger line as a member sees it (``MemberMovementSerializer``), from a row of
    ``selectors.ledger_rows(item, staff=False)``."""
    return {
        "id": row["id"],
        "delta": decimal_text(row["delta"], QUANTITY_PLACES),
        "kind": row["kind"],
        "reason": row["reason"],
        "job_id": row["job_id"],
        "project": uuid_text(row["project_id"]),
        "source_type": row["source_type"],
        "source_id": uuid_text(row["source_id"]),
        "balance_after": decimal_text(row["balance_after"], QUANTITY_PLACES),
        "created_at": iso_datetime(row["created_at"]),
    }
