"""Reads of the store: the catalogue, markets, stock ledgers and reviews.

Products are read as plain rows with only the columns the Product shape needs
(``product_rows``: the category's slug joined in, the market as its id), which
``api.presenters.product_row`` turns into JSON without a query per row. Filters and
sorts are functions on a queryset; ``catalogue`` chains them into the product list's
one pipeline, for the API (as prepared queries), the pages and the FilterSet alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import JSONField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.store import permissions
from apps.store.models import (
    Category,
    Market,
    MarketClosure,
    MarketStaff,
    Product,
    ProductImage,
    ProductStockMovement,
    Review,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from apps.accounts.models import User

# The text search configuration of the search index (migration 0002): no stemming and
# no stop words, so it reads part names, SKUs and Ukrainian alike.
SEARCH_CONFIG = "simple"
# The expression the GIN index of migration 0002 is built on; a search filters on the
# same expression, so PostgreSQL can use the index.
SEARCH_INDEX = "store_product_search"

# --- categories ----------------------------------------------------------------------

CATEGORY_COLUMNS = ("id", "name", "slug", "parent_id", "position")


def category_rows() -> list[dict[str, Any]]:
    """Every category as a plain row (``CATEGORY_COLUMNS``), in tree order per level."""
    return list(Category.objects.order_by("position", "name").values(*CATEGORY_COLUMNS))


def category_tree() -> list[dict[str, Any]]:
    """The category tree: the root rows, each with ``children`` (rows of the same
    shape) and ``parent`` as the parent's slug; one query."""
    rows = category_rows()
    slugs = {row["id"]: row["slug"] for row in rows}
    nodes = {
        row["id"]: {**row, "parent": slugs.get(row["parent_id"]), "children": []} for row in rows
    }
    roots: list[dict[str, Any]] = []
    for row in rows:
        node = nodes[row["id"]]
        parent = nodes.get(row["parent_id"])
        (parent["children"] if parent is not None else roots).append(node)
    return roots


def category_by_slug(slug: str) -> Category | None:
    return Category.objects.filter(slug=slug).first()


def category_descendant_ids(
    category_id: Any, rows: Iterable[dict[str, Any]] | None = None
) -> set[Any]:
    """The category's id and those of every category below it."""
    rows = category_rows() if rows is None else rows
    children: dict[Any, list[Any]] = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row["id"])
    found, todo = set(), [category_id]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        todo.extend(children.get(current, ()))
    return found


def category_ids_for_slug(slug: str) -> set[Any]:
    """The category named by ``slug`` and its descendants (empty for an unknown slug);
    one query."""
    rows = category_rows()
    match = next((row for row in rows if row["slug"] == slug), None)
    return set() if match is None else category_descendant_ids(match["id"], rows)


def category_is_below(category_id: Any, ancestor_id: Any) -> bool:
    """Whether ``category_id`` is ``ancestor_id`` or lies below it."""
    return category_id in category_descendant_ids(ancestor_id)


def category_in_use(category: Category) -> dict[str, bool]:
    return {
        "products": Product.objects.filter(category=category).exists(),
        "children": Category.objects.filter(parent=category).exists(),
    }


# --- products ------------------------------------------------------------------------

# What a Product (API.md) shows, as plain columns.
PRODUCT_COLUMNS = (
    "id",
    "name",
    "slug",
    "sku",
    "description",
    "long_description",
    "price",
    "sale_price",
    "currency",
    "category__slug",
    "market_id",
    "stock_quantity",
    "track_inventory",
    "allow_backorder",
    "tags",
    "specifications",
    "dimensions",
    "weight",
    "is_featured",
    "rating",
    "review_count",
    "created_at",
)
# The product list's sorts (``?sort=``), each ending on a unique key.
PRODUCT_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "id"),
    "price_asc": ("effective", "id"),
    "price_desc": ("-effective", "id"),
    "newest": ("-created_at", "-id"),
    "rating": ("-rating", "-review_count", "name", "id"),
}
DEFAULT_SORT = "name"


