"""Writes of the store's catalogue and markets.

Every function is keyword-only, runs in one transaction and checks its
``acting_user`` against the store's permissions (``apps.store.permissions``) before it
writes; the API, the admin and the pages check too, but only to answer early. Changes
staff would ask about are written to the audit log in the same transaction. Jobs act
as ``apps.accounts.system.system_actor()`` (a super admin).

Counters kept here: a product's ``stock_quantity`` and ``movement_count`` (with each
stock movement, on the locked product row), and its ``rating`` and ``review_count``
(with each review written, changed or deleted, on the locked product row).
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import User
from apps.core.audit import audit_record, update_audited
from apps.core.concurrency import lock_at_version
from apps.core.exceptions import (
    ApplicationError,
    ConflictError,
    permission_denied,
    validation_error,
)
from apps.core.models import AuditLogEntry
from apps.core.permissions import require_makerspace_permission
from apps.makerspaces.hours import validate_business_hours, validate_timezone
from apps.makerspaces.models import Makerspace
from apps.store import permissions, selectors
from apps.store.delivery import validate_delivery_options, validate_payment_methods
from apps.store.models import (
    Category,
    Market,
    MarketClosure,
    MarketStaff,
    Product,
    ProductImage,
    ProductStockMovement,
    ProductStockReason,
    Review,
)

Action = AuditLogEntry.Action

CATEGORY_FIELDS = ("name", "slug", "parent", "position")
MARKET_FIELDS = (
    "name",
    "slug",
    "description",
    "makerspace",
    "contact_email",
    "contact_phone",
    "address",
    "latitude",
    "longitude",
    "timezone",
    "currency",
    "business_hours",
    "delivery_options",
    "payment_methods",
    "is_active",
)
PRODUCT_FIELDS = (
    "name",
    "slug",
    "sku",
    "category",
    "description",
    "long_description",
    "price",
    "sale_price",
    "currency",
    "track_inventory",
    "allow_backorder",
    "tags",
    "specifications",
    "dimensions",
    "weight",
    "is_featured",
    "is_active",
)
# Written only by the services themselves.
RATING_PLACES = Decimal("0.01")


def _unknown(fields: Any, allowed: tuple[str, ...], what: str) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValueError(f"Unknown {what} fields: {sorted(unknown)}")


def _django_errors(exc: DjangoValidationError) -> ApplicationError:
    """A model's ``full_clean`` refusal in the VALIDATION_ERROR envelope."""
    if hasattr(exc, "error_dict"):
        details = {
            field: [message for error in errors for message in error.messages]
            for field, errors in exc.error_dict.items()
        }
    else:
        details = {"non_field_errors": list(exc.messages)}
    return ApplicationError(
        "VALIDATION_ERROR", "The request is not valid; see details.", details=details
    )


def _full_clean(instance: Any) -> None:
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except DjangoValidationError as exc:
        raise _django_errors(exc) from None


# Market slugs the pages use for their own routes (/store/markets/new/, .../mine/).
RESERVED_MARKET_SLUGS = frozenset({"new", "mine"})


def _unique_slug(model: Any, name: str, fallback: str, max_length: int) -> str:
    base = slugify(name)[: max_length - 10] or fallback
    slug, counter = base, 2
    reserved = RESERVED_MARKET_SLUGS if model is Market else frozenset()
    while slug in reserved or model.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


def _space_of(market: Market | None) -> Any:
    return market.makerspace_id if market is not None else None


# --- categories ------------------------------------------------------------------------


def _slug_taken_error(slug: Any, what: str) -> ApplicationError:
    return validation_error("slug", f"The slug {slug!r} is taken by another {what}.")


def category_create(
    *,
    acting_user: User,
    name: str,
    slug: str = "",
    parent: Category | None = None,
    position: int = 0,
) -> Category:
    """A new category (super admins only), at the root or below ``parent``."""
    permissions.require_super_admin(acting_user, "Only a super admin manages categories.")
    slug = slug or _unique_slug(Category, name, "category", 80)
    try:
        with transaction.atomic():
            if Category.objects.filter(slug=slug).exists():
                raise _slug_taken_error(slug, "category")
            category = Category(name=name, slug=slug, parent=parent, position=position)
            _full_clean(category)
            category.save()
            audit_record(
                actor=acting_user,
                instance=category,
                action=Action.CREATE,
                changes={"name": name, "slug": slug, "parent": parent},
            )
    except IntegrityError:
        raise _slug_taken_error(slug, "category") from None
    return category


