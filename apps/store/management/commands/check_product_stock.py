"""Verify every product against its stock ledger: the stock is the sum of the
movements, and the movement count is how many there are, numbered 1, 2, 3 ... without
gaps. Exits non-zero and lists the products that disagree."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, IntegerField, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.store.models import Product, ProductStockMovement


def _per_product(aggregate: Any) -> Coalesce:
    return Coalesce(
        Subquery(
            ProductStockMovement.objects.filter(product=OuterRef("pk"))
            .order_by()
            .values("product")
            .annotate(result=aggregate)
            .values("result")
        ),
        Value(0),
        output_field=IntegerField(),
    )


class Command(BaseCommand):
    help = (
        "Check each product's stock_quantity against the sum of its stock ledger, and its "
        "movement_count against its movements and their positions."
    )

    def handle(self, *args: object, **options: object) -> None:
        products = (
            Product.objects.annotate(
                ledger=_per_product(Sum("change")),
                ledger_length=_per_product(Count("id")),
                last_position=_per_product(Max("position")),
            )
            .only("market_id", "sku", "stock_quantity", "movement_count")
            .order_by("market_id", "sku")
        )
        checked = 0
        mismatches = 0
        for product in products.iterator():
            checked += 1
            problems = []
            if product.ledger != product.stock_quantity:
                problems.append(f"stock {product.stock_quantity}, ledger {product.ledger}")
            # Positions are unique per product and start at 1, so the last one equal to
            # the count means none is missing.
            if not product.movement_count == product.ledger_length == product.last_position:
                problems.append(
                    f"movement count {product.movement_count}, movements "
                    f"{product.ledger_length}, last position {product.last_position}"
                )
            if problems:
                mismatches += 1
                where = product.market_id or "central"
                self.stderr.write(f"MISMATCH {where} {product.sku}: {'; '.join(problems)}")
        if mismatches:
            raise CommandError(
                f"{mismatches} of {checked} products disagree with their stock ledger."
            )
        self.stdout.write(
            self.style.SUCCESS(f"All {checked} products agree with their stock ledger.")
        )