def _public(products: QuerySet[Product]) -> QuerySet[Product]:
    return products.filter(Q(market__isnull=True) | Q(market__is_active=True), is_active=True)


# Who sees which products (``visibility_of``): everyone the active products of the
# central catalogue and of active markets ("public"); a market's owner and staff also
# all of their markets' products ("managed"); a super admin every product ("all").
Visibility = tuple[str, tuple[Any, ...]]


def visibility_of(user: User | AnonymousUser | None) -> Visibility:
    """Which products ``user`` sees, and the markets whose inactive products too."""
    if permissions.is_super_admin(user):
        return "all", ()
    managed = permissions.managed_market_ids(user)
    return ("managed", tuple(sorted(managed, key=str))) if managed else ("public", ())


def visible_products(kind: str, markets: Iterable[Any] = ()) -> QuerySet[Product]:
    """The products of a ``Visibility``; ``markets`` may be values or expressions."""
    products = Product.objects.all()
    if kind == "all":
        return products
    if kind == "public":
        return _public(products)
    public = Q(market__isnull=True) | Q(market__is_active=True)
    # By the market's id, not the foreign key: a related lookup would read each of
    # ``markets`` as a market's id and refuse an expression.
    return products.filter((public & Q(is_active=True)) | Q(market__id__in=list(markets)))


def products_visible_to(user: User | AnonymousUser | None) -> QuerySet[Product]:
    """Active products of the central catalogue and of active markets; a market's owner
    and staff also see all of their market's products; a super admin sees all."""
    return visible_products(*visibility_of(user))


# The gallery order of a product's images: by position, the older first, then by id.
IMAGE_ORDER = ("position", "created_at", "id")


class _JSONArraySubquery(Subquery):
    """SQLite's stand-in for ``ArraySubquery``: the subquery's one column as a JSON
    array. SQLite does not flatten an ordered subquery into an aggregate, so the array
    keeps the subquery's order."""

    template = "(SELECT json_group_array(ordered.%(column)s) FROM (%(subquery)s) ordered)"

    def __init__(self, queryset: QuerySet[Any, Any], *, column: str) -> None:
        super().__init__(queryset, output_field=JSONField(), column=column)


def image_names() -> Subquery:
    """The stored names of a product's images in gallery order, as one column of the
    product's own row: a correlated subquery, so a page of products costs no extra
    query whatever it shows. PostgreSQL computes it only for the rows of the page (it
    defers costly output columns past the sort and the limit)."""
    names = (
        ProductImage.objects.filter(product=OuterRef("pk")).order_by(*IMAGE_ORDER).values("image")
    )
    if connection.vendor == "postgresql":
        return ArraySubquery(names)
    return _JSONArraySubquery(names, column=connection.ops.quote_name("image"))


def product_rows(products: QuerySet[Product]) -> QuerySet[Product, dict[str, Any]]:
    """``products`` as plain rows of ``PRODUCT_COLUMNS`` and ``image_names`` (one query,
    category joined, images aggregated). To page through, use ``ProductListRows``."""
    return products.values(*PRODUCT_COLUMNS, image_names=image_names())


def product_row(products: QuerySet[Product], key: str) -> dict[str, Any] | None:
    """One product by id or slug, as a plain row with ``updated_at`` (its version)."""
    found = (
        products.filter(_id_or_slug(key))
        .values(*PRODUCT_COLUMNS, "updated_at", image_names=image_names())
        .first()
    )
    return found


IMAGE_COLUMNS = ("id", "image", "alt_text", "position", "width", "height")


def product_image_rows(product: Product) -> QuerySet[ProductImage, dict[str, Any]]:
    """A product's images in gallery order, as plain rows of ``IMAGE_COLUMNS``."""
    return (
        ProductImage.objects.filter(product=product).order_by(*IMAGE_ORDER).values(*IMAGE_COLUMNS)
    )


