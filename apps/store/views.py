"""Pages of the store: the catalogue, a product with its reviews, the market directory,
a market's page, opening a market, and the pages where a market's owner and staff
manage its products, their pictures and their stock.

Each view parses the request, reads through the selectors or calls one service, and
renders; the rules live in the services (which check the store's permissions again
with their ``acting_user``), so these pages, the API and the admin cannot disagree.
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS as WEEKDAY_NAMES
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.api.actors import acting_user
from apps.core.exceptions import ApplicationError
from apps.makerspaces.hours import WEEKDAYS, opening_windows
from apps.store import images as product_images
from apps.store import permissions, selectors, services
from apps.store.catalogue import Catalogue, products_of_catalogue
from apps.store.forms import (
    CatalogueFilterForm,
    MarketCreateForm,
    MarketDirectoryForm,
    ProductForm,
    ProductImageForm,
    ProductImagePositionForm,
    ReviewForm,
    StockChangeForm,
)
from apps.store.models import Category, Market, PaymentMethod, Product, ProductImage

CATALOGUE_PAGE_SIZE = 24
DIRECTORY_PAGE_SIZE = 20
MANAGE_PAGE_SIZE = 50
MARKET_PAGE_PRODUCTS = 12
REVIEWS_SHOWN = 50
MOVEMENTS_SHOWN = 20
# The columns the catalogue's rows show; the rest of a product stays in the database.
LISTED_PRODUCT_FIELDS = (
    "id",
    "name",
    "slug",
    "description",
    "price",
    "sale_price",
    "currency",
    "stock_quantity",
    "track_inventory",
    "allow_backorder",
    "is_featured",
    "is_active",
    "rating",
    "review_count",
    "category__name",
    "market__name",
)

# Service messages are English API text. The pages word the codes they expect in the
# reader's language and fall back to the service's own message for anything else.
ERROR_MESSAGES = {
    "ALREADY_REVIEWED": gettext_lazy("You have already reviewed this product."),
    "MARKET_EXISTS": gettext_lazy("You already run a market: each person runs one."),
    "INSUFFICIENT_STOCK": gettext_lazy("Not enough stock for that change."),
    "PERMISSION_DENIED": gettext_lazy("You may not do this in this market."),
}


def _error_text(exc: ApplicationError) -> str:
    wording = ERROR_MESSAGES.get(exc.code)
    return str(wording) if wording else exc.message


def _refusal_into(form: Any, exc: ApplicationError | ValidationError) -> None:
    """A service's refusal shown on the form: next to the field it names, when the form
    has that field, otherwise above the form."""
    if isinstance(exc, ValidationError):
        form.add_error(None, ValidationError(exc.messages))
        return
    placed = False
    for field, problems in (exc.details or {}).items():
        if field in form.fields:
            texts = problems if isinstance(problems, list | tuple) else [problems]
            form.add_error(field, [str(text) for text in texts])
            placed = True
    if not placed:
        form.add_error(None, _error_text(exc))


# --- the catalogue -----------------------------------------------------------------


def _flatten(nodes: list[dict[str, Any]], trail: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []
    for node in nodes:
        names = (*trail, node["name"])
        choices.append((node["slug"], " › ".join(names)))
        choices += _flatten(node["children"], names)
    return choices


def catalogue_page(request: HttpRequest) -> HttpResponse:
    tree = selectors.category_tree()
    markets = list(
        selectors.markets_visible_to(request.user).order_by("name").values_list("id", "name")
    )
    form = CatalogueFilterForm(request.GET, categories=_flatten(tree), markets=markets)
    # An invalid field is shown as an error; the valid ones still filter the list.
    form.is_valid()
    criteria = form.cleaned_data
    catalogue = Catalogue.of(
        {
            **criteria,
            # A checkbox on the page: ticked shows only these, unticked does not filter.
            "in_stock": True if criteria.get("in_stock") else None,
            "featured": True if criteria.get("featured") else None,
        }
    )
    products = products_of_catalogue(selectors.products_visible_to(request.user), catalogue)
    products = products.select_related("category", "market").only(*LISTED_PRODUCT_FIELDS)
    products = products.annotate(first_image=selectors.first_image_name())
    page = Paginator(products, CATALOGUE_PAGE_SIZE).get_page(request.GET.get("page"))
    _with_picture_urls(page.object_list)
    context = {
        "form": form,
        "page": page,
        "category_tree": tree,
        "selected_category": criteria.get("category", ""),
    }
    return render(request, "store/catalogue.html", context)


def _with_picture_urls(products: Any) -> None:
    """Each product's first picture's URL as ``picture_url`` (empty without one), from
    the ``first_image`` its query carried."""
    for product in products:
        name = getattr(product, "first_image", None)
        product.picture_url = product_images.image_url(name) if name else ""


def _gallery(product: Product) -> list[dict[str, Any]]:
    return [
        {**row, "url": product_images.image_url(row["image"])}
        for row in selectors.product_image_rows(product)
    ]


# --- a product -----------------------------------------------------------------------


def _visible_product_or_404(request: HttpRequest, slug: str) -> Product:
    product = (
        selectors.products_visible_to(request.user)
        .select_related("category", "market")
        .filter(slug=slug)
        .first()
    )
    if product is None:
        raise Http404("No such product.")
    return product


def _category_path(category: Category) -> list[dict[str, Any]]:
    rows = {row["id"]: row for row in selectors.category_rows()}
    path: list[dict[str, Any]] = []
    current = rows.get(category.pk)
    while current is not None and len(path) < len(rows):
        path.append(current)
        current = rows.get(current["parent_id"])
    return list(reversed(path))


def _product_page(
    request: HttpRequest, product: Product, review_form: ReviewForm, status: int = 200
) -> HttpResponse:
    user = request.user
    own_review = (
        user.is_authenticated and selectors.review_rows(product).filter(user_id=user.pk).exists()
    )
    specifications = product.specifications if isinstance(product.specifications, dict) else {}
    context = {
        "product": product,
        "category_path": _category_path(product.category),
        "specifications": sorted(specifications.items()),
        "reviews": selectors.review_rows(product)[:REVIEWS_SHOWN],
        "gallery": _gallery(product),
        "own_review": own_review,
        "review_form": review_form,
        "may_manage": product.market_id is not None
        and permissions.may_manage_products(user, product.market_id),
    }
    return render(request, "store/product.html", context, status=status)


def product_page(request: HttpRequest, slug: str) -> HttpResponse:
    product = _visible_product_or_404(request, slug)
    return _product_page(request, product, ReviewForm())


@require_POST
def review_page(request: HttpRequest, slug: str) -> HttpResponse:
    product = _visible_product_or_404(request, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(product_url(product))
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _product_page(request, product, form, status=400)
    try:
        services.review_create(
            product=product,
            acting_user=acting_user(request),
            rating=form.cleaned_data["rating"],
            title=form.cleaned_data["title"],
            comment=form.cleaned_data["comment"],
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
        return redirect(product_url(product))
    messages.success(request, _("Thank you: your review is posted."))
    return redirect(product_url(product))


def product_url(product: Product) -> str:
    return reverse("store:product", kwargs={"slug": product.slug})


# --- markets ---------------------------------------------------------------------------


def market_directory_page(request: HttpRequest) -> HttpResponse:
    form = MarketDirectoryForm(request.GET)
    form.is_valid()
    criteria = form.cleaned_data
    markets = selectors.markets_visible_to(request.user)
    markets = selectors.markets_matching(markets, criteria.get("search", ""))
    markets = selectors.markets_verified(markets, True if criteria.get("verified") else None)
    markets = markets.select_related("makerspace").order_by("name", "id")
    page = Paginator(markets, DIRECTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "store/markets.html", {"form": form, "page": page})


def _visible_market_or_404(request: HttpRequest, slug: str) -> Market:
    market = (
        selectors.markets_visible_to(request.user)
        .select_related("makerspace")
        .filter(slug=slug)
        .first()
    )
    if market is None:
        raise Http404("No such market.")
    return market


def _weekly_hours(market: Market, today: datetime) -> list[dict[str, Any]]:
    """The week's opening windows, as the makerspace page shows them."""
    return [
        {
            "name": WEEKDAY_NAMES[index],
            "windows": market.business_hours.get(day, []),
            "is_today": index == today.weekday(),
        }
        for index, day in enumerate(WEEKDAYS)
    ]


