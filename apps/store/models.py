"""The store: a catalogue of products sold by the central MakrX catalogue and by
markets (storefronts of makerspaces and local vendors), with a stock ledger per
product and reviews.

Counters that other rows change (a product's rating and review count, a market's
orders and revenue) are written by services in the same transaction as the change.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.core.models import BaseModel
from apps.makerspaces.hours import (
    default_business_hours,
    validate_business_hours,
    validate_timezone,
)
from apps.makerspaces.models import currency_code


class Category(BaseModel):
    """A node of the catalogue's category tree (managed by super admins)."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")), name="store_category_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    CASH_ON_PICKUP = "cash_on_pickup", _("Cash on pickup")


class Market(BaseModel):
    """A storefront: one per owner, optionally run for a makerspace; unverified until
    a super admin verifies it."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="market",
    )
    makerspace = models.ForeignKey(
        "makerspaces.Makerspace",
        verbose_name=_("makerspace"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="markets",
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    timezone = models.CharField(
        _("timezone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[currency_code]
    )
    business_hours = models.JSONField(
        _("business hours"), default=default_business_hours, validators=[validate_business_hours]
    )
    # {"pickup": {"enabled": bool},
    #  "local_delivery": {"enabled": bool, "radius_km": n, "fee": "x.xx", "minimum_order": "x.xx"},
    #  "shipping": {"enabled": bool, "fee": "x.xx"}}; checked by apps.store.delivery.
    delivery_options = models.JSONField(_("delivery options"), default=dict, blank=True)
    # A list of PaymentMethod values.
    payment_methods = models.JSONField(_("payment methods"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    verified = models.BooleanField(_("verified"), default=False)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    rating = models.DecimalField(
        _("rating"), max_digits=3, decimal_places=2, default=Decimal("0.00")
    )
    total_orders = models.PositiveIntegerField(_("total orders"), default=0)
    total_revenue = models.DecimalField(
        _("total revenue"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    # Sales tax added to the market's orders, in percent of the discounted subtotal.
    tax_rate = models.DecimalField(
        _("tax rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("market")
        verbose_name_plural = _("markets")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(latitude__isnull=True) & models.Q(longitude__isnull=True))
                | (
                    models.Q(latitude__gte=-90, latitude__lte=90)
                    & models.Q(longitude__gte=-180, longitude__lte=180)
                ),
                name="store_market_coordinates_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(rating__gte=0, rating__lte=5), name="store_market_rating_0_5"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MarketClosure(BaseModel):
    """A dated closure of a market (no opening hours that day)."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["market", "date"], name="store_market_closure_once"),
        ]

    def __str__(self) -> str:
        return f"{self.market}: {self.date}"


