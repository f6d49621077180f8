"""Forms of the stock pages and the admin's stock actions: they shape and check input;
the stock services do the work."""

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from apps.core.exceptions import ApplicationError
from apps.inventory import csv_io
from apps.makerspaces.models import Makerspace

SMALLEST_QUANTITY = Decimal("0.001")


def _quantity_field(label: Any, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        widget=forms.NumberInput(attrs={"step": "any"}),
        max_digits=14,
        decimal_places=3,
        **kwargs,
    )


class ItemFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, SKU or supplier")}),
    )
    low = forms.BooleanField(label=_("Low stock only"), required=False)


class RestockForm(forms.Form):
    quantity = _quantity_field(_("Quantity"), min_value=SMALLEST_QUANTITY)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
    unit_cost = forms.DecimalField(
        label=_("Unit cost"),
        required=False,
        min_value=Decimal("0"),
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text=_("Leave empty to keep the item's current cost."),
        max_digits=12,
        decimal_places=2,
    )


class DeductForm(forms.Form):
    quantity = _quantity_field(_("Quantity"), min_value=SMALLEST_QUANTITY)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class AdjustForm(forms.Form):
    new_stock = _quantity_field(_("Counted stock"), min_value=Decimal("0"))
    reason = forms.CharField(label=_("Reason"), max_length=300)


class PurchaseOrderForm(forms.Form):
    item = forms.UUIDField(widget=forms.HiddenInput)
    quantity = _quantity_field(_("Quantity"), min_value=SMALLEST_QUANTITY)


class CsvImportForm(forms.Form):
    """A CSV upload for one space. After a dry run the checked text travels back in
    ``csv_text``, so what is imported is exactly what was checked."""

    makerspace = forms.ModelChoiceField(label=_("Makerspace"), queryset=Makerspace.objects.none())
    file = forms.FileField(
        label=_("CSV file"),
        required=False,
        help_text=_(
            "Columns: sku, name, category, unit, current_stock, min_stock_level, "
            "reorder_quantity, location, supplier, unit_cost. Items are matched by SKU."
        ),
    )
    csv_text = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)

    def __init__(self, *args: Any, makerspaces: QuerySet[Makerspace], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        makerspace_field = self.fields["makerspace"]
        assert isinstance(makerspace_field, forms.ModelChoiceField)
        makerspace_field.queryset = makerspaces
        if len(makerspaces) == 1:
            makerspace_field.initial = makerspaces[0].pk

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        limit = csv_io.max_import_bytes()
        too_large = _("The file is larger than %(size)s.") % {"size": filesizeformat(limit)}
        if upload is not None:
            try:
                cleaned["text"] = csv_io.read_upload(upload, limit=limit)
            except ApplicationError as error:
                if error.code == "PAYLOAD_TOO_LARGE":
                    self.add_error("file", too_large)
                else:
                    self.add_error("file", _("The file is not UTF-8 text."))
        elif cleaned.get("csv_text"):
            # The checked text comes back from the browser: held to the same limit.
            if len(cleaned["csv_text"].encode()) > limit:
                self.add_error("file", too_large)
            else:
                cleaned["text"] = cleaned["csv_text"]
        else:
            self.add_error("file", _("Choose a CSV file."))
        return cleaned
