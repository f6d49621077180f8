"""Makerspace-scoped API access: one permission class, driven by a view attribute.

A view lists ``required_permissions = {action: "module.action"}``. The caller must
be signed in (401), belong to the space in the URL (404 otherwise: another
tenant's space does not exist for them), and hold the permission (403).
"""

from typing import Any, NoReturn

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.viewsets import GenericViewSet

from apps.accounts.models import User
from apps.core.permissions import has_makerspace_permission
from apps.makerspaces.models import Makerspace
from apps.makerspaces.selectors import makerspace_for_member

UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class MakerspaceScopedMixin(GenericViewSet):
    """Base of viewsets nested under ``/makerspaces/{makerspace_pk}/``."""

    makerspace_url_kwarg = "makerspace_pk"
    required_permissions: dict[str, str] = {}

    def get_required_permission(self) -> str:
        if self.action is None:
            raise_method_not_allowed(self.request)
        action = self.action or ""
        if action == "metadata":
            # OPTIONS describes the route, which anyone in the space may read (the
            # schema is public anyway). DRF's metadata then re-checks permissions with
            # the request's method swapped to each write method, so that method's
            # form is only shown to those who may use it.
            method = (self.request.method or "").lower()
            action = getattr(self, "action_map", {}).get(method, "")
            if not action:
                return "makerspace.view"
        try:
            return self.required_permissions[action]
        except KeyError:
            raise ImproperlyConfigured(
                f"{type(self).__name__}.required_permissions has no entry for {action!r}."
            ) from None

    def get_makerspace(self) -> Makerspace:
        cached = getattr(self, "_makerspace", None)
        if cached is not None:
            return cached
        user = self.request.user
        assert isinstance(user, User)
        makerspace = makerspace_for_member(
            user=user, makerspace_id=self.kwargs[self.makerspace_url_kwarg]
        )
        if makerspace is None:
            raise Http404("No such makerspace.")
        self._makerspace = makerspace
        return makerspace


def raise_method_not_allowed(request: Request) -> NoReturn:
    raise MethodNotAllowed(request.method or "")


class HasMakerspacePermission(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "action", "") is None:
            # A viewset maps no action to this method, so it is refused as 405 whoever
            # asks: DRF checks permissions before it dispatches to the method, and
            # answering 401 or 404 first would only make the caller retry in vain.
            raise_method_not_allowed(request)
        user = request.user
        if not user or not user.is_authenticated:
            return False
        makerspace = view.get_makerspace()
        return has_makerspace_permission(user, makerspace, view.get_required_permission())