def _delivery_lines(market: Market) -> list[str]:
    options = market.delivery_options if isinstance(market.delivery_options, dict) else {}
    lines = []
    if options.get("pickup", {}).get("enabled"):
        lines.append(_("Pickup at the market"))
    local = options.get("local_delivery", {})
    if local.get("enabled"):
        lines.append(
            _(
                "Local delivery within %(radius)s km: %(fee)s %(currency)s, "
                "for orders from %(minimum)s %(currency)s"
            )
            % {
                "radius": local.get("radius_km"),
                "fee": local.get("fee"),
                "minimum": local.get("minimum_order"),
                "currency": market.currency,
            }
        )
    shipping = options.get("shipping", {})
    if shipping.get("enabled"):
        lines.append(
            _("Shipping: %(fee)s %(currency)s")
            % {"fee": shipping.get("fee"), "currency": market.currency}
        )
    return lines


def market_page(request: HttpRequest, slug: str) -> HttpResponse:
    market = _visible_market_or_404(request, slug)
    now = timezone.now().astimezone(ZoneInfo(market.timezone))
    closures = list(selectors.market_closures(market).filter(date__gte=now.date()))
    windows = opening_windows(
        market.business_hours, market.timezone, now.date(), [c.date for c in closures]
    )
    products = list(
        selectors.products_visible_to(request.user)
        .filter(market=market, is_active=True)
        .select_related("category")
        .only(*(f for f in LISTED_PRODUCT_FIELDS if not f.startswith("market__")))
        .annotate(first_image=selectors.first_image_name())
        .order_by("-is_featured", "name", "id")[: MARKET_PAGE_PRODUCTS + 1]
    )
    _with_picture_urls(products)
    methods = dict(PaymentMethod.choices)
    context = {
        "market": market,
        "hours": _weekly_hours(market, now),
        "is_open_now": any(opens <= now < closes for opens, closes in windows),
        "closures": closures,
        "delivery": _delivery_lines(market),
        "payment_methods": [str(methods.get(code, code)) for code in market.payment_methods],
        "products": products[:MARKET_PAGE_PRODUCTS],
        "more_products": len(products) > MARKET_PAGE_PRODUCTS,
        "may_manage": permissions.may_manage_products(request.user, market),
    }
    return render(request, "store/market.html", context)


