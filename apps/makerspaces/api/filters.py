"""Query parameters of the makerspace API, checked by django-filter; the filtering
itself is the selectors'."""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from apps.core.api.filters import StrictBooleanFilter
from apps.makerspaces import selectors
from apps.makerspaces.models import Makerspace


class NearField(forms.Field):
    """``lat,lng`` → a pair of floats. Given but blank is an error, like any bad value."""

    def to_python(self, value: Any) -> tuple[float, float] | None:
        if value is None:
            return None
        try:
            return selectors.parse_near(str(value))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


class NearFilter(django_filters.CharFilter):
    field_class = NearField


class FloatFilter(django_filters.NumberFilter):
    field_class = forms.FloatField


class DirectoryForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        lacks_near = cleaned.get("near") is None and not self.has_error("near")
        if cleaned.get("radius_km") is not None and lacks_near:
            self.add_error("radius_km", "Give near=lat,lng with radius_km.")
        return cleaned


class MakerspaceDirectoryFilter(django_filters.FilterSet):
    """The public directory: ``search``, ``verified``, ``near`` (orders by distance) and
    ``radius_km`` (with ``near``: only spaces this close)."""

    search = django_filters.CharFilter(max_length=200)
    verified = StrictBooleanFilter()
    near = NearFilter(help_text="lat,lng")
    radius_km = FloatFilter(min_value=0.1, max_value=20000)

    class Meta:
        model = Makerspace
        fields = ["search", "verified", "near", "radius_km"]
        form = DirectoryForm

    def get_form_class(self) -> type[forms.Form]:
        # django-filter builds the form class anew for every request, from fresh copies
        # of the filters; nothing of it depends on the request, so it is built once.
        form_class: type[forms.Form] | None = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    def filter_queryset(self, queryset: QuerySet[Makerspace]) -> QuerySet[Makerspace]:
        criteria = self.form.cleaned_data
        return selectors.makerspace_directory(
            search=criteria.get("search") or "",
            verified=criteria.get("verified"),
            near=criteria.get("near"),
            radius_km=criteria.get("radius_km"),
            spaces=queryset,
        )
