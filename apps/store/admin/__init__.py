"""The staff admin of the store, scoped to the markets a user runs.

Markets are not makerspaces, so the store scopes its admin by the store's own rules
(:mod:`apps.store.permissions`) rather than by the makerspace role matrix:

- a super admin sees every row and may do whatever a service allows (manage the
  category tree and the central catalogue, verify markets, moderate reviews);
- a market's owner and its staff see only their market, its products, their stock
  ledgers and their reviews; they manage the products and their stock, and the owner
  edits the market itself;
- anyone else sees none of it.

Market owners and staff need neither ``is_staff`` nor a makerspace role: the site
opens to them too (:func:`open_admin_to_market_managers`), and every model of the
other apps stays closed to them, since those admins check the makerspace roles.

Every write goes through :mod:`apps.store.services` (a :class:`ServiceAdapter` per
model, as in the makerspace admin), so the admin cannot skip a rule or the audit log;
stock changes only through ``product_stock_change``, and the ledger is read-only.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core import admin_doors
from apps.core.admin_actions import action_form_page
from apps.core.admin_inlines import ReadOnlyTabularInline
from apps.core.exceptions import ApplicationError
from apps.core.forms import StorableJSONField
from apps.makerspaces.admin_services import (
    PermissionsByMay,
    ServiceAdapter,
    adopt_saved,
    run_on_each,
)
from apps.makerspaces.admin_site import acting_user
from apps.store import images as product_images
from apps.store import permissions, services
from apps.store.forms import StockChangeForm, checked_image
from apps.store.models import (
    Category,
    Market,
    Product,
    ProductImage,
    ProductStockMovement,
    Review,
)

LEDGER_INLINE_LENGTH = 50

# --- who may open the admin ----------------------------------------------------------------


def runs_a_market(user: Any) -> bool:
    """Whether ``user`` owns or is staff of an active market (cached on the user)."""
    if not permissions.is_signed_in(user):
        return False
    cached: bool | None = getattr(user, "_makrx_runs_market", None)
    if cached is None:
        managed = permissions.managed_market_ids(user)
        cached = bool(managed) and Market.objects.filter(pk__in=managed, is_active=True).exists()
        user._makrx_runs_market = cached
    return cached


# Those who run a market get into the admin (its site, login form and header link),
# where the store's admins below show them their market and the other apps' admins
# nothing, as they hold no makerspace role there.
admin_doors.register(runs_a_market)


# --- scoping -------------------------------------------------------------------------------


def _market_id_of(obj: Any, path: str) -> str | None:
    """The id (text) of the market ``obj`` belongs to by ``path`` (``"market"``,
    ``"product__market"``, ``"id"`` on a Market); None for the central catalogue."""
    target = obj
    parts = path.split("__")
    for part in parts[:-1]:
        target = getattr(target, part, None)
        if target is None:
            return None
    value = target.pk if parts[-1] == "id" else getattr(target, f"{parts[-1]}_id", None)
    return None if value is None else str(value)


class MarketScopedAdmin(PermissionsByMay, admin.ModelAdmin):
    """A ModelAdmin whose rows and permissions follow the store's rules.

    ``market_field`` is the lookup path from the model to its market (rows without a
    market are the central catalogue: super admins only). ``adapter.permissions``
    names the actions the admin offers at all (``view``, ``add``, ``change``,
    ``delete``); ``super_admin_actions`` are offered to super admins only; the rest
    to whoever manages the row's market (``owner_actions``: its owner only).
    """

    market_field: str = "market"
    adapter: ServiceAdapter[Any] = ServiceAdapter(permissions={})
    super_admin_actions: frozenset[str] = frozenset()
    owner_actions: frozenset[str] = frozenset()
    formfield_overrides = {models.JSONField: {"form_class": StorableJSONField}}

    # -- scope --

    def market_ids(self, request: HttpRequest) -> frozenset[str] | None:
        """The markets whose rows the user sees; None means all (a super admin)."""
        if permissions.is_super_admin(request.user):
            return None
        return permissions.managed_market_ids(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        market_ids = self.market_ids(request)
        if market_ids is None:
            return queryset
        return queryset.filter(**{f"{self.market_field}__in": list(market_ids)})

    def may(self, request: HttpRequest, action: str, obj: Any = None) -> bool:
        if action not in self.adapter.permissions:
            return False
        user = request.user
        if permissions.is_super_admin(user):
            return True
        if action in self.super_admin_actions:
            return False
        if obj is None:
            return bool(permissions.managed_market_ids(user))
        market_id = _market_id_of(obj, self.market_field)
        if market_id is None:
            return False
        if action in self.owner_actions:
            market = obj if isinstance(obj, Market) else Market.objects.get(pk=market_id)
            return permissions.may_edit_market(user, market)
        return permissions.may_manage_products(user, market_id)

    # -- writes: through the services --

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: Any) -> None:
        if change and not self.may(request, "change", obj):
            raise PermissionDenied
        user = acting_user(request)
        if change:
            saved = self.adapter.update_from(obj, form, acting_user=user)
        else:
            saved = self.adapter.create_from(form, acting_user=user)
        if saved is not None:
            adopt_saved(obj, saved)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: Any) -> None:
        if any(inline_form.has_changed() for inline_form in formset.forms):
            raise ImproperlyConfigured(f"{type(self).__name__}: inlines here are read-only.")
        # Nothing written, as Django's change message reads it.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if not self.may(request, "delete", obj):
            raise PermissionDenied
        self.adapter.delete_row(obj, acting_user=acting_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)

    def run_each(
        self,
        request: HttpRequest,
        rows: Any,
        *,
        action: str,
        service: Callable[[Any], object],
        done_message: str,
    ) -> None:
        """Run a service row by row, each in its own transaction, checking ``action``
        on the row; report what was done and what was refused."""
        run_on_each(
            self,
            request,
            rows,
            allowed=lambda obj: self.may(request, action, obj),
            service=service,
            done_message=done_message,
        )


# --- categories ----------------------------------------------------------------------------


CATEGORY_ADAPTER = ServiceAdapter[Category](
    permissions={"view": "store", "add": "store", "change": "store", "delete": "store"},
    create=lambda data, user: services.category_create(
        acting_user=user,
        name=data["name"],
        slug=data.get("slug") or "",
        parent=data.get("parent"),
        position=data.get("position") or 0,
    ),
    update=lambda category, changes, user: services.category_update(
        category=category, acting_user=user, changes=changes
    ),
    delete=lambda category, user: services.category_delete(category=category, acting_user=user),
    update_fields=services.CATEGORY_FIELDS,
)


@admin.register(Category)
class CategoryAdmin(MarketScopedAdmin):
    """The category tree: super admins only."""

    adapter = CATEGORY_ADAPTER
    super_admin_actions = frozenset({"view", "add", "change", "delete"})
    list_display = ("name", "slug", "parent", "position")
    list_select_related = ("parent",)
    search_fields = ("name", "slug")
    ordering = ("parent__name", "position", "name")
    fields = ("name", "slug", "parent", "position")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return queryset if permissions.is_super_admin(request.user) else queryset.none()

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Whether a category may go (no products, no children) is the service's call,
        # answered as a message.
        to_delete, model_count, _perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        return to_delete, model_count, set(), protected


# --- markets -------------------------------------------------------------------------------


MARKET_ADAPTER = ServiceAdapter[Market](
    permissions={"view": "store", "change": "store"},
    update=lambda market, changes, user: services.market_update(
        market=market, acting_user=user, changes=changes
    ),
    update_fields=services.MARKET_FIELDS,
)


@admin.register(Market)
class MarketAdmin(MarketScopedAdmin):
    """Markets are opened by their owners (the pages or the API); here their owner
    edits them and a super admin verifies them."""

    market_field = "id"
    adapter = MARKET_ADAPTER
    owner_actions = frozenset({"change"})
    list_display = ("name", "owner", "makerspace", "verified", "is_active", "rating", "created_at")
    list_filter = ("verified", "is_active")
    list_select_related = ("owner", "makerspace")
    search_fields = ("name", "slug", "owner__email", "owner__name")
    ordering = ("name",)
    fields = (
        "name",
        "slug",
        "owner",
        "makerspace",
        "description",
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
        "verified",
        "verified_at",
        "rating",
        "total_orders",
        "total_revenue",
    )
    readonly_fields = (
        "owner",
        "makerspace",
        "verified",
        "verified_at",
        "rating",
        "total_orders",
        "total_revenue",
    )
    actions = ("verify_markets", "unverify_markets")

    def has_verify_permission(self, request: HttpRequest) -> bool:
        return permissions.is_super_admin(request.user)

    def _set_verified(self, request: HttpRequest, queryset: QuerySet, verified: bool) -> None:
        if not permissions.is_super_admin(request.user):
            raise PermissionDenied
        user = acting_user(request)
        self.run_each(
            request,
            queryset,
            action="change",
            service=lambda market: services.market_verify(
                market=market, acting_user=user, verified=verified
            ),
            done_message=gettext("Verified") if verified else gettext("Verification taken back"),
        )

    @admin.action(description=_("Verify the selected markets"), permissions=["verify"])
    def verify_markets(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        self._set_verified(request, queryset, True)

    @admin.action(description=_("Take back the verification"), permissions=["verify"])
    def unverify_markets(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        self._set_verified(request, queryset, False)


# --- products and their stock --------------------------------------------------------------


class ProductAdminForm(forms.ModelForm):
    """A product's details; its stock is never a field here. A new product's starting
    stock is the ledger's first movement."""

    opening_stock = forms.IntegerField(
        label=_("opening stock"),
        required=False,
        min_value=0,
        help_text=_("Recorded as the first movement of the stock ledger."),
    )

    class Meta:
        model = Product
        fields = ("market", *services.PRODUCT_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = _("Left empty, it is made from the name.")

    def _post_clean(self) -> None:
        # The row is checked and written by the service (uniqueness of the slug and the
        # SKU with the market it knows, even when the market field is read-only).
        pass


def _product_create(data: dict[str, Any], user: Any) -> Product:
    fields = {name: data[name] for name in services.PRODUCT_FIELDS if name in data}
    if not fields.get("slug"):
        fields.pop("slug", None)
    return services.product_create(
        acting_user=user,
        market=data.get("market"),
        category=fields.pop("category"),
        name=fields.pop("name"),
        sku=fields.pop("sku"),
        price=fields.pop("price"),
        opening_stock=data.get("opening_stock") or 0,
        **fields,
    )


PRODUCT_ADAPTER = ServiceAdapter[Product](
    permissions={"view": "store", "add": "store", "change": "store", "delete": "store"},
    create=_product_create,
    update=lambda product, changes, user: services.product_update(
        product=product, acting_user=user, changes=changes
    ),
    delete=lambda product, user: services.product_delete(product=product, acting_user=user),
    update_fields=services.PRODUCT_FIELDS,
    fixed_fields=("market",),
)


class LatestMovementsFormSet(BaseInlineFormSet):
    """Only the latest movements: a product's ledger grows without end."""

    def get_queryset(self) -> Any:
        if not hasattr(self, "_latest_movements"):
            self._latest_movements = super().get_queryset()[:LEDGER_INLINE_LENGTH]
        return self._latest_movements


class StockMovementInline(ReadOnlyTabularInline):
    """The latest movements of the product's ledger, read-only to everyone."""

    model = ProductStockMovement
    formset = LatestMovementsFormSet
    fields = ("position", "created_at", "change", "quantity_after", "reason", "note", "actor")
    readonly_fields = fields
    ordering = ("-position",)
    verbose_name_plural = _("stock ledger, latest 50 movements")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or permissions.may_manage_products(request.user, obj.market_id)


class ProductImageInlineForm(forms.ModelForm):
    """A picture of the product. A new one is checked as the image services check it
    (content, size, pixels); a stored one keeps its file: to change it, remove it and
    add another."""

    # A plain file field: the model's ImageField would judge the file by Django's own
    # check and wording, not by the store's.
    image = forms.FileField(label=_("picture"), allow_empty_file=True)

    class Meta:
        model = ProductImage
        fields = ("image", "alt_text", "position")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checked: product_images.CheckedImage | None = None
        self.fields["position"].required = False
        self.fields["position"].help_text = _("0 is shown first; empty puts a new one last.")
        if not self.instance._state.adding:
            self.fields["image"].disabled = True
            self.fields["image"].required = False
        else:
            self.initial.pop("position", None)

    def clean_image(self) -> Any:
        upload = self.cleaned_data.get("image")
        if self.instance._state.adding and upload:
            self.checked = checked_image(upload)
        return upload

    def _post_clean(self) -> None:
        # The row is written by the image services, which check it themselves.
        pass


class ProductImageFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form
            for form in self.forms
            if not getattr(form, "cleaned_data", {}).get("DELETE", False)
            and (not form.instance._state.adding or getattr(form, "checked", None) is not None)
        ]
        if len(kept) > product_images.max_images():
            raise forms.ValidationError(
                product_images.image_error_text(product_images.too_many_images())
            )


