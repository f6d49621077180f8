"""The staff admin, scoped to the staff member's makerspaces.

Staff are the admins and managers of a space. They need neither ``is_staff`` nor any
Django model permission: every check here ends in ``has_makerspace_permission``, the
same role matrix the API and the pages use. Super admins see and may do everything a
service allows.

A later app reuses this for its own models::

    @admin.register(Equipment)
    class EquipmentAdmin(MakerspaceScopedAdmin):
        makerspace_field = "makerspace"
        admin_permissions = {
            "view": "equipment.view",
            "add": "equipment.create",
            "change": "equipment.update",
            "delete": "equipment.delete",
        }
        list_filter = (MakerspaceListFilter, "status")

        def create_via_service(self, request, obj, form):
            return services.equipment_create(..., acting_user=acting_user(request))

A write the admin allows goes through the app's service (``create_via_service``,
``update_via_service``, ``delete_via_service``), so the admin cannot skip a rule or the
audit log. An action left out of ``admin_permissions`` is not allowed to anyone.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import (
    FieldDoesNotExist,
    ImproperlyConfigured,
    PermissionDenied,
    ValidationError,
)
from django.db import models, transaction
from django.db.models import QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.forms import client_ip
from apps.accounts.models import User
from apps.accounts.services import user_login
from apps.core.exceptions import ApplicationError
from apps.core.forms import StorableJSONField
from apps.core.models import AuditLogEntry
from apps.core.permissions import (
    STAFF_ROLES,
    has_makerspace_permission,
    makerspace_ids_with,
    role_in,
)
from apps.makerspaces.models import Makerspace, Membership, MembershipStatus

WRONG_MAKERSPACE = _("You cannot save this into that makerspace.")


# --- who may use the admin, and where ---------------------------------------------------


def acting_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def can_use_admin(user: Any) -> bool:
    """Super admins, Django staff, and the admins and managers of an active space."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.is_staff:
        return True
    cached: bool | None = getattr(user, "_makrx_admin_access", None)
    if cached is None:
        cached = Membership.objects.filter(
            user=user,
            status=MembershipStatus.ACTIVE,
            role__in=STAFF_ROLES,
            makerspace__is_active=True,
        ).exists()
        user._makrx_admin_access = cached
    return cached


def staff_makerspace_ids(user: Any, permission: str) -> list[str]:
    """Spaces where ``user`` is staff (admin or manager) and holds ``permission``."""
    return [
        space_id
        for space_id in makerspace_ids_with(user, permission)
        if role_in(user, space_id) in STAFF_ROLES
    ]


def staff_may(user: Any, makerspace_id: Any, permission: str) -> bool:
    """Whether ``user`` may do ``permission`` in that space through the admin.

    A plain member never may, even where the matrix lets members do the thing
    (``skills.view``): the admin is for the people who run the space.
    """
    if makerspace_id is None:
        return False
    if not has_makerspace_permission(user, makerspace_id, permission):
        return False
    return bool(user.is_superuser) or role_in(user, makerspace_id) in STAFF_ROLES


def makerspace_id_of(obj: models.Model | None, path: str) -> str | None:
    """Follow ``path`` (``"makerspace"``, ``"membership__makerspace"``, ``"makerspace_id"``,
    or ``"id"`` on a Makerspace) from ``obj`` to its makerspace's id; None when unset."""
    target: Any = obj
    if target is None:
        return None
    parts = path.split(LOOKUP_SEP)
    for part in parts[:-1]:
        field = target._meta.get_field(part)
        if getattr(target, field.attname) is None:
            return None
        target = getattr(target, part)
    value = getattr(target, target._meta.get_field(parts[-1]).attname)
    return None if value is None else str(value)


def describe_error(error: ApplicationError) -> str:
    details = "; ".join(
        f"{field}: {' '.join(str(m) for m in problems)}"
        if isinstance(problems, list | tuple)
        else f"{field}: {problems}"
        for field, problems in error.details.items()
    )
    return f"{error.message} ({details})" if details else error.message


def adopt_saved(target: models.Model, saved: models.Model) -> None:
    """Turn the admin's unsaved instance into the row a service wrote, so what Django
    does after ``save_model`` (its log entry, the redirect) points at the real row."""
    if saved is target:
        return
    for field in target._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


