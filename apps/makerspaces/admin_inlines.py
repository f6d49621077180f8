"""Inlines of the staff admin: permissions from the parent row's makerspace, writes
through the model's :class:`~apps.makerspaces.admin_services.ServiceAdapter`."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from apps.makerspaces.admin_services import ServiceAdapter
from apps.makerspaces.admin_site import (
    acting_user,
    admin_makerspace_ids,
    admin_may,
    makerspace_id_of,
)


class ServiceInlineFormSet(BaseInlineFormSet):
    """Saves, changes and deletes inline rows through the inline's adapter."""

    inline_admin: "MakerspaceScopedInline"
    request: HttpRequest

    def save_new(self, form: Any, commit: bool = True) -> Any:
        if not commit:
            return super().save_new(form, commit=commit)
        if not self.inline_admin.has_add_permission(self.request, self.instance):
            raise PermissionDenied
        setattr(form.instance, self.fk.name, self.instance)
        return self.inline_admin.adapter.create_from(
            form, acting_user=acting_user(self.request), given={self.fk.name: self.instance}
        )

    def save_existing(self, form: Any, obj: Any, commit: bool = True) -> Any:
        if not commit:
            return super().save_existing(form, obj, commit=commit)
        if not self.inline_admin.has_change_permission(self.request, self.instance):
            # A view-only row comes back with no data of its own: nothing to write.
            return obj
        saved = self.inline_admin.adapter.update_from(
            obj, form, acting_user=acting_user(self.request)
        )
        return obj if saved is None else saved

    def delete_existing(self, obj: Any, commit: bool = True) -> None:
        if not commit:
            return
        if not self.inline_admin.has_delete_permission(self.request, self.instance):
            raise PermissionDenied
        self.inline_admin.adapter.delete_row(obj, acting_user=acting_user(self.request))


class MakerspaceScopedInline(admin.TabularInline):
    """An inline whose permissions come from the parent row's makerspace.

    ``parent_makerspace_field`` is the path from the parent to its makerspace (``"id"``
    when the parent is the Makerspace itself); ``adapter`` says what may be done and
    writes the rows.
    """

    formset = ServiceInlineFormSet
    parent_makerspace_field = "makerspace"
    adapter: ServiceAdapter[Any] = ServiceAdapter(permissions={})
    # What each row shows of its relations, fetched with the rows.
    select_related: tuple[str, ...] = ()
    extra = 0
    # The row being edited, for choices that depend on it (its space's members, items).
    parent: Any = None

    def may(self, request: HttpRequest, action: str, parent: Any) -> bool:
        permission = self.adapter.permissions.get(action)
        if permission is None:
            return False
        if parent is None:
            space_ids = admin_makerspace_ids(request.user, permission)
            return space_ids is None or bool(space_ids)
        return admin_may(
            request.user, makerspace_id_of(parent, self.parent_makerspace_field), permission
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset.select_related(*self.select_related) if self.select_related else queryset

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "view", obj) or self.may(request, "change", obj)

    def has_add_permission(self, request: HttpRequest, obj: Any) -> bool:  # type: ignore[override]
        return self.may(request, "add", obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "delete", obj)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        self.parent = obj
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"request": request, "inline_admin": self})