@login_required
def market_create_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    existing = selectors.market_of_owner(user)
    if existing is not None:
        messages.info(request, str(ERROR_MESSAGES["MARKET_EXISTS"]))
        return redirect("store:market-manage", slug=existing.slug)
    form = MarketCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            market = services.market_create(acting_user=user, **form.service_fields())
        except (ApplicationError, ValidationError) as exc:
            _refusal_into(form, exc)
        else:
            messages.success(
                request,
                _(
                    "%(market)s is open. MakrX verifies new markets; until then it shows as "
                    "unverified."
                )
                % {"market": market.name},
            )
            return redirect("store:market-manage", slug=market.slug)
    return render(request, "store/market_create.html", {"form": form})


@login_required
def my_market_page(request: HttpRequest) -> HttpResponse:
    """The market the caller runs (or helps run), else the form to open one."""
    managed = permissions.managed_market_ids(request.user)
    if not managed:
        return redirect("store:market-create")
    user = acting_user(request)
    market = selectors.market_of_owner(user) or (
        Market.objects.filter(pk__in=managed).order_by("name").first()
    )
    if market is None:
        return redirect("store:market-create")
    return redirect("store:market-manage", slug=market.slug)


# --- a market's products, for its owner and staff ------------------------------------


def _managed_market(request: HttpRequest, slug: str) -> Market:
    """The market if the caller manages its products: 404 when there is no such
    market for them, 403 when it is someone else's."""
    market = _visible_market_or_404(request, slug)
    if not permissions.may_manage_products(request.user, market):
        raise PermissionDenied
    return market


def _market_product_or_404(market: Market, product_slug: str) -> Product:
    product = (
        Product.objects.filter(market=market, slug=product_slug).select_related("market").first()
    )
    if product is None:
        raise Http404("No such product in this market.")
    return product


def _categories() -> QuerySet[Category]:
    return Category.objects.order_by("name")


@login_required
def market_manage_page(request: HttpRequest, slug: str) -> HttpResponse:
    market = _managed_market(request, slug)
    products = (
        Product.objects.filter(market=market)
        .select_related("category", "market")
        .only(*LISTED_PRODUCT_FIELDS, "sku")
        .order_by("name", "id")
    )
    page = Paginator(products, MANAGE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "store/market_manage.html", {"market": market, "page": page})


@login_required
def product_add_page(request: HttpRequest, market_slug: str) -> HttpResponse:
    market = _managed_market(request, market_slug)
    form = ProductForm(
        request.POST or None, categories=_categories(), initial={"currency": market.currency}
    )
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(
                market=market, acting_user=acting_user(request), **form.product_fields()
            )
        except (ApplicationError, ValidationError) as exc:
            _refusal_into(form, exc)
        else:
            messages.success(request, _("%(product)s is added.") % {"product": product.name})
            return redirect(
                "store:product-edit", market_slug=market.slug, product_slug=product.slug
            )
    context = {"market": market, "form": form, "product": None}
    return render(request, "store/product_form.html", context)


def _product_form_page(
    request: HttpRequest,
    market: Market,
    product: Product,
    form: ProductForm,
    stock_form: StockChangeForm,
    status: int = 200,
    image_form: ProductImageForm | None = None,
) -> HttpResponse:
    gallery = _gallery(product)
    context = {
        "market": market,
        "product": product,
        "form": form,
        "stock_form": stock_form,
        "movements": product.stock_movements.order_by("-position")[:MOVEMENTS_SHOWN],
        "gallery": gallery,
        "image_form": image_form or ProductImageForm(),
        "may_add_image": len(gallery) < product_images.max_images(),
        "max_images": product_images.max_images(),
    }
    return render(request, "store/product_form.html", context, status=status)


