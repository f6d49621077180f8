"""The caller's cart and the checkout (API.md "Store and markets"): signed-in callers
only, each on their own cart. Prices in every answer are read from the products; a
client never sends one.

``POST /checkout`` takes an ``Idempotency-Key`` header: the same key with the same
body gives the first answer again, and one set of orders (``apps.core.idempotency``).
"""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.actors import acting_user
from apps.core.api.serializers import ErrorSerializer, StrictFieldsMixin
from apps.core.idempotency import HEADER, idempotent
from apps.makerspaces.api.permissions import UUID_PATTERN
from apps.store.api.order_shapes import (
    MONEY,
    MarketRefSerializer,
    OrderSerializer,
    PostalAddressSerializer,
    order_shapes,
)
from apps.store.cart_summary import cart_summary
from apps.store.models import (
    Cart,
    CartItem,
    PaymentMethod,
    PaymentProvider,
    PaymentStatus,
    Product,
    ShippingMethod,
    VoucherKind,
)
from apps.store.services import cart as cart_services
from apps.store.services import checkout as checkout_services

ERROR = OpenApiResponse(ErrorSerializer, description="Error envelope")
# A cart line's id in its route.
CART_ITEM_PATTERN = UUID_PATTERN
QUANTITY_LIMIT = cart_services.MAX_LINE_QUANTITY
MAX_MULTIPLIER = 1000
VOUCHER_CODE_MAX = 40
TAGS = ["store"]


# --- shapes ------------------------------------------------------------------------------


class CartProductSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    sku = serializers.CharField()
    effective_price = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    in_stock = serializers.BooleanField()
    market = serializers.UUIDField(
        allow_null=True, help_text="The market's id; null for the MakrX catalogue."
    )


class CartLineSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    product = CartProductSerializer()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    line_total = serializers.DecimalField(**MONEY)


class CartGroupSerializer(serializers.Serializer):
    market = MarketRefSerializer(allow_null=True, help_text="Null for the MakrX catalogue.")
    subtotal = serializers.DecimalField(**MONEY)
    item_count = serializers.IntegerField()


class CartSerializer(serializers.Serializer):
    """The cart with today's prices. ``groups`` has one entry per market: each becomes
    one order at checkout. ``currency`` is null when the cart is empty or mixes
    currencies (which the checkout refuses)."""

    id = serializers.UUIDField(allow_null=True, help_text="Null until the first line is added.")
    items = CartLineSerializer(many=True)
    groups = CartGroupSerializer(many=True)
    subtotal = serializers.DecimalField(**MONEY)
    item_count = serializers.IntegerField()
    currency = serializers.CharField(allow_null=True)


class CartItemAddSerializer(StrictFieldsMixin, serializers.Serializer):
    product_id = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=QUANTITY_LIMIT, default=1)


class CartItemQuantitySerializer(StrictFieldsMixin, serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=QUANTITY_LIMIT)


class CartFromBomSerializer(StrictFieldsMixin, serializers.Serializer):
    project_id = serializers.UUIDField()
    multiplier = serializers.IntegerField(
        min_value=1, max_value=MAX_MULTIPLIER, default=1, help_text="How many copies to build."
    )


class BomAddedSerializer(serializers.Serializer):
    sku = serializers.CharField()
    product_id = serializers.UUIDField()
    quantity = serializers.IntegerField()


class BomMissingSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity_short = serializers.DecimalField(max_digits=14, decimal_places=3)
    reason = serializers.ChoiceField(choices=cart_services.ShortageReason.choices)


class CartFromBomResultSerializer(serializers.Serializer):
    cart = CartSerializer()
    added = BomAddedSerializer(many=True)
    missing = BomMissingSerializer(many=True)


class VoucherCodeSerializer(StrictFieldsMixin, serializers.Serializer):
    code = serializers.CharField(max_length=VOUCHER_CODE_MAX)


class VoucherQuoteSerializer(serializers.Serializer):
    code = serializers.CharField()
    kind = serializers.ChoiceField(choices=VoucherKind.choices)
    value = serializers.DecimalField(max_digits=10, decimal_places=2)
    market = serializers.UUIDField(
        allow_null=True, help_text="The market whose products it applies to; null: all."
    )
    eligible_subtotal = serializers.DecimalField(**MONEY)
    discount_amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()