def category_update(*, category: Category, acting_user: User, changes: dict[str, Any]) -> Category:
    """Rename, move or reorder a category; a move below itself (a cycle) is refused."""
    _unknown(changes, CATEGORY_FIELDS, "category")
    permissions.require_super_admin(acting_user, "Only a super admin manages categories.")
    try:
        with transaction.atomic():
            category = Category.objects.select_for_update().get(pk=category.pk)
            parent = changes.get("parent", category.parent)
            if parent is not None and selectors.category_is_below(parent.pk, category.pk):
                raise validation_error(
                    "parent", "A category cannot be moved below itself or its own children."
                )
            if "slug" in changes and (
                Category.objects.filter(slug=changes["slug"]).exclude(pk=category.pk).exists()
            ):
                raise _slug_taken_error(changes["slug"], "category")
            try:
                update_audited(
                    category,
                    changes=changes,
                    actor=acting_user,
                    makerspace_id=None,
                    clean={"validate_unique": False, "validate_constraints": False},
                )
            except DjangoValidationError as exc:
                raise _django_errors(exc) from None
    except IntegrityError:
        raise _slug_taken_error(changes.get("slug"), "category") from None
    return category


def category_delete(*, category: Category, acting_user: User) -> None:
    """Delete an empty category; one with products or children answers 409."""
    permissions.require_super_admin(acting_user, "Only a super admin manages categories.")
    with transaction.atomic():
        category = Category.objects.select_for_update().get(pk=category.pk)
        in_use = selectors.category_in_use(category)
        if any(in_use.values()):
            held = " and ".join(name for name, used in in_use.items() if used)
            raise ConflictError(
                "CATEGORY_IN_USE",
                f"This category still has {held}; move or delete them first.",
                details=in_use,
            )
        audit_record(
            actor=acting_user,
            instance=category,
            action=Action.DELETE,
            changes={"slug": category.slug},
        )
        category.delete()


# --- markets ---------------------------------------------------------------------------


def _market_exists() -> ConflictError:
    return ConflictError("MARKET_EXISTS", "You already own a market; each owner runs one market.")


def _check_market_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Hours, timezone, delivery options and payment methods checked (and normalised)."""
    checks = {
        "business_hours": validate_business_hours,
        "timezone": validate_timezone,
    }
    cleaned = dict(fields)
    for name, check in checks.items():
        if name in fields:
            try:
                check(fields[name])
            except DjangoValidationError as exc:
                raise validation_error(name, *exc.messages) from None
    normalisers = {
        "delivery_options": validate_delivery_options,
        "payment_methods": validate_payment_methods,
    }
    for name, normalise in normalisers.items():
        if name in fields:
            try:
                cleaned[name] = normalise(fields[name])
            except DjangoValidationError as exc:
                raise validation_error(name, *exc.messages) from None
    if ("latitude" in fields) != ("longitude" in fields):
        raise validation_error("coordinates", "Give both latitude and longitude, or neither.")
    if "latitude" in fields and (fields["latitude"] is None) != (fields["longitude"] is None):
        raise validation_error("coordinates", "Give both latitude and longitude, or neither.")
    return cleaned


def _require_space_admin(acting_user: User, makerspace: Makerspace | None) -> None:
    """A market runs for a makerspace only when the makerspace's admin says so."""
    if makerspace is not None:
        require_makerspace_permission(
            acting_user,
            makerspace,
            "makerspace.update",
            message="Only an admin of that makerspace can open a market for it.",
        )


