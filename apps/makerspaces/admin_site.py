"""The staff admin site: who may open it, how they sign in, and in which spaces they act.

Staff are the admins and managers of a space. They need neither ``is_staff`` nor any
Django model permission: every check of the admin ends in ``has_makerspace_permission``,
the role matrix the API and the pages use. In a space, the admin lets a user do a thing
when the matrix gives them both that thing and ``admin.access`` (running the space):
a plain member never may, even where the matrix lets members do the thing
(``skills.view``), since the admin is for the people who run the space. Super admins
see and may do everything a service allows.

The scoped ModelAdmin lives in :mod:`apps.makerspaces.admin_scoped`, its inline in
:mod:`apps.makerspaces.admin_inlines`; what each may do with a model, how it writes it
through the services, and the changelist actions, in :mod:`apps.makerspaces.admin_services`.
"""

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar, cast

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect

from apps.accounts.forms import client_ip
from apps.accounts.models import User
from apps.accounts.services import user_login
from apps.core import admin_doors
from apps.core.exceptions import ApplicationError
from apps.core.permissions import ADMIN_ACCESS, has_makerspace_permission, makerspace_ids_with
from apps.makerspaces.models import Makerspace

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


# --- who may use the admin, and where ---------------------------------------------------


def acting_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def can_use_admin(user: Any) -> bool:
    """Super admins, Django staff, those who run an active space, and whoever a rule of
    ``apps.core.admin_doors`` lets in (market owners, registered by the store)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.is_staff:
        return True
    cached: bool | None = getattr(user, "_makrx_admin_access", None)
    if cached is None:
        space_ids = makerspace_ids_with(user, ADMIN_ACCESS)
        cached = bool(space_ids) and (
            Makerspace.objects.filter(pk__in=space_ids, is_active=True).exists()
        )
        user._makrx_admin_access = cached
    return cached or admin_doors.opens_for(user)


def admin_makerspace_ids(user: Any, permission: str) -> list[str] | None:
    """Spaces where ``user`` may do ``permission`` through the admin; None means every
    space (a super admin)."""
    if user.is_superuser:
        return None
    running = set(makerspace_ids_with(user, ADMIN_ACCESS))
    return [space_id for space_id in makerspace_ids_with(user, permission) if space_id in running]


def admin_may(user: Any, makerspace_id: Any, permission: str) -> bool:
    """Whether ``user`` may do ``permission`` in that space through the admin."""
    if makerspace_id is None:
        return False
    return has_makerspace_permission(
        user, makerspace_id, ADMIN_ACCESS
    ) and has_makerspace_permission(user, makerspace_id, permission)


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

    def admin_view(self, view: View, cacheable: bool = False) -> View:
        """Every admin page: a rule a service enforces (say, the last admin), or a row's
        own validation the form could not see (a race), becomes a message, not a 500.
        The page's transaction has been rolled back by then."""

        def refusals_as_messages(
            request: HttpRequest, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            try:
                return view(request, *args, **kwargs)
            except ApplicationError as error:
                messages.error(request, describe_error(error))
            except ValidationError as error:
                messages.error(request, "; ".join(error.messages))
            return HttpResponseRedirect(request.get_full_path())

        wrapped = update_wrapper(refusals_as_messages, view)
        return cast(View, super().admin_view(wrapped, cacheable))
