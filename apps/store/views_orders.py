"""Pages of buying in the store: the cart, the checkout, the test-mode pay page, the
member's orders, and the page where a market's owner and staff fulfil its orders.

As on the other store pages, each view parses the request, calls one service (which
checks the store's permissions again with its ``acting_user``) and renders; a
service's refusal is shown as a message in the reader's language, never as an error
page.
"""

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Q
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
from apps.core.models import AuditLogEntry, IdempotencyRecord
from apps.store import permissions, selectors, stripe_gateway
from apps.store.cart_summary import cart_summary
from apps.store.forms_checkout import (
    AddressForm,
    AddToCartForm,
    CartLineForm,
    CheckoutForm,
    MarketOrderFilterForm,
    OrderMoveForm,
    PayForm,
    RefundForm,
    VoucherForm,
    shipping_field_name,
)
from apps.store.models import (
    Cart,
    CartItem,
    Market,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentProvider,
    PaymentStatus,
    ShippingMethod,
)
from apps.store.services import cancellations, payments
from apps.store.services import cart as cart_services
from apps.store.services import checkout as checkout_services
from apps.store.services import orders as order_services

ORDERS_PAGE_SIZE = 20
MARKET_ORDERS_PAGE_SIZE = 30
CHECKOUT_SCOPE = "store.checkout.page"
CENT = Decimal("0.01")
# A checkout form whose first sending failed gives its token back; this many tries
# cover a sending that fails while another waits for the token.
CLAIM_ATTEMPTS = 3
PAID_STATES = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
REFUNDABLE_STATES = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)
# Orders whose goods the buyer has paid for: they may review what they bought.
REVIEWABLE_STATES = (
    OrderStatus.PAID,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
)
ORDER_LIST_FIELDS = (
    "id",
    "order_number",
    "created_at",
    "status",
    "payment_status",
    "fulfillment_status",
    "total_amount",
    "amount_refunded",
    "currency",
    "shipping_method",
    "tracking_number",
    "market__name",
    "market__slug",
)
MOVE_LABELS: dict[str, Any] = {
    OrderStatus.PAID: gettext_lazy("Cash received"),
    OrderStatus.PROCESSING: gettext_lazy("Start processing"),
    OrderStatus.SHIPPED: gettext_lazy("Mark shipped"),
    OrderStatus.DELIVERED: gettext_lazy("Mark delivered"),
    OrderStatus.CANCELLED: gettext_lazy("Cancel the order"),
}

# Service messages are English API text. The pages word the codes they expect in the
# reader's language, with the figures from the error's details, and fall back to the
# service's own message for anything else.
ERROR_MESSAGES: dict[str, Any] = {
    "INSUFFICIENT_STOCK": gettext_lazy("Only %(available)s of %(product)s available."),
    "PRODUCT_UNAVAILABLE": gettext_lazy("%(product)s is not for sale at the moment."),
    "CURRENCY_MIXED": gettext_lazy(
        "One checkout pays in one currency: check out the products of each currency separately."
    ),
    "CART_EMPTY": gettext_lazy("Your cart is empty."),
    "SHIPPING_METHOD_UNAVAILABLE": gettext_lazy(
        "%(market)s does not offer this way of delivery; choose another."
    ),
    "ADDRESS_NOT_GEOCODED": gettext_lazy(
        "Local delivery needs the latitude and longitude of your address."
    ),
    "OUTSIDE_DELIVERY_AREA": gettext_lazy(
        "Your address is %(distance)s km from %(market)s, which delivers within %(radius)s km."
    ),
    "BELOW_MINIMUM_ORDER": gettext_lazy(
        "%(market)s delivers orders from %(minimum)s; yours is %(subtotal)s."
    ),
    "PAYMENT_METHOD_UNAVAILABLE": gettext_lazy(
        "%(market)s does not take this way of paying (cash is paid on pickup)."
    ),
    "VOUCHER_INVALID": gettext_lazy("This voucher is not valid for your cart."),
    "VOUCHER_MINIMUM": gettext_lazy(
        "This voucher needs an order of at least %(minimum)s of the products it applies to."
    ),
    "VOUCHER_USED_UP": gettext_lazy("This voucher has been used as often as it may be."),
    "VOUCHER_ALREADY_USED": gettext_lazy("You have already used this voucher."),
    "ORDER_STATE_CONFLICT": gettext_lazy(
        "The order is %(current)s, so it cannot become %(requested)s."
    ),
    "ORDER_ALREADY_PAID": gettext_lazy("This order is already paid."),
    "ORDER_NOT_PAYABLE": gettext_lazy(
        "This order can no longer be paid here: it was cancelled or is not paid online."
    ),
    "REFUND_EXCEEDS_PAID": gettext_lazy("At most %(refundable)s can be refunded on this order."),
    "PAYMENT_PROVIDER_ERROR": gettext_lazy(
        "The payment provider did not answer as expected; try again in a moment."
    ),
    "PERMISSION_DENIED": gettext_lazy("You may not do this."),
}
STATUS_LABELS: dict[str, Any] = dict(OrderStatus.choices)