@login_required
def product_edit_page(request: HttpRequest, market_slug: str, product_slug: str) -> HttpResponse:
    market = _managed_market(request, market_slug)
    product = _market_product_or_404(market, product_slug)
    form = ProductForm(request.POST or None, instance=product, categories=_categories())
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        try:
            if changes:
                product = services.product_update(
                    product=product, acting_user=acting_user(request), changes=changes
                )
        except (ApplicationError, ValidationError) as exc:
            _refusal_into(form, exc)
        else:
            messages.success(request, _("%(product)s is saved.") % {"product": product.name})
            return redirect(
                "store:product-edit", market_slug=market.slug, product_slug=product.slug
            )
    return _product_form_page(request, market, product, form, StockChangeForm())


@login_required
@require_POST
def product_stock_page(request: HttpRequest, market_slug: str, product_slug: str) -> HttpResponse:
    market = _managed_market(request, market_slug)
    product = _market_product_or_404(market, product_slug)
    stock_form = StockChangeForm(request.POST)
    if stock_form.is_valid():
        data = stock_form.cleaned_data
        try:
            services.product_stock_change(
                product=product,
                change=data["change"],
                reason=data["reason"],
                note=data["note"],
                acting_user=acting_user(request),
            )
        except ApplicationError as exc:
            stock_form.add_error(None, _error_text(exc))
        else:
            messages.success(request, _("The stock is changed."))
            return redirect(
                "store:product-edit", market_slug=market.slug, product_slug=product.slug
            )
    form = ProductForm(instance=product, categories=_categories())
    return _product_form_page(request, market, product, form, stock_form, status=400)


# --- a product's pictures, for its market's owner and staff ----------------------------


def _edit_page(market: Market, product: Product) -> HttpResponse:
    return redirect("store:product-edit", market_slug=market.slug, product_slug=product.slug)


def _product_image_or_404(product: Product, image_id: Any) -> ProductImage:
    image = (
        ProductImage.objects.filter(product=product, pk=image_id)
        .select_related("product__market")
        .first()
    )
    if image is None:
        raise Http404("No such picture of this product.")
    return image


def _refused_picture_page(
    request: HttpRequest,
    market: Market,
    product: Product,
    image_form: ProductImageForm | None = None,
) -> HttpResponse:
    form = ProductForm(instance=product, categories=_categories())
    return _product_form_page(
        request, market, product, form, StockChangeForm(), status=400, image_form=image_form
    )


@login_required
@require_POST
def product_image_add_page(
    request: HttpRequest, market_slug: str, product_slug: str
) -> HttpResponse:
    market = _managed_market(request, market_slug)
    product = _market_product_or_404(market, product_slug)
    image_form = ProductImageForm(request.POST, request.FILES)
    if image_form.is_valid():
        try:
            product_images.product_image_add(
                product=product,
                upload=image_form.cleaned_data["image"],
                alt_text=image_form.cleaned_data["alt_text"],
                acting_user=acting_user(request),
            )
        except ApplicationError as exc:
            if exc.code == "VALIDATION_ERROR":
                _refusal_into(image_form, exc)
            else:
                image_form.add_error("image", product_images.image_error_text(exc))
        else:
            messages.success(request, _("The picture is added."))
            return _edit_page(market, product)
    return _refused_picture_page(request, market, product, image_form)


@login_required
@require_POST
def product_image_remove_page(
    request: HttpRequest, market_slug: str, product_slug: str, image_id: Any
) -> HttpResponse:
    market = _managed_market(request, market_slug)
    product = _market_product_or_404(market, product_slug)
    image = _product_image_or_404(product, image_id)
    try:
        product_images.product_image_remove(image=image, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The picture is removed."))
    return _edit_page(market, product)


@login_required
@require_POST
def product_image_move_page(
    request: HttpRequest, market_slug: str, product_slug: str, image_id: Any
) -> HttpResponse:
    market = _managed_market(request, market_slug)
    product = _market_product_or_404(market, product_slug)
    image = _product_image_or_404(product, image_id)
    position_form = ProductImagePositionForm(request.POST)
    if not position_form.is_valid():
        messages.error(request, _("Give a position of 0 or more."))
        return _refused_picture_page(request, market, product)
    try:
        product_images.product_image_move(
            image=image,
            position=position_form.cleaned_data["position"],
            acting_user=acting_user(request),
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return _edit_page(market, product)