def first_image_name() -> Subquery:
    """The stored name of a product's first image (or null), for the pages' cards."""
    return Subquery(
        ProductImage.objects.filter(product=OuterRef("pk"))
        .order_by(*IMAGE_ORDER)
        .values("image")[:1]
    )


def _id_or_slug(key: str) -> Q:
    try:
        return Q(pk=UUID(key))
    except ValueError:
        return Q(slug=key)


def product_for_write(products: QuerySet[Product], key: str) -> Product | None:
    """One product by id or slug, as a model (for a write service)."""
    return products.filter(_id_or_slug(key)).first()


def _search_vector() -> SearchVector:
    return SearchVector("search_document", config=SEARCH_CONFIG)


def search_terms(text: str) -> list[str]:
    """What a search for ``text`` looks for: on PostgreSQL the whole text, read by its
    GIN index in web-search syntax (words, "phrases", -not, or); on SQLite each word,
    which must all appear, in any case."""
    text = text.strip()
    if not text:
        return []
    if connection.vendor == "postgresql":
        return [text]
    return [word.strip('"') for word in text.split()]


def products_matching_terms(products: QuerySet[Product], terms: Sequence[Any]) -> QuerySet[Product]:
    """``products`` that match the ``search_terms`` (values or expressions)."""
    if not terms:
        return products
    if connection.vendor == "postgresql":
        (text,) = terms
        query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
        return products.alias(search_vector=_search_vector()).filter(search_vector=query)
    for word in terms:
        products = products.filter(search_document__icontains=word)
    return products


def products_matching(products: QuerySet[Product], text: str) -> QuerySet[Product]:
    """Full-text search over name, descriptions and tags (``search_document``)."""
    return products_matching_terms(products, search_terms(text))


def _with_effective_price(products: QuerySet[Product]) -> QuerySet[Product]:
    if "effective" in products.query.annotations:
        return products
    return products.alias(effective=Coalesce("sale_price", "price"))


def products_priced(
    products: QuerySet[Product], *, minimum: Decimal | None = None, maximum: Decimal | None = None
) -> QuerySet[Product]:
    """Products whose effective price (the sale price when set) lies in the range."""
    if minimum is None and maximum is None:
        return products
    products = _with_effective_price(products)
    if minimum is not None:
        products = products.filter(**{"effective__gte": minimum})
    if maximum is not None:
        products = products.filter(**{"effective__lte": maximum})
    return products


IN_STOCK = Q(track_inventory=False) | Q(allow_backorder=True) | Q(stock_quantity__gt=0)


def products_in_stock(products: QuerySet[Product], in_stock: bool | None) -> QuerySet[Product]:
    """Products that can be ordered now (``Product.in_stock``), or those that cannot."""
    if in_stock is None:
        return products
    return products.filter(IN_STOCK) if in_stock else products.exclude(IN_STOCK)


def products_featured(products: QuerySet[Product], featured: bool | None) -> QuerySet[Product]:
    return products if featured is None else products.filter(is_featured=featured)


def products_of_market(products: QuerySet[Product], market_id: Any) -> QuerySet[Product]:
    return products if market_id is None else products.filter(market_id=market_id)


def products_sorted(products: QuerySet[Product], sort: str | None) -> QuerySet[Product]:
    ordering = PRODUCT_SORTS[sort or DEFAULT_SORT]
    if any(term.lstrip("-") == "effective" for term in ordering):
        products = _with_effective_price(products)
    return products.order_by(*ordering)


def product_slug_taken(slug: str, *, exclude_pk: Any = None) -> bool:
    return Product.objects.filter(slug=slug).exclude(pk=exclude_pk).exists()


def product_sku_taken(*, market_id: Any, sku: str, exclude_pk: Any = None) -> bool:
    """Whether ``sku`` is taken in the market (or the central catalogue, ``None``)."""
    return Product.objects.filter(market_id=market_id, sku=sku).exclude(pk=exclude_pk).exists()