class CheckoutSerializer(StrictFieldsMixin, serializers.Serializer):
    shipping_address = PostalAddressSerializer()
    billing_address = PostalAddressSerializer(
        required=False, help_text="Left out: the shipping address."
    )
    shipping_method = serializers.ChoiceField(choices=ShippingMethod.choices)
    shipping_methods = serializers.DictField(
        child=serializers.ChoiceField(choices=ShippingMethod.choices),
        required=False,
        help_text='Another method for some markets: market id (or "central" for the MakrX '
        "catalogue) → method.",
    )
    voucher_code = serializers.CharField(
        max_length=VOUCHER_CODE_MAX, required=False, allow_blank=True, allow_null=True
    )
    payment_method = serializers.ChoiceField(
        choices=PaymentMethod.choices, default=PaymentMethod.CARD
    )


class PaymentStartSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    provider = serializers.ChoiceField(choices=PaymentProvider.choices)
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    client_secret = serializers.CharField(
        allow_null=True, help_text="Stripe: confirm the PaymentIntent with it."
    )
    pay_url = serializers.CharField(allow_null=True, help_text="Test mode: the local pay page.")


class CheckoutResultSerializer(serializers.Serializer):
    payment = PaymentStartSerializer()
    orders = OrderSerializer(many=True)


# --- views -------------------------------------------------------------------------------


def _product_or_400(product_id: Any) -> Product:
    product = Product.objects.select_related("market").filter(pk=product_id).first()
    if product is None:
        raise serializers.ValidationError({"product_id": ["No such product."]})
    return product


