"""Who may call which makerspace-scoped API route: a matrix read from the URL conf.

Every route under ``/api/v1/makerspaces/{makerspace_pk}/`` and every detail route of
the makerspace itself is collected at import time, with each HTTP method and the
viewset action it maps to. A nested route's expected outcome comes from the view's
own ``required_permissions`` and the role matrix, so a new route is covered as soon
as it is registered, and fails here until it declares a permission for every action
and has a fixture object for every URL argument.

Roles are tried in the space where the caller holds them (own), in another tenant's
space where they hold nothing (foreign), and, for routes naming objects, in their own
space with the objects of the other space in the URL (foreign objects).
"""

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.regex_helper import normalize
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.system import system_actor
from apps.core.models import AuditLogEntry
from apps.core.permissions import ALL_PERMISSIONS, ROLE_MATRIX, Role, forget_roles
from apps.equipment.api import views as equipment_views
from apps.equipment.models import (
    BookingRules,
    Equipment,
    EquipmentRules,
    MaintenanceLog,
    Reservation,
    WaitlistEntry,
)
from apps.inventory.api import views as inventory_views
from apps.inventory.models import InventoryItem, PurchaseOrder, StockMovement
from apps.inventory.services import item_create, purchase_order_create
from apps.makerspaces.api import views
from apps.makerspaces.api.permissions import HasMakerspacePermission, MakerspaceScopedMixin
from apps.makerspaces.models import (
    Closure,
    Invitation,
    Makerspace,
    Membership,
    MemberSkill,
    Skill,
    SkillInstructor,
)
from apps.projects import services as project_services
from apps.projects.api import views as project_views
from apps.projects.models import (
    BomLine,
    Project,
    ProjectCollaborator,
    ProjectReservation,
    ProjectTag,
)
from tests.factories import (
    ClosureFactory,
    EquipmentFactory,
    InvitationFactory,
    MakerspaceFactory,
    MembershipFactory,
    MemberSkillFactory,
    SkillFactory,
    UserFactory,
)

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as Response

SPACE_KWARG = "makerspace_pk"
KYIV = ZoneInfo("Europe/Kyiv")
NESTED_PREFIX = f"api/v1/makerspaces/{{{SPACE_KWARG}}}/"

# --- routes, read from the URL conf ---------------------------------------------------


@dataclass(frozen=True)
class Route:
    view: type
    url_format: str  # "api/v1/makerspaces/%(makerspace_pk)s/members/%(pk)s"
    params: tuple[str, ...]
    actions: tuple[tuple[str, str], ...]  # (HTTP method, viewset action)

    @property
    def label(self) -> str:
        template = self.url_format % {name: f"{{{name}}}" for name in self.params}
        return template.removeprefix(NESTED_PREFIX).removeprefix("api/v1/")

    @property
    def is_nested(self) -> bool:
        return SPACE_KWARG in self.params

    @property
    def object_params(self) -> tuple[str, ...]:
        """URL arguments naming objects inside the space (not the space itself)."""
        return tuple(name for name in self.params if name != SPACE_KWARG) if self.is_nested else ()

    def url(self, values: dict[str, Any]) -> str:
        return "/" + self.url_format % {name: values[name] for name in self.params}


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        regex = prefix + entry.pattern.regex.pattern.removeprefix("^")
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, regex)
        else:
            yield regex, entry


def makerspace_routes() -> list[Route]:
    routes = []
    for regex, pattern in _walk(get_resolver().url_patterns):
        url_format, params = normalize(regex)[0]
        if not url_format.startswith("api/"):
            continue
        view = getattr(pattern.callback, "cls", None)
        is_nested = SPACE_KWARG in params
        is_space_detail = view is views.MakerspaceViewSet and "pk" in params
        if not (is_nested or is_space_detail):
            continue
        actions = getattr(pattern.callback, "actions", None) or {}
        routes.append(
            Route(
                view=view or type(None),
                url_format=url_format,
                params=tuple(params),
                actions=tuple((method.upper(), name) for method, name in sorted(actions.items())),
            )
        )
    return routes


ROUTES = makerspace_routes()

# --- what each role may do ------------------------------------------------------------

ANONYMOUS = "anonymous"
OUTSIDER = "outsider"
MEMBER = "member"
MANAGER = "manager"
ADMIN = "admin"
SUSPENDED_ADMIN = "suspended admin"
SUPER_ADMIN = "super admin"
# The callers' active role in their own space ("alpha"): the suspended admin has none,
# and the super admin is a plain member there, so "own" shows that the superuser flag,
# not the role, lets them through.
SPACE_ROLE_OF = {
    MEMBER: Role.MEMBER,
    MANAGER: Role.MANAGER,
    ADMIN: Role.ADMIN,
    SUSPENDED_ADMIN: None,
    SUPER_ADMIN: Role.MEMBER,
}

OWN = "own"
FOREIGN = "foreign"
FOREIGN_OBJECTS = "own space, foreign objects"

UNAUTHENTICATED = "401"
HIDDEN = "404"
DENIED = "403"
ALLOWED = "allowed"

# The makerspace's own detail routes do not follow the nested pattern; each action
# is either a role permission or one of these rules.
PUBLIC = "public"
SIGNED_IN = "any signed-in user"
SUPER_ADMIN_ONLY = "super admin only"
MAKERSPACE_RULES = {
    "retrieve": PUBLIC,
    "update": "makerspace.update",
    "partial_update": "makerspace.update",
    "destroy": "makerspace.delete",
    "verify": SUPER_ADMIN_ONLY,
    "join": SIGNED_IN,
}


