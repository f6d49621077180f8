"""The staff admin of stock, scoped to the spaces the staff member runs.

Stock changes only through the stock services (restock, deduct, adjust, receiving a
purchase order), each of which locks the item and writes a ledger movement; the ledger
is read-only to everyone, super admins included. Items are created and edited through
``item_create`` and ``item_update``, so the admin writes the same audit log as the API.
"""

from decimal import Decimal
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import NestedObjects
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin_actions import action_form_page
from apps.core.exceptions import ApplicationError
from apps.inventory import csv_io, selectors, services
from apps.inventory.forms import CsvImportForm, RestockForm
from apps.inventory.models import (
    LOW_STOCK,
    LOW_STOCK_FLAG,
    InventoryItem,
    PurchaseOrder,
    StockMovement,
)
from apps.inventory.templatetags.inventory_tags import quantity_text, signed_quantity_text
from apps.makerspaces.admin_inlines import MakerspaceScopedInline, ServiceInlineFormSet
from apps.makerspaces.admin_scoped import MakerspaceListFilter, MakerspaceScopedAdmin
from apps.makerspaces.admin_services import (
    ServiceAction,
    ServiceAdapter,
    apply_to_each,
    permission_check,
)
from apps.makerspaces.admin_site import acting_user, admin_makerspace_ids, describe_error
from apps.makerspaces.models import Makerspace

LEDGER_INLINE_LENGTH = 50
RECEIVED_NOTE = "Purchase order received"

LOW_BADGE = (
    '<span style="display:inline-block;padding:1px 8px;border-radius:9px;'
    'font-weight:600;color:#fff;background:{};">{}</span>'
)


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _uuid_or_none(value: str | None) -> UUID | None:
    try:
        return UUID(str(value))
    except (TypeError, ValueError):
        return None


def low_stock_badge(is_low: bool) -> SafeString:
    if is_low:
        return format_html(LOW_BADGE, "#ba2121", gettext("Low"))
    return format_html(LOW_BADGE, "#2e7d32", gettext("OK"))


# --- writes: one adapter per model --------------------------------------------------------

INVENTORY_ITEM_ADAPTER = ServiceAdapter[InventoryItem](
    permissions={
        "view": "inventory.view",
        "add": "inventory.create",
        "change": "inventory.update",
        "delete": "inventory.delete",
    },
    create=lambda data, user: services.item_create(
        makerspace=data["makerspace"],
        acting_user=user,
        opening_stock=data.get("opening_stock") or Decimal("0"),
        **{name: data[name] for name in services.ITEM_FIELDS if name in data},
    ),
    update=lambda item, changes, user: services.item_update(
        item=item, acting_user=user, changes=changes
    ),
    delete=lambda item, user: services.item_delete(item=item, acting_user=user),
    update_fields=services.ITEM_FIELDS,
)
# The ledger is written by the stock services only, and read-only to everyone.
LEDGER_ADAPTER = ServiceAdapter[StockMovement](permissions={"view": "inventory.view"})


# --- filters -------------------------------------------------------------------------------