# --- stock ledger ----------------------------------------------------------------------

LEDGER_ORDER = ("-position",)
LEDGER_COLUMNS = (
    "position",
    "id",
    "change",
    "quantity_after",
    "reason",
    "note",
    "source_type",
    "source_id",
    "actor_id",
    "actor__name",
    "created_at",
)


def ledger_rows(product: Product) -> QuerySet[ProductStockMovement, dict[str, Any]]:
    """A product's stock movements as plain rows, newest first."""
    return (
        ProductStockMovement.objects.filter(product=product)
        .order_by(*LEDGER_ORDER)
        .values(*LEDGER_COLUMNS)
    )


# --- reviews ---------------------------------------------------------------------------

REVIEW_COLUMNS = (
    "id",
    "user_id",
    "user__name",
    "rating",
    "title",
    "comment",
    "verified_purchase",
    "created_at",
)


def review_rows(product: Product) -> QuerySet[Review, dict[str, Any]]:
    """A product's reviews, newest first, as plain rows."""
    return (
        Review.objects.filter(product=product)
        .order_by("-created_at", "-id")
        .values(*REVIEW_COLUMNS)
    )


def has_bought(*, user: Any, product: Product) -> bool:
    """Whether ``user`` has a paid order holding ``product`` (a "verified purchase"):
    paid and not refunded in full, whatever its fulfilment has reached since."""
    from apps.store.models import OrderItem, OrderStatus

    return OrderItem.objects.filter(
        order__user=user,
        product=product,
        order__status__in=(
            OrderStatus.PAID,
            OrderStatus.PROCESSING,
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
        ),
    ).exists()


# --- markets ---------------------------------------------------------------------------

MARKET_COLUMNS = (
    "id",
    "name",
    "description",
    "owner_id",
    "owner__name",
    "makerspace_id",
    "contact_email",
    "contact_phone",
    "address",
    "latitude",
    "longitude",
    "business_hours",
    "delivery_options",
    "payment_methods",
    "is_active",
    "verified",
    "rating",
    "total_orders",
    "total_revenue",
    "created_at",
)


def market_of_owner(user: Any) -> Market | None:
    return Market.objects.filter(owner=user).first()


def markets_visible_to(user: User | AnonymousUser | None) -> QuerySet[Market]:
    """Active markets; the ones a user manages also when inactive; all for super admins."""
    markets = Market.objects.all()
    if permissions.is_super_admin(user):
        return markets
    managed = permissions.managed_market_ids(user)
    if managed:
        return markets.filter(Q(is_active=True) | Q(pk__in=managed))
    return markets.filter(is_active=True)


def markets_matching(markets: QuerySet[Market], text: str) -> QuerySet[Market]:
    text = text.strip()
    if not text:
        return markets
    return markets.filter(
        Q(name__icontains=text) | Q(description__icontains=text) | Q(address__icontains=text)
    )


def markets_verified(markets: QuerySet[Market], verified: bool | None) -> QuerySet[Market]:
    return markets if verified is None else markets.filter(verified=verified)


def market_rows(markets: QuerySet[Market]) -> QuerySet[Market, dict[str, Any]]:
    """``markets`` as plain rows of ``MARKET_COLUMNS`` (the owner's name joined in)."""
    return markets.values(*MARKET_COLUMNS)


def market_row(markets: QuerySet[Market], pk: Any) -> dict[str, Any] | None:
    try:
        key = UUID(str(pk))
    except ValueError:
        return None
    return markets.filter(pk=key).values(*MARKET_COLUMNS, "updated_at").first()


def market_staff_rows(market: Market) -> Any:
    return (
        MarketStaff.objects.filter(market=market)
        .order_by("created_at", "id")
        .values("id", "user_id", "user__name", "user__email", "created_at")
    )


def market_closures(market: Market) -> QuerySet[MarketClosure]:
    return MarketClosure.objects.filter(market=market).order_by("date")
