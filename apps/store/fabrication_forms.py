"""Forms of the fabrication (3D-print) pages: they shape and check input; the
services measure, price and decide."""

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from apps.store.mesh import max_upload_bytes
from apps.store.models import FabricationMaterial, FabricationStatus, ShippingMethod
from apps.store.services.fabrication import MAX_QUANTITY

ADDRESS_FIELD_LENGTH = 200


class MaterialSelect(forms.Select):
    """Each option names its makerspace (``data-makerspace``), which the live quote
    sends along with the material."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(*args, **kwargs)
        instance = getattr(option["value"], "instance", None)
        if instance is not None:
            option["attrs"]["data-makerspace"] = str(instance.makerspace_id)
        return option


class MaterialChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _(
            "%(space)s · %(material)s on %(printer)s: %(price)s %(currency)s/cm³ "
            "+ %(setup)s %(currency)s setup"
        ) % {
            "space": obj.makerspace.name,
            "material": obj.name,
            "printer": obj.printer_name,
            # 0.1200 reads as 0.12: the price list keeps four places for cheap materials.
            "price": f"{obj.price_per_cm3.normalize():f}",
            "setup": obj.setup_fee,
            "currency": obj.currency,
        }


class ModelUploadForm(forms.Form):
    material = MaterialChoiceField(
        label=_("Material and printer"),
        queryset=FabricationMaterial.objects.none(),
        widget=MaterialSelect,
        empty_label=_("Choose a material"),
    )
    file = forms.FileField(
        label=_("Model file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".stl,.3mf"}),
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY)
    notes = forms.CharField(
        label=_("Notes for the makerspace"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, materials: QuerySet[FabricationMaterial], **kwargs: Any):
        kwargs.setdefault("initial", {}).setdefault("quantity", 1)
        super().__init__(*args, **kwargs)
        material_field = self.fields["material"]
        assert isinstance(material_field, forms.ModelChoiceField)
        material_field.queryset = materials
        megabytes = max_upload_bytes() // (1024 * 1024)
        self.fields["file"].help_text = _(
            "An STL (binary or ASCII) or 3MF file, sized in millimetres, up to %(size)s MB. "
            "It must be a closed (watertight) solid."
        ) % {"size": megabytes}


class AcceptForm(forms.Form):
    shipping_method = forms.ChoiceField(
        label=_("Delivery"),
        choices=[
            (ShippingMethod.PICKUP, _("Pick it up at the makerspace")),
            (ShippingMethod.SHIPPING, _("Ship it to me")),
        ],
        initial=ShippingMethod.PICKUP,
        widget=forms.RadioSelect,
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=ADDRESS_FIELD_LENGTH)
    line1 = forms.CharField(label=_("Address"), required=False, max_length=ADDRESS_FIELD_LENGTH)
    line2 = forms.CharField(
        label=_("Address (line 2)"), required=False, max_length=ADDRESS_FIELD_LENGTH
    )
    city = forms.CharField(label=_("City"), required=False, max_length=ADDRESS_FIELD_LENGTH)
    postal_code = forms.CharField(
        label=_("Postal code"), required=False, max_length=ADDRESS_FIELD_LENGTH
    )
    country = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=2,
        help_text=_("Two letters, e.g. UA."),
    )

    ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "country")
    REQUIRED_FOR_SHIPPING = ("name", "line1", "city", "postal_code", "country")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("shipping_method") == ShippingMethod.SHIPPING:
            for field in self.REQUIRED_FOR_SHIPPING:
                if not cleaned.get(field):
                    self.add_error(field, _("Needed to ship the print."))
        return cleaned

    def shipping_address(self) -> dict[str, str] | None:
        if self.cleaned_data.get("shipping_method") != ShippingMethod.SHIPPING:
            return None
        return {
            field: self.cleaned_data[field]
            for field in self.ADDRESS_FIELDS
            if self.cleaned_data.get(field)
        }


class StatusForm(forms.Form):
    to = forms.ChoiceField(
        choices=[
            (status, label)
            for status, label in FabricationStatus.choices
            if status not in (FabricationStatus.QUOTED, FabricationStatus.ORDERED)
        ]
    )
    tracking_number = forms.CharField(required=False, max_length=100)
    next = forms.CharField(required=False, max_length=500)


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Open jobs")), ("all", _("All jobs")), *FabricationStatus.choices],
    )
