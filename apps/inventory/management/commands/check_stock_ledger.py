"""Verify that every item's stock equals the sum of its ledger; exit non-zero if not."""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.inventory.models import InventoryItem, StockMovement


class Command(BaseCommand):
    help = "Check current_stock against the sum of the stock ledger for every item."

    def handle(self, *args: object, **options: object) -> None:
        ledger_sum = (
            StockMovement.objects.filter(item=OuterRef("pk"))
            .order_by()
            .values("item")
            .annotate(total=Sum("delta"))
            .values("total")
        )
        items = InventoryItem.objects.annotate(
            ledger=Coalesce(
                Subquery(ledger_sum, output_field=DecimalField(max_digits=14, decimal_places=3)),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=14, decimal_places=3),
            )
        ).order_by("makerspace_id", "sku")
        checked = 0
        mismatches = []
        for item in items.iterator():
            checked += 1
            if item.ledger != item.current_stock:
                mismatches.append(item)
                self.stderr.write(
                    f"MISMATCH {item.makerspace_id} {item.sku}: stock {item.current_stock}, "
                    f"ledger {item.ledger}"
                )
        if mismatches:
            raise CommandError(f"{len(mismatches)} of {checked} items disagree with their ledger.")
        self.stdout.write(self.style.SUCCESS(f"All {checked} items agree with their ledger."))
