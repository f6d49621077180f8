"""Orders and vouchers in the staff admin, scoped like the rest of the store's admin: a
market's owner and staff see their market's orders and vouchers, a super admin all of
them (and alone the central catalogue's orders and the store-wide vouchers).

Orders are written by checkout and the payment, so nobody edits them here; actions
move them along through the orders' services (``order_transition``), cancel them
(``cancellations.order_cancel_and_refund``: the stock back, a paid order's money
back) and refund them (``payments.refund_create``). Cancelling and refunding may
call the payment provider, so those run outside any transaction, one order at a
time. Vouchers are written through ``vouchers_admin``.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin_actions import action_form_page
from apps.core.admin_inlines import ReadOnlyTabularInline
from apps.makerspaces.admin_services import ServiceAdapter, run_on_each
from apps.makerspaces.admin_site import acting_user
from apps.store import permissions
from apps.store.admin import MarketFilter, MarketScopedAdmin
from apps.store.models import Market, Order, OrderItem, OrderStatus, Voucher
from apps.store.services import cancellations, orders, payments, vouchers_admin

# --- orders -------------------------------------------------------------------------------


class OrderItemInline(ReadOnlyTabularInline):
    """What the order sold, as checkout wrote it: read-only to everyone."""

    model = OrderItem
    fields = ("name", "sku", "product", "fabrication_job", "unit_price", "quantity", "line_total")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("product", "fabrication_job")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or orders.may_fulfil(request.user, obj)


class ShipActionForm(forms.Form):
    tracking_number = forms.CharField(
        label=_("tracking number"),
        required=False,
        max_length=orders.TRACKING_NUMBER_LENGTH,
        help_text=_("Needed for orders sent by post; given to each selected order."),
    )


class CancelActionForm(forms.Form):
    reason = forms.CharField(label=_("reason"), required=False, max_length=300)


class RefundActionForm(forms.Form):
    amount = forms.DecimalField(
        label=_("amount"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text=_("For each selected order; left empty, everything that is left of it."),
    )
    reason = forms.CharField(label=_("reason"), required=False, max_length=300)


ORDER_FIELDS = (
    "order_number",
    "user",
    "market",
    "payment",
    "status",
    "payment_status",
    "fulfillment_status",
    "shipping_method",
    "tracking_number",
    "subtotal",
    "discount_amount",
    "tax_amount",
    "shipping_amount",
    "total_amount",
    "amount_refunded",
    "currency",
    "voucher",
    "shipping_address",
    "billing_address",
    "expires_at",
    "paid_at",
    "stock_released_at",
    "locale",
    "created_at",
)


@admin.register(Order)
class OrderAdmin(MarketScopedAdmin):
    """A market's orders for its owner and staff to fulfil: mark them processing,
    shipped (with the tracking number) and delivered, cancel them, refund them."""

    adapter = ServiceAdapter[Order](permissions={"view": "store"})
    list_display = (
        "order_number",
        "buyer",
        "seller",
        "status",
        "payment_status",
        "fulfillment_status",
        "total",
        "created_at",
    )
    list_filter = (
        "status",
        "payment_status",
        "fulfillment_status",
        "shipping_method",
        MarketFilter,
    )
    list_select_related = ("user", "market")
    search_fields = ("=order_number", "user__email")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    fields = ORDER_FIELDS
    readonly_fields = ORDER_FIELDS
    inlines = (OrderItemInline,)
    actions = (
        "mark_processing",
        "mark_shipped",
        "mark_delivered",
        "cancel_orders",
        "refund_orders",
    )

    def may(self, request: HttpRequest, action: str, obj: Any = None) -> bool:
        if action != "fulfil":
            return super().may(request, action, obj)
        if obj is None:
            return permissions.is_super_admin(request.user) or bool(
                permissions.managed_market_ids(request.user)
            )
        return orders.may_fulfil(request.user, obj)

    def has_fulfil_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "fulfil")

    @admin.display(description=_("buyer"), ordering="user__email")
    def buyer(self, obj: Order) -> str:
        return obj.user.email

    @admin.display(description=_("market"), ordering="market__name")
    def seller(self, obj: Order) -> str:
        return obj.market.name if obj.market is not None else gettext("MakrX catalogue")

    @admin.display(description=_("total"), ordering="total_amount")
    def total(self, obj: Order) -> str:
        return f"{obj.total_amount} {obj.currency}"

    # -- moving orders along --

    def _move(self, request: HttpRequest, queryset: QuerySet, to: str, tracking: str = "") -> None:
        user = acting_user(request)
        self.run_each(
            request,
            queryset,
            action="fulfil",
            service=lambda order: orders.order_transition(
                order=order, to=to, acting_user=user, tracking_number=tracking
            ),
            done_message=gettext("Orders moved to %(status)s") % {"status": OrderStatus(to).label},
        )

    @admin.action(description=_("Mark as processing"), permissions=["fulfil"])
    def mark_processing(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.PROCESSING)

    @admin.action(description=_("Mark as shipped…"), permissions=["fulfil"])
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        return self._with_form(
            request,
            queryset,
            form_class=ShipActionForm,
            action="mark_shipped",
            title=gettext("Ship the selected orders"),
            button=gettext("Mark as shipped"),
            apply=lambda data: self._move(
                request, queryset, OrderStatus.SHIPPED, data["tracking_number"]
            ),
        )

    @admin.action(description=_("Mark as delivered"), permissions=["fulfil"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._move(request, queryset, OrderStatus.DELIVERED)

    # -- cancelling and refunding: may call the provider, so outside transactions --

    def _each_outside_transactions(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        service: Callable[[Order], object],
        done_message: str,
    ) -> None:
        run_on_each(
            self,
            request,
            queryset.select_related("market").order_by("created_at"),
            allowed=lambda order: orders.may_fulfil(request.user, order),
            service=service,
            done_message=done_message,
            atomic=False,
        )

    @admin.action(description=_("Cancel (and refund what was paid)…"), permissions=["fulfil"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        user = acting_user(request)
        return self._with_form(
            request,
            queryset,
            form_class=CancelActionForm,
            action="cancel_orders",
            title=gettext("Cancel the selected orders"),
            intro=gettext("Their stock goes back on sale; what a buyer paid is refunded in full."),
            button=gettext("Cancel the orders"),
            apply=lambda data: self._each_outside_transactions(
                request,
                queryset,
                service=lambda order: cancellations.order_cancel_and_refund(
                    order=order, acting_user=user, reason=data["reason"]
                ),
                done_message=gettext("Orders cancelled"),
            ),
        )

    @admin.action(description=_("Refund…"), permissions=["fulfil"])
    def refund_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        user = acting_user(request)
        return self._with_form(
            request,
            queryset,
            form_class=RefundActionForm,
            action="refund_orders",
            title=gettext("Refund the selected orders"),
            intro=gettext("The money goes back through the payment provider."),
            button=gettext("Refund"),
            apply=lambda data: self._each_outside_transactions(
                request,
                queryset,
                service=lambda order: payments.refund_create(
                    order=order,
                    amount=data["amount"],
                    reason=data["reason"],
                    acting_user=user,
                ),
                done_message=gettext("Orders refunded"),
            ),
        )

    def _with_form(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        form_class: type[forms.Form],
        action: str,
        title: str,
        button: str,
        apply: Callable[[dict[str, Any]], None],
        intro: str = "",
    ) -> HttpResponse | None:
        """An action that asks for a few fields on an intermediate page first."""
        applying = "apply" in request.POST
        form = form_class(request.POST if applying else None)
        if applying and form.is_valid():
            apply(form.cleaned_data)
            return None
        return action_form_page(
            self,
            request,
            template="store/admin/order_action.html",
            action=action,
            title=title,
            intro=intro,
            button=button,
            rows=queryset.select_related("market", "user"),
            form=form,
        )


# --- vouchers -----------------------------------------------------------------------------


class VoucherAdminForm(forms.ModelForm):
    class Meta:
        model = Voucher
        fields = (
            "market",
            "code",
            "kind",
            "value",
            "valid_from",
            "valid_until",
            "minimum_order",
            "max_uses",
            "max_uses_per_user",
            "is_active",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "market" in self.fields:
            self.fields["market"].help_text = _("Left empty: store-wide (super admins only).")

    def _post_clean(self) -> None:
        # The voucher is checked and written by its service (the code's uniqueness
        # without regard to case, the limits against the uses counted so far).
        pass


def _voucher_create(data: dict[str, Any], user: Any) -> Voucher:
    fields = {name: data[name] for name in vouchers_admin.VOUCHER_FIELDS if name in data}
    return vouchers_admin.voucher_create(
        acting_user=user,
        market=data.get("market"),
        code=fields.pop("code"),
        kind=fields.pop("kind"),
        value=fields.pop("value"),
        **fields,
    )


VOUCHER_ADAPTER = ServiceAdapter[Voucher](
    permissions={"view": "store", "add": "store", "change": "store", "delete": "store"},
    create=_voucher_create,
    update=lambda voucher, changes, user: vouchers_admin.voucher_update(
        voucher=voucher, acting_user=user, changes=changes
    ),
    delete=lambda voucher, user: vouchers_admin.voucher_delete(voucher=voucher, acting_user=user),
    update_fields=vouchers_admin.VOUCHER_FIELDS,
    fixed_fields=("market",),
)


@admin.register(Voucher)
class VoucherAdmin(MarketScopedAdmin):
    """Discount codes: a market's owner and staff manage their market's, a super admin
    every one and the store-wide ones. A voucher ever used is deactivated, not
    deleted."""

    form = VoucherAdminForm
    adapter = VOUCHER_ADAPTER
    list_display = (
        "code",
        "market",
        "kind",
        "value",
        "valid_from",
        "valid_until",
        "times_used",
        "max_uses",
        "is_active",
    )
    list_filter = (MarketFilter, "kind", "is_active")
    list_select_related = ("market",)
    search_fields = ("code",)
    ordering = ("code",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(VoucherAdminForm.Meta.fields)
        return fields if obj is None else [*fields, "times_used"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A voucher never moves to another market.
        return () if obj is None else ("market", "times_used")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "market":
            market_ids = self.market_ids(request)
            if market_ids is not None:
                kwargs["queryset"] = Market.objects.filter(pk__in=sorted(market_ids))
                # Only super admins make store-wide vouchers.
                kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
