"""Query parameters of the store's lists, checked by django-filter (a bad value answers
400 naming the parameter); the filtering itself is the selectors'."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from apps.core.api.filters import StrictBooleanFilter
from apps.store import selectors
from apps.store.catalogue import Catalogue, products_of_catalogue
from apps.store.models import Market, Product

SORT_CHOICES = [(name, name) for name in selectors.PRODUCT_SORTS]


@extend_schema_field({"type": "string", "pattern": r"^\d{1,8}(?:\.\d{1,2})?$"})
class PriceFilter(filters.NumberFilter):
    field_class = forms.DecimalField


class ProductFilter(filters.FilterSet):
    """The catalogue: ``category`` (with the categories below it), ``search``,
    ``min_price``/``max_price`` on the effective price, ``in_stock``, ``featured``,
    ``market`` and ``sort``."""

    category = filters.CharFilter(
        max_length=80, help_text="A category's slug; products of the categories below it too."
    )
    search = filters.CharFilter(
        max_length=200,
        help_text='Words of the name, descriptions or tags; "a phrase", -excluded, or.',
    )
    min_price = PriceFilter(
        min_value=0, max_digits=10, decimal_places=2, help_text="Effective price at least."
    )
    max_price = PriceFilter(
        min_value=0, max_digits=10, decimal_places=2, help_text="Effective price at most."
    )
    in_stock = StrictBooleanFilter(help_text="Only products that can be ordered now (or not).")
    featured = StrictBooleanFilter(help_text="Only featured products (or only the others).")
    market = filters.UUIDFilter(help_text="Only this market's products.")
    sort = filters.ChoiceFilter(
        choices=SORT_CHOICES, empty_label=None, help_text="The order; name by default."
    )

    class Meta:
        model = Product
        fields = [
            "category",
            "search",
            "min_price",
            "max_price",
            "in_stock",
            "featured",
            "market",
            "sort",
        ]

    def filter_queryset(self, queryset: QuerySet[Product]) -> QuerySet[Product]:
        return products_of_catalogue(queryset, Catalogue.of(self.form.cleaned_data))


class MarketFilter(filters.FilterSet):
    search = filters.CharFilter(max_length=200, help_text="Name, description or address.")
    verified = StrictBooleanFilter(help_text="Only verified markets (or only unverified).")

    class Meta:
        model = Market
        fields = ["search", "verified"]

    def filter_queryset(self, queryset: QuerySet[Market]) -> QuerySet[Market]:
        criteria: dict[str, Any] = self.form.cleaned_data
        markets = selectors.markets_matching(queryset, criteria.get("search") or "")
        markets = selectors.markets_verified(markets, criteria.get("verified"))
        return markets.order_by("name", "id")