def _error_text(exc: ApplicationError, product_names: Mapping[str, str] | None = None) -> str:
    details = exc.details or {}
    if exc.code == "VALIDATION_ERROR":
        problems = [
            f"{field}: {' '.join(str(text) for text in texts)}"
            if isinstance(texts, list | tuple)
            else f"{field}: {texts}"
            for field, texts in details.items()
        ]
        return " ".join([_("Check what you entered."), *problems])
    wording = ERROR_MESSAGES.get(exc.code)
    if wording is None:
        return exc.message
    values = {
        "available": details.get("available", ""),
        "product": (product_names or {}).get(str(details.get("product")), _("this product")),
        "market": details.get("market_name") or _("This market"),
        "distance": details.get("distance_km", ""),
        "radius": details.get("radius_km", ""),
        "minimum": details.get("minimum_order", ""),
        "subtotal": details.get("subtotal", ""),
        "refundable": details.get("refundable", ""),
        "current": STATUS_LABELS.get(details.get("current", ""), details.get("current", "")),
        "requested": STATUS_LABELS.get(details.get("requested", ""), details.get("requested", "")),
    }
    try:
        return str(wording) % values
    except (KeyError, TypeError, ValueError):
        return exc.message


def _safe_next(request: HttpRequest, candidate: str, fallback: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


# --- the cart ------------------------------------------------------------------------------


def _caller(request: HttpRequest) -> Any:
    """The acting user for the cart's services: a visitor acts as themselves too, the
    session's token being their proof of holding the cart."""
    return request.user


@require_POST
def cart_add_page(request: HttpRequest) -> HttpResponse:
    form = AddToCartForm(request.POST)
    fallback = reverse("store:cart")
    if not form.is_valid():
        messages.error(request, _("Choose a quantity of at least 1."))
        return redirect(_safe_next(request, str(request.POST.get("next", "")), fallback))
    data = form.cleaned_data
    back = _safe_next(request, data["next"], fallback)
    product = (
        selectors.products_visible_to(request.user)
        .select_related("market")
        .filter(pk=data["product_id"])
        .first()
    )
    if product is None:
        messages.error(request, _("That product is not for sale."))
        return redirect(back)
    cart = cart_services.cart_for_request(request, create=True)
    assert cart is not None
    try:
        cart_services.cart_add_item(
            cart=cart, product=product, quantity=data["quantity"], acting_user=_caller(request)
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc, {str(product.pk): product.name}))
        return redirect(back)
    messages.success(
        request,
        _("%(quantity)s × %(product)s added to your cart.")
        % {"quantity": data["quantity"], "product": product.name},
    )
    return redirect(back)


