"""Forms of the makerspace pages: they shape and check input; services do the work."""

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from apps.makerspaces import selectors
from apps.makerspaces.models import JoinPolicy, Makerspace, MembershipRole, Skill


class DirectoryForm(forms.Form):
    search = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, city or address")}),
    )
    verified = forms.BooleanField(label=_("Verified only"), required=False)
    near = forms.CharField(
        label=_("Your location"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("latitude,longitude")}),
        help_text=_("Sorts by distance, e.g. 50.45,30.52."),
    )
    radius_km = forms.FloatField(
        label=_("Within (km)"),
        required=False,
        min_value=0.1,
        max_value=20000,
        widget=forms.NumberInput(attrs={"step": "any", "placeholder": _("any distance")}),
    )

    def clean_near(self) -> tuple[float, float] | None:
        value = self.cleaned_data["near"].strip()
        if not value:
            return None
        try:
            return selectors.parse_near(value)
        except ValueError as exc:
            raise forms.ValidationError(
                _(
                    "Enter your location as latitude,longitude, e.g. 50.45,30.52 "
                    "(latitude within ±90, longitude within ±180)."
                )
            ) from exc

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("radius_km") is not None and cleaned.get("near") is None:
            self.add_error("radius_km", _("Give your location to search within a distance."))
        return cleaned


class MakerspaceCreateForm(forms.ModelForm):
    """Checks the fields like the model does; the page passes them to makerspace_create."""

    timezone = forms.ChoiceField(label=_("Timezone"), initial="Europe/Kyiv")

    class Meta:
        model = Makerspace
        fields = [
            "name",
            "description",
            "address",
            "location",
            "latitude",
            "longitude",
            "timezone",
            "currency",
            "contact_email",
            "contact_phone",
            "join_policy",
        ]
        labels = {"latitude": _("Latitude"), "longitude": _("Longitude")}
        help_texts = {
            "latitude": _("With the longitude, lets visitors find the space by distance."),
            "currency": _("Three letters, e.g. UAH or EUR."),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timezone_field = self.fields["timezone"]
        assert isinstance(timezone_field, forms.ChoiceField)
        timezone_field.choices = [(zone, zone) for zone in sorted(available_timezones())]
        self.fields["join_policy"].initial = JoinPolicy.APPROVAL

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        has_latitude = cleaned.get("latitude") is not None
        has_longitude = cleaned.get("longitude") is not None
        if has_latitude != has_longitude and not self.has_error("latitude"):
            self.add_error(
                "longitude" if has_latitude else "latitude",
                _("Give both latitude and longitude, or neither."),
            )
        return cleaned

    def service_fields(self) -> dict[str, Any]:
        """The cleaned fields as keyword arguments of ``services.makerspace_create``."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=MembershipRole.choices)

    def __init__(self, *args: Any, may_invite_staff: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        if not may_invite_staff:
            # Managers invite members; only an admin invites staff (the service agrees).
            role_field.choices = [(MembershipRole.MEMBER, MembershipRole.MEMBER.label)]
        role_field.initial = MembershipRole.MEMBER


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=MembershipRole.choices)


class SkillGrantForm(forms.Form):
    skill = forms.ModelChoiceField(
        label=_("Skill"), queryset=Skill.objects.none(), to_field_name="slug"
    )
    expires_on = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: the skill's own validity applies."),
    )

    def __init__(
        self, *args: Any, skills: QuerySet[Skill], timezone_name: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.timezone_name = timezone_name
        self.fields["skill"].queryset = skills  # type: ignore[attr-defined]

    def expires_at(self) -> datetime | None:
        """Valid through the chosen day: until the next local midnight of the space."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(
            day + timedelta(days=1), time(0), tzinfo=ZoneInfo(self.timezone_name)
        )