# --- the site ------------------------------------------------------------------------------


class StaffAuthenticationForm(AdminAuthenticationForm):
    """The admin login, open to space staff who are not ``is_staff``; it counts failures
    like the sign-in page, so it is no side door for guessing passwords."""

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            ip = client_ip(self.request) if self.request is not None else ""
            try:
                self.user_cache = user_login(email=email, password=password, ip=ip)
            except ApplicationError as error:
                if error.code == "RATE_LIMITED":
                    raise ValidationError(error.message, code="rate_limited") from error
                raise self.get_invalid_login_error() from error
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def confirm_login_allowed(self, user: Any) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)
        if not can_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class MakrXAdminSite(admin.AdminSite):
    site_header = "MakrX staff"
    site_title = "MakrX staff"
    index_title = "Run your makerspace"
    login_form = StaffAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return can_use_admin(request.user)


# --- model admins --------------------------------------------------------------------------


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


class MakerspaceScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows, choices, filters and permissions follow the role matrix.

    ``makerspace_field`` is the lookup path from the model to its makerspace.
    ``admin_permissions`` maps ``view``/``add``/``change``/``delete`` to role-matrix
    permissions; only staff (admin, manager) of a space get them there.
    ``scoped_foreign_keys`` maps other foreign keys of the form (``"membership"``) to
    the path from the related model to its makerspace, to limit their choices too.
    """

    makerspace_field: str = "makerspace"
    admin_permissions: dict[str, str] = {}
    scoped_foreign_keys: dict[str, str] = {}
    # Free-form JSON (settings, specifications, business hours) is refused as a form
    # error when the database could not store it.
    formfield_overrides = {models.JSONField: {"form_class": StorableJSONField}}
    # Moving a row to another space would strand what hangs off it (grants, bookings).
    makerspace_readonly_on_change = True
    inlines_on_add = False

    # -- scope --

    def makerspace_ids(self, request: HttpRequest, action: str) -> list[str] | None:
        """Spaces where ``action`` is allowed; None means every space (super admin)."""
        permission = self.admin_permissions.get(action)
        if permission is None:
            return []
        if request.user.is_superuser:
            return None
        return staff_makerspace_ids(request.user, permission)

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
        permission = self.admin_permissions.get(action)
        if permission is None:
            return False
        if obj is None:
            space_ids = self.makerspace_ids(request, action)
            return space_ids is None or bool(space_ids)
        return staff_may(request.user, makerspace_id_of(obj, self.makerspace_field), permission)

    def holds_anywhere(self, request: HttpRequest, permission: str) -> bool:
        """For action permissions (``has_<action>_permission``): held in any space."""
        return bool(request.user.is_superuser) or bool(
            staff_makerspace_ids(request.user, permission)
        )

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

    # -- permissions: the role matrix, never Django's model permissions --

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "view", obj) or self.may(request, "change", obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "delete", obj)

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
        scope_field = self._scope_form_field()
        if (
            obj is not None
            and self.makerspace_readonly_on_change
            and scope_field
            and scope_field not in readonly
        ):
            readonly.append(scope_field)
        return readonly

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

    def create_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> models.Model:
        raise ImproperlyConfigured(
            f"{type(self).__name__} allows adding but has no create_via_service()."
        )

    def update_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> models.Model | None:
        raise ImproperlyConfigured(
            f"{type(self).__name__} allows changing but has no update_via_service()."
        )

    def delete_via_service(self, request: HttpRequest, obj: Any) -> None:
        raise ImproperlyConfigured(
            f"{type(self).__name__} allows deleting but has no delete_via_service()."
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: Any) -> None:
        # The form already refused other spaces; this is the last word, on the values
        # about to be written rather than on what the POST claimed.
        if not self.may(request, "change" if change else "add", obj):
            raise PermissionDenied
        if change:
            saved = self.update_via_service(request, obj, form)
        else:
            saved = self.create_via_service(request, obj, form)
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
        self.delete_via_service(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        # All or nothing: when one row is refused (the last admin), the others stay too.
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)

    def apply_to_each(
        self,
        request: HttpRequest,
        queryset: Iterable[Any],
        *,
        permission: str,
        service: Callable[[Any], object],
        done_message: str,
    ) -> None:
        """Run an action's service row by row, each in its own transaction, checking the
        permission in the row's own space; report what was done and what was refused."""
        done, refused = 0, []
        for obj in queryset:
            if not staff_may(
                request.user, makerspace_id_of(obj, self.makerspace_field), permission
            ):
                refused.append(gettext("%(object)s: not allowed") % {"object": obj})
                continue
            try:
                with transaction.atomic():
                    service(obj)
            except ApplicationError as error:
                refused.append(f"{obj}: {describe_error(error)}")
                continue
            done += 1
        if done:
            self.message_user(request, f"{done_message}: {done}.", messages.SUCCESS)
        if refused:
            self.message_user(
                request, gettext("Not done: %s") % "; ".join(refused), messages.WARNING
            )

    # -- a rule a service enforces (say, the last admin) becomes a message, not a 500 --

    def _refused(self, request: HttpRequest, error: ApplicationError) -> HttpResponse:
        self.message_user(request, describe_error(error), messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as error:
            return self._refused(request, error)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as error:
            return self._refused(request, error)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().changelist_view(request, extra_context)
        except ApplicationError as error:
            return self._refused(request, error)


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


# --- inlines -------------------------------------------------------------------------------


class ServiceInlineFormSet(BaseInlineFormSet):
    """Saves, changes and deletes inline rows through the inline's service hooks."""

    inline_admin: "MakerspaceScopedInline"
    request: HttpRequest

    def save_new(self, form: Any, commit: bool = True) -> Any:
        if not commit:
            return super().save_new(form, commit=commit)
        if not self.inline_admin.has_add_permission(self.request, self.instance):
            raise PermissionDenied
        setattr(form.instance, self.fk.name, self.instance)
        return self.inline_admin.create_via_service(self.request, parent=self.instance, form=form)

    def save_existing(self, form: Any, obj: Any, commit: bool = True) -> Any:
        if not commit:
            return super().save_existing(form, obj, commit=commit)
        if not self.inline_admin.has_change_permission(self.request, self.instance):
            # A view-only row comes back with no data of its own: nothing to write.
            return obj
        saved = self.inline_admin.update_via_service(self.request, obj=obj, form=form)
        return obj if saved is None else saved

    def delete_existing(self, obj: Any, commit: bool = True) -> None:
        if not commit:
            return
        if not self.inline_admin.has_delete_permission(self.request, self.instance):
            raise PermissionDenied
        self.inline_admin.delete_via_service(self.request, obj=obj)


class MakerspaceScopedInline(admin.TabularInline):
    """An inline whose permissions come from the parent row's makerspace.

    ``parent_makerspace_field`` is the path from the parent to its makerspace (``"id"``
    when the parent is the Makerspace itself).
    """

    formset = ServiceInlineFormSet
    parent_makerspace_field = "makerspace"
    admin_permissions: dict[str, str] = {}
    extra = 0

    def may(self, request: HttpRequest, action: str, parent: Any) -> bool:
        permission = self.admin_permissions.get(action)
        if permission is None:
            return False
        if parent is None:
            return bool(request.user.is_superuser) or bool(
                staff_makerspace_ids(request.user, permission)
            )
        return staff_may(
            request.user, makerspace_id_of(parent, self.parent_makerspace_field), permission
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "view", obj) or self.may(request, "change", obj)

    def has_add_permission(self, request: HttpRequest, obj: Any) -> bool:  # type: ignore[override]
        return self.may(request, "add", obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may(request, "delete", obj)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"request": request, "inline_admin": self})

    def create_via_service(
        self, request: HttpRequest, *, parent: Any, form: forms.ModelForm
    ) -> models.Model:
        raise ImproperlyConfigured(f"{type(self).__name__} has no create_via_service().")

    def update_via_service(
        self, request: HttpRequest, *, obj: Any, form: forms.ModelForm
    ) -> models.Model | None:
        raise ImproperlyConfigured(f"{type(self).__name__} has no update_via_service().")

    def delete_via_service(self, request: HttpRequest, *, obj: Any) -> None:
        raise ImproperlyConfigured(f"{type(self).__name__} has no delete_via_service().")
