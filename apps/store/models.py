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
