"""Verify every item against its ledger: the stock is the sum of the movements, and the
movement count is how many there are, numbered 1, 2, 3 ... without gaps. Exits non-zero
if any item disagrees."""

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, DecimalField, IntegerField, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.inventory.models import InventoryItem, StockMovement

QUANTITY: DecimalField = DecimalField(max_digits=14, decimal_places=3)


def _per_item(aggregate: Any) -> Subquery:
    return Subquery(
        StockMovement.objects.filter(item=OuterRef("pk"))
        .order_by()
        .values("item")
        .annotate(result=aggregate)
        .values("result")
    )


class Command(BaseCommand):
    help = (
        "Check current_stock against the sum of the stock ledger, and movement_count "
        "against its movements and their positions, for every item."
    )

    def handle(self, *args: object, **options: object) -> None:
        items = (
            InventoryItem.objects.annotate(
                ledger=Coalesce(
                    _per_item(Sum("delta")), Value(Decimal("0")), output_field=QUANTITY
                ),
                ledger_length=Coalesce(
                    _per_item(Count("id")), Value(0), output_field=IntegerField()
                ),
                last_position=Coalesce(
                    _per_item(Max("position")), Value(0), output_field=IntegerField()
                ),
            )
            .only("makerspace_id", "sku", "current_stock", "movement_count")
            .order_by("makerspace_id", "sku")
        )
        checked = 0
        mismatches = 0
        for item in items.iterator():
            checked += 1
            problems = []
            if item.ledger != item.current_stock:
                problems.append(f"stock {item.current_stock}, ledger {item.ledger}")
            # Positions are unique per item and start at 1, so the last one equal to the
            # count means none is missing.
            if not item.movement_count == item.ledger_length == item.last_position:
                problems.append(
                    f"movement count {item.movement_count}, movements {item.ledger_length}, "
                    f"last position {item.last_position}"
                )
            if problems:
                mismatches += 1
                self.stderr.write(
                    f"MISMATCH {item.makerspace_id} {item.sku}: {'; '.join(problems)}"
                )
        if mismatches:
            raise CommandError(f"{mismatches} of {checked} items disagree with their ledger.")
        self.stdout.write(self.style.SUCCESS(f"All {checked} items agree with their ledger."))