class MarketStaff(BaseModel):
    """A person the owner lets manage the market's products and orders."""

    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="market_staff"
    )

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("market staff member")
        verbose_name_plural = _("market staff")
        constraints = [
            models.UniqueConstraint(fields=["market", "user"], name="store_market_staff_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.market}"


class Product(BaseModel):
    """A product of a market, or of the central catalogue (``market`` null)."""

    market = models.ForeignKey(
        Market,
        verbose_name=_("market"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    sku = models.CharField(_("SKU"), max_length=64)
    description = models.TextField(_("description"), blank=True)
    long_description = models.TextField(_("long description"), blank=True)
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    sale_price = models.DecimalField(
        _("sale price"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[currency_code]
    )
    # Equals the sum of the product's stock movements (``check_product_stock``).
    stock_quantity = models.IntegerField(_("stock quantity"), default=0)
    track_inventory = models.BooleanField(_("track inventory"), default=True)
    allow_backorder = models.BooleanField(_("allow backorder"), default=False)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    specifications = models.JSONField(_("specifications"), default=dict, blank=True)
    # {"length": n, "width": n, "height": n, "unit": "mm"}
    dimensions = models.JSONField(_("dimensions"), default=dict, blank=True)
    weight = models.DecimalField(
        _("weight (kg)"),
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    is_featured = models.BooleanField(_("featured"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # Inventory items this product restocks, for "buy what is short" beyond a SKU match.
    supplies = models.ManyToManyField(
        "inventory.InventoryItem",
        verbose_name=_("supplies inventory items"),
        blank=True,
        related_name="store_products",
    )
    rating = models.DecimalField(
        _("rating"), max_digits=3, decimal_places=2, default=Decimal("0.00")
    )
    review_count = models.PositiveIntegerField(_("reviews"), default=0)
    # Name, descriptions and tags as one text, for full-text search (kept by services).
    search_document = models.TextField(editable=False, blank=True, default="")
    # The product's stock movements, numbered 1, 2, 3 ... (kept by services).
    movement_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(
                fields=["market", "sku"],
                condition=models.Q(market__isnull=False),
                name="store_product_sku_per_market",
            ),
            models.UniqueConstraint(
                fields=["sku"],
                condition=models.Q(market__isnull=True),
                name="store_product_sku_central",
            ),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="store_price_not_neg"),
            models.CheckConstraint(
                condition=models.Q(sale_price__isnull=True)
                | models.Q(sale_price__gte=0, sale_price__lt=models.F("price")),
                name="store_sale_price_below_price",
            ),
            models.CheckConstraint(
                condition=models.Q(stock_quantity__gte=0)
                | models.Q(allow_backorder=True)
                | models.Q(track_inventory=False),
                name="store_stock_not_negative_without_backorder",
            ),
            models.CheckConstraint(
                condition=models.Q(rating__gte=0, rating__lte=5), name="store_product_rating_0_5"
            ),
        ]
        indexes = [
            models.Index(fields=["category", "is_active"], name="store_product_category"),
            models.Index(fields=["market", "is_active"], name="store_product_market"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_price(self) -> Decimal:
        return self.sale_price if self.sale_price is not None else self.price

    @property
    def in_stock(self) -> bool:
        return not self.track_inventory or self.allow_backorder or self.stock_quantity > 0


class ProductStockReason(models.TextChoices):
    RESTOCK = "restock", _("Restock")
    ADJUST = "adjust", _("Adjustment")
    SALE = "sale", _("Sale")
    RELEASE = "release", _("Released from an unpaid order")
    RETURN = "return", _("Return")


class ProductStockMovement(models.Model):
    """One change of a product's stock: append-only, numbered per product."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_movements")
    position = models.PositiveIntegerField()
    change = models.IntegerField(_("change"))
    quantity_after = models.IntegerField(_("quantity after"))
    reason = models.CharField(_("reason"), max_length=20, choices=ProductStockReason)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # What caused it (an order, an import ...), named generically.
    source_type = models.CharField(max_length=40, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-position"]
        verbose_name = _("product stock movement")
        verbose_name_plural = _("product stock movements")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "position"], name="store_stock_movement_position"
            ),
            models.CheckConstraint(
                condition=~models.Q(change=0), name="store_stock_movement_changes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.change:+d}"


class Review(BaseModel):
    """One review per user per product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="product_reviews"
    )
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    verified_purchase = models.BooleanField(_("verified purchase"), default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.UniqueConstraint(fields=["product", "user"], name="store_review_once"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="store_review_rating_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.rating}/5"


def product_image_path(instance: "ProductImage", filename: str) -> str:
    """Images are stored under the product's id with a fresh name, so an upload can
    never overwrite another or carry a path from the client."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"store/products/{instance.product_id}/{instance.id}.{extension}"


class ProductImage(BaseModel):
    """A picture of a product, stored through the default storage (local media or S3)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to=product_image_path, max_length=300)
    alt_text = models.CharField(_("alternative text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    width = models.PositiveIntegerField(default=0, editable=False)
    height = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["position", "created_at"]
        verbose_name = _("product image")
        verbose_name_plural = _("product images")

    def __str__(self) -> str:
        return f"{self.product}: {self.image.name}"


# ---------------------------------------------------------------------------
# Cart


class Cart(BaseModel):
    """A signed-in user's cart, or a visitor's (by session key) until they sign in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="store_cart",
    )
    session_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, session_key__isnull=True)
                | models.Q(user__isnull=True, session_key__isnull=False),
                name="store_cart_user_or_session",
            ),
        ]

    def __str__(self) -> str:
        return f"cart of {self.user or self.session_key}"


class CartItem(BaseModel):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="cart_items")
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("cart item")
        verbose_name_plural = _("cart items")
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="store_cart_item_once"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="store_cart_item_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"


# ---------------------------------------------------------------------------
# Vouchers


class VoucherKind(models.TextChoices):
    PERCENT = "percent", _("Percentage")
    FIXED = "fixed", _("Fixed amount")


class Voucher(BaseModel):
    """A discount code: store-wide (``market`` null) or for one market's products."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    market = models.ForeignKey(
        Market,
        verbose_name=_("market"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="vouchers",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=VoucherKind)
    value = models.DecimalField(
        _("value"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    minimum_order = models.DecimalField(
        _("minimum order"), max_digits=10, decimal_places=2, default=Decimal("0.00")
    )
    max_uses = models.PositiveIntegerField(_("total uses allowed"), null=True, blank=True)
    max_uses_per_user = models.PositiveIntegerField(_("uses per person"), null=True, blank=True)
    times_used = models.PositiveIntegerField(_("times used"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True)
                | models.Q(times_used__lte=models.F("max_uses")),
                name="store_voucher_uses_within_limit",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="percent") | models.Q(value__gt=0, value__lte=100),
                name="store_voucher_percent_1_100",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gt=models.F("valid_from")),
                name="store_voucher_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.code


# ---------------------------------------------------------------------------
# Payments, orders


class PaymentProvider(models.TextChoices):
    TEST = "test", _("Test mode")
    STRIPE = "stripe", _("Stripe")
    CASH = "cash", _("Cash on pickup")


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


class Payment(BaseModel):
    """One payment for one checkout: it may cover several orders (one per market)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="store_payments"
    )
    provider = models.CharField(_("provider"), max_length=10, choices=PaymentProvider)
    # The provider's id for it (a Stripe PaymentIntent id).
    provider_reference = models.CharField(
        _("provider reference"), max_length=120, null=True, blank=True, unique=True
    )
    client_secret = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=PaymentStatus, default=PaymentStatus.UNPAID
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    amount_refunded = models.DecimalField(
        _("refunded"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[currency_code]
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="store_payment_amount_not_neg"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_refunded__gte=0)
                & models.Q(amount_refunded__lte=models.F("amount")),
                name="store_payment_refund_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.amount} {self.currency} ({self.status})"


class OrderStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("order status", "Pending")
    PAID = "paid", _("Paid")
    PROCESSING = "processing", _("Processing")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


class FulfillmentStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", _("Unfulfilled")
    PROCESSING = "processing", _("Processing")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


class ShippingMethod(models.TextChoices):
    PICKUP = "pickup", _("Pickup")
    LOCAL_DELIVERY = "local_delivery", _("Local delivery")
    SHIPPING = "shipping", _("Shipping")


class Order(BaseModel):
    """What one market (or the central catalogue, ``market`` null) sells to one buyer
    in one checkout. Prices, tax and shipping are copied at checkout."""

    order_number = models.CharField(_("order number"), max_length=20, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("buyer"),
        on_delete=models.PROTECT,
        related_name="store_orders",
    )
    market = models.ForeignKey(
        Market,
        verbose_name=_("market"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus, default=OrderStatus.PENDING
    )
    payment_status = models.CharField(
        _("payment status"), max_length=20, choices=PaymentStatus, default=PaymentStatus.UNPAID
    )
    fulfillment_status = models.CharField(
        _("fulfilment status"),
        max_length=20,
        choices=FulfillmentStatus,
        default=FulfillmentStatus.UNFULFILLED,
    )
    subtotal = models.DecimalField(_("subtotal"), max_digits=12, decimal_places=2)
    tax_amount = models.DecimalField(_("tax"), max_digits=12, decimal_places=2)
    shipping_amount = models.DecimalField(_("shipping"), max_digits=12, decimal_places=2)
    discount_amount = models.DecimalField(
        _("discount"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    total_amount = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    amount_refunded = models.DecimalField(
        _("refunded"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[currency_code]
    )
    shipping_address = models.JSONField(_("shipping address"), default=dict, blank=True)
    billing_address = models.JSONField(_("billing address"), default=dict, blank=True)
    shipping_method = models.CharField(_("shipping method"), max_length=20, choices=ShippingMethod)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    voucher = models.ForeignKey(
        Voucher, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    # An unpaid order gives its stock back after this moment (``release_unpaid_orders``).
    expires_at = models.DateTimeField(_("pay before"), null=True, blank=True)
    stock_released_at = models.DateTimeField(null=True, blank=True, editable=False)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # The buyer's language when they ordered, for the emails about it.
    locale = models.CharField(max_length=8, default="en")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    subtotal__gte=0,
                    tax_amount__gte=0,
                    shipping_amount__gte=0,
                    discount_amount__gte=0,
                    total_amount__gte=0,
                ),
                name="store_order_amounts_not_neg",
            ),
            models.CheckConstraint(
                condition=models.Q(amount_refunded__gte=0)
                & models.Q(amount_refunded__lte=models.F("total_amount")),
                name="store_order_refund_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="store_order_user"),
            models.Index(fields=["market", "-created_at"], name="store_order_market"),
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="pending"),
                name="store_order_pending_expiry",
            ),
        ]

    def __str__(self) -> str:
        return self.order_number


class OrderItem(BaseModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="order_items"
    )
    fabrication_job = models.OneToOneField(
        "store.FabricationJob",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_item",
    )
    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))
    line_total = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["created_at", "name"]
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="store_order_item_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(product__isnull=False) | models.Q(fabrication_job__isnull=False),
                name="store_order_item_sells_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class VoucherRedemption(BaseModel):
    """One use of a voucher by one buyer in one checkout."""

    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="redemptions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voucher_redemptions"
    )
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="redemptions")
    # Set when the orders are released or cancelled unpaid: the use is given back.
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["voucher", "payment"], name="store_voucher_once_per_checkout"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.voucher} by {self.user_id}"


class Refund(BaseModel):
    """Money given back on one order of a payment; never more than was paid."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("refund status", "Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    provider_reference = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="store_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} on {self.order_id}"


class PaymentEvent(models.Model):
    """A provider event (a Stripe webhook), stored once per event id: a replay finds
    it and changes nothing."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True)
    provider = models.CharField(max_length=10, choices=PaymentProvider)
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=80)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="store_payment_event_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


# ---------------------------------------------------------------------------
# Fabrication (3D printing)


class FabricationMaterial(BaseModel):
    """One line of a makerspace's 3D-print price list."""

    makerspace = models.ForeignKey(
        "makerspaces.Makerspace", on_delete=models.CASCADE, related_name="fabrication_materials"
    )
    name = models.CharField(_("name"), max_length=120)
    price_per_cm3 = models.DecimalField(
        _("price per cm³"), max_digits=8, decimal_places=4, validators=[MinValueValidator(0)]
    )
    setup_fee = models.DecimalField(
        _("setup fee"), max_digits=8, decimal_places=2, default=Decimal("0.00")
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[currency_code]
    )
    # The printer it runs on: the build volume a model must fit, in millimetres.
    printer_name = models.CharField(_("printer"), max_length=120)
    build_x_mm = models.DecimalField(_("build width (mm)"), max_digits=7, decimal_places=1)
    build_y_mm = models.DecimalField(_("build depth (mm)"), max_digits=7, decimal_places=1)
    build_z_mm = models.DecimalField(_("build height (mm)"), max_digits=7, decimal_places=1)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("fabrication material")
        verbose_name_plural = _("fabrication price list")
        constraints = [
            models.UniqueConstraint(
                fields=["makerspace", "name"], name="store_fabrication_material_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.printer_name})"


class FabricationStatus(models.TextChoices):
    QUOTED = "quoted", _("Quoted")
    ORDERED = "ordered", _("Ordered, awaiting payment")
    ACCEPTED = "accepted", _("Accepted by staff")
    PRINTING = "printing", _("Printing")
    READY = "ready", _("Ready")
    SHIPPED = "shipped", _("Shipped")
    PICKED_UP = "picked_up", _("Picked up")
    CANCELLED = "cancelled", _("Cancelled")


def fabrication_model_path(instance: "FabricationJob", filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"store/fabrication/{instance.id}.{extension}"


class FabricationJob(BaseModel):
    """A member's 3D-print order: an uploaded model, a material, a quantity, its quote."""

    makerspace = models.ForeignKey(
        "makerspaces.Makerspace", on_delete=models.PROTECT, related_name="fabrication_jobs"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fabrication_jobs"
    )
    material = models.ForeignKey(FabricationMaterial, on_delete=models.PROTECT, related_name="jobs")
    model_file = models.FileField(_("model file"), upload_to=fabrication_model_path, max_length=300)
    original_filename = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    volume_cm3 = models.DecimalField(_("volume (cm³)"), max_digits=12, decimal_places=3)
    # Bounding box in millimetres.
    size_x_mm = models.DecimalField(max_digits=9, decimal_places=2)
    size_y_mm = models.DecimalField(max_digits=9, decimal_places=2)
    size_z_mm = models.DecimalField(max_digits=9, decimal_places=2)
    fits_printer = models.BooleanField(default=True)
    unit_price = models.DecimalField(_("price per piece"), max_digits=10, decimal_places=2)
    setup_fee = models.DecimalField(_("setup fee"), max_digits=10, decimal_places=2)
    quote_amount = models.DecimalField(_("quote"), max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_code])
    status = models.CharField(
        _("status"), max_length=20, choices=FabricationStatus, default=FabricationStatus.QUOTED
    )
    notes = models.TextField(_("notes"), blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("fabrication job")
        verbose_name_plural = _("fabrication jobs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="store_fabrication_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} × {self.quantity}"
