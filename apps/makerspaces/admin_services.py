"""The admin's writes, each through a service with the acting user.

One :class:`ServiceAdapter` per model says what the admin may do with it and how a form
becomes a service call; the ModelAdmin and the inline of that model both use it, so
each is written once. :class:`ServiceAction` builds a changelist action that runs a service on
each selected row, and the permission check that hides the action from whoever may not
run it.
"""

from collections.abc import Callable, Collection, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, validation_error
from apps.makerspaces.admin_site import (
    acting_user,
    admin_makerspace_ids,
    admin_may,
    describe_error,
    makerspace_id_of,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class ServiceAdapter(Generic[M]):
    """What the admin may do with one model, and how it writes it through the services.

    ``permissions`` maps ``view``/``add``/``change``/``delete`` to role-matrix
    permissions (an action left out is allowed to no one). ``create(data, user)`` gets
    the form's cleaned data (with the parent row under its field's name, for an
    inline); ``update(row, changes, user)`` the fields the form changed among
    ``update_fields``; ``delete(row, user)`` the row.
    """

    permissions: dict[str, str]
    create: Callable[[dict[str, Any], User], M] | None = None
    update: Callable[[M, dict[str, Any], User], M] | None = None
    delete: Callable[[M, User], object] | None = None
    update_fields: Collection[str] = ()
    # Fields that never change on a row (it would move to another parent).
    fixed_fields: Collection[str] = ()

    def __post_init__(self) -> None:
        for action, write in (
            ("add", self.create),
            ("change", self.update),
            ("delete", self.delete),
        ):
            if action in self.permissions and write is None:
                raise ImproperlyConfigured(f"Allowing {action!r} needs a service to call.")

    def create_from(
        self, form: forms.ModelForm, *, acting_user: User, given: dict[str, Any] | None = None
    ) -> M:
        if self.create is None:
            raise PermissionDenied
        return self.create({**form.cleaned_data, **(given or {})}, acting_user)

    def update_from(self, obj: M, form: forms.ModelForm, *, acting_user: User) -> M | None:
        """The service's result, or None when the form changed nothing to write."""
        for field in self.fixed_fields:
            if field in form.changed_data:
                raise validation_error(field, "Remove the row and add a new one instead.")
        changes = {
            name: form.cleaned_data.get(name)
            for name in form.changed_data
            if name in self.update_fields
        }
        if not changes:
            return None
        if self.update is None:
            raise PermissionDenied
        return self.update(obj, changes, acting_user)

    def delete_row(self, obj: M, *, acting_user: User) -> None:
        if self.delete is None:
            raise PermissionDenied
        self.delete(obj, acting_user)


def adopt_saved(target: models.Model, saved: models.Model) -> None:
    """Turn the admin's unsaved instance into the row a service wrote, so what Django
    does after ``save_model`` (its log entry, the redirect) points at the real row."""
    if saved is target:
        return
    for field in target._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


# --- actions -------------------------------------------------------------------------------

PermissionCheck = Callable[[Any, HttpRequest], bool]


def permission_check(permission: str, *, super_admins_only: bool = False) -> PermissionCheck:
    """A ``has_<action>_permission`` method: whether the user holds ``permission`` in any
    space they run (the action is hidden otherwise); the rows are checked one by one
    when it runs."""

    def has_permission(model_admin: Any, request: HttpRequest) -> bool:
        if super_admins_only:
            return bool(request.user.is_superuser)
        space_ids = admin_makerspace_ids(request.user, permission)
        return space_ids is None or bool(space_ids)

    return has_permission


def run_on_each(
    model_admin: Any,
    request: HttpRequest,
    rows: Iterable[Any],
    *,
    allowed: Callable[[Any], bool],
    service: Callable[[Any], object],
    done_message: str,
    atomic: bool = True,
) -> None:
    """Run an action's service row by row, each in its own transaction (without
    ``atomic``: a service that calls a provider and keeps its own transactions short),
    on the rows ``allowed`` lets through; report what was done and what was refused."""
    done, refused = 0, []
    for obj in rows:
        if not allowed(obj):
            refused.append(gettext("%(object)s: not allowed") % {"object": obj})
            continue
        try:
            with transaction.atomic() if atomic else nullcontext():
                service(obj)
        except ApplicationError as error:
            refused.append(f"{obj}: {describe_error(error)}")
            continue
        done += 1
    if done:
        model_admin.message_user(request, f"{done_message}: {done}.", messages.SUCCESS)
    if refused:
        model_admin.message_user(
            request, gettext("Not done: %s") % "; ".join(refused), messages.WARNING
        )


def apply_to_each(
    model_admin: Any,
    request: HttpRequest,
    rows: Iterable[Any],
    *,
    permission: str,
    service: Callable[[Any], object],
    done_message: str,
) -> None:
    """``run_on_each`` checking the permission in the row's own space."""

    def allowed(obj: Any) -> bool:
        space_id = makerspace_id_of(obj, model_admin.makerspace_field)
        return admin_may(request.user, space_id, permission)

    run_on_each(
        model_admin,
        request,
        rows,
        allowed=allowed,
        service=service,
        done_message=done_message,
    )


class PermissionsByMay:
    """A ModelAdmin's permissions asked of its own rules, ``may(request, action, obj)``,
    never of Django's model permissions: viewing is allowed to whoever may view or
    change; the module shows to whoever may view."""

    def may(self, request: HttpRequest, action: str, obj: Any = None) -> bool:
        raise NotImplementedError

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


@dataclass(kw_only=True)
class ServiceAction:
    """An admin action: ``run(row, acting_user)`` on each selected row (``rows`` may
    prepare the queryset) where the user may do ``permission``, each in its own
    transaction; the successes and the refusals come back as messages.

    Named by the attribute it is assigned to, it gives its admin the
    ``has_<name>_permission`` that Django asks before offering it: whether the user
    holds ``permission`` in some space they run (is a super admin, with
    ``super_admins_only``)."""

    description: "_StrOrPromise"
    permission: str
    run: Callable[[Any, User], object]
    done: "_StrOrPromise"
    super_admins_only: bool = False
    rows: Callable[[QuerySet], Iterable[Any]] = lambda queryset: queryset

    def __set_name__(self, owner: type, name: str) -> None:
        self.short_description = self.description
        self.allowed_permissions = (name,)
        check = permission_check(self.permission, super_admins_only=self.super_admins_only)
        setattr(owner, f"has_{name}_permission", check)

    def __call__(self, model_admin: Any, request: HttpRequest, queryset: QuerySet) -> None:
        user = acting_user(request)
        apply_to_each(
            model_admin,
            request,
            self.rows(queryset),
            permission=self.permission,
            service=lambda obj: self.run(obj, user),
            done_message=str(self.done),
        )
