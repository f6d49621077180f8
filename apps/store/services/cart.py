"""The cart: one per signed-in user, and one per visitor of the pages (kept by a random
token in the visitor's session) that joins the user's cart at sign-in.

A cart holds no stock: it only says what the buyer means to take. Quantities are
checked against what is available when a line is added or raised, so the buyer hears
about a shortage early, but the checkout takes the stock (``services.checkout``) and
checks again under its row locks. Prices are never stored here: the summary and the
checkout read them from the products.

Writes lock the cart's row first, so two adds of the same product (a double click)
make one line of the summed quantity rather than a clash on the line's uniqueness,
and a checkout of the cart waits for an add in flight.
"""

import math
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, permission_denied, validation_error
from apps.projects.models import Project
from apps.projects.selectors import bom_shortages, project_visible_to
from apps.store import permissions
from apps.store.models import Cart, CartItem, Product
from apps.store.services import _insufficient

# The session key holding a visitor's cart token.
SESSION_CART_KEY = "store_cart"
MAX_LINE_QUANTITY = 10_000
TOKEN_BYTES = 32

Caller = User | AnonymousUser


# --- rules ---------------------------------------------------------------------------------


def is_purchasable(product: Product) -> bool:
    """For sale now: the product is active, and so is its market (if it has one)."""
    if not product.is_active:
        return False
    market = product.market
    return market is None or market.is_active


def available_quantity(product: Product) -> int | None:
    """How many units a buyer may take; None when there is no limit (the product does
    not track its stock, or allows backorders)."""
    if not product.track_inventory or product.allow_backorder:
        return None
    return max(product.stock_quantity, 0)


def product_unavailable(product: Product) -> ApplicationError:
    return ApplicationError(
        "PRODUCT_UNAVAILABLE",
        f"{product.name} is not for sale at the moment.",
        details={"product": str(product.pk)},
    )


