"""The role matrix: which makerspace role may do which ``module.action``.

Every check in MakrX — DRF permission classes, the admin, pages and services —
ends in :func:`has_makerspace_permission`, so they cannot disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps

from apps.core.exceptions import permission_denied

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from apps.accounts.models import User


class Role:
    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"


_MEMBER = {
    "makerspace.view",
    "skills.view",
    "equipment.view",
    "equipment.book",
    "inventory.view",
    "projects.view",
    "projects.create",
    "billing.view_own",
}
_MANAGER = _MEMBER | {
    # Running the space: the staff admin opens only to those who hold this there.
    "admin.access",
    "members.view",
    "members.invite",
    "members.approve",
    "skills.manage",
    "skills.grant",
    "closures.manage",
    "equipment.create",
    "equipment.update",
    "equipment.delete",
    "equipment.maintain",
    "reservations.manage",
    "inventory.create",
    "inventory.update",
    "inventory.deduct",
    "inventory.restock",
    "inventory.adjust",
    "projects.manage",
    "billing.view",
    "analytics.view",
    "audit.view",
}
_ADMIN = _MANAGER | {
    "makerspace.update",
    "makerspace.delete",
    "members.manage",
    "inventory.delete",
    "billing.manage",
}

ROLE_MATRIX: dict[str, frozenset[str]] = {
    Role.MEMBER: frozenset(_MEMBER),
    Role.MANAGER: frozenset(_MANAGER),
    Role.ADMIN: frozenset(_ADMIN),
}
ALL_PERMISSIONS: frozenset[str] = frozenset(_ADMIN)
STAFF_ROLES = (Role.ADMIN, Role.MANAGER)
# Running a space (its admins and managers): the staff admin acts where this is held.
ADMIN_ACCESS = "admin.access"


def role_allows(role: str | None, permission: str) -> bool:
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"Unknown permission {permission!r}: add it to the role matrix.")
    return role is not None and permission in ROLE_MATRIX.get(role, frozenset())


def _roles_of(user: User) -> dict[str, str]:
    """makerspace id (str) → role, for the user's active memberships; cached on the user."""
    cached: dict[str, str] | None = getattr(user, "_makrx_roles", None)
    if cached is None:
        membership_model = apps.get_model("makerspaces", "Membership")
        rows = membership_model.objects.filter(user=user, status="active").values_list(
            "makerspace_id", "role"
        )
        cached = {str(space_id): role for space_id, role in rows}
        user._makrx_roles = cached  # type: ignore[attr-defined]
    return cached


def remember_role(user: Any, makerspace_id: Any, role: str | None) -> None:
    """Note the user's role in one space, read along with the space itself (see
    ``makerspace_for_member``), so the permission check of a scoped request needs no
    query of its own."""
    known: dict[str, str | None] | None = getattr(user, "_makrx_role_in", None)
    if known is None:
        known = user._makrx_role_in = {}
    known[str(makerspace_id)] = role


def forget_roles(user: Any) -> None:
    """Drop the per-request role cache after a membership of this user changed."""
    for name in ("_makrx_roles", "_makrx_role_in"):
        if hasattr(user, name):
            delattr(user, name)


def role_in(user: User | AnonymousUser | None, makerspace: Any) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    space_id = str(getattr(makerspace, "pk", makerspace))
    known: dict[str, str | None] | None = getattr(user, "_makrx_role_in", None)
    if known is not None and space_id in known:
        return known[space_id]
    return _roles_of(user).get(space_id)


def has_makerspace_permission(
    user: User | AnonymousUser | None, makerspace: Any, permission: str
) -> bool:
    """Whether ``user`` may do ``permission`` (``"module.action"``) in ``makerspace``.

    ``makerspace`` is a Makerspace or its id. Super admins pass everything.
    """
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"Unknown permission {permission!r}: add it to the role matrix.")
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return role_allows(role_in(user, makerspace), permission)


def makerspace_ids_with(user: User | AnonymousUser | None, permission: str) -> list[str]:
    """Ids of the spaces where ``user`` holds ``permission`` (not meaningful for super admins)."""
    if user is None or not user.is_authenticated:
        return []
    return [space_id for space_id, role in _roles_of(user).items() if role_allows(role, permission)]


def require_makerspace_permission(
    acting_user: User | AnonymousUser | None,
    makerspace: Any,
    permission: str,
    message: str = "You may not do this in this makerspace.",
) -> None:
    """The guard every write service runs first: 403 PERMISSION_DENIED unless
    ``acting_user`` holds ``permission`` in ``makerspace``.

    The API, the admin and the pages check too, but only to answer early and to hide
    what a user cannot do; this check is the one that holds.
    """
    if not has_makerspace_permission(acting_user, makerspace, permission):
        raise permission_denied(message)