def market_create(*, acting_user: User, name: str, **fields: Any) -> Market:
    """Open a market owned by ``acting_user`` (any signed-in user; one market per
    owner, else 409 MARKET_EXISTS). It stays unverified until a super admin verifies it.
    """
    _unknown(fields, MARKET_FIELDS, "market")
    permissions.require_signed_in(acting_user)
    fields.pop("is_active", None)
    _require_space_admin(acting_user, fields.get("makerspace"))
    fields = _check_market_fields(fields)
    slug = fields.pop("slug", "") or _unique_slug(Market, name, "market", 80)
    if slug in RESERVED_MARKET_SLUGS:
        raise validation_error("slug", f"The slug {slug!r} is reserved; choose another.")
    try:
        with transaction.atomic():
            if selectors.market_of_owner(acting_user) is not None:
                raise _market_exists()
            if Market.objects.filter(slug=slug).exists():
                raise _slug_taken_error(slug, "market")
            market = Market(owner=acting_user, name=name, slug=slug, **fields)
            _full_clean(market)
            market.save()
            audit_record(
                actor=acting_user,
                instance=market,
                action=Action.CREATE,
                makerspace_id=_space_of(market),
                changes={"name": name, "slug": slug},
            )
    except IntegrityError:
        # Another request of the same owner (or the same slug) got there first.
        if selectors.market_of_owner(acting_user) is not None:
            raise _market_exists() from None
        raise _slug_taken_error(slug, "market") from None
    permissions.forget_markets(acting_user)
    return market


def market_update(
    *,
    market: Market,
    acting_user: User,
    changes: dict[str, Any],
    expected_etag: str | None = None,
) -> Market:
    """Change a market's details (its owner or a super admin)."""
    _unknown(changes, MARKET_FIELDS, "market")
    permissions.require_edit_market(acting_user, market)
    if "makerspace" in changes and changes["makerspace"] != market.makerspace:
        _require_space_admin(acting_user, changes["makerspace"])
    changes = _check_market_fields(changes)
    try:
        with transaction.atomic():
            market = lock_at_version(market, expected_etag=expected_etag)
            if changes.get("slug") in RESERVED_MARKET_SLUGS:
                raise validation_error(
                    "slug", f"The slug {changes['slug']!r} is reserved; choose another."
                )
            if "slug" in changes and (
                Market.objects.filter(slug=changes["slug"]).exclude(pk=market.pk).exists()
            ):
                raise _slug_taken_error(changes["slug"], "market")
            try:
                update_audited(
                    market,
                    changes=changes,
                    actor=acting_user,
                    makerspace_id=_space_of(market),
                    clean={"validate_unique": False, "validate_constraints": False},
                )
            except DjangoValidationError as exc:
                raise _django_errors(exc) from None
    except IntegrityError:
        raise _slug_taken_error(changes.get("slug"), "market") from None
    return market


def market_verify(*, market: Market, acting_user: User, verified: bool = True) -> Market:
    """A super admin verifies a market (``verified_at`` is when), or takes it back."""
    permissions.require_super_admin(acting_user, "Only a super admin verifies markets.")
    with transaction.atomic():
        market = Market.objects.select_for_update().get(pk=market.pk)
        if market.verified != verified:
            audit_record(
                actor=acting_user,
                instance=market,
                action=Action.VERIFY,
                makerspace_id=_space_of(market),
                changes={"verified": [market.verified, verified]},
            )
            market.verified = verified
            market.verified_at = timezone.now() if verified else None
            market.save(update_fields=["verified", "verified_at", "updated_at"])
    return market


def market_staff_add(*, market: Market, user: User, acting_user: User) -> MarketStaff:
    """The owner lets ``user`` manage the market's products (409 when already staff)."""
    permissions.require_edit_market(acting_user, market)
    if user.pk == market.owner_id:
        raise validation_error("user", "The owner already manages the market.")
    if not user.is_active:
        raise validation_error("user", "This account is deactivated.")
    try:
        with transaction.atomic():
            staff = MarketStaff.objects.create(market=market, user=user)
            audit_record(
                actor=acting_user,
                instance=staff,
                action=Action.GRANT,
                makerspace_id=_space_of(market),
                changes={"market": market, "user": user},
            )
    except IntegrityError:
        raise ConflictError(
            "ALREADY_STAFF", "This person is already staff of the market."
        ) from None
    permissions.forget_markets(user)
    return staff


def market_staff_remove(*, staff: MarketStaff, acting_user: User) -> None:
    permissions.require_edit_market(acting_user, staff.market)
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            instance=staff,
            action=Action.REVOKE,
            makerspace_id=_space_of(staff.market),
            changes={"market": staff.market, "user": staff.user_id},
        )
        staff.delete()
    permissions.forget_markets(staff.user)