def _grouped_lines(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary's per-market groups, each with its own lines."""
    lines: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for item in summary["items"]:
        lines[item["product"]["market"]].append(item)
    return [
        {**group, "lines": lines[group["market"]["id"] if group["market"] else None]}
        for group in summary["groups"]
    ]


def _voucher_preview(
    request: HttpRequest, cart: Cart | None, form: VoucherForm
) -> dict[str, Any] | None:
    if not form.is_valid() or not form.cleaned_data["voucher"]:
        return None
    code = form.cleaned_data["voucher"]
    if not request.user.is_authenticated:
        return {"code": code, "error": _("Sign in to use a voucher.")}
    try:
        quote = checkout_services.voucher_quote(cart=cart, code=code, user=acting_user(request))
    except ApplicationError as exc:
        return {"code": code, "error": _error_text(exc)}
    return {
        "code": quote.voucher.code,
        "discount": quote.discount,
        "currency": quote.currency,
        "eligible_subtotal": quote.eligible_subtotal,
    }


def cart_page(request: HttpRequest) -> HttpResponse:
    cart = cart_services.cart_for_request(request, create=False)
    summary = cart_summary(cart)
    voucher_form = VoucherForm(request.GET or None)
    voucher = _voucher_preview(request, cart, voucher_form)
    context = {
        "summary": summary,
        "groups": _grouped_lines(summary),
        "voucher_form": voucher_form,
        "voucher": voucher,
    }
    return render(request, "store/cart.html", context)


def _cart_line_or_404(request: HttpRequest, item_id: uuid.UUID) -> CartItem:
    cart = cart_services.cart_for_request(request, create=False)
    item = None
    if cart is not None:
        item = (
            CartItem.objects.select_related("cart", "product").filter(pk=item_id, cart=cart).first()
        )
    if item is None:
        raise Http404("No such line in your cart.")
    return item


@require_POST
def cart_item_page(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    item = _cart_line_or_404(request, item_id)
    form = CartLineForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a quantity from 1 to 10000, or remove the line."))
        return redirect("store:cart")
    try:
        if form.cleaned_data["remove"]:
            cart_services.cart_remove_item(item=item, acting_user=_caller(request))
            messages.success(
                request, _("%(product)s is out of your cart.") % {"product": item.product.name}
            )
        else:
            cart_services.cart_set_quantity(
                item=item, quantity=form.cleaned_data["quantity"], acting_user=_caller(request)
            )
            messages.success(request, _("Your cart is updated."))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc, {str(item.product_id): item.product.name}))
    return redirect("store:cart")


# --- the checkout --------------------------------------------------------------------------


def _method_label(method: str, option: Mapping[str, Any], currency: str) -> str:
    if method == ShippingMethod.PICKUP:
        return _("Pickup (free)")
    fee = option.get("fee") or "0.00"
    if method == ShippingMethod.LOCAL_DELIVERY:
        return _(
            "Local delivery: %(fee)s %(currency)s (within %(radius)s km, orders from "
            "%(minimum)s %(currency)s)"
        ) % {
            "fee": fee,
            "currency": currency,
            "radius": option.get("radius_km"),
            "minimum": option.get("minimum_order") or "0.00",
        }
    return _("Shipping: %(fee)s %(currency)s") % {"fee": fee, "currency": currency}


