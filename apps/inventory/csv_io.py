"""CSV import and export of a space's inventory. Import is all-or-nothing: any bad row
means nothing is written, and every row's errors are reported."""

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field

from apps.accounts.models import User
from apps.core.exceptions import validation_error
from apps.inventory import services
from apps.inventory.models import InventoryItem, Unit
from apps.makerspaces.models import Makerspace

COLUMNS = [
    "sku",
    "name",
    "category",
    "unit",
    "current_stock",
    "min_stock_level",
    "reorder_quantity",
    "location",
    "supplier",
    "unit_cost",
]
REQUIRED = ("sku", "name")
DECIMALS = ("current_stock", "min_stock_level", "reorder_quantity", "unit_cost")
MAX_ROWS = 5000


# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would evaluate is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export_csv(items: Any) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow([_safe_cell(getattr(item, column)) for column in COLUMNS])
    return buffer.getvalue()


@dataclass
class ImportReport:
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


def _parse_row(number: int, row: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for column in COLUMNS:
        raw = (row.get(column) or "").strip()
        if raw.startswith("'") and raw[1:].startswith(FORMULA_START):
            raw = raw[1:]  # undo the export's guard, so an export imports back unchanged
        if column in REQUIRED and not raw:
            errors[column] = ["Required."]
            continue
        if column in DECIMALS:
            if raw == "":
                continue
            try:
                value = Decimal(raw)
            except InvalidOperation:
                errors[column] = [f"{raw!r} is not a number."]
                continue
            if not value.is_finite():
                errors[column] = [f"{raw!r} is not a number."]
                continue
            if value < 0:
                errors[column] = ["Cannot be negative."]
                continue
            values[column] = value
        elif column == "unit":
            if raw and raw not in Unit.values:
                errors[column] = [f"Use one of {', '.join(Unit.values)}."]
            elif raw:
                values[column] = raw
        elif raw or column in REQUIRED:
            values[column] = raw
    # The model's own limits (digits, decimal places, lengths), so a row the dry run
    # passes cannot fail when written.
    for column, value in values.items():
        if column in errors:
            continue
        try:
            cast("Field[Any, Any]", InventoryItem._meta.get_field(column)).run_validators(value)
        except ValidationError as exc:
            errors[column] = list(exc.messages)
    return values, errors


def import_csv(
    *, makerspace: Makerspace, text: str, acting_user: User, dry_run: bool
) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in REQUIRED if column not in (reader.fieldnames or [])]
    if missing:
        raise validation_error(
            "file", f"Missing column(s): {', '.join(missing)}. Columns: {', '.join(COLUMNS)}."
        )
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise validation_error("file", f"At most {MAX_ROWS} rows per import.")
        values, errors = _parse_row(number, row)
        sku = values.get("sku")
        if sku and sku in seen:
            errors.setdefault("sku", []).append(f"Also on row {seen[sku]}.")
        if sku:
            seen[sku] = number
        if errors:
            report.errors.append({"row": number, "sku": sku, "errors": errors})
        else:
            parsed.append((number, values))
    if report.errors:
        return report
    existing = {
        item.sku: item for item in InventoryItem.objects.filter(makerspace=makerspace, sku__in=seen)
    }
    with transaction.atomic():
        for _number, values in parsed:
            stock = values.pop("current_stock", None)
            item = existing.get(values["sku"])
            if item is None:
                report.created += 1
                if not dry_run:
                    services.item_create(
                        makerspace=makerspace,
                        acting_user=acting_user,
                        opening_stock=stock or Decimal("0"),
                        **values,
                    )
                continue
            changes = {key: value for key, value in values.items() if getattr(item, key) != value}
            stock_changes = stock is not None and stock != item.current_stock
            if not changes and not stock_changes:
                report.unchanged += 1
                continue
            report.updated += 1
            if dry_run:
                continue
            if changes:
                services.item_update(item=item, acting_user=acting_user, changes=changes)
            if stock_changes:
                services.stock_adjust(
                    item=item, new_stock=stock, reason="CSV import", acting_user=acting_user
                )
    return report