def market_closure_add(
    *, market: Market, acting_user: User, date: Any, reason: str = ""
) -> MarketClosure:
    """A dated closure of the market (its owner; 409 when the day is already closed)."""
    permissions.require_edit_market(acting_user, market)
    try:
        with transaction.atomic():
            closure = MarketClosure.objects.create(market=market, date=date, reason=reason)
            audit_record(
                actor=acting_user,
                instance=closure,
                action=Action.CREATE,
                makerspace_id=_space_of(market),
                changes={"date": date, "reason": reason},
            )
    except IntegrityError:
        raise ConflictError("CLOSURE_EXISTS", "The market is already closed that day.") from None
    return closure


def market_closure_remove(*, closure: MarketClosure, acting_user: User) -> None:
    permissions.require_edit_market(acting_user, closure.market)
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            instance=closure,
            action=Action.DELETE,
            makerspace_id=_space_of(closure.market),
            changes={"date": closure.date},
        )
        closure.delete()


# --- products --------------------------------------------------------------------------


def search_document(*, name: str, description: str, long_description: str, tags: Any) -> str:
    """The text a product is found by: its name, descriptions and tags."""
    words = [name, description, long_description]
    if isinstance(tags, list):
        words.extend(str(tag) for tag in tags)
    return "\n".join(part for part in words if part)


def _refresh_search_document(product: Product) -> None:
    product.search_document = search_document(
        name=product.name,
        description=product.description,
        long_description=product.long_description,
        tags=product.tags,
    )


def _check_product(product: Product) -> None:
    """What the table's constraints hold, said before the write with a field's name."""
    if product.sale_price is not None and product.sale_price >= product.price:
        raise validation_error("sale_price", "A sale price must be below the price.")
    if not isinstance(product.tags, list) or not all(isinstance(t, str) for t in product.tags):
        raise validation_error("tags", "Tags are a list of strings.")
    if product.track_inventory and not product.allow_backorder and product.stock_quantity < 0:
        raise validation_error(
            "allow_backorder", "The stock is below zero: backorders must stay allowed."
        )


def _sku_taken(sku: Any) -> ApplicationError:
    return validation_error("sku", f"The SKU {sku!r} is taken in this catalogue.")


def _check_unique(product: Product) -> None:
    if selectors.product_slug_taken(product.slug, exclude_pk=product.pk):
        raise _slug_taken_error(product.slug, "product")
    if selectors.product_sku_taken(
        market_id=product.market_id, sku=product.sku, exclude_pk=product.pk
    ):
        raise _sku_taken(product.sku)


def _clash(product_or_fields: Any) -> ApplicationError:
    """Which unique value a concurrent write took."""
    slug = getattr(product_or_fields, "slug", None)
    if slug and selectors.product_slug_taken(slug, exclude_pk=product_or_fields.pk):
        return _slug_taken_error(slug, "product")
    return _sku_taken(getattr(product_or_fields, "sku", None))


def product_create(
    *,
    acting_user: User,
    market: Market | None,
    category: Category,
    name: str,
    sku: str,
    price: Decimal,
    opening_stock: int = 0,
    **fields: Any,
) -> Product:
    """A product of ``market`` (its owner or staff) or of the central catalogue
    (``market`` None: super admins). A starting stock is the ledger's first movement."""
    _unknown(fields, PRODUCT_FIELDS, "product")
    permissions.require_manage_products(acting_user, market)
    if opening_stock < 0:
        raise validation_error("stock_quantity", "The opening stock cannot be negative.")
    slug = fields.pop("slug", "") or _unique_slug(Product, name, "product", 120)
    product = Product(
        market=market, category=category, name=name, sku=sku, price=price, slug=slug, **fields
    )
    if market is not None and "currency" not in fields:
        product.currency = market.currency
    _full_clean(product)
    _check_product(product)
    _refresh_search_document(product)
    try:
        with transaction.atomic():
            _check_unique(product)
            product.save()
            if opening_stock:
                _apply_stock(
                    product,
                    change=opening_stock,
                    reason=ProductStockReason.RESTOCK,
                    note="Opening stock",
                    acting_user=acting_user,
                )
            audit_record(
                actor=acting_user,
                instance=product,
                action=Action.CREATE,
                makerspace_id=_space_of(market),
                changes={"sku": sku, "name": name, "opening_stock": opening_stock},
            )
    except IntegrityError:
        raise _clash(product) from None
    return product


