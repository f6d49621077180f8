"""Query filters of the equipment API: each declares and validates its parameters (a bad
value is a 400 naming it) and leaves the filtering itself to the selectors."""

from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from apps.accounts.models import User
from apps.core.api.filters import MomentFilter, StrictBooleanFilter, StrictFilterSet
from apps.core.api.serializers import choice_list_pattern
from apps.equipment import selectors
from apps.equipment.models import (
    Equipment,
    EquipmentStatus,
    EquipmentType,
    Reservation,
    ReservationStatus,
)


class EquipmentFilter(StrictFilterSet):
    status = filters.ChoiceFilter(
        choices=EquipmentStatus.choices, method="by_status", help_text="Only machines in it."
    )
    type = filters.ChoiceFilter(
        choices=EquipmentType.choices, method="by_type", help_text="Only machines of it."
    )

    class Meta:
        model = Equipment
        fields: list[str] = []

    def by_status(
        self, queryset: QuerySet[Equipment], name: str, value: str
    ) -> QuerySet[Equipment]:
        return selectors.equipment_matching(queryset, status=value)

    def by_type(self, queryset: QuerySet[Equipment], name: str, value: str) -> QuerySet[Equipment]:
        return selectors.equipment_matching(queryset, equipment_type=value)


class StatusListField(forms.CharField):
    """Comma-separated booking statuses; an unknown one is an error naming it."""

    def clean(self, value: Any) -> list[str] | None:
        text = super().clean(value)
        if not text:
            return None
        wanted = text.split(",")
        unknown = set(wanted) - set(ReservationStatus.values)
        if unknown:
            raise forms.ValidationError(f"Unknown status: {', '.join(sorted(unknown))}.")
        return wanted


@extend_schema_field({"type": "string", "pattern": choice_list_pattern(ReservationStatus.values)})
class StatusListFilter(filters.CharFilter):
    field_class = StatusListField
    blank_means_all = True


class ReservationFilter(StrictFilterSet):
    status = StatusListFilter(
        method="by_status",
        help_text="Comma-separated statuses, e.g. `pending,confirmed`.",
    )
    equipment = filters.UUIDFilter(field_name="equipment_id", help_text="One machine's.")
    start = MomentFilter(method="ending_after", help_text="Only bookings ending after this.")
    end = MomentFilter(method="starting_before", help_text="Only bookings starting before this.")
    mine = StrictBooleanFilter(
        method="of_caller", help_text="Only the caller's own (staff see everyone's otherwise)."
    )

    class Meta:
        model = Reservation
        fields: list[str] = []

    def by_status(
        self, queryset: QuerySet[Reservation], name: str, value: list[str]
    ) -> QuerySet[Reservation]:
        return selectors.reservations_matching(queryset, statuses=value)

    def ending_after(
        self, queryset: QuerySet[Reservation], name: str, value: datetime
    ) -> QuerySet[Reservation]:
        return selectors.reservations_matching(queryset, start=value)

    def starting_before(
        self, queryset: QuerySet[Reservation], name: str, value: datetime
    ) -> QuerySet[Reservation]:
        return selectors.reservations_matching(queryset, end=value)

    def of_caller(
        self, queryset: QuerySet[Reservation], name: str, value: bool
    ) -> QuerySet[Reservation]:
        if not value:
            return queryset
        user = self.request.user if self.request is not None else None
        assert isinstance(user, User)
        return selectors.reservations_matching(queryset, user=user)
