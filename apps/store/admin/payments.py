"""Payments in the staff admin: read-only, with their orders, refunds and provider
events, and an action that refunds what is left of them.

A payment may cover orders of several markets (one checkout), so a market's owner or
staff sees the payments that include an order of their market, and of each only
their own orders and refunds; the provider's events (whole payloads) and the payment
event log are for super admins. Refunds go through ``payments.refund_create``, which
checks who may refund each order and calls the provider outside any transaction.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.admin_actions import action_form_page
from apps.core.admin_inlines import ReadOnlyTabularInline
from apps.core.exceptions import ApplicationError
from apps.makerspaces.admin_services import ServiceAdapter
from apps.makerspaces.admin_site import acting_user, describe_error
from apps.store import permissions
from apps.store.admin import MarketScopedAdmin
from apps.store.models import Order, Payment, PaymentEvent, PaymentStatus, Refund
from apps.store.services import payments

REFUNDABLE = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)


class _ReadOnlyInline(ReadOnlyTabularInline):
    """Rows of the payment the user may see (``get_queryset`` scopes them); the
    payment's own admin decides who opens the payment."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.is_super_admin(request.user) or bool(
            permissions.managed_market_ids(request.user)
        )


def _scoped(request: HttpRequest, queryset: QuerySet, market_path: str) -> QuerySet:
    """Rows of the markets the user runs; every row for a super admin."""
    if permissions.is_super_admin(request.user):
        return queryset
    managed = permissions.managed_market_ids(request.user)
    return queryset.filter(**{f"{market_path}__in": sorted(managed)})


class PaymentOrderInline(_ReadOnlyInline):
    model = Order
    fields = (
        "order_number",
        "market",
        "status",
        "payment_status",
        "total_amount",
        "amount_refunded",
        "currency",
    )
    readonly_fields = fields
    verbose_name_plural = _("orders")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = super().get_queryset(request).select_related("market")
        return _scoped(request, rows, "market_id")


class RefundInline(_ReadOnlyInline):
    model = Refund
    fields = ("created_at", "order", "amount", "status", "reason", "created_by")
    readonly_fields = fields
    verbose_name_plural = _("refunds")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = super().get_queryset(request).select_related("order", "created_by")
        return _scoped(request, rows, "order__market_id")


class PaymentEventInline(_ReadOnlyInline):
    model = PaymentEvent
    fields = ("created_at", "provider", "event_type", "event_id")
    readonly_fields = fields
    verbose_name_plural = _("provider events")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.is_super_admin(request.user)


class RefundActionForm(forms.Form):
    reason = forms.CharField(label=_("reason"), required=False, max_length=300)


@admin.register(Payment)
class PaymentAdmin(MarketScopedAdmin):
    """Payments are made by checkout and settled by the provider; nobody edits them.
    The refund action gives back what is left of each order the user may refund."""

    adapter = ServiceAdapter[Payment](permissions={"view": "store"})
    list_display = ("created_at", "user", "provider", "status", "amount", "amount_refunded")
    list_filter = ("provider", "status")
    list_select_related = ("user",)
    search_fields = ("provider_reference", "user__email", "orders__order_number")
    ordering = ("-created_at",)
    fields = (
        "user",
        "provider",
        "provider_reference",
        "status",
        "amount",
        "amount_refunded",
        "currency",
        "paid_at",
        "failure_message",
        "created_at",
    )
    readonly_fields = fields
    inlines = (PaymentOrderInline, RefundInline, PaymentEventInline)
    actions = ("refund_payments",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if permissions.is_super_admin(request.user):
            return queryset
        managed = permissions.managed_market_ids(request.user)
        return queryset.filter(
            pk__in=Order.objects.filter(market_id__in=sorted(managed)).values("payment_id")
        )

    def may(self, request: HttpRequest, action: str, obj: Any = None) -> bool:
        if action not in self.adapter.permissions:
            return False
        if permissions.is_super_admin(request.user):
            return True
        managed = permissions.managed_market_ids(request.user)
        if obj is None:
            return bool(managed)
        market_ids = obj.orders.exclude(market=None).values_list("market_id", flat=True)
        return any(str(market_id) in managed for market_id in market_ids)

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "view")

    def _refund_each(self, request: HttpRequest, queryset: QuerySet, reason: str) -> None:
        """Each refundable order the user may refund, one service call each (its own
        transactions, the provider asked outside them)."""
        user = acting_user(request)
        orders = Order.objects.filter(
            payment__in=queryset, payment_status__in=REFUNDABLE
        ).select_related("market")
        done, refused = 0, []
        for order in orders.order_by("created_at"):
            if not permissions.may_manage_products(user, order.market_id):
                continue
            try:
                payments.refund_create(order=order, amount=None, reason=reason, acting_user=user)
            except ApplicationError as error:
                refused.append(f"{order}: {describe_error(error)}")
                continue
            done += 1
        if done:
            self.message_user(request, gettext("Orders refunded: %d.") % done, messages.SUCCESS)
        if refused:
            self.message_user(
                request, gettext("Not done: %s") % "; ".join(refused), messages.WARNING
            )
        if not done and not refused:
            self.message_user(request, gettext("Nothing left to refund."), messages.INFO)

    @admin.action(description=_("Refund what is left…"), permissions=["refund"])
    def refund_payments(
        self, request: HttpRequest, queryset: QuerySet[Payment]
    ) -> HttpResponse | None:
        applying = "apply" in request.POST
        form = RefundActionForm(request.POST if applying else None)
        if applying and form.is_valid():
            self._refund_each(request, queryset, form.cleaned_data["reason"])
            return None
        return action_form_page(
            self,
            request,
            template="store/admin/refund_payments.html",
            action="refund_payments",
            title=gettext("Refund the selected payments"),
            intro=gettext(
                "Each order of these payments that you may refund gets back what is left of "
                "its total, through the payment provider."
            ),
            button=gettext("Refund"),
            rows=queryset.select_related("user"),
            form=form,
        )


@admin.register(PaymentEvent)
class PaymentEventAdmin(MarketScopedAdmin):
    """The provider's events as received, once each: super admins only."""

    adapter = ServiceAdapter[PaymentEvent](permissions={"view": "store"})
    super_admin_actions = frozenset({"view"})
    list_display = ("created_at", "provider", "event_type", "event_id", "payment")
    list_filter = ("provider", "event_type")
    search_fields = ("event_id", "event_type")
    ordering = ("-created_at",)
    fields = ("created_at", "provider", "event_type", "event_id", "payment", "payload")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return queryset if permissions.is_super_admin(request.user) else queryset.none()
