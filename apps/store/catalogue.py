"""The product list: what it filters by, and its rows on the fast read path.

``products_of_catalogue`` filters and sorts a queryset (the pages use it). The API's
list, read on every visit to the store, runs the same filters as prepared queries
(``apps.core.prepared``): one per combination of the criteria asked for, compiled once,
with the values of each request bound to it. Its page is chosen among the filtered,
sorted products by id alone, in a subquery, and only those rows are read whole with
their images: PostgreSQL computes every output column of the rows an OFFSET skips, so
with the image subquery beside the OFFSET, page 400 would look up the images of 10,000
products.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import CharField, DecimalField, Field, IntegerField, QuerySet, UUIDField
from django.db.models.expressions import RawSQL

from apps.core.prepared import Listing, Param, PreparedQuery, count_of_rows
from apps.store import selectors
from apps.store.models import Product

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from apps.accounts.models import User

# The columns of a listed product: the Product shape's and its images' stored names.
LISTED_COLUMNS = (*selectors.PRODUCT_COLUMNS, "image_names")


@dataclass(frozen=True)
class Catalogue:
    """What a product list asks for; a criterion left out (empty, None) does not filter."""

    category: str = ""
    search: str = ""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    featured: bool | None = None
    market: UUID | None = None
    sort: str = selectors.DEFAULT_SORT

    @classmethod
    def of(cls, criteria: dict[str, Any]) -> Catalogue:
        """From a FilterSet's cleaned data (absent keys and blank values not asked)."""
        return cls(
            category=criteria.get("category") or "",
            search=(criteria.get("search") or "").strip(),
            min_price=criteria.get("min_price"),
            max_price=criteria.get("max_price"),
            in_stock=criteria.get("in_stock"),
            featured=criteria.get("featured"),
            market=criteria.get("market") or None,
            sort=criteria.get("sort") or selectors.DEFAULT_SORT,
        )


def _filtered(
    products: QuerySet[Product],
    *,
    category_ids: Collection[Any] | None,
    terms: Sequence[Any],
    min_price: Any,
    max_price: Any,
    in_stock: bool | None,
    featured: bool | None,
    market: Any,
    sort: str,
) -> QuerySet[Product]:
    """The one filter pipeline of the list, with values or ``Param``s."""
    if category_ids is not None:
        # By the category's id (no join): as with ``selectors.visible_products``.
        products = products.filter(category__id__in=list(category_ids))
    products = selectors.products_matching_terms(products, terms)
    products = selectors.products_priced(products, minimum=min_price, maximum=max_price)
    products = selectors.products_in_stock(products, in_stock)
    products = selectors.products_featured(products, featured)
    products = selectors.products_of_market(products, market)
    return selectors.products_sorted(products, sort)


def products_of_catalogue(products: QuerySet[Product], catalogue: Catalogue) -> QuerySet[Product]:
    """``products`` filtered and sorted as ``catalogue`` asks (a category's products
    include those of the categories below it)."""
    return _filtered(
        products,
        category_ids=selectors.category_ids_for_slug(catalogue.category)
        if catalogue.category
        else None,
        terms=selectors.search_terms(catalogue.search),
        min_price=catalogue.min_price,
        max_price=catalogue.max_price,
        in_stock=catalogue.in_stock,
        featured=catalogue.featured,
        market=catalogue.market,
        sort=catalogue.sort,
    )


# --- the API's list, prepared -----------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """What decides the SQL of a list: which criteria are asked, not their values."""

    visibility: str
    managed: int  # markets whose inactive products the user sees too
    categories: int | None  # ids of the category and those below it; None: no filter
    terms: int
    min_price: bool
    max_price: bool
    in_stock: bool | None
    featured: bool | None
    market: bool
    sort: str


def _params(prefix: str, count: int, field: type[Field[Any, Any]]) -> list[Param]:
    return [Param(f"{prefix}{index}", field()) for index in range(count)]


def _price(name: str) -> Param:
    return Param(name, DecimalField(max_digits=10, decimal_places=2))


