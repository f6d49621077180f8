"""Stock pages for the people who run a space: the item list with low stock marked, an
item's page with its ledger and the restock / deduct / count forms, and the reorder
suggestions with their CSV and "order" buttons.

Members of a space may look (``inventory.view``) at what is in stock and where; supplier,
cost, orders, reorder suggestions and who moved stock are for staff
(``selectors.sees_purchasing`` and ``sees_who``). Every change needs its own right and
goes through the stock services, so these pages, the API and the admin cannot disagree.
To anyone outside the space, its stock does not exist (404).
"""

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.core.api.actors import acting_user
from apps.core.exceptions import ApplicationError
from apps.core.permissions import has_makerspace_permission, makerspace_ids_with, role_in
from apps.inventory import selectors, services
from apps.inventory.forms import (
    AdjustForm,
    DeductForm,
    ItemFilterForm,
    PurchaseOrderForm,
    RestockForm,
)
from apps.inventory.models import (
    InventoryItem,
    PurchaseOrder,
    PurchaseOrderStatus,
    low_stock_q,
)
from apps.inventory.templatetags.inventory_tags import quantity_text
from apps.makerspaces.models import Makerspace
from apps.makerspaces.selectors import active_makerspace

ITEMS_PAGE_SIZE = 50
LEDGER_PAGE_SIZE = 25
SUGGESTIONS_PAGE_SIZE = 50
RECEIVED_NOTE = "Purchase order received"
SUGGESTION_COLUMNS = [
    "item",
    "sku",
    "name",
    "unit",
    "current_stock",
    "min_stock_level",
    "reorder_quantity",
    "on_order",
    "suggested_quantity",
    "supplier",
]

# Service messages are English API text. The pages word the codes they expect in the
# reader's language and fall back to the service's own message for anything else.
ERROR_MESSAGES = {
    "ORDER_CLOSED": gettext_lazy("This purchase order is already closed."),
}


def _error_text(exc: ApplicationError, item: InventoryItem | None = None) -> str:
    shortages = exc.details.get("items") or []
    if exc.code == "INSUFFICIENT_STOCK" and item is not None and shortages:
        return _(
            "Not enough %(item)s in stock: %(available)s available, %(requested)s asked for. "
            "Nothing was taken."
        ) % {
            "item": item.name,
            "available": quantity_text(Decimal(shortages[0]["available"]), item.unit),
            "requested": quantity_text(Decimal(shortages[0]["requested"]), item.unit),
        }
    if exc.code == "VALIDATION_ERROR" and exc.details:
        return " ".join(
            " ".join(str(problem) for problem in problems)
            if isinstance(problems, list | tuple)
            else str(problems)
            for problems in exc.details.values()
        )
    wording = ERROR_MESSAGES.get(exc.code)
    return str(wording) if wording else exc.message


def _space_or_404(
    request: HttpRequest, slug: str, permission: str = "inventory.view"
) -> Makerspace:
    """The space if the caller holds ``permission`` there: 404 to outsiders (another
    tenant's stock does not exist for them), 403 to members without the right."""
    makerspace = active_makerspace(slug)
    if makerspace is None:
        raise Http404("No such makerspace.")
    if has_makerspace_permission(request.user, makerspace, permission):
        return makerspace
    if role_in(request.user, makerspace) is None:
        raise Http404("No such makerspace.")
    raise PermissionDenied