def _shipping_groups(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per order the checkout will make: its market (None for the central
    catalogue), the ways it delivers with their fees, and its tax rate."""
    market_ids = [group["market"]["id"] for group in summary["groups"] if group["market"]]
    markets = {
        str(market.pk): market
        for market in Market.objects.filter(pk__in=market_ids).only(
            "id", "name", "slug", "delivery_options", "payment_methods", "tax_rate"
        )
    }
    currency = summary["currency"] or ""
    groups = []
    for group in summary["groups"]:
        market = markets.get(group["market"]["id"]) if group["market"] else None
        if group["market"] and market is None:
            continue
        options = checkout_services.delivery_options_of(market)
        choices = [
            (method, _method_label(method, options[method], currency))
            for method in ShippingMethod.values
            if isinstance(options.get(method), dict) and options[method].get("enabled")
        ]
        tax_rate = Decimal(str(settings.STORE_TAX_RATE)) if market is None else market.tax_rate
        subtotal = Decimal(group["subtotal"])
        groups.append(
            {
                "key": checkout_services.CENTRAL if market is None else str(market.pk),
                "name": _("MakrX catalogue") if market is None else market.name,
                "market": market,
                "choices": choices,
                "subtotal": group["subtotal"],
                "item_count": group["item_count"],
                "tax_rate": tax_rate,
                # Shown before any voucher; the checkout computes the tax it charges.
                "tax": (subtotal * tax_rate / 100).quantize(CENT, rounding=ROUND_HALF_UP),
                "payment_methods": checkout_services.payment_methods_of(market),
            }
        )
    return groups


def _common_payment_methods(groups: list[dict[str, Any]]) -> list[str]:
    return [
        method
        for method in PaymentMethod.values
        if all(method in group["payment_methods"] for group in groups)
    ]


def _previous_address(user: User) -> dict[str, Any]:
    """The shipping address of the buyer's last order, to start the form with."""
    last = (
        Order.objects.filter(user=user)
        .order_by("-created_at")
        .values_list("shipping_address", flat=True)
        .first()
    )
    if isinstance(last, dict) and last:
        return last
    return {"name": user.name}


def _claim_checkout(user: User, token: str) -> IdempotencyRecord | None:
    """Claim the form's one-time ``token`` before checking out, as
    ``apps.core.idempotency`` claims an ``Idempotency-Key``: the row's unique
    constraint lets exactly one of two sendings of the same form place the orders.

    Answers the new claim, the finished claim of an earlier sending (its
    ``response_body`` names the payment), or None while that sending still runs.
    """
    digest = hashlib.sha256(token.encode()).hexdigest()
    for _attempt in range(CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=user, scope=CHECKOUT_SCOPE, key=token, request_hash=digest
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(
            user=user, scope=CHECKOUT_SCOPE, key=token
        ).first()
        if existing is None:
            continue  # the earlier sending failed and gave the token back
        if existing.status_code is None:
            return None
        return existing
    return None


def _placed_by_token(user: User, token: str) -> Payment | None:
    """The payment of an earlier sending of this form that placed its orders."""
    try:
        key = str(uuid.UUID(token))
    except ValueError:
        return None
    claim = IdempotencyRecord.objects.filter(
        user=user, scope=CHECKOUT_SCOPE, key=key, status_code__isnull=False
    ).first()
    body = claim.response_body if claim is not None else None
    if not isinstance(body, dict):
        return None
    return Payment.objects.filter(pk=str(body.get("payment", "")), user=user).first()


def _checkout_once(
    user: User, token: str, place: Callable[[], checkout_services.CheckoutResult]
) -> tuple[Payment | None, bool]:
    """``place()`` run at most once per form token: (its payment, whether it ran now).
    A refusal gives the token back, so the fixed form may be sent again."""
    claim = _claim_checkout(user, token)
    if claim is None:
        return None, False
    if claim.status_code is not None:
        body = claim.response_body if isinstance(claim.response_body, dict) else {}
        payment_id = str(body.get("payment", ""))
        return Payment.objects.filter(pk=payment_id, user=user).first(), False
    try:
        result = place()
    except ApplicationError as error:
        placed = error.details.get("payment")
        if placed:
            # Placed, but the payment did not start: the form sent again finds them.
            IdempotencyRecord.objects.filter(pk=claim.pk).update(
                status_code=201, response_body={"payment": str(placed)}
            )
        else:
            IdempotencyRecord.objects.filter(pk=claim.pk).delete()
        raise
    except BaseException:
        IdempotencyRecord.objects.filter(pk=claim.pk).delete()
        raise
    IdempotencyRecord.objects.filter(pk=claim.pk).update(
        status_code=201, response_body={"payment": str(result.payment.pk)}
    )
    return result.payment, True


def _after_checkout(request: HttpRequest, payment: Payment) -> HttpResponse:
    """Where a placed checkout leads: the pay page in test mode, the card step with
    Stripe, the orders for cash on pickup."""
    if payment.provider == PaymentProvider.TEST:
        return redirect("store:pay", payment_id=payment.pk)
    if payment.provider == PaymentProvider.CASH:
        messages.success(request, _("Your orders are placed: pay in cash when you pick them up."))
        return redirect("store:orders")
    return redirect("store:card", payment_id=payment.pk)


@login_required
def card_page(request: HttpRequest, payment_id: uuid.UUID) -> HttpResponse:
    """The card step with Stripe: the client secret for Stripe.js, which this page does
    not load (no outside scripts); the order becomes paid on Stripe's webhook. When
    Stripe did not start the payment at checkout, opening the page starts it again."""
    payment = _own_payment_or_404(request, payment_id, PaymentProvider.STRIPE)
    orders = _orders_of_payment(payment)
    pending = [order for order in orders if order.status == OrderStatus.PENDING]
    is_paid = payment.status in PAID_STATES
    if not is_paid and pending and not payment.client_secret:
        try:
            payments.order_payment_start(order=pending[0], acting_user=acting_user(request))
        except ApplicationError as exc:
            messages.error(request, _error_text(exc))
        payment.refresh_from_db()
    context = {
        "payment": payment,
        "orders": orders,
        "stripe": True,
        "client_secret": payment.client_secret,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "payable": not is_paid and bool(pending),
        "is_paid": is_paid,
    }
    return render(request, "store/pay.html", context)


def _checkout_names(summary: dict[str, Any]) -> dict[str, str]:
    return {item["product"]["id"]: item["product"]["name"] for item in summary["items"]}


@login_required
def checkout_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if request.method == "POST":
        # A form sent again after its orders were placed finds the cart empty: it is
        # answered with those orders before anything else.
        earlier = _placed_by_token(user, str(request.POST.get("token", "")))
        if earlier is not None:
            messages.info(request, _("This order was placed already; here it is."))
            return _after_checkout(request, earlier)
    cart = cart_services.cart_for_request(request, create=False)
    summary = cart_summary(cart)
    if not summary["items"]:
        messages.info(request, _("Your cart is empty: add something first."))
        return redirect("store:cart")
    groups = _shipping_groups(summary)
    payment_methods = _common_payment_methods(groups)
    data = request.POST if request.method == "POST" else None
    form = CheckoutForm(
        data,
        shipping_groups=groups,
        payment_methods=payment_methods,
        initial={"voucher_code": request.GET.get("voucher", "")[:40]},
    )
    shipping_form = AddressForm(data, prefix="shipping", initial=_previous_address(user))
    # The billing fields count only when the buyer unticks "same as shipping"; left
    # unbound otherwise, so their emptiness is no error.
    billing_same = data is None or bool(data.get("billing_same"))
    billing_form = AddressForm(None if billing_same else data, prefix="billing")
    for group in groups:
        group["field"] = form[shipping_field_name(group["key"])]
    status = 200
    if data is not None:
        valid = form.is_valid()
        valid = shipping_form.is_valid() and valid
        if not billing_same:
            valid = billing_form.is_valid() and valid
        if valid:
            shipping_address = shipping_form.address()
            billing_address = shipping_address if billing_same else billing_form.address()
            methods = form.shipping_methods()
            voucher_code = form.cleaned_data["voucher_code"].strip() or None

            def place() -> checkout_services.CheckoutResult:
                return checkout_services.checkout(
                    user=user,
                    shipping_address=shipping_address,
                    billing_address=billing_address,
                    shipping_method=next(iter(methods.values())),
                    shipping_methods=methods,
                    voucher_code=voucher_code,
                    payment_method=form.cleaned_data["payment_method"],
                )

            try:
                payment, placed = _checkout_once(user, str(form.cleaned_data["token"]), place)
            except ApplicationError as exc:
                placed_payment = exc.details.get("payment")
                if exc.code == "PAYMENT_PROVIDER_ERROR" and placed_payment:
                    # The orders are placed; the card step starts the payment again.
                    messages.info(request, _("Your orders are placed."))
                    return redirect("store:card", payment_id=placed_payment)
                messages.error(request, _error_text(exc, _checkout_names(summary)))
                status = 400
            else:
                if payment is None:
                    messages.info(
                        request, _("Your order is being placed; it shows in your orders soon.")
                    )
                    return redirect("store:orders")
                if not placed:
                    messages.info(request, _("This order was placed already; here it is."))
                return _after_checkout(request, payment)
        else:
            status = 400
    context = {
        "summary": summary,
        "groups": groups,
        "items_with_tax": sum(
            (Decimal(group["subtotal"]) + group["tax"] for group in groups), Decimal("0.00")
        ),
        "form": form,
        "shipping_form": shipping_form,
        "billing_form": billing_form,
        "cash_allowed": PaymentMethod.CASH_ON_PICKUP in payment_methods,
        "no_payment_method": not payment_methods,
    }
    return render(request, "store/checkout.html", context, status=status)


# --- paying in test mode -------------------------------------------------------------------


def _orders_of_payment(payment: Payment) -> list[Order]:
    return list(
        Order.objects.filter(payment=payment)
        .select_related("market")
        .only(*ORDER_LIST_FIELDS, "payment_id", "expires_at", "subtotal", "tax_amount")
        .order_by("created_at", "order_number")
    )


def _own_payment_or_404(request: HttpRequest, payment_id: uuid.UUID, provider: str) -> Payment:
    """The caller's own payment by ``provider``: the card step's while Stripe is on,
    the test-mode pay page's while it is off."""
    stripe = stripe_gateway.is_enabled()
    if stripe != (provider == PaymentProvider.STRIPE):
        raise Http404("Payments go through Stripe." if stripe else "Stripe is off.")
    payment = Payment.objects.filter(
        pk=payment_id, user=acting_user(request), provider=provider
    ).first()
    if payment is None:
        raise Http404("No such payment.")
    return payment


@login_required
def pay_page(request: HttpRequest, payment_id: uuid.UUID) -> HttpResponse:
    payment = _own_payment_or_404(request, payment_id, PaymentProvider.TEST)
    orders = _orders_of_payment(payment)
    pending = [order for order in orders if order.status == OrderStatus.PENDING]
    is_paid = payment.status in PAID_STATES
    if request.method == "POST":
        form = PayForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose to pay or to decline."))
            return redirect("store:pay", payment_id=payment.pk)
        outcome = form.cleaned_data["outcome"]
        target = pending[0] if pending else (orders[0] if orders else None)
        if target is None:
            raise Http404("No orders in this payment.")
        try:
            # The test-mode provider's word, as its webhook would give it: the service
            # checks the buyer and the orders' state, then settles the whole payment.
            payments.order_pay_in_test_mode(
                order=target, outcome=outcome, acting_user=acting_user(request)
            )
        except ApplicationError as exc:
            messages.error(request, _error_text(exc))
            return redirect("store:pay", payment_id=payment.pk)
        if outcome == "succeeded":
            messages.success(request, _("Payment received: your orders are paid."))
        else:
            messages.error(
                request,
                _(
                    "The test card was declined. Your orders wait for payment: pay them from "
                    "their order page."
                ),
            )
        return redirect("store:orders")
    context = {
        "payment": payment,
        "orders": orders,
        "stripe": False,
        "is_paid": is_paid,
        "payable": not is_paid and bool(pending),
    }
    return render(request, "store/pay.html", context)


# --- the member's orders -------------------------------------------------------------------


@login_required
def orders_page(request: HttpRequest) -> HttpResponse:
    orders = (
        Order.objects.filter(user=acting_user(request))
        .select_related("market")
        .only(*ORDER_LIST_FIELDS)
        .order_by("-created_at", "-id")
    )
    page = Paginator(orders, ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "store/orders.html", {"page": page})


def _visible_order_or_404(request: HttpRequest, order_number: str) -> Order:
    """The order by its number; by its id too, as the emails link to it."""
    try:
        lookup = Q(pk=uuid.UUID(order_number))
    except ValueError:
        lookup = Q(order_number=order_number)
    order = (
        order_services.order_visible_to(request.user)
        .select_related("market", "payment")
        .filter(lookup)
        .first()
    )
    if order is None:
        raise Http404("No such order.")
    return order


def _timeline(order: Order) -> list[dict[str, Any]]:
    """When the order changed status: placed, then every move its audit entries record
    (paid, shipped, …); the payment's moment when no entry records it."""
    steps: list[dict[str, Any]] = [
        {"when": order.created_at, "status": OrderStatus.PENDING, "label": _("Placed")}
    ]
    entries = AuditLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Order),
        object_id=str(order.pk),
    ).order_by("created_at", "id")
    for entry in entries.only("created_at", "changes"):
        change = entry.changes.get("status") if isinstance(entry.changes, dict) else None
        if isinstance(change, list) and len(change) == 2 and change[1] != change[0]:
            steps.append(
                {
                    "when": entry.created_at,
                    "status": change[1],
                    "label": STATUS_LABELS.get(change[1], change[1]),
                }
            )
    if order.paid_at and not any(step["status"] == OrderStatus.PAID for step in steps):
        steps.append({"when": order.paid_at, "status": OrderStatus.PAID, "label": _("Paid")})
    return sorted(steps, key=lambda step: step["when"])