def product_update(
    *,
    product: Product,
    acting_user: User,
    changes: dict[str, Any],
    expected_etag: str | None = None,
) -> Product:
    """Change a product's details; its stock changes only through stock movements, and
    its market never changes."""
    _unknown(changes, PRODUCT_FIELDS, "product")
    permissions.require_manage_products(acting_user, product.market_id)
    try:
        with transaction.atomic():
            product = lock_at_version(product, expected_etag=expected_etag)
            originals = {field: getattr(product, field) for field in changes}
            for field, value in changes.items():
                setattr(product, field, value)
            _full_clean(product)
            _check_product(product)
            _check_unique(product)
            _refresh_search_document(product)
            # Back to the row as it was, so the audit entry names what changed.
            for field, value in originals.items():
                setattr(product, field, value)
            update_audited(
                product,
                changes=changes,
                actor=acting_user,
                makerspace_id=_space_of(product.market),
                clean=None,
            )
    except IntegrityError:
        raise _clash(product) from None
    return product


def product_delete(*, product: Product, acting_user: User) -> None:
    """A product with a stock ledger or reviews is deactivated (its records stay); any
    other is deleted, and its images' files after the commit."""
    permissions.require_manage_products(acting_user, product.market_id)
    with transaction.atomic():
        product = _lock(product)
        kept = product.movement_count > 0 or product.review_count > 0
        audit_record(
            actor=acting_user,
            instance=product,
            action=Action.DELETE,
            makerspace_id=_space_of(product.market),
            changes={"sku": product.sku, "kept_for_records": kept},
        )
        if kept:
            product.is_active = False
            product.save(update_fields=["is_active", "updated_at"])
        else:
            files = list(
                ProductImage.objects.filter(product=product).values_list("image", flat=True)
            )
            product.delete()
            for name in files:
                transaction.on_commit(partial(default_storage.delete, name))


# --- stock -----------------------------------------------------------------------------


def _lock(product: Product) -> Product:
    return (
        Product.objects.select_for_update(of=("self",)).select_related("market").get(pk=product.pk)
    )


def _insufficient(product: Product, change: int) -> ApplicationError:
    return ApplicationError(
        "INSUFFICIENT_STOCK",
        f"Only {product.stock_quantity} of {product.name} in stock.",
        details={
            "product": str(product.pk),
            "requested": -change,
            "available": max(product.stock_quantity, 0),
        },
    )


def _movement(
    product: Product,
    *,
    position: int,
    change: int,
    after: int,
    reason: str,
    acting_user: User,
    note: str,
    source_type: str,
    source_id: Any,
) -> ProductStockMovement:
    """The ledger row of one stock change, numbered ``position`` in the product's ledger."""
    return ProductStockMovement.objects.create(
        product=product,
        position=position,
        change=change,
        quantity_after=after,
        reason=reason,
        note=note[:300],
        source_type=source_type,
        source_id=str(source_id or ""),
        actor=acting_user if acting_user.is_authenticated else None,
    )


def _apply_stock(
    product: Product,
    *,
    change: int,
    reason: str,
    acting_user: User,
    note: str = "",
    source_type: str = "",
    source_id: str = "",
) -> ProductStockMovement:
    """One movement on a product the caller has locked (or just created)."""
    after = product.stock_quantity + change
    if after < 0 and product.track_inventory and not product.allow_backorder:
        raise _insufficient(product, change)
    position = product.movement_count + 1
    movement = _movement(
        product,
        position=position,
        change=change,
        after=after,
        reason=reason,
        acting_user=acting_user,
        note=note,
        source_type=source_type,
        source_id=source_id,
    )
    product.stock_quantity = after
    product.movement_count = position
    product.save(update_fields=["stock_quantity", "movement_count", "updated_at"])
    return movement


def take_stock(
    product: Product,
    *,
    quantity: int,
    reason: str,
    acting_user: User,
    note: str = "",
    source_type: str = "",
    source_id: str = "",
) -> ProductStockMovement:
    """Take ``quantity`` of ``product`` in one conditional statement, inside the
    caller's transaction: the row is locked by the UPDATE itself, which takes the stock
    only when it is there (or backorders are allowed) and numbers the movement, so the
    lock is held from this statement to the commit rather than from a read before it.
    Raises INSUFFICIENT_STOCK (with what is available) and changes nothing otherwise."""
    table = Product._meta.db_table
    key = Product._meta.pk.get_db_prep_value(product.pk, connection)
    now = Product._meta.get_field("updated_at").get_db_prep_value(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET stock_quantity = stock_quantity - %s, "  # noqa: S608
            "movement_count = movement_count + 1, updated_at = %s "
            "WHERE id = %s AND (stock_quantity >= %s OR allow_backorder OR NOT track_inventory) "
            "RETURNING stock_quantity, movement_count",
            [quantity, now, key, quantity],
        )
        taken = cursor.fetchone()
    if taken is None:
        current = Product.objects.get(pk=product.pk)
        raise _insufficient(current, -quantity)
    after, position = taken
    product.stock_quantity, product.movement_count = after, position
    return _movement(
        product,
        position=position,
        change=-quantity,
        after=after,
        reason=reason,
        acting_user=acting_user,
        note=note,
        source_type=source_type,
        source_id=source_id,
    )


