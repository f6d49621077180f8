"""Forms of the member's store pages: the cart, the checkout, the test-mode pay page,
and the market's orders page. They shape and check input; the services decide."""

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.store.models import OrderStatus, PaymentMethod

MAX_LINE_QUANTITY = 10_000
TRACKING_NUMBER_LENGTH = 100


class AddToCartForm(forms.Form):
    product_id = forms.UUIDField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_LINE_QUANTITY, initial=1
    )
    next = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)


class CartLineForm(forms.Form):
    """A line's new quantity, or its removal."""

    quantity = forms.IntegerField(
        label=_("Quantity"), required=False, min_value=1, max_value=MAX_LINE_QUANTITY
    )
    remove = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("remove") and cleaned.get("quantity") is None and not self.errors:
            self.add_error("quantity", _("Give a quantity of at least 1."))
        return cleaned


class VoucherForm(forms.Form):
    voucher = forms.CharField(label=_("Voucher code"), required=False, max_length=40)


class AddressForm(forms.Form):
    """A postal address as the checkout stores it. The coordinates are needed only for
    local delivery, where the market checks the distance."""

    name = forms.CharField(label=_("Full name"), max_length=200)
    line1 = forms.CharField(label=_("Address"), max_length=200)
    line2 = forms.CharField(label=_("Address, line 2"), required=False, max_length=200)
    city = forms.CharField(label=_("City"), max_length=100)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20)
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        min_length=2,
        initial="UA",
        help_text=_("Two-letter code, e.g. UA."),
    )
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    latitude = forms.DecimalField(
        label=_("Latitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=Decimal("-90"),
        max_value=Decimal("90"),
        help_text=_("For local delivery: the market checks the distance to this point."),
    )
    longitude = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=Decimal("-180"),
        max_value=Decimal("180"),
    )

    def clean_country(self) -> str:
        country: str = self.cleaned_data["country"]
        return country.upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            self.add_error("longitude", _("Give both coordinates, or neither."))
        return cleaned

    def address(self) -> dict[str, Any]:
        """The address as the checkout takes it: empty optional fields left out."""
        address: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if value in (None, ""):
                continue
            address[name] = float(value) if isinstance(value, Decimal) else value
        return address


def shipping_field_name(group_key: str) -> str:
    return f"shipping_{group_key}"


class CheckoutForm(forms.Form):
    """The choices of a checkout besides the addresses: how each market's order reaches
    the buyer (one radio group per market of the cart), the voucher, how to pay.

    ``token`` is a fresh random id per rendering of the page: submitting the same form
    twice sends the same token, and the page makes one order of it.
    """

    token = forms.UUIDField(widget=forms.HiddenInput)
    billing_same = forms.BooleanField(
        label=_("The billing address is the shipping address"), required=False, initial=True
    )
    voucher_code = forms.CharField(label=_("Voucher code"), required=False, max_length=40)
    payment_method = forms.ChoiceField(
        label=_("Payment"),
        choices=PaymentMethod.choices,
        initial=PaymentMethod.CARD,
        widget=forms.RadioSelect,
    )

    def __init__(
        self,
        *args: Any,
        shipping_groups: list[dict[str, Any]],
        payment_methods: list[str],
        **kwargs: Any,
    ) -> None:
        """``shipping_groups``: one per order of the checkout, ``{"key": market id or
        "central", "name", "choices": [(method, label)]}``; ``payment_methods``: the
        ones every market of the cart accepts."""
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4())
        for group in shipping_groups:
            choices = group["choices"]
            self.fields[shipping_field_name(group["key"])] = forms.ChoiceField(
                label=group["name"],
                choices=choices,
                initial=choices[0][0] if len(choices) == 1 else None,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose how this order reaches you.")},
            )
        method_field = self.fields["payment_method"]
        assert isinstance(method_field, forms.ChoiceField)
        method_field.choices = [
            (value, label) for value, label in PaymentMethod.choices if value in payment_methods
        ]
        self.group_keys = [group["key"] for group in shipping_groups]

    def shipping_methods(self) -> dict[str, str]:
        return {key: self.cleaned_data[shipping_field_name(key)] for key in self.group_keys}


class PayForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("succeeded", _("Pay")), ("failed", _("Decline"))], widget=forms.HiddenInput
    )


class MarketOrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *OrderStatus.choices],
    )


class OrderMoveForm(forms.Form):
    to = forms.ChoiceField(choices=OrderStatus.choices, widget=forms.HiddenInput)
    tracking_number = forms.CharField(
        label=_("Tracking number"), required=False, max_length=TRACKING_NUMBER_LENGTH
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("Left empty, all that is left is refunded."),
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)
