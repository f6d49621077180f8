"""Forms of the project pages: they shape and check input; services do the work."""

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.core.exceptions import ApplicationError
from apps.equipment.models import Reservation
from apps.inventory.models import InventoryItem
from apps.makerspaces.models import Makerspace
from apps.projects.models import CollaboratorRole, ProjectPrivacy, ProjectStatus
from apps.projects.services import MAX_MULTIPLIER, clean_tags


class ProjectForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("project", "Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=ProjectStatus.choices, initial=ProjectStatus.DRAFT
    )
    privacy = forms.ChoiceField(
        label=_("Who can see it"), choices=ProjectPrivacy.choices, initial=ProjectPrivacy.PRIVATE
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Comma-separated, e.g. laser, lamp, plywood."),
    )

    def __init__(self, *args: Any, may_share: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_share:
            # Editors change the details; who sees the project is the owner's call.
            del self.fields["privacy"]

    def clean_tags(self) -> list[str]:
        try:
            return clean_tags(self.cleaned_data.get("tags", "").split(","))
        except ApplicationError as error:
            raise forms.ValidationError(" ".join(error.details.get("tags", []))) from error


class ProjectCreateForm(ProjectForm):
    makerspace = forms.ModelChoiceField(
        label=_("Makerspace"), queryset=Makerspace.objects.none(), empty_label=None
    )
    field_order = ["makerspace", "name", "description", "status", "privacy", "tags"]

    def __init__(self, *args: Any, spaces: QuerySet[Makerspace], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["makerspace"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = spaces


class BomLineForm(forms.Form):
    item = forms.ModelChoiceField(label=_("Item"), queryset=InventoryItem.objects.none())
    quantity = forms.DecimalField(
        label=_("Quantity"), min_value=Decimal("0.001"), max_digits=14, decimal_places=3
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: Any, items: QuerySet[InventoryItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["item"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = items


class QuantityForm(forms.Form):
    quantity = forms.DecimalField(
        label=_("Quantity"), min_value=Decimal("0.001"), max_digits=14, decimal_places=3
    )


class ConsumeForm(forms.Form):
    multiplier = forms.IntegerField(
        label=_("Copies"), min_value=1, max_value=MAX_MULTIPLIER, initial=1
    )


class CollaboratorForm(forms.Form):
    email = forms.EmailField(label=_("Member's email"))
    role = forms.ChoiceField(
        label=_("Role"), choices=CollaboratorRole.choices, initial=CollaboratorRole.VIEWER
    )


class LinkBookingForm(forms.Form):
    reservation = forms.ModelChoiceField(
        label=_("Booking"), queryset=Reservation.objects.none(), empty_label=None
    )

    def __init__(
        self, *args: Any, reservations: QuerySet[Reservation], timezone_name: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reservation"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = reservations
        zone = ZoneInfo(timezone_name)

        def label(reservation: Any) -> str:
            start = reservation.start_time.astimezone(zone)
            end = reservation.end_time.astimezone(zone)
            when = f"{date_format(start, 'D j M Y, H:i')}–{date_format(end, 'H:i')}"
            return f"{reservation.equipment.name} · {when}"

        field.label_from_instance = label  # type: ignore[method-assign,assignment]