def rule_for(route: Route, action: str) -> str:
    """The permission (or makerspace rule) the action needs; fails when none is declared."""
    view = route.view
    if view is views.MakerspaceViewSet:
        if action not in MAKERSPACE_RULES:
            pytest.fail(
                f"MakerspaceViewSet has an action {action!r} that MAKERSPACE_RULES does not "
                "know: add the rule it follows."
            )
        rule = MAKERSPACE_RULES[action]
        if rule in ALL_PERMISSIONS:
            assert views.MakerspaceViewSet.required_permissions.get(action) == rule, (
                f"MakerspaceViewSet.required_permissions[{action!r}] disagrees with this test."
            )
        return rule
    if not (
        isinstance(view, type)
        and issubclass(view, MakerspaceScopedMixin)
        and HasMakerspacePermission in getattr(view, "permission_classes", ())
    ):
        pytest.fail(
            f"{route.label} ({view.__name__}) is makerspace-scoped but does not use "
            "MakerspaceScopedMixin with HasMakerspacePermission."
        )
    declared = view.required_permissions
    if action not in declared:
        pytest.fail(f"{view.__name__}.required_permissions has no entry for {action!r}.")
    assert declared[action] in ALL_PERMISSIONS, (
        f"{view.__name__}.required_permissions[{action!r}] = {declared[action]!r} "
        "is not in the role matrix."
    )
    return declared[action]


def expected_outcome(rule: str, role: str, scope: str | None) -> str:
    if rule == PUBLIC:
        return ALLOWED
    if role == ANONYMOUS:
        return UNAUTHENTICATED
    if rule == SIGNED_IN:
        return ALLOWED
    if rule == SUPER_ADMIN_ONLY:
        return ALLOWED if role == SUPER_ADMIN else DENIED
    # The permission is checked before the object is looked up, so lacking it is a
    # 403 even when the object belongs to another space.
    if role == SUPER_ADMIN:
        return HIDDEN if scope == FOREIGN_OBJECTS else ALLOWED
    space_role = SPACE_ROLE_OF.get(role) if scope in (OWN, FOREIGN_OBJECTS) else None
    if space_role is None:
        return HIDDEN
    if rule not in ROLE_MATRIX[space_role]:
        return DENIED
    return HIDDEN if scope == FOREIGN_OBJECTS else ALLOWED


# --- the cases ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    route: Route
    method: str
    action: str
    role: str
    scope: str | None

    @property
    def id(self) -> str:
        scope = f" ({self.scope})" if self.scope else ""
        return f"{self.method} {self.route.label} as {self.role}{scope}"


def matrix_cases() -> list[Case]:
    cases = []
    for route in ROUTES:
        for method, action in route.actions:
            cases.append(Case(route, method, action, ANONYMOUS, None))
            cases.append(Case(route, method, action, OUTSIDER, None))
            cases.append(Case(route, method, action, SUSPENDED_ADMIN, OWN))
            for role in (MEMBER, MANAGER, ADMIN, SUPER_ADMIN):
                scopes = [OWN, FOREIGN] + ([FOREIGN_OBJECTS] if route.object_params else [])
                cases.extend(Case(route, method, action, role, scope) for scope in scopes)
    return cases


CASES = matrix_cases()
# Bookings and closures are dated from today, so these cases also run at the awkward
# moments of scripts/test_clock.sh; the rest of the matrix does not read the clock.
CLOCK_ROUTES = ("reservations", "equipment/available", "closures")


def case_param(case: Case) -> Any:
    marks = [pytest.mark.clock] if case.route.label.startswith(CLOCK_ROUTES) else []
    return pytest.param(case, id=case.id, marks=marks)


# --- the world: two tenants -----------------------------------------------------------


@dataclass
class SpaceObjects:
    """One makerspace and an object of each kind its routes can name."""

    makerspace: Makerspace
    member: Membership  # a plain member, not one of the callers; holds `skill`
    applicant: Membership  # a pending request to join
    skill: Skill
    closure: Closure
    invitation: Invitation
    machine: Equipment  # booked, with a log entry, its own rules and a waitlist
    spare_machine: Equipment  # never booked, so it may be deleted
    reservation: Reservation  # confirmed, of the member caller where there is one
    pending_reservation: Reservation  # of the plain member, waiting for approval
    maintenance_log: MaintenanceLog
    waitlist_entry: WaitlistEntry
    project: Project
    collaborator: ProjectCollaborator
    bom_line: BomLine
    spare_material: InventoryItem
    purchase_order: PurchaseOrder
    staff: dict[str, Membership] = field(default_factory=dict)  # caller role → membership

    @property
    def memberships(self) -> list[Membership]:
        return [*self.staff.values(), self.member, self.applicant]

    def identifying_strings(self) -> set[str]:
        found = {
            self.makerspace.name,
            self.makerspace.slug,
            str(self.makerspace.pk),
            self.skill.slug,
            self.skill.name,
            str(self.skill.pk),
            str(self.closure.pk),
            str(self.invitation.pk),
            self.invitation.email,
            self.machine.name,
            str(self.machine.pk),
            self.spare_machine.name,
            str(self.spare_machine.pk),
            str(self.reservation.pk),
            str(self.pending_reservation.pk),
            str(self.maintenance_log.pk),
            self.maintenance_log.notes,
            str(self.waitlist_entry.pk),
            self.project.name,
            str(self.project.pk),
            str(self.collaborator.pk),
            str(self.bom_line.pk),
            str(self.spare_material.pk),
            self.spare_material.name,
            str(self.purchase_order.pk),
        }
        for membership in self.memberships:
            found |= {
                str(membership.pk),
                str(membership.user.pk),
                membership.user.email,
                membership.user.name,
            }
        return found


@dataclass
class World:
    alpha: SpaceObjects
    bravo: SpaceObjects
    callers: dict[str, User]


