"""CSV import and export of a space's inventory. Import is all-or-nothing: any bad row
means nothing is written, and every row's errors are reported."""

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, validation_error
from apps.core.permissions import require_makerspace_permission
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
# What members may see of an item, for their export: no supplier, no cost.
MEMBER_COLUMNS = [column for column in COLUMNS if column not in ("supplier", "unit_cost")]
REQUIRED = ("sku", "name")
DECIMALS = ("current_stock", "min_stock_level", "reorder_quantity", "unit_cost")
MAX_ROWS = 5000


def max_import_bytes() -> int:
    """The largest CSV file an import reads (``CSV_IMPORT_MAX_BYTES``)."""
    return int(settings.CSV_IMPORT_MAX_BYTES)


def too_large(limit: int) -> ApplicationError:
    message = f"The file is larger than {limit} bytes; split it into smaller files."
    return ApplicationError(
        "PAYLOAD_TOO_LARGE", message, details={"file": [message]}, status_code=413
    )


def read_upload(upload: Any, *, limit: int | None = None) -> str:
    """The text of an uploaded CSV file, read no further than the limit allows: a file
    over it is refused (413) before it is read whole."""
    limit = max_import_bytes() if limit is None else limit
    if upload.size is not None and upload.size > limit:
        raise too_large(limit)
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise too_large(limit)
    return decode(raw)


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise validation_error(
            "file", f"The file is not UTF-8 text (line {line}); save it as CSV UTF-8."
        ) from None


# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would evaluate is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export_csv(items: Any, *, columns: list[str] = COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for item in items:
        writer.writerow([_safe_cell(getattr(item, column)) for column in columns])
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


def _file_problem(message: str) -> ApplicationError:
    return validation_error("file", message)


def _csv_problem(exc: csv.Error, line: int) -> ApplicationError:
    """The csv module's own errors as 400s naming the line; the field limit is the one a
    hostile or broken file (an unclosed quote) meets first."""
    if "field larger than field limit" in str(exc):
        return _file_problem(
            f"Line {line} has a field longer than {csv.field_size_limit()} characters."
        )
    return _file_problem(f"Line {line} is not valid CSV: {exc}.")


# The reader counts a line once it is parsed, so a line it fails on is the next one.


def _rows(reader: "csv.DictReader[str]") -> Any:
    try:
        yield from reader
    except csv.Error as exc:
        raise _csv_problem(exc, reader.line_num + 1) from None


def _check_header(reader: "csv.DictReader[str]") -> None:
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise _csv_problem(exc, reader.line_num + 1) from None
    if not header:
        raise _file_problem(f"The file is empty. Columns: {', '.join(COLUMNS)}.")
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise _file_problem(
            f"Missing column(s): {', '.join(missing)}. Columns: {', '.join(COLUMNS)}."
        )
    # A misspelt column would otherwise be skipped silently and its values lost.
    unknown = [column for column in header if column not in COLUMNS]
    if unknown:
        raise _file_problem(
            f"Unknown column(s): {', '.join(repr(c) for c in unknown)}. "
            f"Columns: {', '.join(COLUMNS)}."
        )
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        raise _file_problem(f"Column(s) given twice: {', '.join(repeated)}.")


def import_csv(
    *, makerspace: Makerspace, text: str, acting_user: User, dry_run: bool
) -> ImportReport:
    """Each row is written by the item and stock services, which check their own rights;
    the import as a whole (its dry run too, which tells which SKUs exist) needs the right
    to add items."""
    require_makerspace_permission(
        acting_user, makerspace, "inventory.create", message="You may not import items here."
    )
    report = ImportReport(dry_run=dry_run)
    if "\x00" in text:
        # PostgreSQL stores no text with a NUL character in it; a NUL usually means the
        # file is a spreadsheet or UTF-16, not CSV text.
        line = text[: text.index("\x00")].count("\n") + 1
        raise _file_problem(f"Line {line} contains a NUL byte: save the file as CSV UTF-8.")
    reader = csv.DictReader(io.StringIO(text))
    _check_header(reader)
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    rows = 0
    for number, row in enumerate(_rows(reader), start=2):
        rows += 1
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
    if not rows:
        raise _file_problem("The file has a header but no rows to import.")
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
