"""Orders: ``/api/v1/store/orders/``.

A buyer sees their own orders, a market's owner and staff their market's orders, a
super admin every order; any other order answers 404, never its data. The list pages
like every list of the API, newest first, in a constant number of queries (the
orders with their markets, then the items of the whole page in one query).

State changes are actions, each calling one service that checks the caller itself:
``cancel`` (the buyer while pending; the market's staff, with the money given back
when it was paid), ``status`` (the market's staff move it along), and ``pay`` /
``refund``, answered by the payments API.
"""

from typing import Any

from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.actors import acting_user
from apps.core.api.filters import StrictFilterSet
from apps.core.api.serializers import StrictFieldsMixin
from apps.makerspaces.api.permissions import UUID_PATTERN
from apps.store.api.order_shapes import OrderSerializer, order_shapes
from apps.store.api.payments import (
    OrdersToPaySerializer,
    PaidOrdersSerializer,
    PayInputSerializer,
    RefundInputSerializer,
    RefundSerializer,
    pay_order_response,
    refund_order_response,
    start_payment_response,
)
from apps.store.models import Order, OrderStatus
from apps.store.services import cancellations, orders, payments


class OrderFilter(StrictFilterSet):
    """``status`` and ``market`` (the orders of one market its owner and staff run)."""

    status = filters.ChoiceFilter(
        choices=OrderStatus.choices, empty_label=None, help_text="Only orders in this state."
    )
    market = filters.UUIDFilter(help_text="Only this market's orders.")

    class Meta:
        model = Order
        fields = ["status", "market"]

    def filter_queryset(self, queryset: Any) -> Any:
        criteria: dict[str, Any] = self.form.cleaned_data
        if criteria.get("status"):
            queryset = queryset.filter(status=criteria["status"])
        if criteria.get("market"):
            queryset = queryset.filter(market_id=criteria["market"])
        return queryset.order_by("-created_at", "-id")


class OrderCancelSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class OrderMoveSerializer(StrictFieldsMixin, serializers.Serializer):
    to = serializers.ChoiceField(
        choices=[
            OrderStatus.PAID,
            OrderStatus.PROCESSING,
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.CANCELLED,
        ],
        help_text=(
            "The state to move to. `paid` only records cash received for a cash-on-pickup "
            "order; otherwise paid and refunded follow the payment and refunds."
        ),
    )
    tracking_number = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=orders.TRACKING_NUMBER_LENGTH,
        help_text="Needed to ship an order sent by post.",
    )


STATE_CONFLICT = OpenApiResponse(description="ORDER_STATE_CONFLICT: not from the current state.")


@extend_schema_view(
    list=extend_schema(responses={200: OrderSerializer(many=True)}),
    retrieve=extend_schema(responses={200: OrderSerializer}),
)
class OrderViewSet(viewsets.GenericViewSet):
    """The caller's orders: a buyer's own, a market's orders for its owner and staff,
    every order for super admins. Filter by `status` and `market`; newest first."""

    queryset = Order.objects.none()  # the schema's model
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        return orders.order_visible_to(self.request.user).select_related("market")

    def _order(self, pk: str) -> Order:
        order = self.get_queryset().filter(pk=pk).first()
        if order is None:
            raise Http404
        return order

    def _answer(self, order: Order) -> Response:
        fresh = Order.objects.select_related("market").get(pk=order.pk)
        return Response(order_shapes([fresh])[0])

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # every list of the API is paginated
        return self.get_paginated_response(order_shapes(page))

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(order_shapes([self._order(pk)])[0])

    @extend_schema(
        request=OrderCancelSerializer,
        responses={200: OrderSerializer, 409: STATE_CONFLICT},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel the order and give its stock back: its buyer while it is pending; the
        market's owner and staff (super admins for any) while it is pending, paid or
        processing, and a paid order's money is refunded in full. 409
        ORDER_STATE_CONFLICT once it has shipped or ended."""
        order = self._order(pk)
        body = OrderCancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = cancellations.order_cancel_and_refund(
            order=order,
            acting_user=acting_user(request),
            reason=body.validated_data.get("reason", ""),
        )
        return self._answer(order)

    @extend_schema(
        request=OrderMoveSerializer,
        responses={200: OrderSerializer, 409: STATE_CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="status", filterset_class=None)
    def move(self, request: Request, pk: str) -> Response:
        """The market's owner and staff (super admins for any order) move it along: paid →
        processing → shipped (with `tracking_number` when sent by post) → delivered; a
        pickup order goes from processing to delivered. `paid` records the cash a
        cash-on-pickup order was paid with at the counter. `cancelled` cancels as
        `.../cancel` does. 409 ORDER_STATE_CONFLICT names the current state and the
        moves open from it (`details.current`, `details.allowed`)."""
        order = self._order(pk)
        body = OrderMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = acting_user(request)
        target = body.validated_data["to"]
        if target == OrderStatus.CANCELLED:
            order = cancellations.order_cancel_and_refund(order=order, acting_user=user)
        elif target == OrderStatus.PAID:
            order = payments.order_cash_received(order=order, acting_user=user)
        else:
            order = orders.order_transition(
                order=order,
                to=target,
                acting_user=user,
                tracking_number=body.validated_data.get("tracking_number", ""),
            )
        return self._answer(order)

    @extend_schema(request=PayInputSerializer, responses={200: PaidOrdersSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def pay(self, request: Request, pk: str) -> Response:
        """Test mode only (no Stripe keys; 404 otherwise): the buyer's
        `{"outcome": "succeeded" | "failed"}` settles the order's whole payment as the
        provider's webhook would. Honours `Idempotency-Key`."""
        return pay_order_response(request, self._order(pk))

    @extend_schema(request=None, responses={200: OrdersToPaySerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def payment(self, request: Request, pk: str) -> Response:
        """The buyer starts paying a pending order online again: with Stripe, the
        payment's `client_secret` (its PaymentIntent is created now when Stripe did not
        answer at checkout; the same one on every call), in test mode the `pay_url`.
        409 ORDER_ALREADY_PAID, ORDER_NOT_PAYABLE (not pending, or paid in cash); 502
        PAYMENT_PROVIDER_ERROR while the provider does not answer."""
        return start_payment_response(request, self._order(pk))

    @extend_schema(
        request=RefundInputSerializer,
        responses={201: RefundSerializer, 202: RefundSerializer},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def refund(self, request: Request, pk: str) -> Response:
        """Money back on a paid order (`amount`, or all that is left): its market's owner
        and staff, super admins for any order."""
        return refund_order_response(request, self._order(pk))
