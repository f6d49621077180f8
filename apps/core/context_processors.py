from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest

# ADMIN_ACCESS is held by those who run a space (its admins and managers), never by
# plain members: the staff admin opens to them, so the header links to it for them.
from apps.core import admin_doors
from apps.core.permissions import ADMIN_ACCESS, makerspace_ids_with


def makrx(request: HttpRequest) -> dict[str, object]:
    return {"OIDC_ENABLED": settings.OIDC_ENABLED, "can_use_admin": _can_use_admin(request)}


def _can_use_admin(request: HttpRequest) -> Callable[[], bool]:
    """Whether the header shows the staff admin link, decided by the role matrix.

    A callable, so a page that renders no header asks nothing. Anonymous visitors cost
    no query; a signed-in user costs at most the one query of their roles, which is
    cached on the user and shared with every other permission check of the request.
    """

    def can_use_admin() -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if user.is_superuser or user.is_staff:
            return True
        return bool(makerspace_ids_with(user, ADMIN_ACCESS)) or admin_doors.opens_for(user)

    return can_use_admin