def _pay_url(order: Order, payment: Payment | None) -> str:
    """Where the buyer pays a pending order online: the card step with Stripe, the
    test-mode pay page without; empty when it is not paid online now."""
    if order.status != OrderStatus.PENDING or payment is None:
        return ""
    stripe = stripe_gateway.is_enabled()
    if payment.provider == PaymentProvider.STRIPE and stripe:
        return reverse("store:card", kwargs={"payment_id": payment.pk})
    if payment.provider == PaymentProvider.TEST and not stripe:
        return reverse("store:pay", kwargs={"payment_id": payment.pk})
    return ""


@login_required
def order_page(request: HttpRequest, order_number: str) -> HttpResponse:
    order = _visible_order_or_404(request, order_number)
    is_buyer = order.user_id == request.user.pk
    items = list(
        order.items.select_related("product").only(
            "id",
            "order_id",
            "name",
            "sku",
            "unit_price",
            "quantity",
            "line_total",
            "product_id",
            "fabrication_job_id",
            "product__slug",
            "product__name",
        )
    )
    payment = order.payment
    unpaid = order.payment_status in (PaymentStatus.UNPAID, PaymentStatus.FAILED)
    context = {
        "order": order,
        "items": items,
        "is_buyer": is_buyer,
        "timeline": _timeline(order),
        "refunds": list(order.refunds.order_by("created_at")),
        "pay_url": _pay_url(order, payment) if is_buyer and unpaid else "",
        "pays_cash": payment is not None and payment.provider == PaymentProvider.CASH,
        "may_cancel": is_buyer and order.status == OrderStatus.PENDING,
        "may_review": is_buyer and order.status in REVIEWABLE_STATES,
        "may_fulfil": order.market is not None
        and permissions.may_manage_products(request.user, order.market_id),
    }
    return render(request, "store/order.html", context)


