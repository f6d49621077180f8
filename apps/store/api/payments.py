"""Paying and refunding orders, and Stripe's webhook.

``pay_order_response`` and ``refund_order_response`` answer the ``pay`` and ``refund``
actions of the orders viewset (``POST /api/v1/store/orders/{id}/pay`` and
``.../refund``), which finds the order among those the caller may see; each calls one
service. The webhook is its own route: Stripe signs it, so it needs no session, no
token and no CSRF token, and it is not throttled like users' routes (Stripe retries
what it is refused).
"""

from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.actors import acting_user
from apps.core.api.lean import iso_datetime
from apps.core.api.serializers import StrictFieldsMixin
from apps.core.exceptions import ApplicationError
from apps.core.idempotency import idempotent_response
from apps.store import stripe_gateway
from apps.store.api.order_shapes import MONEY, OrderSerializer, order_shapes
from apps.store.models import Order, PaymentProvider, PaymentStatus, Refund
from apps.store.services import payments

PAY_SCOPE = "store.pay"


class PaymentSerializer(serializers.Serializer):
    """How to pay: Stripe's ``client_secret`` for its Payment Element, or the test-mode
    ``pay_url``; neither for cash on pickup."""

    id = serializers.UUIDField()
    provider = serializers.ChoiceField(choices=PaymentProvider.choices)
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    client_secret = serializers.CharField(allow_null=True)
    pay_url = serializers.CharField(allow_null=True)


class PayInputSerializer(StrictFieldsMixin, serializers.Serializer):
    outcome = serializers.ChoiceField(choices=payments.OUTCOMES)


PaidOrdersSerializer = inline_serializer(
    name="PaidOrders",
    fields={"payment": PaymentSerializer(), "orders": OrderSerializer(many=True)},
)


class RefundInputSerializer(StrictFieldsMixin, serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        allow_null=True,
        min_value=payments.CENTS,
        help_text="Left out: everything that is left of the order.",
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class RefundSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=Refund.Status.choices)
    created_at = serializers.DateTimeField()
    order = OrderSerializer()


def _orders_of(payment_id: Any) -> list[Order]:
    return list(
        Order.objects.select_related("market").filter(payment_id=payment_id).order_by("created_at")
    )


def pay_order_response(request: Request, order: Order) -> Response:
    """``POST .../orders/{id}/pay`` ``{"outcome": "succeeded" | "failed"}``: the
    test-mode provider settles the order's whole payment as a webhook would (its buyer
    only; 404 when Stripe is on; 409 ORDER_ALREADY_PAID naming the state). 200
    ``{payment, orders}``. Honours ``Idempotency-Key``."""
    if stripe_gateway.is_enabled():
        raise Http404
    user = acting_user(request)

    def respond() -> Response:
        given = PayInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        payment = payments.order_pay_in_test_mode(
            order=order, outcome=given.validated_data["outcome"], acting_user=user
        )
        return Response(
            {
                "payment": payments.payment_describe(payment),
                "orders": order_shapes(_orders_of(payment.pk)),
            }
        )

    return idempotent_response(request, scope=PAY_SCOPE, respond=respond)


OrdersToPaySerializer = inline_serializer(
    name="OrdersToPay",
    fields={"payment": PaymentSerializer(), "orders": OrderSerializer(many=True)},
)


def start_payment_response(request: Request, order: Order) -> Response:
    """``POST .../orders/{id}/payment``: the order's payment started (again) by its
    buyer, with the orders it pays for."""
    started = payments.order_payment_start(order=order, acting_user=acting_user(request))
    return Response({"payment": started, "orders": order_shapes(_orders_of(started["id"]))})


def refund_shape(refund: Refund, order: Order) -> dict[str, Any]:
    return {
        "id": str(refund.pk),
        "amount": str(refund.amount),
        "currency": order.currency,
        "reason": refund.reason,
        "status": refund.status,
        "created_at": iso_datetime(refund.created_at),
        "order": order_shapes([order])[0],
    }


def refund_order_response(request: Request, order: Order) -> Response:
    """``POST .../orders/{id}/refund`` ``{amount?, reason?}``: money back on a paid
    order (its market's owner and staff, super admins). 201 with the refund when the
    provider has refunded, 202 while the provider has not said yet."""
    given = RefundInputSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    refund = payments.refund_create(
        order=order,
        amount=given.validated_data.get("amount"),
        reason=given.validated_data.get("reason", ""),
        acting_user=acting_user(request),
    )
    order = Order.objects.select_related("market").get(pk=refund.order_id)
    answer = status.HTTP_202_ACCEPTED if refund.status == Refund.Status.PENDING else 201
    return Response(refund_shape(refund, order), status=answer)


WebhookAnswerSerializer = inline_serializer(
    name="StripeWebhookAnswer",
    fields={
        "received": serializers.BooleanField(),
        "outcome": serializers.ChoiceField(choices=("processed", "duplicate", "ignored")),
    },
)


class StripeWebhookView(APIView):
    """Stripe's events (payment_intent.succeeded, payment_intent.payment_failed,
    charge.refunded, refund updates), each applied once. The `Stripe-Signature`
    header is checked against the endpoint's secret (300 s tolerance): a bad or
    missing signature, or a body that is not an event, answers 400 and changes
    nothing. Other event types answer 200 and are ignored. 404 while Stripe is off."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        operation_id="store_stripe_webhook",
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: WebhookAnswerSerializer,
            400: OpenApiResponse(description="Bad signature or not a Stripe event"),
            404: OpenApiResponse(description="Stripe is off"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise Http404
        # The signature covers the body's bytes exactly as sent, so they are read raw.
        payload = request.body
        try:
            event = stripe_gateway.construct_event(payload, request.headers.get("Stripe-Signature"))
        except stripe_gateway.WebhookRejected as error:
            raise ApplicationError("WEBHOOK_REJECTED", str(error)) from None
        outcome = payments.stripe_event_handle(event=event)
        return Response({"received": True, "outcome": outcome})
