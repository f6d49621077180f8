"""Query parameters of the inventory lists. Each filter hands its value to a selector,
so the pages and the API filter alike; a bad value answers 400 naming the parameter."""

from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.filters import MomentFilter, StrictBooleanFilter
from apps.core.api.serializers import choice_list_pattern
from apps.inventory import selectors
from apps.inventory.models import (
    InventoryItem,
    MovementKind,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockMovement,
)


class InventoryFilter(filters.FilterSet):
    search = extend_schema_field(serializers.CharField(max_length=200))(
        filters.CharFilter(
            method="filter_search",
            max_length=200,
            help_text="Name, SKU or category (staff: supplier too), any case.",
        )
    )
    low_stock = StrictBooleanFilter(
        method="filter_low_stock",
        help_text="Only items at or below their minimum (true) or above it (false).",
    )
    category = extend_schema_field(serializers.CharField(max_length=100))(
        filters.CharFilter(
            method="filter_category", max_length=100, help_text="The category, any case."
        )
    )

    def filter_search(
        self, items: QuerySet[InventoryItem], name: str, value: str
    ) -> QuerySet[InventoryItem]:
        # Members may not see suppliers, so their search must not tell which items a
        # supplier delivers.
        view = self.request.parser_context["view"] if self.request is not None else None
        search_supplier = view is None or view.sees_purchasing()
        return selectors.items_matching(items, value, search_supplier=search_supplier)

    def filter_low_stock(
        self, items: QuerySet[InventoryItem], name: str, value: bool | None
    ) -> QuerySet[InventoryItem]:
        return selectors.items_low_or_not(items, value)

    def filter_category(
        self, items: QuerySet[InventoryItem], name: str, value: str
    ) -> QuerySet[InventoryItem]:
        return selectors.items_in_category(items, value)


class MovementKindsField(forms.CharField):
    def clean(self, value: Any) -> str:
        value = super().clean(value)
        # A misspelt kind would otherwise filter everything out and look like an empty ledger.
        unknown = [kind for kind in value.split(",") if value and kind not in MovementKind.values]
        if unknown:
            raise forms.ValidationError(
                f"Unknown kind(s) {', '.join(unknown)}; use {', '.join(MovementKind.values)}."
            )
        return str(value)


@extend_schema_field({"type": "string", "pattern": choice_list_pattern(MovementKind.values)})
class MovementKindsFilter(filters.CharFilter):
    field_class = MovementKindsField


class MovementFilter(filters.FilterSet):
    kind = MovementKindsFilter(
        method="filter_kind",
        help_text=f"One kind or several, comma-separated: {', '.join(MovementKind.values)}.",
    )
    since = MomentFilter(method="filter_since", help_text="From this moment on.")
    until = MomentFilter(method="filter_until", help_text="Before this moment.")

    def filter_kind(
        self, movements: QuerySet[StockMovement], name: str, value: str
    ) -> QuerySet[StockMovement]:
        return selectors.movements_of_kinds(movements, value)

    def filter_since(
        self, movements: QuerySet[StockMovement], name: str, value: datetime
    ) -> QuerySet[StockMovement]:
        return selectors.movements_between(movements, since=value)

    def filter_until(
        self, movements: QuerySet[StockMovement], name: str, value: datetime
    ) -> QuerySet[StockMovement]:
        return selectors.movements_between(movements, until=value)


class PurchaseOrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=PurchaseOrderStatus.choices, method="filter_status", help_text="Only this status."
    )

    def filter_status(
        self, orders: QuerySet[PurchaseOrder], name: str, value: str
    ) -> QuerySet[PurchaseOrder]:
        return selectors.orders_in_status(orders, value)