@login_required
@require_POST
def order_cancel_page(request: HttpRequest, order_number: str) -> HttpResponse:
    order = _visible_order_or_404(request, order_number)
    try:
        cancellations.order_cancel_and_refund(
            order=order, acting_user=acting_user(request), reason="Cancelled by the buyer"
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request, _("Order %(number)s is cancelled.") % {"number": order.order_number}
        )
    return redirect("store:order", order_number=order.order_number)


# --- a market's orders, for its owner and staff --------------------------------------------


def _fulfilled_market(request: HttpRequest, slug: str) -> Market:
    """The market if the caller fulfils its orders: 404 when there is no such market
    for them, 403 when it is someone else's."""
    market = selectors.markets_visible_to(request.user).filter(slug=slug).first()
    if market is None:
        raise Http404("No such market.")
    if not permissions.may_manage_products(request.user, market):
        raise PermissionDenied
    return market


def _market_order_or_404(market: Market, order_number: str) -> Order:
    order = Order.objects.filter(market=market, order_number=order_number).first()
    if order is None:
        raise Http404("No such order in this market.")
    return order


def _move_label(order: Order, target: str) -> str:
    if target == OrderStatus.DELIVERED and order.shipping_method == ShippingMethod.PICKUP:
        return _("Mark picked up")
    return str(MOVE_LABELS.get(target) or STATUS_LABELS.get(target) or target)