def _space(name: str, slug: str, staff: dict[str, tuple[User, str, str]]) -> SpaceObjects:
    makerspace = MakerspaceFactory.create(name=name, slug=slug)
    memberships = {
        key: MembershipFactory.create(user=user, makerspace=makerspace, role=role, status=status)
        for key, (user, role, status) in staff.items()
    }
    member = MembershipFactory.create(
        makerspace=makerspace,
        user=UserFactory.create(email=f"{slug}-member@example.org", name=f"{name} Regular"),
    )
    applicant = MembershipFactory.create(
        makerspace=makerspace,
        user=UserFactory.create(email=f"{slug}-applicant@example.org", name=f"{name} Applicant"),
        status="pending",
    )
    skill = SkillFactory.create(makerspace=makerspace, slug=f"{slug}-laser", name=f"{name} laser")
    MemberSkillFactory.create(membership=member, skill=skill)
    machine = EquipmentFactory.create(makerspace=makerspace, name=f"{name} laser cutter")
    BookingRules.objects.create(makerspace=makerspace)
    EquipmentRules.objects.create(equipment=machine, max_minutes=240)
    # Members see only their own bookings, so the one the routes name is the member
    # caller's (staff see it too); a space without a member caller uses its member's.
    booker = memberships[MEMBER].user if MEMBER in memberships else member.user
    start, end = _booking_window(days=1, hour=10)
    reservation = Reservation.objects.create(
        makerspace=makerspace,
        equipment=machine,
        user=booker,
        start_time=start,
        end_time=end,
        block_end=end,
        status="confirmed",
    )
    pending_start, pending_end = _booking_window(days=1, hour=14)
    pending_reservation = Reservation.objects.create(
        makerspace=makerspace,
        equipment=machine,
        user=member.user,
        start_time=pending_start,
        end_time=pending_end,
        block_end=pending_end,
        status="pending",
    )
    project = project_services.project_create(
        makerspace=makerspace, owner=booker, name=f"{name} lamp", acting_user=booker
    )
    partner = member.user if member.user != booker else memberships[ADMIN].user
    collaborator = project_services.collaborator_add(
        project=project, user=partner, role="viewer", acting_user=booker
    )
    # Stock is the staff's to add; the system actor stands in for them.
    material = item_create(
        makerspace=makerspace,
        acting_user=system_actor(),
        opening_stock=Decimal("10"),
        name=f"{name} plywood",
        sku=f"{slug}-ply",
    )
    spare_material = item_create(
        makerspace=makerspace,
        acting_user=system_actor(),
        opening_stock=Decimal("10"),
        name=f"{name} filament",
        sku=f"{slug}-pla",
    )
    bom_line = project_services.bom_line_add(
        project=project, item=material, quantity=Decimal("2"), acting_user=booker
    )
    project_services.project_reservation_link(
        project=project, reservation=reservation, acting_user=booker
    )
    purchase_order = purchase_order_create(
        item=spare_material, quantity=Decimal("5"), acting_user=system_actor()
    )
    return SpaceObjects(
        purchase_order=purchase_order,
        project=project,
        collaborator=collaborator,
        bom_line=bom_line,
        spare_material=spare_material,
        makerspace=makerspace,
        member=member,
        applicant=applicant,
        skill=skill,
        closure=ClosureFactory.create(makerspace=makerspace),
        invitation=InvitationFactory.create(
            makerspace=makerspace, email=f"{slug}-invitee@example.org"
        ),
        machine=machine,
        spare_machine=EquipmentFactory.create(makerspace=makerspace, name=f"{name} bandsaw"),
        reservation=reservation,
        pending_reservation=pending_reservation,
        maintenance_log=MaintenanceLog.objects.create(
            equipment=machine, kind="routine", notes=f"{name} lens cleaned", performed_at=end
        ),
        waitlist_entry=WaitlistEntry.objects.create(
            makerspace=makerspace,
            equipment=machine,
            user=member.user,
            start_time=start,
            end_time=end,
        ),
        staff=memberships,
    )


def _booking_window(*, days: int, hour: int) -> tuple[dt.datetime, dt.datetime]:
    """An hour ``days`` ahead at ``hour`` local time, inside a new space's opening hours."""
    day = timezone.now().astimezone(KYIV).date() + dt.timedelta(days=days)
    start = dt.datetime.combine(day, dt.time(hour), tzinfo=KYIV)
    return start, start + dt.timedelta(hours=1)


def _build_world() -> World:
    callers = {
        OUTSIDER: UserFactory.create(email="outsider@example.org", name="Olga Outsider"),
        MEMBER: UserFactory.create(email="alpha-caller-member@example.org", name="Alpha Caller"),
        MANAGER: UserFactory.create(email="alpha-caller-manager@example.org", name="Alpha Manager"),
        ADMIN: UserFactory.create(email="alpha-caller-admin@example.org", name="Alpha Admin"),
        SUSPENDED_ADMIN: UserFactory.create(
            email="alpha-suspended@example.org", name="Alpha Former"
        ),
        SUPER_ADMIN: UserFactory.create(
            email="root@example.org", name="Root", is_superuser=True, is_staff=True
        ),
    }
    alpha_staff = {
        MEMBER: (callers[MEMBER], Role.MEMBER, "active"),
        MANAGER: (callers[MANAGER], Role.MANAGER, "active"),
        ADMIN: (callers[ADMIN], Role.ADMIN, "active"),
        SUSPENDED_ADMIN: (callers[SUSPENDED_ADMIN], Role.ADMIN, "suspended"),
        SUPER_ADMIN: (callers[SUPER_ADMIN], Role.MEMBER, "active"),
    }
    alpha = _space("Alpha Workshop", "alpha-workshop", alpha_staff)
    bravo_admin = UserFactory.create(email="bravo-admin@example.org", name="Bravo Boss")
    bravo_staff = {ADMIN: (bravo_admin, Role.ADMIN, "active")}
    bravo = _space("Bravo Foundry", "bravo-foundry", bravo_staff)
    return World(alpha=alpha, bravo=bravo, callers=callers)


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    # Built once for the module inside a transaction that is rolled back at the end;
    # each test runs in its own savepoint on top, so writes never leak between cases.
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        built = _build_world()
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# URL arguments other than the space, filled from the target space's objects:
# (view, argument) or, where one action needs another object, (view, argument, action).
URL_OBJECTS: dict[tuple[Any, ...], Callable[[SpaceObjects], Any]] = {
    (project_views.ProjectViewSet, "pk"): lambda space: space.project.pk,
    (inventory_views.InventoryViewSet, "pk"): lambda space: space.spare_material.pk,
    (inventory_views.PurchaseOrderViewSet, "pk"): lambda space: space.purchase_order.pk,
    (project_views.CollaboratorViewSet, "project_pk"): lambda space: space.project.pk,
    (project_views.CollaboratorViewSet, "pk"): lambda space: space.collaborator.pk,
    (project_views.BomLineViewSet, "project_pk"): lambda space: space.project.pk,
    (project_views.BomLineViewSet, "pk"): lambda space: space.bom_line.pk,
    (project_views.ProjectReservationViewSet, "project_pk"): lambda space: space.project.pk,
    (project_views.ProjectReservationViewSet, "pk"): lambda space: space.reservation.pk,
    (views.MakerspaceViewSet, "pk"): lambda space: space.makerspace.pk,
    (views.MemberViewSet, "pk"): lambda space: space.member.pk,
    (views.MemberViewSet, "pk", "approve"): lambda space: space.applicant.pk,
    (views.MemberViewSet, "slug"): lambda space: space.skill.slug,
    (views.SkillViewSet, "slug"): lambda space: space.skill.slug,
    (views.ClosureViewSet, "pk"): lambda space: space.closure.pk,
    (views.SpaceInvitationViewSet, "pk"): lambda space: space.invitation.pk,
    (equipment_views.EquipmentViewSet, "pk"): lambda space: space.machine.pk,
    (equipment_views.EquipmentViewSet, "pk", "destroy"): lambda space: space.spare_machine.pk,
    (equipment_views.ReservationViewSet, "pk"): lambda space: space.reservation.pk,
    (equipment_views.ReservationViewSet, "pk", "approve"): (
        lambda space: space.pending_reservation.pk
    ),
    (equipment_views.ReservationViewSet, "pk", "reject"): (
        lambda space: space.pending_reservation.pk
    ),
}


