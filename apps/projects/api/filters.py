"""Query parameters of the project lists. Each filter hands its value to a selector, so
the pages and the API filter alike; a bad value answers 400 naming the parameter."""

from typing import Any
from uuid import UUID

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.filters import StrictBooleanFilter
from apps.core.api.serializers import choice_list_pattern
from apps.projects import selectors
from apps.projects.models import TAG_MAX_LENGTH, Project, ProjectPrivacy, ProjectStatus


class StatusesField(forms.CharField):
    def clean(self, value: Any) -> str:
        value = super().clean(value)
        unknown = {part for part in value.split(",") if part} - set(ProjectStatus.values)
        if unknown:
            raise forms.ValidationError(f"Unknown status: {', '.join(sorted(unknown))}.")
        return str(value)


@extend_schema_field(
    {"type": "string", "pattern": choice_list_pattern(ProjectStatus.values, empty_parts=True)}
)
class StatusesFilter(filters.CharFilter):
    field_class = StatusesField


def _text(max_length: int, help_text: str, method: str) -> filters.CharFilter:
    return extend_schema_field(serializers.CharField(max_length=max_length))(
        filters.CharFilter(method=method, max_length=max_length, help_text=help_text)
    )


class FormOnceFilterSet(filters.FilterSet):
    """django-filter builds a FilterSet's form class anew for every request, from fresh
    copies of its filters; nothing of it depends on the request (a filter's ``method``
    is looked up on the FilterSet, not the form), so each class builds it once."""

    def get_form_class(self) -> type[forms.Form]:
        form_class: type[forms.Form] | None = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class


class MyProjectFilter(FormOnceFilterSet):
    status = StatusesFilter(
        method="filter_status", help_text="One status or several, comma-separated."
    )

    def filter_status(
        self, projects: QuerySet[Project], name: str, value: str
    ) -> QuerySet[Project]:
        return selectors.projects_in_status(projects, value)


class TaggedFilter(FormOnceFilterSet):
    tag = _text(TAG_MAX_LENGTH, "Only projects with this tag (any case).", "filter_tag")
    search = _text(200, "In the name or description, any case.", "filter_search")

    def filter_tag(self, projects: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        return selectors.projects_tagged(projects, value)

    def filter_search(
        self, projects: QuerySet[Project], name: str, value: str
    ) -> QuerySet[Project]:
        return selectors.projects_matching(projects, value)


class ProjectFilter(MyProjectFilter, TaggedFilter):
    privacy = filters.ChoiceFilter(
        choices=ProjectPrivacy.choices, method="filter_privacy", help_text="Only this privacy."
    )
    mine = StrictBooleanFilter(
        method="filter_mine", help_text="Only projects the caller owns or collaborates on."
    )

    def filter_privacy(
        self, projects: QuerySet[Project], name: str, value: str
    ) -> QuerySet[Project]:
        return selectors.projects_of_privacy(projects, value)

    def filter_mine(
        self, projects: QuerySet[Project], name: str, value: bool | None
    ) -> QuerySet[Project]:
        if not value:
            return projects
        user = self.request.user if self.request is not None else None
        return selectors.projects_owned_or_shared(projects, user)


class PublicProjectFilter(TaggedFilter):
    makerspace = filters.UUIDFilter(method="filter_makerspace", help_text="Only this space's.")

    def filter_makerspace(
        self, projects: QuerySet[Project], name: str, value: UUID
    ) -> QuerySet[Project]:
        return selectors.projects_of_space_id(projects, value)
