"""Pieces of the API's FilterSets that every app uses."""

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.db.models import Model
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.generics import GenericAPIView, get_object_or_404
from rest_framework.viewsets import GenericViewSet

# The spellings DRF's BooleanField reads, so filters answer as the query serializers did.
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "off"})


class StrictBooleanField(forms.Field):
    """A yes/no query parameter that refuses anything else (400), where django-filter's
    own boolean quietly reads an unknown word as "no filter"."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise forms.ValidationError("Must be a valid boolean.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    field_class = StrictBooleanField


class FilteredListsMixin(GenericAPIView):
    """FilterSets filter lists. A route naming one object finds it whatever the query
    string says, where DRF's ``get_object`` would run the list's filters on it too (and
    an action's own FilterSet, meant for the list it answers, on the object it reads)."""

    def get_object(self) -> Any:
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        found = get_object_or_404(
            self.get_queryset(), **{self.lookup_field: self.kwargs[lookup_url_kwarg]}
        )
        self.check_object_permissions(self.request, found)
        return found


class MomentField(IsoDateTimeField):
    """A moment with any UTC offset Python reads, held as UTC: the database takes offsets
    of at most 15:59, and a moment past year 9999 in UTC is no moment at all."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Not a moment that can be stored.") from None


class MomentFilter(filters.IsoDateTimeFilter):
    field_class = MomentField


class StrictFilterSet(filters.FilterSet):
    """A typed parameter given empty (``?mine=``, ``?type=``) is a 400 rather than no
    filter: the client meant something, and the schema allows no empty value there. A
    list filter whose pattern allows nothing says so with ``blank_means_all``."""

    def is_valid(self) -> bool:
        valid = bool(super().is_valid())
        if not self.is_bound:
            return valid
        for name in self.filters:
            blank_means_all = getattr(self.filters[name], "blank_means_all", False)
            if not blank_means_all and name in self.data and self.data.get(name) == "":
                self.form.add_error(name, "May not be blank.")
                valid = False
        return valid


def list_criteria(view: GenericViewSet, model: type[Model]) -> dict[str, Any]:
    """The list's query parameters as the view's FilterSet reads them (a bad one is a
    400), for a selector to filter by instead of the FilterSet's queryset."""
    declared = getattr(view, "filterset_class", None)
    # A FilterSet ignores what it does not declare (page, limit): nothing to read then.
    if declared is None or not set(view.request.query_params) & set(declared.base_filters):
        return {}
    filterset = DjangoFilterBackend().get_filterset(
        view.request, model._default_manager.none(), view
    )
    if filterset is None:
        return {}
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    return dict(filterset.form.cleaned_data)