def _check_quantity(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise validation_error("quantity", "A whole number.")
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise validation_error("quantity", f"From 1 to {MAX_LINE_QUANTITY}.")
    return quantity


def check_stock(product: Product, quantity: int) -> None:
    available = available_quantity(product)
    if available is not None and quantity > available:
        raise _insufficient(product, -quantity)


def _currency_mixed(cart_currency: str, product: Product) -> ApplicationError:
    return ApplicationError(
        "CURRENCY_MIXED",
        f"Your cart is in {cart_currency} and {product.name} is sold in {product.currency}; "
        "one checkout pays in one currency.",
        details={"cart_currency": cart_currency, "product_currency": product.currency},
    )


def _cart_currency(cart: Cart) -> str | None:
    return (
        CartItem.objects.filter(cart=cart)
        .values_list("product__currency", flat=True)
        .order_by("created_at")
        .first()
    )


def _require_cart_owner(cart: Cart, acting_user: Caller | None) -> None:
    # A visitor's cart has no owner to compare: it is reached only through the token in
    # its own session (``cart_for_request``), which is the proof of holding it.
    if cart.user_id is None:
        return
    if not (permissions.is_signed_in(acting_user) and acting_user.pk == cart.user_id):  # type: ignore[union-attr]
        raise permission_denied("This is not your cart.")


def _lock_cart(cart: Cart) -> None:
    Cart.objects.select_for_update().filter(pk=cart.pk).values_list("pk", flat=True).first()


# --- finding the cart ----------------------------------------------------------------------


def user_cart(user: User) -> Cart:
    """The user's cart, made on first use."""
    cart = Cart.objects.filter(user=user).first()
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(user=user)
    except IntegrityError:
        # Another request of the same user made it a moment ago.
        return Cart.objects.get(user=user)


def cart_for_request(request: Request | HttpRequest, *, create: bool) -> Cart | None:
    """The caller's cart: a signed-in user's own, or a visitor's by the token in
    ``request.session["store_cart"]``; None when there is none and ``create`` is false.

    On the first call after a visitor signs in, the visitor's cart joins the user's
    (``cart_merge``) and the token leaves the session.
    """
    user = request.user
    session = getattr(request, "session", None)
    token = session.get(SESSION_CART_KEY) if session is not None else None
    if permissions.is_signed_in(user):
        assert isinstance(user, User)
        cart = Cart.objects.filter(user=user).first()
        if token:
            cart = cart_merge(user=user, token=str(token)) or cart
            assert session is not None
            session.pop(SESSION_CART_KEY, None)
        if cart is None and create:
            cart = user_cart(user)
        return cart
    if token:
        found = Cart.objects.filter(session_key=str(token), user__isnull=True).first()
        if found is not None or not create:
            return found
    if not create or session is None:
        return None
    cart = Cart.objects.create(session_key=secrets.token_urlsafe(TOKEN_BYTES))
    session[SESSION_CART_KEY] = cart.session_key
    return cart


def cart_merge(*, user: User, token: str) -> Cart | None:
    """The visitor cart of ``token`` joined into ``user``'s cart, and deleted; None when
    there is no such visitor cart (already merged, or never made).

    Each line's quantity is added to the user's line of the same product, capped at
    what is available now: a merge never fails, and never raises a line above the stock
    (a line the user already had above it keeps its quantity; nothing is taken away).
    Lines of products no longer for sale are dropped. Lines in another currency than
    the user's cart are kept; the checkout refuses the mix (CURRENCY_MIXED) and the
    buyer chooses.
    """
    with transaction.atomic():
        # Locked so that two first requests after sign-in merge it once.
        visitor = (
            Cart.objects.select_for_update().filter(session_key=token, user__isnull=True).first()
        )
        if visitor is None:
            return None
        cart = user_cart(user)
        _lock_cart(cart)
        mine = {item.product_id: item for item in CartItem.objects.filter(cart=cart)}
        for line in CartItem.objects.filter(cart=visitor).select_related("product__market"):
            product = line.product
            if not is_purchasable(product):
                continue
            existing = mine.get(product.pk)
            had = existing.quantity if existing is not None else 0
            wanted = min(had + line.quantity, MAX_LINE_QUANTITY)
            available = available_quantity(product)
            if available is not None:
                wanted = min(wanted, max(available, had))
            if wanted <= had:
                continue
            if existing is not None:
                existing.quantity = wanted
                existing.save(update_fields=["quantity", "updated_at"])
            else:
                mine[product.pk] = CartItem.objects.create(
                    cart=cart, product=product, quantity=wanted
                )
        visitor.delete()
    return cart


# --- lines ---------------------------------------------------------------------------------


def cart_add_item(
    *, cart: Cart, product: Product, quantity: int, acting_user: Caller | None
) -> CartItem:
    """Add ``quantity`` of ``product``: to its line when the cart has one, else a new line.

    More than is available in all (the line's quantity with this one) answers 400
    INSUFFICIENT_STOCK with ``details.available``; a product not for sale, 400
    PRODUCT_UNAVAILABLE; a product in another currency than the cart's, 400
    CURRENCY_MIXED.
    """
    _require_cart_owner(cart, acting_user)
    _check_quantity(quantity)
    with transaction.atomic():
        _lock_cart(cart)
        product = Product.objects.select_related("market").get(pk=product.pk)
        if not is_purchasable(product):
            raise product_unavailable(product)
        item = CartItem.objects.filter(cart=cart, product=product).first()
        total = quantity + (item.quantity if item is not None else 0)
        if total > MAX_LINE_QUANTITY:
            raise validation_error(
                "quantity", f"At most {MAX_LINE_QUANTITY} of one product in a cart."
            )
        check_stock(product, total)
        if item is None:
            currency = _cart_currency(cart)
            if currency is not None and currency != product.currency:
                raise _currency_mixed(currency, product)
            item = CartItem.objects.create(cart=cart, product=product, quantity=total)
        else:
            item.quantity = total
            item.save(update_fields=["quantity", "updated_at"])
    item.product = product
    return item


def _locked_item(item: CartItem) -> CartItem:
    found = (
        CartItem.objects.select_related("cart", "product__market")
        .filter(pk=item.pk, cart_id=item.cart_id)
        .first()
    )
    if found is None:
        raise ApplicationError("NOT_FOUND", "This line is no longer in the cart.", status_code=404)
    return found


def cart_set_quantity(*, item: CartItem, quantity: int, acting_user: Caller | None) -> CartItem:
    """Change a line's quantity. Raising it past what is available answers 400
    INSUFFICIENT_STOCK; lowering it is always allowed (it is how a buyer fixes a line
    the stock no longer covers)."""
    _require_cart_owner(item.cart, acting_user)
    _check_quantity(quantity)
    with transaction.atomic():
        _lock_cart(item.cart)
        item = _locked_item(item)
        if quantity > item.quantity:
            if not is_purchasable(item.product):
                raise product_unavailable(item.product)
            check_stock(item.product, quantity)
        if quantity != item.quantity:
            item.quantity = quantity
            item.save(update_fields=["quantity", "updated_at"])
    return item


def cart_remove_item(*, item: CartItem, acting_user: Caller | None) -> None:
    _require_cart_owner(item.cart, acting_user)
    with transaction.atomic():
        _lock_cart(item.cart)
        CartItem.objects.filter(pk=item.pk, cart_id=item.cart_id).delete()


# --- buy what is short ---------------------------------------------------------------------


@dataclass(frozen=True)
class BomAdded:
    sku: str
    product_id: Any
    quantity: int


class ShortageReason(models.TextChoices):
    """Why a short line of a bill of materials was not (fully) added to the cart."""

    NO_PRODUCT = "no_product", _("No store product supplies it")
    CURRENCY_MISMATCH = "currency_mismatch", _("Sold only in another currency than the cart's")
    OUT_OF_STOCK = "out_of_stock", _("Out of stock")
    INSUFFICIENT_STOCK = "insufficient_stock", _("Not enough in stock")


@dataclass(frozen=True)
class BomMissing:
    sku: str
    name: str
    quantity_short: Decimal
    reason: str


@dataclass
class BomFill:
    added: list[BomAdded] = field(default_factory=list)
    missing: list[BomMissing] = field(default_factory=list)


def project_for_shortages(*, user: Caller | None, project_id: Any) -> Project | None:
    """The project if ``user`` may see it (the projects' own visibility rules), else
    None: hidden and missing look alike."""
    try:
        project = Project.objects.select_related("makerspace").filter(pk=project_id).first()
    except (ValueError, TypeError):
        return None
    if project is None:
        return None
    return project_visible_to(user=user, makerspace=project.makerspace, project_id=project.pk)


def _candidate_rank(product: Product) -> tuple[int, Decimal, str]:
    # The central catalogue first (one parcel from MakrX), then the cheapest.
    return (0 if product.market_id is None else 1, product.effective_price, str(product.pk))


def _candidates(items: list[Any]) -> tuple[dict[Any, list[Product]], dict[str, list[Product]]]:
    """Products for sale that supply each inventory item: by an explicit link, and by
    the item's SKU."""
    for_sale = Product.objects.select_related("market").filter(
        Q(market__isnull=True) | Q(market__is_active=True), is_active=True
    )
    item_ids = [item.pk for item in items]
    links = list(
        Product.supplies.through.objects.filter(inventoryitem_id__in=item_ids).values_list(
            "inventoryitem_id", "product_id"
        )
    )
    skus = {item.sku for item in items if item.sku}
    products = {
        product.pk: product
        for product in for_sale.filter(
            Q(pk__in=[product_id for _, product_id in links]) | Q(sku__in=skus)
        )
    }
    linked: dict[Any, list[Product]] = {}
    for item_id, product_id in links:
        if product_id in products:
            linked.setdefault(item_id, []).append(products[product_id])
    by_sku: dict[str, list[Product]] = {}
    for product in products.values():
        if product.sku in skus:
            by_sku.setdefault(product.sku, []).append(product)
    return linked, by_sku


def cart_add_bom_shortages(
    *, cart: Cart, project: Project, acting_user: Caller | None, multiplier: int = 1
) -> BomFill:
    """ "Buy what is short": for each line of the project's bill of materials that the
    makerspace's stock cannot cover (``multiplier`` builds), add the store product that
    supplies it, in the missing quantity (rounded up to whole units).

    The product is the one linked to the inventory item (``Product.supplies``) if any,
    else one with the item's SKU; among several, the central catalogue's first, then the
    cheapest, and only those in the cart's currency. What the stock cannot cover is
    added as far as it goes and reported, as is every line with no product.
    """
    _require_cart_owner(cart, acting_user)
    if project_for_shortages(user=acting_user, project_id=project.pk) is None:
        raise ApplicationError("NOT_FOUND", "No such project.", status_code=404)
    if isinstance(multiplier, bool) or not isinstance(multiplier, int) or multiplier < 1:
        raise validation_error("multiplier", "A whole number of at least 1.")
    shortages = bom_shortages(project, multiplier=multiplier)
    fill = BomFill()
    if not shortages:
        return fill
    linked, by_sku = _candidates([row.line.item for row in shortages])
    with transaction.atomic():
        _lock_cart(cart)
        lines = {
            item.product_id: item
            for item in CartItem.objects.filter(cart=cart).select_related("product")
        }
        currency = next(iter(lines.values())).product.currency if lines else None
        for row in shortages:
            item = row.line.item
            found = linked.get(item.pk) or by_sku.get(item.sku, [])
            if not found:
                fill.missing.append(
                    BomMissing(item.sku, item.name, row.short, ShortageReason.NO_PRODUCT)
                )
                continue
            payable = [p for p in found if currency is None or p.currency == currency]
            if not payable:
                fill.missing.append(
                    BomMissing(item.sku, item.name, row.short, ShortageReason.CURRENCY_MISMATCH)
                )
                continue
            product = min(payable, key=_candidate_rank)
            needed = math.ceil(row.short)
            line = lines.get(product.pk)
            had = line.quantity if line is not None else 0
            room = MAX_LINE_QUANTITY - had
            available = available_quantity(product)
            if available is not None:
                room = min(room, available - had)
            quantity = max(min(needed, room), 0)
            if quantity < needed:
                reason = (
                    ShortageReason.INSUFFICIENT_STOCK if quantity else ShortageReason.OUT_OF_STOCK
                )
                fill.missing.append(
                    BomMissing(item.sku, item.name, Decimal(needed - quantity), reason)
                )
            if not quantity:
                continue
            if line is not None:
                line.quantity = had + quantity
                line.save(update_fields=["quantity", "updated_at"])
            else:
                lines[product.pk] = CartItem.objects.create(
                    cart=cart, product=product, quantity=quantity
                )
            currency = product.currency
            fill.added.append(BomAdded(sku=product.sku, product_id=product.pk, quantity=quantity))
    return fill