class CartViewSet(viewsets.GenericViewSet):
    """The caller's cart: read it, add, change and remove lines, fill it from a
    project's shortages, try a voucher on it."""

    queryset = Cart.objects.none()  # the schema's model
    serializer_class = CartSerializer
    pagination_class = None
    filterset_class = None

    def _cart(self, request: Request, *, create: bool) -> Cart | None:
        return cart_services.cart_for_request(request, create=create)

    def _answer(self, cart: Cart | None, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(cart_summary(cart), status=status_code)

    @extend_schema(operation_id="store_cart_retrieve", tags=TAGS, responses={200: CartSerializer})
    def summary(self, request: Request) -> Response:
        """The cart with today's prices, grouped by market, and its totals."""
        return self._answer(self._cart(request, create=False))

    @extend_schema(
        operation_id="store_cart_items_create",
        tags=TAGS,
        request=CartItemAddSerializer,
        responses={201: CartSerializer, 400: ERROR},
    )
    def add(self, request: Request) -> Response:
        """Add a product (to its line, when the cart has one). More than is available
        answers 400 INSUFFICIENT_STOCK with `details.available`; a product in another
        currency than the cart's, 400 CURRENCY_MIXED."""
        body = CartItemAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        product = _product_or_400(body.validated_data["product_id"])
        cart = self._cart(request, create=True)
        assert cart is not None
        cart_services.cart_add_item(
            cart=cart,
            product=product,
            quantity=body.validated_data["quantity"],
            acting_user=acting_user(request),
        )
        return self._answer(cart, status.HTTP_201_CREATED)

    def _line(self, request: Request, item_id: str) -> CartItem:
        cart = self._cart(request, create=False)
        item = (
            None
            if cart is None
            else CartItem.objects.select_related("cart").filter(cart=cart, pk=item_id).first()
        )
        if item is None:
            raise Http404
        return item

    @extend_schema(
        operation_id="store_cart_items_partial_update",
        tags=TAGS,
        request=CartItemQuantitySerializer,
        responses={200: CartSerializer, 400: ERROR, 404: ERROR},
    )
    def change(self, request: Request, item_id: str) -> Response:
        """Change a line's quantity; raising it past the stock answers 400
        INSUFFICIENT_STOCK, lowering it is always taken."""
        item = self._line(request, item_id)
        body = CartItemQuantitySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cart_services.cart_set_quantity(
            item=item, quantity=body.validated_data["quantity"], acting_user=acting_user(request)
        )
        return self._answer(item.cart)

    @extend_schema(
        operation_id="store_cart_items_destroy",
        tags=TAGS,
        request=None,
        responses={204: None, 404: ERROR},
    )
    def remove(self, request: Request, item_id: str) -> Response:
        item = self._line(request, item_id)
        cart_services.cart_remove_item(item=item, acting_user=acting_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="store_cart_from_bom_create",
        tags=TAGS,
        request=CartFromBomSerializer,
        responses={200: CartFromBomResultSerializer, 400: ERROR, 404: ERROR},
    )
    def from_bom(self, request: Request) -> Response:
        """ "Buy what is short": add the store products that cover what the project's
        makerspace lacks for its bill of materials (`multiplier` builds), matched by an
        explicit link to the inventory item, else by SKU; the central catalogue first,
        then the cheapest. `missing` lists what has no product or not enough stock."""
        body = CartFromBomSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = acting_user(request)
        project = cart_services.project_for_shortages(
            user=user, project_id=body.validated_data["project_id"]
        )
        if project is None:
            raise Http404
        cart = self._cart(request, create=True)
        assert cart is not None
        fill = cart_services.cart_add_bom_shortages(
            cart=cart,
            project=project,
            acting_user=user,
            multiplier=body.validated_data["multiplier"],
        )
        return Response(
            {
                "cart": cart_summary(cart),
                "added": [
                    {"sku": a.sku, "product_id": str(a.product_id), "quantity": a.quantity}
                    for a in fill.added
                ],
                "missing": [
                    {
                        "sku": m.sku,
                        "name": m.name,
                        "quantity_short": f"{m.quantity_short:.3f}",
                        "reason": m.reason,
                    }
                    for m in fill.missing
                ],
            }
        )

    @extend_schema(
        operation_id="store_cart_voucher_create",
        tags=TAGS,
        request=VoucherCodeSerializer,
        responses={200: VoucherQuoteSerializer, 400: ERROR},
    )
    def voucher(self, request: Request) -> Response:
        """What a voucher would take off the cart now (nothing is used up): 400
        VOUCHER_INVALID, VOUCHER_MINIMUM (`details.minimum_order`), VOUCHER_USED_UP or
        VOUCHER_ALREADY_USED when it would not apply."""
        body = VoucherCodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        quote = checkout_services.voucher_quote(
            cart=self._cart(request, create=False),
            code=body.validated_data["code"],
            user=acting_user(request),
        )
        voucher = quote.voucher
        return Response(
            {
                "code": voucher.code,
                "kind": voucher.kind,
                "value": f"{voucher.value:.2f}",
                "market": None if voucher.market_id is None else str(voucher.market_id),
                "eligible_subtotal": f"{quote.eligible_subtotal:.2f}",
                "discount_amount": f"{quote.discount:.2f}",
                "currency": quote.currency,
            }
        )


IDEMPOTENCY_KEY = OpenApiParameter(
    name=HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any unique text (a UUID): sent again with the same body, it answers "
    "what the first request answered and makes no second order; with another body, 409 "
    "IDEMPOTENCY_KEY_REUSED; while the first still runs, 409 IDEMPOTENCY_IN_PROGRESS.",
    type={"type": "string", "pattern": r"^[!-~]{1,255}$", "minLength": 1, "maxLength": 255},
)


class CheckoutViewSet(viewsets.GenericViewSet):
    """Check out the caller's cart."""

    queryset = Cart.objects.none()  # the schema's model
    serializer_class = CheckoutSerializer
    pagination_class = None
    filterset_class = None

    @extend_schema(
        operation_id="store_checkout_create",
        tags=TAGS,
        parameters=[IDEMPOTENCY_KEY],
        request=CheckoutSerializer,
        responses={201: CheckoutResultSerializer, 400: ERROR, 409: ERROR, 502: ERROR},
    )
    # Stripe not answering comes after the orders are placed: that 502 is the key's
    # answer, so a retry hears it again (with the orders) instead of an empty cart.
    @idempotent("store.checkout", keep_errors=("PAYMENT_PROVIDER_ERROR",))
    def create(self, request: Request) -> Response:
        """One order per market of the cart (`market` null: the MakrX catalogue), under
        one payment: its Stripe `client_secret`, or the test-mode `pay_url`. Prices,
        tax and shipping come from the store; the stock is taken and the cart emptied.
        Refusals (400): CART_EMPTY, INSUFFICIENT_STOCK, PRODUCT_UNAVAILABLE,
        CURRENCY_MIXED, SHIPPING_METHOD_UNAVAILABLE, ADDRESS_NOT_GEOCODED,
        OUTSIDE_DELIVERY_AREA, BELOW_MINIMUM_ORDER, PAYMENT_METHOD_UNAVAILABLE and the
        voucher's codes. When Stripe does not answer, 502 PAYMENT_PROVIDER_ERROR: the
        orders are placed all the same (`details.orders`, `details.payment`; a retry
        with the same `Idempotency-Key` answers the same) and their payment is started
        again with `POST /orders/{id}/payment`."""
        body = CheckoutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = checkout_services.checkout(
            user=acting_user(request),
            shipping_address=data["shipping_address"],
            billing_address=data.get("billing_address") or data["shipping_address"],
            shipping_method=data["shipping_method"],
            shipping_methods=data.get("shipping_methods"),
            voucher_code=data.get("voucher_code") or None,
            payment_method=data["payment_method"],
        )
        return Response(
            {"payment": result.payment_start, "orders": order_shapes(result.orders)},
            status=status.HTTP_201_CREATED,
        )