def _page_of(keys: QuerySet[Any]) -> RawSQL:
    """The ids of one page of ``keys`` (an ordered ``values("pk")``), the page's
    ``offset`` and ``limit`` bound when the query runs. As SQL of its own: the subquery
    refers to nothing outside itself, so it needs none of the ORM's relabelling."""
    sql, params = keys.query.sql_with_params()
    bounds = (Param("limit", IntegerField()), Param("offset", IntegerField()))
    return RawSQL(f"{sql} LIMIT %s OFFSET %s", (*params, *bounds))  # noqa: S611  (ORM-compiled)


@lru_cache(maxsize=256)
def _queries(shape: _Shape) -> tuple[PreparedQuery, PreparedQuery]:
    """The rows and the count of the list for one ``_Shape``."""

    def products() -> QuerySet[Product]:
        managed = _params("managed", shape.managed, UUIDField)
        categories = None
        if shape.categories is not None:
            categories = _params("category", shape.categories, UUIDField)
        return _filtered(
            selectors.visible_products(shape.visibility, managed),
            category_ids=categories,
            terms=_params("term", shape.terms, CharField),
            min_price=_price("min_price") if shape.min_price else None,
            max_price=_price("max_price") if shape.max_price else None,
            in_stock=shape.in_stock,
            featured=shape.featured,
            market=Param("market", UUIDField()) if shape.market else None,
            sort=shape.sort,
        )

    def rows() -> QuerySet[Any]:
        found = products()
        page = Product.objects.filter(pk__in=_page_of(found.values("pk")))
        page = selectors.products_sorted(page, shape.sort)
        return page.annotate(image_names=selectors.image_names()).values_list(*LISTED_COLUMNS)

    def count() -> QuerySet[Any]:
        return products().order_by().annotate(total=count_of_rows()).values_list("total")

    return PreparedQuery(rows), PreparedQuery(count)


def _numbered(prefix: str, values: Sequence[Any]) -> dict[str, Any]:
    return {f"{prefix}{index}": value for index, value in enumerate(values)}


def _nothing() -> Listing[dict[str, Any]]:
    return Listing(count=lambda: 0, page=lambda offset, limit: ([], None))


def catalogue_listing(
    user: User | AnonymousUser | None, catalogue: Catalogue
) -> Listing[dict[str, Any]]:
    """The products ``user`` sees, as ``catalogue`` asks, as plain rows of
    ``LISTED_COLUMNS`` for the paginator: its length is one query (the count), a page
    another (with the images of its rows)."""
    visibility, managed = selectors.visibility_of(user)
    categories: list[Any] | None = None
    if catalogue.category:
        categories = sorted(selectors.category_ids_for_slug(catalogue.category), key=str)
        if not categories:
            return _nothing()
    terms = selectors.search_terms(catalogue.search)
    rows, count = _queries(
        _Shape(
            visibility=visibility,
            managed=len(managed),
            categories=None if categories is None else len(categories),
            terms=len(terms),
            min_price=catalogue.min_price is not None,
            max_price=catalogue.max_price is not None,
            in_stock=catalogue.in_stock,
            featured=catalogue.featured,
            market=catalogue.market is not None,
            sort=catalogue.sort,
        )
    )
    values: dict[str, Any] = {
        **_numbered("managed", managed),
        **_numbered("category", categories or ()),
        **_numbered("term", terms),
        "min_price": catalogue.min_price,
        "max_price": catalogue.max_price,
        "market": catalogue.market,
    }

    def page(offset: int, limit: int | None) -> tuple[list[dict[str, Any]], None]:
        # Without a limit (the whole list), as many rows as there can be.
        bounds = {"offset": offset, "limit": limit if limit is not None else 2**62}
        found = rows.rows({**values, **bounds})
        return [dict(zip(LISTED_COLUMNS, row, strict=True)) for row in found], None

    return Listing(count=lambda: int(count.value(values) or 0), page=page)
