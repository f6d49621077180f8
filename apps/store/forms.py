"""Forms of the store pages: they shape and check input; services do the work."""

from decimal import Decimal
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from apps.core.exceptions import ApplicationError
from apps.core.forms import StorableJSONField
from apps.store.images import CheckedImage, image_check, image_error_text, max_bytes
from apps.store.models import Category, Market, PaymentMethod, Product, ProductStockReason

SORTS = (
    ("name", _("Name")),
    ("price_asc", _("Price: low to high")),
    ("price_desc", _("Price: high to low")),
    ("newest", _("Newest")),
    ("rating", _("Best rated")),
)
# The reasons an owner gives by hand; sales and releases are written by orders.
MANUAL_STOCK_REASONS = (
    (ProductStockReason.RESTOCK, ProductStockReason.RESTOCK.label),
    (ProductStockReason.ADJUST, ProductStockReason.ADJUST.label),
    (ProductStockReason.RETURN, ProductStockReason.RETURN.label),
)


def money_field(label: Any, **options: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=False, max_digits=10, decimal_places=2, min_value=Decimal("0")
    )


class CatalogueFilterForm(forms.Form):
    search = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, part or tag")}),
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    market = forms.ChoiceField(label=_("Market"), required=False)
    min_price = money_field(_("Price from"))
    max_price = money_field(_("Price to"))
    in_stock = forms.BooleanField(label=_("In stock only"), required=False)
    featured = forms.BooleanField(label=_("Featured only"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORTS)

    def __init__(
        self,
        *args: Any,
        categories: list[tuple[str, str]],
        markets: list[tuple[Any, str]],
        **kwargs: Any,
    ) -> None:
        """``categories`` are (slug, label) pairs, ``markets`` (id, name) pairs."""
        super().__init__(*args, **kwargs)
        category_field = self.fields["category"]
        market_field = self.fields["market"]
        assert isinstance(category_field, forms.ChoiceField)
        assert isinstance(market_field, forms.ChoiceField)
        category_field.choices = [("", _("All categories")), *categories]
        market_field.choices = [
            ("", _("All sellers")),
            *((str(pk), name) for pk, name in markets),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", _("Must not be below the lowest price."))
        return cleaned


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[(value, "★" * value) for value in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    title = forms.CharField(label=_("Title"), required=False, max_length=200)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class MarketDirectoryForm(forms.Form):
    search = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name or address")}),
    )
    verified = forms.BooleanField(label=_("Verified only"), required=False)


class MarketCreateForm(forms.ModelForm):
    """The market's details, plus its delivery options as plain fields; the page turns
    them into ``delivery_options`` and ``payment_methods`` for the service."""

    timezone = forms.ChoiceField(label=_("Timezone"), initial="Europe/Kyiv")
    pickup = forms.BooleanField(label=_("Pickup at the market"), required=False, initial=True)
    local_delivery = forms.BooleanField(label=_("Local delivery"), required=False)
    radius_km = forms.DecimalField(
        label=_("Delivery radius (km)"),
        required=False,
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("0.1"),
    )
    local_fee = money_field(_("Local delivery fee"))
    minimum_order = money_field(_("Minimum order for local delivery"))
    shipping = forms.BooleanField(label=_("Shipping"), required=False)
    shipping_fee = money_field(_("Shipping fee"))
    payment_methods = forms.MultipleChoiceField(
        label=_("Payment methods"),
        choices=PaymentMethod.choices,
        initial=[PaymentMethod.CARD],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Market
        fields = [
            "name",
            "description",
            "contact_email",
            "contact_phone",
            "address",
            "latitude",
            "longitude",
            "timezone",
            "currency",
        ]
        labels = {"latitude": _("Latitude"), "longitude": _("Longitude")}
        help_texts = {
            "latitude": _("Needed for local delivery: buyers within the radius may choose it."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timezone_field = self.fields["timezone"]
        assert isinstance(timezone_field, forms.ChoiceField)
        timezone_field.choices = [(zone, zone) for zone in sorted(available_timezones())]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("local_delivery"):
            if cleaned.get("radius_km") is None:
                self.add_error("radius_km", _("Give the radius of local delivery."))
            if cleaned.get("latitude") is None or cleaned.get("longitude") is None:
                self.add_error(
                    "latitude", _("Local delivery needs the market's latitude and longitude.")
                )
        if not (cleaned.get("pickup") or cleaned.get("local_delivery") or cleaned.get("shipping")):
            self.add_error(None, _("Offer at least one way to get the goods: pickup or delivery."))
        return cleaned

    def delivery_options(self) -> dict[str, Any]:
        """Only the options offered: one left out is not offered."""
        data = self.cleaned_data
        options: dict[str, Any] = {}
        if data.get("pickup"):
            options["pickup"] = {"enabled": True}
        if data.get("local_delivery"):
            options["local_delivery"] = {
                "enabled": True,
                "radius_km": str(data["radius_km"]),
                "fee": str(data.get("local_fee") or Decimal("0.00")),
                "minimum_order": str(data.get("minimum_order") or Decimal("0.00")),
            }
        if data.get("shipping"):
            options["shipping"] = {
                "enabled": True,
                "fee": str(data.get("shipping_fee") or Decimal("0.00")),
            }
        return options

    def service_fields(self) -> dict[str, Any]:
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        fields["delivery_options"] = self.delivery_options()
        fields["payment_methods"] = list(self.cleaned_data["payment_methods"])
        return fields


class TagsField(forms.Field):
    """Tags typed as one comma-separated line."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(tag) for tag in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = "" if value in self.empty_values else str(value)
        if len(text) > 500:
            raise forms.ValidationError(_("At most 500 characters of tags."))
        tags = [tag.strip() for tag in text.split(",")]
        return list(dict.fromkeys(tag for tag in tags if tag))


class ProductForm(forms.ModelForm):
    """A market's product; its stock changes only through the stock form."""

    tags = TagsField(label=_("Tags"), required=False, help_text=_("Separated by commas."))
    specifications = StorableJSONField(
        label=_("Specifications"),
        required=False,
        initial=dict,
        help_text=_('A JSON object, e.g. {"Voltage": "3.3 V", "Pins": 40}.'),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = Product
        fields = [
            "name",
            "slug",
            "sku",
            "category",
            "description",
            "long_description",
            "price",
            "sale_price",
            "currency",
            "track_inventory",
            "allow_backorder",
            "tags",
            "specifications",
            "weight",
            "is_featured",
            "is_active",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "long_description": forms.Textarea(attrs={"rows": 5}),
        }

    opening_stock = forms.IntegerField(
        label=_("Opening stock"),
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text=_("Recorded as the first movement of the stock ledger."),
    )

    def __init__(self, *args: Any, categories: QuerySet[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = categories
        if self.instance._state.adding:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = _("Left empty, it is made from the name.")
        else:
            # Stock changes through the stock form once the product exists.
            del self.fields["opening_stock"]

    def clean_specifications(self) -> dict[str, Any]:
        value = self.cleaned_data.get("specifications")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Specifications must be a JSON object."))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        price, sale_price = cleaned.get("price"), cleaned.get("sale_price")
        if price is not None and sale_price is not None and sale_price >= price:
            self.add_error("sale_price", _("A sale price must be below the price."))
        return cleaned

    def _post_clean(self) -> None:
        # Uniqueness (slug, SKU per market) is the service's to check, with the market it
        # knows; the form only checks the fields themselves.
        pass

    def changes(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name] for name in self.changed_data if name in self.Meta.fields
        }

    def product_fields(self) -> dict[str, Any]:
        """What ``product_create`` takes: the product's fields (an empty slug is made
        from the name) and its opening stock."""
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if not fields["slug"]:
            del fields["slug"]
        fields["opening_stock"] = self.cleaned_data.get("opening_stock") or 0
        return fields


class StockChangeForm(forms.Form):
    change = forms.IntegerField(
        label=_("Change"),
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text=_("Positive to add units, negative to take them away."),
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=MANUAL_STOCK_REASONS)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def clean_change(self) -> int:
        change: int = self.cleaned_data["change"]
        if change == 0:
            raise forms.ValidationError(_("Give a change other than zero."))
        return change


def checked_image(upload: Any) -> CheckedImage:
    """An uploaded picture checked as the image services check it, or the form error
    that says why not, in the reader's language."""
    try:
        return image_check(upload)
    except ApplicationError as error:
        raise forms.ValidationError(image_error_text(error), code=error.code.lower()) from None


class ProductImageForm(forms.Form):
    """A picture for a product's gallery; it goes last."""

    image = forms.FileField(
        label=_("Picture"),
        # Judged by its content (image_check), never by the browser's filter.
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        allow_empty_file=True,
    )
    alt_text = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=200,
        help_text=_("What the picture shows, for those who cannot see it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["image"].help_text = _(
            "JPEG, PNG or WEBP, at most %(megabytes)s MB; it is added last."
        ) % {"megabytes": f"{max_bytes() / (1024 * 1024):g}"}

    def clean_image(self) -> CheckedImage:
        return checked_image(self.cleaned_data["image"])


class ProductImagePositionForm(forms.Form):
    position = forms.IntegerField(min_value=0, max_value=32767)