def _order_actions(order: Order) -> dict[str, Any]:
    moves = list(order_services.allowed_moves(order.status, order.shipping_method))
    is_cash = order.payment is not None and order.payment.provider == PaymentProvider.CASH
    if order.status == OrderStatus.PENDING and is_cash:
        # Paid at the counter: the market records the cash it took.
        moves.insert(0, OrderStatus.PAID)
    refundable = order.total_amount - order.amount_refunded
    return {
        "moves": [
            {
                "to": target,
                "label": _move_label(order, target),
                "needs_tracking": target == OrderStatus.SHIPPED
                and order.shipping_method == ShippingMethod.SHIPPING,
            }
            for target in moves
        ],
        "refundable": refundable
        if order.payment_status in REFUNDABLE_STATES and refundable > 0
        else None,
    }


@login_required
def market_orders_page(request: HttpRequest, slug: str) -> HttpResponse:
    market = _fulfilled_market(request, slug)
    form = MarketOrderFilterForm(request.GET)
    form.is_valid()
    orders = (
        Order.objects.filter(market=market)
        .select_related("user", "payment")
        .only(
            *(f for f in ORDER_LIST_FIELDS if not f.startswith("market__")),
            "user__name",
            "payment__provider",
        )
        .order_by("-created_at", "-id")
    )
    status = form.cleaned_data.get("status")
    if status:
        orders = orders.filter(status=status)
    page = Paginator(orders, MARKET_ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"order": order, **_order_actions(order)} for order in page.object_list]
    context = {"market": market, "form": form, "page": page, "rows": rows}
    return render(request, "store/market_orders.html", context)