def url_values(
    route: Route, action: str, url_space: SpaceObjects, objects: SpaceObjects
) -> dict[str, Any]:
    values = {}
    for name in route.params:
        if route.is_nested and name == SPACE_KWARG:
            values[name] = url_space.makerspace.pk
            continue
        fill = URL_OBJECTS.get((route.view, name, action)) or URL_OBJECTS.get((route.view, name))
        if fill is None:
            pytest.fail(
                f"No fixture object for {{{name}}} of {route.view.__name__} ({route.label}): "
                "create one in _space() and add it to URL_OBJECTS."
            )
        values[name] = fill(url_space if route.view is views.MakerspaceViewSet else objects)
    return values


# Plausible bodies (query parameters for GET), so that allowed calls reach the service;
# others send {}.
BODIES: dict[tuple[str, str], Callable[[SpaceObjects], dict[str, Any]]] = {
    ("POST", "projects"): lambda space: {"name": "Bird house", "tags": ["wood"]},
    ("POST", "inventory"): lambda space: {"name": "Birch dowel", "sku": "DOWEL-6", "unit": "pcs"},
    ("PATCH", "inventory/{pk}"): lambda space: {"location": "Shelf B"},
    ("POST", "inventory/{pk}/deduct"): lambda space: {"quantity": "1", "reason": "Test cut"},
    ("POST", "inventory/{pk}/restock"): lambda space: {"quantity": "5", "note": "Delivery"},
    ("POST", "inventory/{pk}/adjust"): lambda space: {"new_stock": "8", "reason": "Count"},
    ("POST", "purchase-orders"): lambda space: {
        "item": str(space.spare_material.pk),
        "quantity": "3",
    },
    ("PATCH", "projects/{pk}"): lambda space: {"description": "With a dimmer"},
    ("POST", "projects/{project_pk}/collaborators"): lambda space: {
        "email": space.staff[ADMIN].user.email,
        "role": "editor",
    },
    ("PATCH", "projects/{project_pk}/collaborators/{pk}"): lambda space: {"role": "editor"},
    ("POST", "projects/{project_pk}/bom"): lambda space: {
        "item": str(space.spare_material.pk),
        "quantity": "1.5",
    },
    ("PATCH", "projects/{project_pk}/bom/{pk}"): lambda space: {"quantity": "3"},
    ("POST", "projects/{project_pk}/bom/consume"): lambda space: {"multiplier": 1},
    ("POST", "projects/{project_pk}/reservations"): lambda space: {
        "reservation": str(space.pending_reservation.pk)
    },
    ("PUT", "makerspaces/{pk}"): lambda space: {
        "name": "Renamed Workshop",
        "description": "Now with a bigger laser.",
    },
    ("PATCH", "makerspaces/{pk}"): lambda space: {"description": "Now with a bigger laser."},
    ("POST", "makerspaces/{pk}/verify"): lambda space: {"verified": True},
    ("POST", "members"): lambda space: {"email": "newcomer@example.org", "role": "member"},
    ("PATCH", "members/{pk}"): lambda space: {"role": "manager"},
    ("POST", "members/{pk}/skills"): lambda space: {"skill": space.skill.slug},
    ("POST", "skills"): lambda space: {"slug": "cnc-basic", "name": "CNC basics"},
    ("PATCH", "skills/{slug}"): lambda space: {"name": "Laser cutter, advanced"},
    ("POST", "closures"): lambda space: {
        "date": (timezone.now().astimezone(KYIV).date() + dt.timedelta(days=300)).isoformat(),
        "reason": "Winter break",
    },
    ("PATCH", "booking-rules"): lambda space: {"horizon_days": 30},
    ("POST", "equipment"): lambda space: {"name": "Resin printer", "type": "sla_printer"},
    ("GET", "equipment/available"): lambda space: _window_body(days=2, hour=12),
    ("PUT", "equipment/{pk}"): lambda space: {"name": "Big laser", "type": "laser_cutter"},
    ("PATCH", "equipment/{pk}"): lambda space: {"location": "Back room"},
    ("POST", "equipment/{pk}/maintenance"): lambda space: {"kind": "inspection", "notes": "Belt"},
    ("PATCH", "equipment/{pk}/rules"): lambda space: {"max_minutes": 120},
    ("POST", "reservations"): lambda space: {
        "equipment": str(space.machine.pk),
        **{f"{edge}_time": value for edge, value in _window_body(days=2, hour=12).items()},
    },
    ("POST", "reservations/{pk}/cancel"): lambda space: {"reason": "Plans changed"},
    ("POST", "reservations/{pk}/cancel-series"): lambda space: {"reason": "Term ended"},
    ("POST", "reservations/recurring/preview"): lambda space: {
        "equipment": str(space.machine.pk),
        **{f"{edge}_time": value for edge, value in _window_body(days=3, hour=12).items()},
        "count": 2,
    },
    ("POST", "reservations/recurring"): lambda space: {
        "equipment": str(space.machine.pk),
        **{f"{edge}_time": value for edge, value in _window_body(days=3, hour=12).items()},
        "occurrences": [_window_body(days=3, hour=12)["start"]],
    },
    ("POST", "equipment/{pk}/waitlist"): lambda space: {
        "start_time": space.reservation.start_time.isoformat(),
        "end_time": space.reservation.end_time.isoformat(),
    },
    ("POST", "skills/{slug}/instructors"): lambda space: {"membership": str(space.member.pk)},
    ("DELETE", "skills/{slug}/instructors"): lambda space: {"membership": str(space.member.pk)},
    ("PUT", "inventory/{pk}"): lambda space: {
        "name": "Renamed filament",
        "sku": space.spare_material.sku,
        "unit": "pcs",
    },
    ("POST", "inventory/import"): lambda space: {
        "file": SimpleUploadedFile(
            "stock.csv", b"sku,name\nBIRCH-3,Birch sheet\n", content_type="text/csv"
        )
    },
    ("POST", "reservations/{pk}/reject"): lambda space: {"reason": "Needed for a class"},
}