class LowStockFilter(admin.SimpleListFilter):
    title = _("stock level")
    parameter_name = "low_stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Low stock")), ("no", _("Above the minimum"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(LOW_STOCK)
        if self.value() == "no":
            return queryset.exclude(LOW_STOCK)
        return queryset


class ItemFilter(admin.SimpleListFilter):
    """The ledger of one item: offered only once chosen (from the item's page)."""

    title = _("item")
    parameter_name = "item"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        item_id = _uuid_or_none(self.value())
        if item_id is None:
            return []
        space_ids = model_admin.makerspace_ids(request, "view")
        items = InventoryItem.objects.filter(pk=item_id)
        if space_ids is not None:
            items = items.filter(makerspace_id__in=space_ids)
        item = items.first()
        # A filter without choices is dropped together with its value, which would list
        # every movement; an item out of reach filters to nothing instead.
        return [(str(item_id), str(item) if item else gettext("unknown item"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        item_id = _uuid_or_none(self.value())
        if item_id is None:
            raise IncorrectLookupParameters(f"Unknown item {self.value()!r}.")
        return queryset.filter(item_id=item_id)


# --- items ---------------------------------------------------------------------------------


class InventoryItemForm(forms.ModelForm):
    """The item's details; its stock is never a field here. A new item's starting stock
    is the ledger's opening movement."""

    opening_stock = forms.DecimalField(
        label=_("opening stock"),
        required=False,
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=3,
        help_text=_("Recorded as the first movement of the stock ledger."),
    )

    class Meta:
        model = InventoryItem
        fields = (
            "makerspace",
            "name",
            "sku",
            "category",
            "unit",
            "min_stock_level",
            "reorder_quantity",
            "location",
            "supplier",
            "unit_cost",
            "is_active",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        sku = cleaned.get("sku")
        # On a change the space is read-only, so Django's own check of the (space, SKU)
        # constraint skips it; say so here rather than at save time.
        if (
            "makerspace" not in self.fields
            and sku
            and self.instance.makerspace_id
            and selectors.sku_taken(
                makerspace_id=self.instance.makerspace_id, sku=sku, exclude_pk=self.instance.pk
            )
        ):
            self.add_error("sku", _("This makerspace already has an item with this SKU."))
        return cleaned


class LedgerFormSet(ServiceInlineFormSet):
    """Only the latest movements: an item's ledger grows without end."""

    def get_queryset(self) -> Any:
        if not hasattr(self, "_latest_movements"):
            self._latest_movements = super().get_queryset()[:LEDGER_INLINE_LENGTH]
        return self._latest_movements


class StockMovementInline(MakerspaceScopedInline):
    model = StockMovement
    formset = LedgerFormSet
    adapter = LEDGER_ADAPTER
    select_related = ("user", "item")
    fields = ("created_at", "kind", "change", "balance", "reason", "user", "unit_cost")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    can_delete = False
    verbose_name = _("stock movement")
    verbose_name_plural = _("stock ledger, latest 50 movements")

    @admin.display(description=_("change"))
    def change(self, obj: StockMovement) -> str:
        return signed_quantity_text(obj.delta, obj.item.unit)

    @admin.display(description=_("balance after"))
    def balance(self, obj: StockMovement) -> str:
        return quantity_text(obj.balance_after, obj.item.unit)


ADD_FIELDSETS = (
    (None, {"fields": ("makerspace", "name", "sku", "category", "unit")}),
    (_("Stock"), {"fields": ("opening_stock", "min_stock_level", "reorder_quantity")}),
    (_("Purchasing"), {"fields": ("supplier", "unit_cost", "location")}),
)
CHANGE_FIELDSETS = (
    (None, {"fields": ("makerspace", "name", "sku", "category", "unit", "is_active")}),
    (
        _("Stock"),
        {"fields": ("stock", "low_stock", "ledger", "min_stock_level", "reorder_quantity")},
    ),
    (_("Purchasing"), {"fields": ("supplier", "unit_cost", "location")}),
)


@admin.register(InventoryItem)
class InventoryItemAdmin(MakerspaceScopedAdmin):
    form = InventoryItemForm
    adapter = INVENTORY_ITEM_ADAPTER
    list_display = (
        "name",
        "sku",
        "makerspace",
        "category",
        "stock",
        "min_level",
        "low_stock",
        "supplier",
    )
    list_filter = (MakerspaceListFilter, "category", LowStockFilter, "is_active")
    search_fields = ("name", "sku", "supplier")
    list_select_related = ("makerspace",)
    ordering = ("makerspace__name", "name", "sku")
    readonly_fields = ("stock", "low_stock", "ledger")
    inlines = (StockMovementInline,)
    actions = ("restock_selected", "order_suggested", "export_selected_csv")

    def get_queryset(self, request: HttpRequest) -> QuerySet[InventoryItem]:
        return super().get_queryset(request).annotate(low=LOW_STOCK_FLAG)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return ADD_FIELDSETS if obj is None else CHANGE_FIELDSETS

    # -- columns --

    @admin.display(description=_("stock"), ordering="current_stock")
    def stock(self, obj: InventoryItem) -> str:
        return quantity_text(obj.current_stock, obj.unit)

    @admin.display(description=_("minimum"), ordering="min_stock_level")
    def min_level(self, obj: InventoryItem) -> str:
        return quantity_text(obj.min_stock_level, obj.unit)

    @admin.display(description=_("low stock"), ordering="low")
    def low_stock(self, obj: InventoryItem) -> SafeString:
        return low_stock_badge(obj.is_low_stock)

    @admin.display(description=_("stock ledger"))
    def ledger(self, obj: InventoryItem) -> SafeString | str:
        if obj.pk is None:
            return "-"
        count = obj.movements.count()
        url = reverse("admin:inventory_stockmovement_changelist")
        return format_html(
            '<a href="{}?{}">{}</a>',
            url,
            urlencode({"item": str(obj.pk)}),
            ngettext("All %(count)d movement", "All %(count)d movements", count) % {"count": count},
        )

    # -- writes: through the services --

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        has_ledger = obj.movements.exists()
        super().delete_model(request, obj)
        if has_ledger:
            self.message_user(
                request,
                gettext("%(item)s has a stock ledger, so it is deactivated instead of deleted.")
                % {"item": obj},
                messages.WARNING,
            )

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        to_delete, model_count, _perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        if protected:
            # The service keeps an item with a ledger (deactivated), so its movements
            # never stand in the way; anything else protecting it still does.
            collector = NestedObjects(using=router.db_for_write(self.model))
            collector.collect(objs)
            protected = [
                str(blocker)
                for blocker in collector.protected
                if not isinstance(blocker, StockMovement)
            ]
        # What goes with an item (its purchase orders, alerts) is the service's call,
        # made with the item's own delete permission, checked already.
        return to_delete, model_count, set(), protected

    # -- actions --

    has_restock_permission = permission_check("inventory.restock")

    @admin.action(description=_("Restock…"), permissions=["restock"])
    def restock_selected(
        self, request: HttpRequest, queryset: QuerySet[InventoryItem]
    ) -> HttpResponse | None:
        applying = "apply" in request.POST
        form = RestockForm(request.POST if applying else None)
        if applying and form.is_valid():
            data = form.cleaned_data
            user = acting_user(request)
            apply_to_each(
                self,
                request,
                queryset,
                permission="inventory.restock",
                service=lambda item: services.stock_restock(
                    item=item,
                    quantity=data["quantity"],
                    note=data["note"],
                    unit_cost=data["unit_cost"],
                    acting_user=user,
                ),
                done_message=gettext("Restocked"),
            )
            return None
        return action_form_page(
            self,
            request,
            template="admin/inventory/restock.html",
            action="restock_selected",
            title=gettext("Restock the selected items"),
            intro=gettext(
                "The quantity is added to each selected item, in the item's own unit, and "
                "recorded in its stock ledger."
            ),
            button=gettext("Restock"),
            rows=queryset.select_related("makerspace"),
            form=form,
        )

    @admin.action(
        description=_("Create purchase orders for suggested quantities"), permissions=["restock"]
    )
    def order_suggested(self, request: HttpRequest, queryset: QuerySet[InventoryItem]) -> None:
        user = acting_user(request)
        selected = dict(queryset.values_list("pk", "makerspace_id"))
        suggestions: list[InventoryItem] = []
        for makerspace in Makerspace.objects.filter(pk__in=set(selected.values())):
            suggestions += selectors.reorder_suggestions(makerspace).filter(pk__in=list(selected))
        to_order = [item for item in suggestions if getattr(item, "suggested_quantity", 0) > 0]
        apply_to_each(
            self,
            request,
            to_order,
            permission="inventory.restock",
            service=lambda item: services.purchase_order_create(
                item=item,
                quantity=item.suggested_quantity,
                acting_user=user,
            ),
            done_message=gettext("Purchase orders created"),
        )
        skipped = len(selected) - len(to_order)
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d item needs no order: it is not low, or enough is on order.",
                    "%(count)d items need no order: they are not low, or enough is on order.",
                    skipped,
                )
                % {"count": skipped},
                messages.INFO,
            )

    @admin.action(description=_("Export the selected items as CSV"), permissions=["view"])
    def export_selected_csv(
        self, request: HttpRequest, queryset: QuerySet[InventoryItem]
    ) -> HttpResponse | None:
        spaces = list(
            Makerspace.objects.filter(pk__in=queryset.values("makerspace_id").order_by()).order_by(
                "slug"
            )
        )
        if len(spaces) != 1:
            self.message_user(
                request,
                gettext("Export one makerspace at a time: filter by makerspace first."),
                messages.WARNING,
            )
            return None
        return _csv_response(
            csv_io.export_csv(queryset.order_by("name", "sku")),
            f"inventory-{spaces[0].slug}.csv",
        )

    # -- CSV import and export pages --

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_csv_view),
                name="{}_{}_import".format(*info),
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_csv_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def spaces_with(self, request: HttpRequest, permission: str) -> QuerySet[Makerspace]:
        spaces = Makerspace.objects.filter(is_active=True).order_by("name")
        space_ids = admin_makerspace_ids(request.user, permission)
        return spaces if space_ids is None else spaces.filter(pk__in=space_ids)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        export_url = reverse("admin:inventory_inventoryitem_export")
        chosen_space = request.GET.get(MakerspaceListFilter.parameter_name)
        if chosen_space:
            export_url += "?" + urlencode({"makerspace": chosen_space})
        context = {
            "export_url": export_url,
            "may_import": self.holds_anywhere(request, "inventory.create"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def import_csv_view(self, request: HttpRequest) -> HttpResponse:
        spaces = self.spaces_with(request, "inventory.create")
        if not spaces.exists():
            raise PermissionDenied
        form = CsvImportForm(request.POST or None, request.FILES or None, makerspaces=spaces)
        report = None
        if request.method == "POST" and form.is_valid():
            makerspace = form.cleaned_data["makerspace"]
            dry_run = "_import" not in request.POST
            try:
                report = csv_io.import_csv(
                    makerspace=makerspace,
                    text=form.cleaned_data["text"],
                    acting_user=acting_user(request),
                    dry_run=dry_run,
                )
            except ApplicationError as error:
                form.add_error(None, describe_error(error))
            except ValidationError as error:
                form.add_error(None, "; ".join(error.messages))
            else:
                if report.ok and not dry_run:
                    self.message_user(
                        request,
                        gettext(
                            "Imported into %(space)s: %(created)d created, %(updated)d updated, "
                            "%(unchanged)d unchanged."
                        )
                        % {
                            "space": makerspace.name,
                            "created": report.created,
                            "updated": report.updated,
                            "unchanged": report.unchanged,
                        },
                        messages.SUCCESS,
                    )
                    changelist = reverse("admin:inventory_inventoryitem_changelist")
                    return HttpResponseRedirect(
                        f"{changelist}?{urlencode({'makerspace': str(makerspace.pk)})}"
                    )
        checked = report is not None and report.ok and report.dry_run
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import stock from CSV"),
            "opts": self.opts,
            "form": form,
            "report": report,
            "checked_text": form.cleaned_data.get("text", "") if checked else "",
            "checked_space": form.cleaned_data.get("makerspace") if checked else None,
            "columns": csv_io.COLUMNS,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/inventory/import_csv.html", context)

    def export_csv_view(self, request: HttpRequest) -> HttpResponse:
        spaces = self.scoped_makerspaces(request).filter(is_active=True)
        chosen = request.GET.get("makerspace")
        if chosen:
            space_id = _uuid_or_none(chosen)
            makerspace = spaces.filter(pk=space_id).first() if space_id else None
            if makerspace is None:
                raise Http404("No such makerspace.")
        else:
            choices = list(spaces[:2])
            if len(choices) != 1:
                context = {
                    **self.admin_site.each_context(request),
                    "title": gettext("Export stock as CSV"),
                    "opts": self.opts,
                    "spaces": spaces,
                }
                request.current_app = self.admin_site.name
                return TemplateResponse(request, "admin/inventory/export_choose.html", context)
            makerspace = choices[0]
        return _csv_response(
            csv_io.export_csv(selectors.items_of_space(makerspace)),
            f"inventory-{makerspace.slug}.csv",
        )


# --- the ledger ----------------------------------------------------------------------------


@admin.register(StockMovement)
class StockMovementAdmin(MakerspaceScopedAdmin):
    """Append-only: movements are written by the stock services and never changed; a
    mistake is corrected by a new movement (a stock count)."""

    makerspace_field = "item__makerspace"
    adapter = LEDGER_ADAPTER
    list_display = (
        "created_at",
        "item",
        "space",
        "kind",
        "change",
        "balance",
        "user",
        "reason",
    )
    list_filter = (MakerspaceListFilter, ItemFilter, "kind", "created_at")
    search_fields = ("item__name", "item__sku", "reason", "job_id")
    list_select_related = ("item__makerspace", "user")
    ordering = ("-created_at", "-id")
    fields = (
        "item",
        "kind",
        "change",
        "balance",
        "reason",
        "user",
        "unit_cost",
        "purchase_order",
        "job_id",
        "project_id",
        "source_type",
        "source_id",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description=_("makerspace"), ordering="item__makerspace__name")
    def space(self, obj: StockMovement) -> str:
        return obj.item.makerspace.name

    @admin.display(description=_("change"), ordering="delta")
    def change(self, obj: StockMovement) -> str:
        return signed_quantity_text(obj.delta, obj.item.unit)

    @admin.display(description=_("balance after"))
    def balance(self, obj: StockMovement) -> str:
        return quantity_text(obj.balance_after, obj.item.unit)


# --- purchase orders -----------------------------------------------------------------------


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(MakerspaceScopedAdmin):
    """Orders are placed and then received (which restocks the item) or cancelled; an
    order is never edited."""

    makerspace_field = "item__makerspace"
    scoped_foreign_keys = {"item": "makerspace"}
    adapter = ServiceAdapter[PurchaseOrder](
        permissions={"view": "inventory.view", "add": "inventory.restock"},
        create=lambda data, user: services.purchase_order_create(
            item=data["item"],
            quantity=data["quantity"],
            supplier=data.get("supplier", ""),
            acting_user=user,
        ),
    )
    list_display = (
        "item",
        "space",
        "ordered",
        "supplier",
        "status",
        "created_by",
        "created_at",
        "received_at",
    )
    list_filter = (MakerspaceListFilter, "status")
    search_fields = ("item__name", "item__sku", "supplier")
    list_select_related = ("item__makerspace", "created_by")
    ordering = ("-created_at",)
    autocomplete_fields = ("item",)
    readonly_fields = ("status", "created_by", "created_at", "received_at")
    actions = ("mark_received", "cancel_orders")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("item", "quantity", "supplier")
        return ("item", "quantity", "supplier", *self.readonly_fields)

    @admin.display(description=_("makerspace"), ordering="item__makerspace__name")
    def space(self, obj: PurchaseOrder) -> str:
        return obj.item.makerspace.name

    @admin.display(description=_("quantity"), ordering="quantity")
    def ordered(self, obj: PurchaseOrder) -> str:
        return quantity_text(obj.quantity, obj.item.unit)

    mark_received = ServiceAction(
        description=_("Mark received (restocks the ordered quantity)"),
        permission="inventory.restock",
        rows=lambda orders: orders.select_related("item"),
        run=lambda order, user: services.stock_restock(
            item=order.item,
            quantity=order.quantity,
            note=RECEIVED_NOTE,
            purchase_order=order,
            acting_user=user,
        ),
        done=_("Received"),
    )
    cancel_orders = ServiceAction(
        description=_("Cancel the selected orders"),
        permission="inventory.restock",
        rows=lambda orders: orders.select_related("item"),
        run=lambda order, user: services.purchase_order_cancel(order=order, acting_user=user),
        done=_("Cancelled"),
    )