def _back_to_market_orders(request: HttpRequest, market: Market) -> HttpResponse:
    url = reverse("store:market-orders", kwargs={"slug": market.slug})
    status = str(request.POST.get("filter", ""))
    if status in OrderStatus.values:
        url = f"{url}?status={status}"
    return redirect(url)


@login_required
@require_POST
def market_order_move_page(request: HttpRequest, slug: str, order_number: str) -> HttpResponse:
    market = _fulfilled_market(request, slug)
    order = _market_order_or_404(market, order_number)
    form = OrderMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status the order can move to."))
        return _back_to_market_orders(request, market)
    target = form.cleaned_data["to"]
    user = acting_user(request)
    try:
        if target == OrderStatus.CANCELLED:
            # A paid order cancelled by the market gives the buyer's money back.
            order = cancellations.order_cancel_and_refund(
                order=order, acting_user=user, reason="Cancelled by the market"
            )
        elif target == OrderStatus.PAID:
            order = payments.order_cash_received(order=order, acting_user=user)
        else:
            order = order_services.order_transition(
                order=order,
                to=target,
                acting_user=user,
                tracking_number=form.cleaned_data["tracking_number"],
            )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("Order %(number)s is now %(status)s.")
            % {"number": order.order_number, "status": STATUS_LABELS.get(order.status)},
        )
    return _back_to_market_orders(request, market)


@login_required
@require_POST
def market_order_refund_page(request: HttpRequest, slug: str, order_number: str) -> HttpResponse:
    market = _fulfilled_market(request, slug)
    order = _market_order_or_404(market, order_number)
    form = RefundForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give an amount above zero with at most two decimals."))
        return _back_to_market_orders(request, market)
    try:
        refund = payments.refund_create(
            order=order,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            acting_user=acting_user(request),
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("%(amount)s %(currency)s refunded on order %(number)s.")
            % {"amount": refund.amount, "currency": order.currency, "number": order.order_number},
        )
    return _back_to_market_orders(request, market)