def _window_body(*, days: int, hour: int) -> dict[str, str]:
    start, end = _booking_window(days=days, hour=hour)
    return {"start": start.isoformat(), "end": end.isoformat()}


WATCHED_MODELS = (
    Makerspace,
    Membership,
    Skill,
    MemberSkill,
    Closure,
    Invitation,
    AuditLogEntry,
    Equipment,
    Reservation,
    MaintenanceLog,
    BookingRules,
    EquipmentRules,
    WaitlistEntry,
    Project,
    ProjectCollaborator,
    ProjectTag,
    BomLine,
    ProjectReservation,
    InventoryItem,
    StockMovement,
    PurchaseOrder,
)


def table_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the watched tables, so a denied update shows up as well as an insert."""
    return {
        model.__name__: list(model.objects.order_by("pk").values_list()) for model in WATCHED_MODELS
    }


def send(user: User | None, method: str, url: str, body: dict[str, Any] | None) -> "Response":
    client = APIClient()
    if user is not None:
        # The role cache lives on the user object, which the module's tests share.
        forget_roles(user)
        client.force_authenticate(user=user)
    call = getattr(client, method.lower())
    if method == "GET":
        return call(url, body or {})
    if method in ("HEAD", "OPTIONS"):
        return call(url)
    uploads_a_file = any(isinstance(value, SimpleUploadedFile) for value in (body or {}).values())
    return call(url, body or {}, format="multipart" if uploads_a_file else "json")


def assert_error(response: "Response", status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response.json()["error"]["code"] == code, response.content[:500]


def assert_reveals_nothing_of(response: "Response", *spaces: SpaceObjects) -> None:
    text = response.content.decode()
    for space in spaces:
        leaked = sorted(value for value in space.identifying_strings() if value in text)
        assert not leaked, f"404 body reveals {leaked}: {text[:500]}"


# --- did an allowed write happen? ------------------------------------------------------
#
# An allowed call must have done its work, not merely escaped a refusal. Some writes
# need the named object in a state where the work is possible (a booking that starts
# now can be checked in); ARRANGE puts it there first, inside the test's savepoint.


def _move_booking_to_now(space: SpaceObjects, **extra: Any) -> None:
    start = timezone.now() + dt.timedelta(minutes=5)
    Reservation.objects.filter(pk=space.reservation.pk).update(
        start_time=start,
        end_time=start + dt.timedelta(hours=1),
        block_end=start + dt.timedelta(hours=1),
        **extra,
    )


def _check_in_booking(space: SpaceObjects) -> None:
    _move_booking_to_now(space, status="active", checked_in_at=timezone.now())


ARRANGE: dict[tuple[str, str], Callable[[SpaceObjects], Any]] = {
    ("POST", "reservations/{pk}/check-in"): _move_booking_to_now,
    ("POST", "reservations/{pk}/check-out"): _check_in_booking,
    ("POST", "reservations/{pk}/cancel-series"): lambda space: Reservation.objects.filter(
        pk=space.reservation.pk
    ).update(series_id=uuid.uuid4()),
    ("DELETE", "skills/{slug}/instructors"): lambda space: SkillInstructor.objects.create(
        skill=space.skill, membership=space.member
    ),
}


@dataclass(frozen=True)
class Outcome:
    """What an allowed call answered, and the space whose objects its URL named."""

    response: "Response"
    caller: User
    space: SpaceObjects

    @property
    def error(self) -> dict[str, Any]:
        body = self.response.json() if self.response.content else {}
        return body.get("error", {}) if isinstance(body, dict) else {}

    def refreshed(self, obj: Any) -> Any:
        return type(obj).objects.get(pk=obj.pk)

    def exists(self, obj: Any) -> bool:
        return type(obj).objects.filter(pk=obj.pk).exists()

    def is_member(self) -> bool:
        return Membership.objects.filter(
            user=self.caller, makerspace=self.space.makerspace, status="active"
        ).exists()


def _reservation_status(name: str, status: str) -> Callable[[Outcome], bool]:
    return lambda done: done.refreshed(getattr(done.space, name)).status == status


def _stock_of_spare(stock: str) -> Callable[[Outcome], bool]:
    return lambda done: done.refreshed(done.space.spare_material).current_stock == Decimal(stock)


def _joined(done: Outcome) -> bool:
    # Who already belongs (in any status) is told so; anyone else is in the space now.
    if done.caller in [membership.user for membership in done.space.memberships]:
        return done.error.get("code") == "ALREADY_MEMBER"
    return Membership.objects.filter(user=done.caller, makerspace=done.space.makerspace).exists()


def _project_created(done: Outcome) -> bool:
    # A project's owner is its creator, who must be an active member: a super admin
    # from outside is told so rather than owning a project in a space they are not in.
    if not done.is_member():
        return "owner" in done.error.get("details", {})
    return Project.objects.filter(makerspace=done.space.makerspace, name="Bird house").exists()


def _collaborator_added(done: Outcome) -> bool:
    added = ProjectCollaborator.objects.filter(
        project=done.space.project, user=done.space.staff[ADMIN].user
    ).first()
    if done.response.status_code == 201:
        return added is not None and added.role == "editor"
    # The space's admin may already collaborate (the project's partner in some spaces).
    return added is not None and done.error.get("code") == "ALREADY_COLLABORATOR"


def _new_booking(done: Outcome, **lookup: Any) -> bool:
    return Reservation.objects.filter(
        equipment=done.space.machine, user=done.caller, **lookup
    ).exists()


WROTE: dict[tuple[str, str], Callable[[Outcome], bool]] = {
    # the makerspace itself
    ("PUT", "makerspaces/{pk}"): lambda done: (
        done.refreshed(done.space.makerspace).name == "Renamed Workshop"
    ),
    ("PATCH", "makerspaces/{pk}"): lambda done: (
        done.refreshed(done.space.makerspace).description == "Now with a bigger laser."
    ),
    ("DELETE", "makerspaces/{pk}"): lambda done: not (
        done.refreshed(done.space.makerspace).is_active
    ),
    ("POST", "makerspaces/{pk}/verify"): lambda done: (
        done.refreshed(done.space.makerspace).verified
    ),
    ("POST", "makerspaces/{pk}/join"): _joined,
    # members, skills, closures, invitations
    ("POST", "members"): lambda done: Invitation.objects.filter(
        makerspace=done.space.makerspace, email="newcomer@example.org", status="pending"
    ).exists(),
    ("PATCH", "members/{pk}"): lambda done: done.refreshed(done.space.member).role == "manager",
    ("DELETE", "members/{pk}"): lambda done: not done.exists(done.space.member),
    ("POST", "members/{pk}/approve"): lambda done: (
        done.refreshed(done.space.applicant).status == "active"
    ),
    ("POST", "members/{pk}/skills"): lambda done: MemberSkill.objects.filter(
        membership=done.space.member, skill=done.space.skill, granted_by=done.caller
    ).exists(),
    ("DELETE", "members/{pk}/skills/{slug}"): lambda done: not MemberSkill.objects.filter(
        membership=done.space.member, skill=done.space.skill
    ).exists(),
    ("POST", "skills"): lambda done: Skill.objects.filter(
        makerspace=done.space.makerspace, slug="cnc-basic"
    ).exists(),
    ("PATCH", "skills/{slug}"): lambda done: (
        done.refreshed(done.space.skill).name == "Laser cutter, advanced"
    ),
    ("DELETE", "skills/{slug}"): lambda done: not done.exists(done.space.skill),
    ("POST", "skills/{slug}/instructors"): lambda done: SkillInstructor.objects.filter(
        skill=done.space.skill, membership=done.space.member
    ).exists(),
    ("DELETE", "skills/{slug}/instructors"): lambda done: not SkillInstructor.objects.filter(
        skill=done.space.skill, membership=done.space.member
    ).exists(),
    ("POST", "closures"): lambda done: Closure.objects.filter(
        makerspace=done.space.makerspace, reason="Winter break"
    ).exists(),
    ("DELETE", "closures/{pk}"): lambda done: not done.exists(done.space.closure),
    ("DELETE", "invitations/{pk}"): lambda done: (
        done.refreshed(done.space.invitation).status == "revoked"
    ),
    # equipment and bookings
    ("PATCH", "booking-rules"): lambda done: (
        BookingRules.objects.get(makerspace=done.space.makerspace).horizon_days == 30
    ),
    ("POST", "equipment"): lambda done: Equipment.objects.filter(
        makerspace=done.space.makerspace, name="Resin printer"
    ).exists(),
    ("PUT", "equipment/{pk}"): lambda done: done.refreshed(done.space.machine).name == "Big laser",
    ("PATCH", "equipment/{pk}"): lambda done: (
        done.refreshed(done.space.machine).location == "Back room"
    ),
    ("DELETE", "equipment/{pk}"): lambda done: not done.exists(done.space.spare_machine),
    ("POST", "equipment/{pk}/maintenance"): lambda done: MaintenanceLog.objects.filter(
        equipment=done.space.machine, notes="Belt"
    ).exists(),
    ("PATCH", "equipment/{pk}/rules"): lambda done: (
        EquipmentRules.objects.get(equipment=done.space.machine).max_minutes == 120
    ),
    ("POST", "equipment/{pk}/waitlist"): lambda done: WaitlistEntry.objects.filter(
        equipment=done.space.machine, user=done.caller
    ).exists(),
    ("POST", "reservations"): lambda done: _new_booking(
        done, start_time=_booking_window(days=2, hour=12)[0]
    ),
    # A preview books nothing: it answers the weeks that could be booked.
    ("POST", "reservations/recurring/preview"): lambda done: (
        done.response.status_code == 200 and len(done.response.json()["occurrences"]) == 2
    ),
    ("POST", "reservations/recurring"): lambda done: _new_booking(
        done, start_time=_booking_window(days=3, hour=12)[0], series_id__isnull=False
    ),
    ("POST", "reservations/{pk}/approve"): _reservation_status("pending_reservation", "confirmed"),
    # A rejected request ends cancelled, with the staff's reason for the member.
    ("POST", "reservations/{pk}/reject"): lambda done: (
        done.refreshed(done.space.pending_reservation).status == "cancelled"
        and done.refreshed(done.space.pending_reservation).cancel_reason == "Needed for a class"
    ),
    ("POST", "reservations/{pk}/cancel"): _reservation_status("reservation", "cancelled"),
    ("POST", "reservations/{pk}/cancel-series"): _reservation_status("reservation", "cancelled"),
    ("POST", "reservations/{pk}/check-in"): _reservation_status("reservation", "active"),
    ("POST", "reservations/{pk}/check-out"): _reservation_status("reservation", "completed"),
    # stock
    ("POST", "inventory"): lambda done: InventoryItem.objects.filter(
        makerspace=done.space.makerspace, sku="DOWEL-6"
    ).exists(),
    ("POST", "inventory/import"): lambda done: InventoryItem.objects.filter(
        makerspace=done.space.makerspace, sku="BIRCH-3"
    ).exists(),
    ("PUT", "inventory/{pk}"): lambda done: (
        done.refreshed(done.space.spare_material).name == "Renamed filament"
    ),
    ("PATCH", "inventory/{pk}"): lambda done: (
        done.refreshed(done.space.spare_material).location == "Shelf B"
    ),
    # An item with movements is kept on record, deactivated.
    ("DELETE", "inventory/{pk}"): lambda done: not InventoryItem.objects.filter(
        pk=done.space.spare_material.pk, is_active=True
    ).exists(),
    ("POST", "inventory/{pk}/adjust"): _stock_of_spare("8"),
    ("POST", "inventory/{pk}/deduct"): _stock_of_spare("9"),
    ("POST", "inventory/{pk}/restock"): _stock_of_spare("15"),
    ("POST", "purchase-orders"): lambda done: PurchaseOrder.objects.filter(
        item=done.space.spare_material, quantity=Decimal("3")
    ).exists(),
    ("POST", "purchase-orders/{pk}/cancel"): lambda done: (
        done.refreshed(done.space.purchase_order).status == "cancelled"
    ),
    # projects
    ("POST", "projects"): _project_created,
    ("PATCH", "projects/{pk}"): lambda done: (
        done.refreshed(done.space.project).description == "With a dimmer"
    ),
    ("DELETE", "projects/{pk}"): lambda done: not done.exists(done.space.project),
    ("POST", "projects/{project_pk}/collaborators"): _collaborator_added,
    ("PATCH", "projects/{project_pk}/collaborators/{pk}"): lambda done: (
        done.refreshed(done.space.collaborator).role == "editor"
    ),
    ("DELETE", "projects/{project_pk}/collaborators/{pk}"): lambda done: not done.exists(
        done.space.collaborator
    ),
    ("POST", "projects/{project_pk}/bom"): lambda done: BomLine.objects.filter(
        project=done.space.project, item=done.space.spare_material, quantity=Decimal("1.5")
    ).exists(),
    ("PATCH", "projects/{project_pk}/bom/{pk}"): lambda done: (
        done.refreshed(done.space.bom_line).quantity == Decimal("3")
    ),
    ("DELETE", "projects/{project_pk}/bom/{pk}"): lambda done: not done.exists(done.space.bom_line),
    # The line asks for 2 of the 10 in stock.
    ("POST", "projects/{project_pk}/bom/consume"): lambda done: (
        InventoryItem.objects.get(pk=done.space.bom_line.item_id).current_stock == Decimal("8")
    ),
    ("POST", "projects/{project_pk}/reservations"): lambda done: ProjectReservation.objects.filter(
        project=done.space.project, reservation=done.space.pending_reservation
    ).exists(),
    ("DELETE", "projects/{project_pk}/reservations/{pk}"): lambda done: (
        not ProjectReservation.objects.filter(
            project=done.space.project, reservation=done.space.reservation
        ).exists()
    ),
}


# --- the tests ------------------------------------------------------------------------


def test_the_matrix_sees_every_makerspace_viewset() -> None:
    seen = {route.view for route in ROUTES}
    for view in (
        views.MakerspaceViewSet,
        views.MemberViewSet,
        views.SkillViewSet,
        views.ClosureViewSet,
        views.SpaceInvitationViewSet,
        views.AuditLogViewSet,
        equipment_views.EquipmentViewSet,
        equipment_views.BookingRulesViewSet,
        equipment_views.ReservationViewSet,
    ):
        assert view in seen, f"{view.__name__} was not found in the URL conf"
    assert len(CASES) > 200


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_every_makerspace_route_is_a_viewset_the_matrix_can_read(route: Route) -> None:
    assert route.actions, (
        f"{route.label} is not a DRF viewset route (no method → action map), so the "
        "matrix cannot check it: make it a viewset with required_permissions."
    )


def test_every_request_body_belongs_to_a_route() -> None:
    known = {(method, route.label) for route in ROUTES for method, _ in route.actions}
    assert set(BODIES) <= known, f"bodies for routes that no longer exist: {set(BODIES) - known}"
    assert set(ARRANGE) <= known, f"arranging for no route: {set(ARRANGE) - known}"


def test_every_write_route_says_how_to_see_that_it_wrote() -> None:
    writes = {
        (method, route.label)
        for route in ROUTES
        for method, _ in route.actions
        if method not in ("GET", "HEAD", "OPTIONS")
    }
    assert not writes - set(WROTE), (
        f"add to WROTE how to tell that these writes happened: {sorted(writes - set(WROTE))}"
    )
    assert not set(WROTE) - writes, f"checks of routes that are gone: {set(WROTE) - writes}"


@pytest.mark.django_db
@pytest.mark.parametrize("case", [case_param(case) for case in CASES])
def test_permission_matrix(world: World, case: Case) -> None:
    # Given a caller in a role, and a route of the target space
    rule = rule_for(case.route, case.action)
    expected = expected_outcome(rule, case.role, case.scope)
    url_space = world.bravo if case.scope == FOREIGN else world.alpha
    objects = world.bravo if case.scope in (FOREIGN, FOREIGN_OBJECTS) else url_space
    url = case.route.url(url_values(case.route, case.action, url_space, objects))
    assert getattr(resolve(url).func, "cls", None) is case.route.view
    body = BODIES.get((case.method, case.route.label), lambda space: {})(objects)
    user = world.callers.get(case.role)
    before = table_rows() if expected != ALLOWED else None
    if expected == ALLOWED:
        ARRANGE.get((case.method, case.route.label), lambda space: None)(objects)

    # When it calls the route
    response = send(user, case.method, url, body)

    # Then the permission decides, and a refused request changed nothing
    if expected == UNAUTHENTICATED:
        assert_error(response, 401, "NOT_AUTHENTICATED")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    elif expected == HIDDEN:
        assert_error(response, 404, "NOT_FOUND")
        assert_reveals_nothing_of(response, url_space, objects)
    elif expected == DENIED:
        assert_error(response, 403, "PERMISSION_DENIED")
    else:
        assert response.status_code not in (401, 403, 404, 405), response.content[:500]
        assert response.status_code < 500, response.content[:500]
        if case.method == "GET":
            assert response.status_code == 200, response.content[:500]
        else:
            # The write happened: the row changed, the object exists (or is gone).
            assert user is not None
            wrote = WROTE[(case.method, case.route.label)]
            assert wrote(Outcome(response=response, caller=user, space=objects)), (
                f"answered {response.status_code} but did not write: {response.content[:500]!r}"
            )
    if before is not None:
        assert table_rows() == before, "a refused request wrote to the database"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [(MEMBER, 204), (MANAGER, 204), (SUPER_ADMIN, 204), (ADMIN, 409), (SUSPENDED_ADMIN, 404)],
)
def test_a_member_may_leave_without_members_manage(world: World, role: str, status: int) -> None:
    # Given a caller's own membership (the admin is the space's only active admin)
    membership = world.alpha.staff[role]
    url = f"/api/v1/makerspaces/{world.alpha.makerspace.pk}/members/{membership.pk}/"

    # When they delete it
    response = send(world.callers[role], "DELETE", url, None)

    # Then they leave; the last admin may not, and a suspended member is not in the space
    assert response.status_code == status, response.content[:500]
    assert Membership.objects.filter(pk=membership.pk).exists() == (status != 204)


NESTED_ROUTES = sorted({route.label: route for route in ROUTES if route.is_nested}.items())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"), [(ANONYMOUS, 401), (OUTSIDER, 404), (MEMBER, 200), (SUPER_ADMIN, 200)]
)
@pytest.mark.parametrize(
    ("label", "route"), NESTED_ROUTES, ids=[label for label, _ in NESTED_ROUTES]
)
def test_options_follows_membership(
    world: World, label: str, route: Route, role: str, status: int
) -> None:
    # Given a nested route of a space, When a caller asks which methods it has
    url = route.url(url_values(route, route.actions[0][1], world.alpha, world.alpha))
    response = send(world.callers.get(role), "OPTIONS", url, None)

    # Then members get the description, and others the same answers as for any method
    assert response.status_code == status, response.content[:500]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "shows_form"), [(MEMBER, False), (MANAGER, True)])
def test_options_shows_a_write_form_only_to_who_may_write(
    world: World, role: str, shows_form: bool
) -> None:
    # Given the skills of a space, which managers create and members only read
    url = f"/api/v1/makerspaces/{world.alpha.makerspace.pk}/skills/"

    # When a caller asks for the route's description
    response = send(world.callers[role], "OPTIONS", url, None)

    # Then the POST form is described to a manager only
    assert response.status_code == 200, response.content[:500]
    assert ("POST" in response.json().get("actions", {})) is shows_form


@pytest.mark.django_db
def test_verify_does_not_tell_a_deactivated_space_from_a_missing_one(world: World) -> None:
    # Given a deactivated space, which is a 404 to non-members everywhere else
    Makerspace.objects.filter(pk=world.bravo.makerspace.pk).update(is_active=False)
    missing = "00000000-0000-4000-8000-000000000000"

    # When an outsider tries to verify it, and a space that never existed
    answers = [
        send(world.callers[OUTSIDER], "POST", f"/api/v1/makerspaces/{space}/verify", {})
        for space in (world.bravo.makerspace.pk, missing)
    ]

    # Then both answers are the same refusal
    assert [answer.status_code for answer in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()


RESERVATION_DETAIL_ROUTES = [
    ("GET", ""),
    ("POST", "/cancel"),
    ("POST", "/check-in"),
    ("POST", "/check-out"),
]


@pytest.mark.django_db
@pytest.mark.clock
@pytest.mark.parametrize(("method", "suffix"), RESERVATION_DETAIL_ROUTES)
@pytest.mark.parametrize(("role", "sees_it"), [(MEMBER, False), (MANAGER, True), (ADMIN, True)])
def test_a_member_acts_only_on_their_own_reservations(
    world: World, method: str, suffix: str, role: str, sees_it: bool
) -> None:
    # Given a booking of another member of the caller's space
    others = world.alpha.pending_reservation
    url = f"/api/v1/makerspaces/{world.alpha.makerspace.pk}/reservations/{others.pk}{suffix}"
    before = table_rows()

    # When the caller reads it or tries to change it
    response = send(world.callers[role], method, url, {})

    # Then a member is told it does not exist, and staff reach it
    if sees_it:
        assert response.status_code not in (403, 404), response.content[:500]
        assert response.status_code < 500, response.content[:500]
    else:
        assert_error(response, 404, "NOT_FOUND")
        assert others.user.email not in response.content.decode()
        assert table_rows() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "shows_form"), [(MEMBER, False), (MANAGER, True)])
def test_options_of_a_maintenance_log_shows_the_form_only_to_staff(
    world: World, role: str, shows_form: bool
) -> None:
    # Given a machine's maintenance log, which members read and staff add to
    space = world.alpha
    url = f"/api/v1/makerspaces/{space.makerspace.pk}/equipment/{space.machine.pk}/maintenance"

    # When a caller asks for the route's description
    response = send(world.callers[role], "OPTIONS", url, None)

    # Then the POST form is described to staff only
    assert response.status_code == 200, response.content[:500]
    assert ("POST" in response.json().get("actions", {})) is shows_form