def _item_or_404(makerspace: Makerspace, item_id: UUID) -> InventoryItem:
    item = (
        selectors.items_of_space(makerspace, include_inactive=True)
        .select_related("makerspace")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise Http404("No such item.")
    return item


def _rights(request: HttpRequest, makerspace: Makerspace) -> dict[str, bool]:
    rights = {
        action: has_makerspace_permission(request.user, makerspace, f"inventory.{action}")
        for action in ("restock", "deduct", "adjust", "update")
    }
    rights["see_purchasing"] = selectors.sees_purchasing(request.user, makerspace)
    rights["see_who"] = selectors.sees_who(request.user, makerspace)
    return rights


def _form_errors_text(form: Form) -> str:
    parts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else None
        text = " ".join(str(error) for error in errors)
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


# --- which spaces ---------------------------------------------------------------------------


@login_required
def index_page(request: HttpRequest) -> HttpResponse:
    """The spaces whose stock the user may see, with how many items are low."""
    user = acting_user(request)
    spaces = Makerspace.objects.filter(is_active=True)
    if not user.is_superuser:
        spaces = spaces.filter(pk__in=makerspace_ids_with(user, "inventory.view"))
    spaces = spaces.annotate(
        low_count=Count(
            "inventory_items",
            filter=Q(inventory_items__is_active=True) & low_stock_q("inventory_items__"),
        )
    ).order_by("name")
    return render(request, "inventory/index.html", {"spaces": spaces})


# --- the item list --------------------------------------------------------------------------


@login_required
def item_list_page(request: HttpRequest, slug: str) -> HttpResponse:
    makerspace = _space_or_404(request, slug)
    form = ItemFilterForm(request.GET)
    form.is_valid()
    criteria = form.cleaned_data
    rights = _rights(request, makerspace)
    if not rights["see_purchasing"]:
        form.fields["q"].widget.attrs["placeholder"] = _("Name or SKU")
    items = selectors.items_of_space(
        makerspace,
        search=criteria.get("q", ""),
        low_stock=True if criteria.get("low") else None,
        search_supplier=rights["see_purchasing"],
    )
    page = Paginator(items, ITEMS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "makerspace": makerspace,
        "form": form,
        "page": page,
        "is_filtered": bool(criteria.get("q") or criteria.get("low")),
        "rights": rights,
    }
    return render(request, "inventory/item_list.html", context)


# --- an item --------------------------------------------------------------------------------


def _render_item(
    request: HttpRequest,
    makerspace: Makerspace,
    item: InventoryItem,
    *,
    forms: dict[str, Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    forms = forms or {}
    rights = _rights(request, makerspace)
    ledger = Paginator(selectors.movements_of_item(item), LEDGER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    open_orders = (
        item.purchase_orders.filter(status=PurchaseOrderStatus.OPEN).order_by("created_at")
        if rights["see_purchasing"]
        else PurchaseOrder.objects.none()
    )
    context = {
        "makerspace": makerspace,
        "item": item,
        "ledger": ledger,
        "page": ledger,
        "rights": rights,
        "restock_form": forms.get("restock") or RestockForm(prefix="restock"),
        "deduct_form": forms.get("deduct") or DeductForm(prefix="deduct"),
        "adjust_form": forms.get("adjust")
        or AdjustForm(prefix="adjust", initial={"new_stock": item.current_stock}),
        "open_orders": open_orders,
    }
    return render(request, "inventory/item.html", context, status=status)


@login_required
def item_page(request: HttpRequest, slug: str, item_id: UUID) -> HttpResponse:
    makerspace = _space_or_404(request, slug)
    return _render_item(request, makerspace, _item_or_404(makerspace, item_id))


def _stock_change(
    request: HttpRequest,
    slug: str,
    item_id: UUID,
    *,
    action: str,
    form_class: type[Form],
    change: Callable[[InventoryItem, dict[str, Any], User], Any],
    done: Callable[[InventoryItem], str],
) -> HttpResponse:
    makerspace = _space_or_404(request, slug, f"inventory.{action}")
    item = _item_or_404(makerspace, item_id)
    form = form_class(request.POST, prefix=action)
    if not form.is_valid():
        return _render_item(request, makerspace, item, forms={action: form}, status=400)
    try:
        change(item, form.cleaned_data, acting_user(request))
    except ApplicationError as exc:
        fields = [field for field in exc.details if field in form.fields]
        if exc.code == "VALIDATION_ERROR" and fields:
            # A limit only the service can judge (the stock a restock would leave) is
            # shown on the form that asked for it, with the values kept.
            for field in fields:
                for problem in exc.details[field]:
                    form.add_error(field, str(problem))
            return _render_item(request, makerspace, item, forms={action: form}, status=400)
        messages.error(request, _error_text(exc, item))
    else:
        item.refresh_from_db(fields=["current_stock"])
        messages.success(request, done(item))
    return redirect("inventory:item", slug=makerspace.slug, item_id=item.pk)


def _stock_now(item: InventoryItem) -> str:
    return quantity_text(item.current_stock, item.unit)


@login_required
@require_POST
def restock_page(request: HttpRequest, slug: str, item_id: UUID) -> HttpResponse:
    return _stock_change(
        request,
        slug,
        item_id,
        action="restock",
        form_class=RestockForm,
        change=lambda item, data, user: services.stock_restock(
            item=item,
            quantity=data["quantity"],
            note=data["note"],
            unit_cost=data["unit_cost"],
            acting_user=user,
        ),
        done=lambda item: _("Restocked: %(item)s now has %(stock)s.")
        % {"item": item.name, "stock": _stock_now(item)},
    )


@login_required
@require_POST
def deduct_page(request: HttpRequest, slug: str, item_id: UUID) -> HttpResponse:
    return _stock_change(
        request,
        slug,
        item_id,
        action="deduct",
        form_class=DeductForm,
        change=lambda item, data, user: services.stock_deduct(
            item=item, quantity=data["quantity"], reason=data["reason"], acting_user=user
        ),
        done=lambda item: _("Taken out: %(item)s now has %(stock)s.")
        % {"item": item.name, "stock": _stock_now(item)},
    )


@login_required
@require_POST
def adjust_page(request: HttpRequest, slug: str, item_id: UUID) -> HttpResponse:
    return _stock_change(
        request,
        slug,
        item_id,
        action="adjust",
        form_class=AdjustForm,
        change=lambda item, data, user: services.stock_adjust(
            item=item, new_stock=data["new_stock"], reason=data["reason"], acting_user=user
        ),
        done=lambda item: _("Count recorded: %(item)s has %(stock)s.")
        % {"item": item.name, "stock": _stock_now(item)},
    )


# --- reorder --------------------------------------------------------------------------------


@login_required
def reorder_page(request: HttpRequest, slug: str) -> HttpResponse:
    makerspace = _space_or_404(request, slug, selectors.PURCHASING_PERMISSION)
    suggestions = selectors.reorder_suggestions(makerspace)
    page = Paginator(suggestions, SUGGESTIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    open_orders = (
        PurchaseOrder.objects.filter(item__makerspace=makerspace, status=PurchaseOrderStatus.OPEN)
        .select_related("item", "created_by")
        .order_by("created_at")
    )
    context = {
        "makerspace": makerspace,
        "page": page,
        "open_orders": open_orders,
        "rights": _rights(request, makerspace),
    }
    return render(request, "inventory/reorder.html", context)


@login_required
def reorder_csv(request: HttpRequest, slug: str) -> HttpResponse:
    makerspace = _space_or_404(request, slug, selectors.PURCHASING_PERMISSION)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SUGGESTION_COLUMNS)
    for item in selectors.reorder_suggestions(makerspace):
        writer.writerow(
            [
                item.pk,
                item.sku,
                item.name,
                item.unit,
                item.current_stock,
                item.min_stock_level,
                item.reorder_quantity,
                getattr(item, "on_order", None),
                getattr(item, "suggested_quantity", None),
                item.supplier,
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="reorder-suggestions-{makerspace.slug}.csv"'
    )
    return response


def _back_to_reorder(makerspace: Makerspace) -> HttpResponse:
    return redirect("inventory:reorder", slug=makerspace.slug)


@login_required
@require_POST
def order_create_page(request: HttpRequest, slug: str) -> HttpResponse:
    makerspace = _space_or_404(request, slug, "inventory.restock")
    form = PurchaseOrderForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors_text(form))
        return _back_to_reorder(makerspace)
    item = _item_or_404(makerspace, form.cleaned_data["item"])
    try:
        order = services.purchase_order_create(
            item=item, quantity=form.cleaned_data["quantity"], acting_user=acting_user(request)
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc, item))
    else:
        messages.success(
            request,
            _("Ordered %(quantity)s of %(item)s.")
            % {"quantity": quantity_text(order.quantity, item.unit), "item": item.name},
        )
    return _back_to_reorder(makerspace)


def _order_or_404(makerspace: Makerspace, order_id: UUID) -> PurchaseOrder:
    order = (
        PurchaseOrder.objects.filter(item__makerspace=makerspace, pk=order_id)
        .select_related("item")
        .first()
    )
    if order is None:
        raise Http404("No such purchase order.")
    return order


def _back(request: HttpRequest, makerspace: Makerspace) -> HttpResponse:
    """Back to the item page the form was on, or to the reorder page."""
    target = request.POST.get("next", "")
    prefix = reverse("inventory:list", kwargs={"slug": makerspace.slug})
    if target.startswith(prefix) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return _back_to_reorder(makerspace)


@login_required
@require_POST
def order_receive_page(request: HttpRequest, slug: str, order_id: UUID) -> HttpResponse:
    makerspace = _space_or_404(request, slug, "inventory.restock")
    order = _order_or_404(makerspace, order_id)
    try:
        services.stock_restock(
            item=order.item,
            quantity=order.quantity,
            note=RECEIVED_NOTE,
            purchase_order=order,
            acting_user=acting_user(request),
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc, order.item))
    else:
        messages.success(
            request,
            _("Received %(quantity)s of %(item)s.")
            % {"quantity": quantity_text(order.quantity, order.item.unit), "item": order.item.name},
        )
    return _back(request, makerspace)


@login_required
@require_POST
def order_cancel_page(request: HttpRequest, slug: str, order_id: UUID) -> HttpResponse:
    makerspace = _space_or_404(request, slug, "inventory.restock")
    order = _order_or_404(makerspace, order_id)
    try:
        services.purchase_order_cancel(order=order, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc, order.item))
    else:
        messages.info(
            request, _("The order for %(item)s is cancelled.") % {"item": order.item.name}
        )
    return _back(request, makerspace)