def product_stock_change(
    *,
    product: Product,
    change: int,
    reason: str,
    acting_user: User,
    note: str = "",
    source_type: str = "",
    source_id: Any = "",
) -> ProductStockMovement:
    """Add (``change`` > 0) or take (< 0) stock, written to the product's ledger.

    Taking more than there is answers 400 INSUFFICIENT_STOCK with the available
    quantity, unless the product allows backorders or does not track its stock. The
    product row is locked first, so two takers cannot both pass the check.
    """
    permissions.require_manage_products(acting_user, product.market_id)
    if isinstance(change, bool) or not isinstance(change, int) or change == 0:
        raise validation_error("change", "A whole number other than zero.")
    if reason not in ProductStockReason.values:
        raise validation_error(
            "reason", f"Unknown reason; use {', '.join(ProductStockReason.values)}."
        )
    with transaction.atomic():
        return _apply_stock(
            _lock(product),
            change=change,
            reason=reason,
            acting_user=acting_user,
            note=note,
            source_type=source_type,
            source_id=source_id,
        )


# --- reviews ---------------------------------------------------------------------------


def _recount(product: Product) -> None:
    """The product's rating and review count from its reviews; the product is locked."""
    totals = Review.objects.filter(product=product).aggregate(
        average=Avg("rating"), count=Count("id")
    )
    average = totals["average"]
    product.rating = (
        Decimal(str(average)).quantize(RATING_PLACES, rounding=ROUND_HALF_UP)
        if average is not None
        else Decimal("0.00")
    )
    product.review_count = totals["count"]
    product.save(update_fields=["rating", "review_count", "updated_at"])


def _check_rating(rating: Any) -> None:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise validation_error("rating", "A whole number from 1 to 5.")


def _already_reviewed() -> ConflictError:
    return ConflictError("ALREADY_REVIEWED", "You have already reviewed this product.")


def review_create(
    *, product: Product, acting_user: User, rating: int, title: str = "", comment: str = ""
) -> Review:
    """One review per user per product (409 ALREADY_REVIEWED for a second); the
    product's rating and review count change in the same transaction."""
    permissions.require_signed_in(acting_user)
    _check_rating(rating)
    try:
        with transaction.atomic():
            product = _lock(product)
            if Review.objects.filter(product=product, user=acting_user).exists():
                raise _already_reviewed()
            review = Review.objects.create(
                product=product,
                user=acting_user,
                rating=rating,
                title=title,
                comment=comment,
                verified_purchase=selectors.has_bought(user=acting_user, product=product),
            )
            _recount(product)
    except IntegrityError:
        raise _already_reviewed() from None
    return review


def _require_author(review: Review, acting_user: User) -> None:
    if not (permissions.is_signed_in(acting_user) and review.user_id == acting_user.pk):
        raise permission_denied("Only its author changes a review.")


REVIEW_FIELDS = ("rating", "title", "comment")


def review_update(*, review: Review, acting_user: User, changes: dict[str, Any]) -> Review:
    _unknown(changes, REVIEW_FIELDS, "review")
    _require_author(review, acting_user)
    if "rating" in changes:
        _check_rating(changes["rating"])
    with transaction.atomic():
        product = _lock(review.product)
        review = Review.objects.select_for_update().get(pk=review.pk)
        for field, value in changes.items():
            setattr(review, field, value)
        review.save()
        _recount(product)
    return review


def review_delete(*, review: Review, acting_user: User) -> None:
    """Its author (or a super admin, moderating) deletes a review."""
    if not permissions.is_super_admin(acting_user):
        _require_author(review, acting_user)
    with transaction.atomic():
        product = _lock(review.product)
        Review.objects.filter(pk=review.pk).delete()
        _recount(product)