class ProductImageInline(admin.TabularInline):
    """The product's pictures: added, described, ordered and removed through the image
    services (``ProductAdmin.save_formset``)."""

    model = ProductImage
    form = ProductImageInlineForm
    formset = ProductImageFormSet
    fields = ("preview", "image", "alt_text", "position", "width", "height")
    readonly_fields = ("preview", "width", "height")
    ordering = product_images.IMAGE_ORDER
    extra = 1
    verbose_name_plural = _("pictures")

    def get_max_num(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return product_images.max_images()

    @admin.display(description=_("preview"))
    def preview(self, image: ProductImage) -> str:
        if image._state.adding or not image.image:
            return ""
        return format_html(
            '<a href="{url}"><img src="{url}" alt="" width="96"></a>', url=image.image.url
        )

    def _may(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or permissions.may_manage_products(request.user, obj.market_id)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)


# Where a picture goes when no position is given: after every other.
LAST = 1_000_000


class StockChangeActionForm(StockChangeForm):
    """The pages' stock change, applied by the admin to each selected product."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["change"].help_text = _(
            "Positive to add units, negative to take them away; for each product."
        )


class MarketFilter(admin.SimpleListFilter):
    """Offers only the markets the user sees, and the central catalogue to super
    admins."""

    title = _("market")
    parameter_name = "market"
    CENTRAL = "central"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        market_ids = model_admin.market_ids(request)
        markets = Market.objects.order_by("name")
        if market_ids is not None:
            markets = markets.filter(pk__in=list(market_ids))
        choices: list[tuple[str, Any]] = [
            (str(pk), name) for pk, name in markets.values_list("pk", "name")
        ]
        if market_ids is None:
            choices.insert(0, (self.CENTRAL, _("MakrX catalogue")))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if value == self.CENTRAL:
            return queryset.filter(market__isnull=True)
        if value not in {choice for choice, _label in self.lookup_choices}:
            return queryset.none()
        return queryset.filter(market_id=value)


@admin.register(Product)
class ProductAdmin(MarketScopedAdmin):
    form = ProductAdminForm
    adapter = PRODUCT_ADAPTER
    list_display = (
        "name",
        "sku",
        "market",
        "category",
        "effective_price",
        "stock_quantity",
        "is_featured",
        "is_active",
    )
    list_filter = (MarketFilter, "category", "is_featured", "is_active")
    list_select_related = ("market", "category")
    search_fields = ("name", "sku", "slug")
    ordering = ("name",)
    readonly_fields = ("stock_quantity", "rating", "review_count")
    inlines = (StockMovementInline, ProductImageInline)
    actions = ("change_stock",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(ProductAdminForm.Meta.fields)
        if obj is None:
            fields.insert(fields.index("track_inventory"), "opening_stock")
            return fields
        return [*fields, *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        # A product never moves to another market.
        return (*self.readonly_fields, "market")

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return () if obj is None else self.inlines

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: Any) -> None:
        if formset.model is not ProductImage:
            super().save_formset(request, form, formset, change)
            return
        self._save_pictures(request, form.instance, formset)

    def _save_pictures(self, request: HttpRequest, product: Product, formset: Any) -> None:
        """Removals first, then new pictures, then descriptions and the order the
        positions ask for; each through its service."""
        user = acting_user(request)
        removed, added, changed = [], [], []
        wanted: list[tuple[int, int, int, ProductImage]] = []
        try:
            for index, image_form in enumerate(formset.forms):
                image = image_form.instance
                if formset._should_delete_form(image_form):
                    if not image._state.adding:
                        product_images.product_image_remove(image=image, acting_user=user)
                        removed.append(image)
                    continue
                data = getattr(image_form, "cleaned_data", {})
                position = data.get("position")
                if image._state.adding:
                    if image_form.checked is None:
                        continue  # an extra form left empty
                    image = product_images.product_image_add(
                        product=product,
                        upload=image_form.checked,
                        alt_text=data.get("alt_text") or "",
                        acting_user=user,
                    )
                    added.append(image)
                elif "alt_text" in image_form.changed_data:
                    image = product_images.product_image_update(
                        image=image, alt_text=data.get("alt_text") or "", acting_user=user
                    )
                    changed.append((image, ["alt_text"]))
                # A position just typed goes before one it ties with that was not.
                moved = 0 if "position" in image_form.changed_data else 1
                wanted.append((LAST if position is None else position, moved, index, image))
            # In the order asked for; moving each to its place from the first on leaves
            # the ones already placed where they are.
            for place, (*_order, image) in enumerate(sorted(wanted, key=lambda w: w[:3])):
                image.refresh_from_db(fields=["position"])
                if image.position != place:
                    product_images.product_image_move(image=image, position=place, acting_user=user)
        except ApplicationError as error:
            self.message_user(request, product_images.image_error_text(error), messages.WARNING)
        formset.new_objects, formset.changed_objects = added, changed
        formset.deleted_objects = removed

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "market":
            market_ids = self.market_ids(request)
            if market_ids is not None:
                kwargs["queryset"] = Market.objects.filter(pk__in=list(market_ids))
                # Only super admins add to the central catalogue.
                kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("price"), ordering="price")
    def effective_price(self, obj: Product) -> str:
        if obj.sale_price is not None:
            return f"{obj.sale_price} ({obj.price}) {obj.currency}"
        return f"{obj.price} {obj.currency}"

    def has_stock_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "change")

    @admin.action(description=_("Change stock…"), permissions=["stock"])
    def change_stock(
        self, request: HttpRequest, queryset: QuerySet[Product]
    ) -> HttpResponse | None:
        applying = "apply" in request.POST
        form = StockChangeActionForm(request.POST if applying else None)
        if applying and form.is_valid():
            data = form.cleaned_data
            user = acting_user(request)
            self.run_each(
                request,
                queryset,
                action="change",
                service=lambda product: services.product_stock_change(
                    product=product,
                    change=data["change"],
                    reason=data["reason"],
                    note=data["note"],
                    acting_user=user,
                ),
                done_message=gettext("Stock changed"),
            )
            return None
        return action_form_page(
            self,
            request,
            template="store/admin/change_stock.html",
            action="change_stock",
            title=gettext("Change the stock of the selected products"),
            intro=gettext(
                "The change is applied to each selected product and recorded in its stock ledger."
            ),
            button=gettext("Change stock"),
            rows=queryset.select_related("market"),
            form=form,
        )


@admin.register(ProductStockMovement)
class ProductStockMovementAdmin(MarketScopedAdmin):
    """Append-only: movements are written by the stock service and never changed."""

    market_field = "product__market"
    adapter = ServiceAdapter[ProductStockMovement](permissions={"view": "store"})
    list_display = (
        "created_at",
        "product",
        "position",
        "change",
        "quantity_after",
        "reason",
        "actor",
    )
    list_filter = ("reason",)
    list_select_related = ("product", "actor")
    search_fields = ("product__name", "product__sku", "note")
    ordering = ("-created_at", "-id")
    fields = (
        "product",
        "position",
        "change",
        "quantity_after",
        "reason",
        "note",
        "source_type",
        "source_id",
        "actor",
        "created_at",
    )
    readonly_fields = fields


# --- reviews -------------------------------------------------------------------------------


@admin.register(Review)
class ReviewAdmin(MarketScopedAdmin):
    """Reviews are written by buyers on the pages or the API; a market's managers read
    the reviews of their products, a super admin reads all and deletes any."""

    market_field = "product__market"
    adapter = ServiceAdapter[Review](
        permissions={"view": "store", "delete": "store"},
        delete=lambda review, user: services.review_delete(review=review, acting_user=user),
    )
    super_admin_actions = frozenset({"delete"})
    list_display = ("product", "user", "rating", "title", "verified_purchase", "created_at")
    list_filter = ("rating", "verified_purchase")
    list_select_related = ("product", "user")
    search_fields = ("product__name", "title", "comment", "user__email")
    ordering = ("-created_at",)
    fields = ("product", "user", "rating", "title", "comment", "verified_purchase", "created_at")
    readonly_fields = fields


# The admins of the other store modules register themselves on import.
from apps.store.admin import fabrication as _fabrication_admin  # noqa: E402, F401
from apps.store.admin import orders as _orders_admin  # noqa: E402, F401
from apps.store.admin import payments as _payments_admin  # noqa: E402, F401
