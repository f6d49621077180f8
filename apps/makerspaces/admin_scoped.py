"""The ModelAdmin of the staff admin, scoped to the staff member's makerspaces.

A later app reuses it for its own models::

    EQUIPMENT_ADAPTER = ServiceAdapter[Equipment](
        permissions={"view": "equipment.view", "add": "equipment.create"},
        create=lambda data, user: equipment_create(..., acting_user=user),
    )

    @admin.register(Equipment)
    class EquipmentAdmin(MakerspaceScopedAdmin):
        makerspace_field = "makerspace"
        adapter = EQUIPMENT_ADAPTER
        list_filter = (MakerspaceListFilter, "status")

A write the admin allows goes through the app's service (the ``adapter``, which the
model's inline shares), so the admin cannot skip a rule or the audit log.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.forms import StorableJSONField
from apps.core.models import AuditLogEntry
from apps.makerspaces.admin_inlines import ServiceInlineFormSet
from apps.makerspaces.admin_services import PermissionsByMay, ServiceAdapter, adopt_saved
from apps.makerspaces.admin_site import (
    acting_user,
    admin_makerspace_ids,
    admin_may,
    makerspace_id_of,
)
from apps.makerspaces.models import Makerspace

WRONG_MAKERSPACE = _("You cannot save this into that makerspace.")


class MakerspaceListFilter(admin.SimpleListFilter):
    """Offers only the spaces the staff member runs (every space to a super admin)."""

    title = _("makerspace")
    parameter_name = "makerspace"

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any
    ) -> None:
        if not isinstance(model_admin, MakerspaceScopedAdmin):
            raise ImproperlyConfigured("MakerspaceListFilter needs a MakerspaceScopedAdmin.")
        self.makerspace_field = model_admin.makerspace_field
        super().__init__(request, params, model, model_admin)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        spaces = model_admin.scoped_makerspaces(request).values_list("pk", "name")
        return [(str(pk), name) for pk, name in spaces]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if value not in {str(choice) for choice, _label in self.lookup_choices}:
            raise IncorrectLookupParameters(f"Unknown makerspace {value!r}.")
        return queryset.filter(**{self.makerspace_field: value})


class MakerspaceScopedAdmin(PermissionsByMay, admin.ModelAdmin):
    """A ModelAdmin whose rows, choices, filters and permissions follow the role matrix.

    ``makerspace_field`` is the lookup path from the model to its makerspace.
    ``adapter`` says what may be done (role-matrix permissions, held in a space one
    runs) and writes the rows through the services.
    ``scoped_foreign_keys`` maps other foreign keys of the form (``"membership"``) to
    the path from the related model to its makerspace, to limit their choices too.
    """

    makerspace_field: str = "makerspace"
    adapter: ServiceAdapter[Any] = ServiceAdapter(permissions={})
    scoped_foreign_keys: dict[str, str] = {}
    # Free-form JSON (settings, specifications, business hours) is refused as a form
    # error when the database could not store it.
    formfield_overrides = {models.JSONField: {"form_class": StorableJSONField}}
    # Moving a row to another space would strand what hangs off it (grants, bookings).
    makerspace_readonly_on_change = True
    # Fields set once, when the row is added.
    readonly_on_change: tuple[str, ...] = ()
    inlines_on_add = False

    # -- scope --

    def makerspace_ids(self, request: HttpRequest, action: str) -> list[str] | None:
        """Spaces where ``action`` is allowed; None means every space (super admin)."""
        permission = self.adapter.permissions.get(action)
        if permission is None:
            return []
        return admin_makerspace_ids(request.user, permission)

    def writable_makerspace_ids(self, request: HttpRequest) -> list[str] | None:
        if request.user.is_superuser:
            return None
        writable: set[str] = set()
        for action in ("add", "change"):
            writable.update(self.makerspace_ids(request, action) or ())
        return sorted(writable)

    def scoped_makerspaces(self, request: HttpRequest) -> QuerySet[Makerspace]:
        space_ids = self.makerspace_ids(request, "view")
        spaces = Makerspace.objects.order_by("name")
        return spaces if space_ids is None else spaces.filter(pk__in=space_ids)

    def may(self, request: HttpRequest, action: str, obj: models.Model | None = None) -> bool:
        permission = self.adapter.permissions.get(action)
        if permission is None:
            return False
        if obj is None:
            space_ids = self.makerspace_ids(request, action)
            return space_ids is None or bool(space_ids)
        return admin_may(request.user, makerspace_id_of(obj, self.makerspace_field), permission)

    def holds_anywhere(self, request: HttpRequest, permission: str) -> bool:
        """Whether ``permission`` is held in any space the user runs."""
        space_ids = admin_makerspace_ids(request.user, permission)
        return space_ids is None or bool(space_ids)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        space_ids = self.makerspace_ids(request, "view")
        if space_ids is None:
            return queryset
        return queryset.filter(**{f"{self.makerspace_field}__in": space_ids})

    # -- history: the audit log, which every service writes --

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            return super().history_view(request, object_id, extra_context)
        entries = (
            AuditLogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
                object_id=str(obj.pk),
            )
            .select_related("actor")
            .order_by("-created_at", "-id")
        )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Change history: %s") % obj,
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "audit_entries": entries,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/makrx_audit_history.html", context)

    # -- forms --

    def _scope_form_field(self) -> str | None:
        """The model field the makerspace path starts with, if a form could edit it."""
        name = self.makerspace_field.split(LOOKUP_SEP)[0]
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not getattr(field, "editable", False) or getattr(field, "primary_key", False):
            return None
        return name

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        scope_field = self._scope_form_field()
        if self.makerspace_readonly_on_change and scope_field:
            readonly.append(scope_field)
        readonly += self.readonly_on_change
        return list(dict.fromkeys(readonly))

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        if obj is None and not self.inlines_on_add:
            return ()
        return super().get_inlines(request, obj)

    def scoped_choices(self, db_field: Any, request: HttpRequest) -> QuerySet | None:
        space_ids = self.writable_makerspace_ids(request)
        if space_ids is None:
            return None
        if db_field.related_model is Makerspace:
            path = "pk"
        elif db_field.name in self.scoped_foreign_keys:
            path = self.scoped_foreign_keys[db_field.name]
        else:
            return None
        manager = db_field.related_model._default_manager
        return manager.filter(**{f"{path}__in": space_ids})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            queryset = self.scoped_choices(db_field, request)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        scope_field = self._scope_form_field()
        space_ids = self.makerspace_ids(request, "add")
        if (
            scope_field
            and scope_field not in initial
            and self.model._meta.get_field(scope_field).related_model is Makerspace
            and space_ids
            and len(space_ids) == 1
        ):
            initial[scope_field] = space_ids[0]
        return initial

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        action = "change" if change else "add"

        def allowed(instance: models.Model) -> bool:
            return self.may(request, action, instance)

        return scoped_form(form_class, path=self.makerspace_field, allowed=allowed)

    # -- writes: through the services --

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: Any) -> None:
        # The form already refused other spaces; this is the last word, on the values
        # about to be written rather than on what the POST claimed.
        if not self.may(request, "change" if change else "add", obj):
            raise PermissionDenied
        user = acting_user(request)
        if change:
            saved = self.adapter.update_from(obj, form, acting_user=user)
        else:
            saved = self.adapter.create_from(form, acting_user=user)
        if saved is not None:
            adopt_saved(obj, saved)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: Any) -> None:
        if not isinstance(formset, ServiceInlineFormSet):
            raise ImproperlyConfigured(
                f"{type(self).__name__}: inlines must be MakerspaceScopedInline, so that "
                "their writes go through services."
            )
        formset.save()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if not self.may(request, "delete", obj):
            raise PermissionDenied
        self.adapter.delete_row(obj, acting_user=acting_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        # All or nothing: when one row is refused (the last admin), the others stay too.
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


def scoped_form(
    form_class: type[forms.ModelForm],
    *,
    path: str,
    allowed: Callable[[models.Model], bool],
) -> type[forms.ModelForm]:
    """``form_class``, refusing an instance whose makerspace (read from the cleaned
    instance, not from the POST) is not one the user may write to."""
    scope_field = path.split(LOOKUP_SEP)[0]

    class ScopedForm(form_class):  # type: ignore[valid-type,misc]
        def _post_clean(self) -> None:
            super()._post_clean()
            if self._errors and scope_field in self._errors:
                return
            if not allowed(self.instance):
                field = scope_field if scope_field in self.fields else None
                self.add_error(field, WRONG_MAKERSPACE)

    ScopedForm.__name__ = form_class.__name__
    ScopedForm.__qualname__ = form_class.__qualname__
    return ScopedForm
