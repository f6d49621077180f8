"""Reads of projects: who sees which project, what each may do with it, and what its
bill of materials needs from the space's stock.

Visibility lives here in one place, so the API, the pages and the admin agree:
``private`` is for the owner and collaborators, ``makerspace`` for every active member
of the space, ``public`` for anyone. Staff holding ``projects.manage`` see every project
of their space, to moderate it.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Exists, F, Func, OuterRef, Prefetch, Q, QuerySet, Subquery, TextField

from apps.accounts.models import User
from apps.core.permissions import has_makerspace_permission, makerspace_ids_with, role_in
from apps.equipment.models import Reservation, ReservationStatus
from apps.inventory.models import InventoryItem
from apps.makerspaces.models import Makerspace
from apps.projects.models import (
    BomLine,
    CollaboratorRole,
    Project,
    ProjectCollaborator,
    ProjectPrivacy,
    ProjectReservation,
    ProjectStatus,
    ProjectTag,
)

ZERO = Decimal("0.000")
QUANTUM = Decimal("0.001")

# Collaborators and BOM lines in the order they were added; rows added in the same
# instant in the order of their ids, so every read of a project lists them alike.
COLLABORATOR_ORDER = ("created_at", "pk")
BOM_ORDER = ("created_at", "pk")


def _with_details(projects: QuerySet[Project]) -> QuerySet[Project]:
    """Everything a project's representation shows, in a fixed number of queries."""
    return projects.select_related("owner", "makerspace").prefetch_related(
        Prefetch("tags", queryset=ProjectTag.objects.order_by("name")),
        Prefetch(
            "collaborators",
            queryset=ProjectCollaborator.objects.select_related("user").order_by(
                *COLLABORATOR_ORDER
            ),
        ),
        Prefetch("bom_lines", queryset=BomLine.objects.select_related("item").order_by(*BOM_ORDER)),
    )


def _visible_q(user: User | AnonymousUser | None, makerspace: Makerspace) -> Q | None:
    """The condition on projects of ``makerspace`` that ``user`` may see; None means all."""
    if user is None or not user.is_authenticated:
        return Q(privacy=ProjectPrivacy.PUBLIC)
    if has_makerspace_permission(user, makerspace, "projects.manage"):
        return None
    if not has_makerspace_permission(user, makerspace, "projects.view"):
        # Whoever left the space keeps only what the public sees, even of their own.
        return Q(privacy=ProjectPrivacy.PUBLIC)
    visible = Q(privacy=ProjectPrivacy.PUBLIC) | Q(owner=user)
    visible |= Q(Exists(ProjectCollaborator.objects.filter(project=OuterRef("pk"), user=user)))
    return visible | Q(privacy=ProjectPrivacy.MAKERSPACE)


def projects_visible_to(
    *,
    user: User | AnonymousUser | None,
    makerspace: Makerspace,
    status: str = "",
    privacy: str = "",
    tag: str = "",
    search: str = "",
    mine: bool = False,
) -> QuerySet[Project]:
    projects = project_list_of_space(user=user, makerspace=makerspace, mine=mine)
    projects = _filtered(projects, status=status, privacy=privacy, tag=tag, search=search)
    return _with_details(projects)


def project_list_of_space(
    *, user: User | AnonymousUser | None, makerspace: Makerspace, mine: bool = False
) -> QuerySet[Project]:
    """The projects of ``makerspace`` that ``user`` may see, the latest changed first,
    without their details (the API's list reads those with ``project_details_of``)."""
    projects = Project.objects.filter(makerspace=makerspace)
    visible = _visible_q(user, makerspace)
    if visible is not None:
        projects = projects.filter(visible)
    if mine:
        projects = projects_owned_or_shared(projects, user)
    return projects.order_by("-updated_at", "pk")


# --- the API's list as plain rows ------------------------------------------------------------
# What a project of the list shows, read without model instances;
# ``apps.projects.api.presenters`` turns the rows into the API's JSON.

PROJECT_ROW_COLUMNS = (
    "id",
    "makerspace_id",
    "name",
    "description",
    "owner_id",
    "status",
    "privacy",
    "created_at",
    "updated_at",
)


def project_rows(projects: QuerySet[Project]) -> QuerySet[Any]:
    """``projects`` as rows of the columns a project shows, its owner's name as
    ``owner_name``."""
    # A subquery rather than a join: the page's count leaves it out and stays on projects.
    owner_name = Subquery(User.objects.filter(pk=OuterRef("owner_id")).order_by().values("name"))
    return projects.values(*PROJECT_ROW_COLUMNS, owner_name=owner_name)


@dataclass(frozen=True)
class ProjectDetails:
    """What a page of projects shows besides their own columns, by project id: tag
    names; collaborators as ``(id, user id, user name, role, created_at)``; BOM lines as
    ``(id, item id, sku, item name, unit, quantity, note, created_at)``. Ids come as
    UUIDs or as their text, by database."""

    tags: dict[Any, list[str]]
    collaborators: dict[Any, list[tuple[Any, ...]]]
    bom: dict[Any, list[tuple[Any, ...]]]


class _RowsAsJSON(Func):
    """A project's rows of one detail table as JSON text (PostgreSQL), from a subquery
    with ``%(expressions)s`` where the project's id goes. Its JSON writes a uuid as
    ``str`` does and a moment in ISO 8601."""

    output_field = TextField()

    def __init__(self, subquery: str) -> None:
        super().__init__(F("id"))
        self.template = f"COALESCE(({subquery}), '[]')::text"


# Only table names go into these texts; the project's id is the expression's column.
_TAGS = (
    "SELECT json_agg(t.name ORDER BY t.name)"  # noqa: S608
    f" FROM {ProjectTag._meta.db_table} t WHERE t.project_id = %(expressions)s"
)
_COLLABORATORS = (
    "SELECT json_agg(json_build_array(c.id, c.user_id, u.name, c.role, c.created_at)"  # noqa: S608
    f" ORDER BY c.created_at, c.id) FROM {ProjectCollaborator._meta.db_table} c"
    f" JOIN {User._meta.db_table} u ON u.id = c.user_id WHERE c.project_id = %(expressions)s"
)
# Quantities as text: a JSON number would come back as a float.
_BOM = (
    "SELECT json_agg(json_build_array(b.id, b.item_id, i.sku, i.name, i.unit,"  # noqa: S608
    " b.quantity::text, b.note, b.created_at) ORDER BY b.created_at, b.id)"
    f" FROM {BomLine._meta.db_table} b JOIN {InventoryItem._meta.db_table} i"
    " ON i.id = b.item_id WHERE b.project_id = %(expressions)s"
)


def project_details_of(project_ids: list[Any]) -> ProjectDetails:
    """The details of a page of projects: on PostgreSQL in one query (each project's
    rows gathered as JSON), elsewhere in one query per kind of detail."""
    details = ProjectDetails(tags={}, collaborators={}, bom={})
    if not project_ids:
        return details
    if connection.vendor != "postgresql":
        return _details_by_kind(project_ids, details)
    rows = (
        Project.objects.filter(pk__in=project_ids)
        .order_by()
        .values_list("id", _RowsAsJSON(_TAGS), _RowsAsJSON(_COLLABORATORS), _RowsAsJSON(_BOM))
    )
    moment = datetime.fromisoformat
    for project_id, tags, collaborators, lines in rows:
        details.tags[project_id] = orjson.loads(tags)
        details.collaborators[project_id] = [
            (collaborator_id, user_id, name, role, moment(created_at))
            for collaborator_id, user_id, name, role, created_at in orjson.loads(collaborators)
        ]
        details.bom[project_id] = [
            (line_id, item_id, sku, name, unit, Decimal(quantity), note, moment(created_at))
            for line_id, item_id, sku, name, unit, quantity, note, created_at in orjson.loads(lines)
        ]
    return details


def _details_by_kind(project_ids: list[Any], details: ProjectDetails) -> ProjectDetails:
    tags = (
        ProjectTag.objects.filter(project_id__in=project_ids)
        .order_by("name")
        .values_list("project_id", "name")
    )
    for project_id, name in tags:
        details.tags.setdefault(project_id, []).append(name)
    collaborators = (
        ProjectCollaborator.objects.filter(project_id__in=project_ids)
        .order_by(*COLLABORATOR_ORDER)
        .values_list("project_id", "id", "user_id", "user__name", "role", "created_at")
    )
    for project_id, *collaborator in collaborators:
        details.collaborators.setdefault(project_id, []).append(tuple(collaborator))
    lines = (
        BomLine.objects.filter(project_id__in=project_ids)
        .order_by(*BOM_ORDER)
        .values_list(
            "project_id",
            "id",
            "item_id",
            "item__sku",
            "item__name",
            "item__unit",
            "quantity",
            "note",
            "created_at",
        )
    )
    for project_id, *line in lines:
        details.bom.setdefault(project_id, []).append(tuple(line))
    return details


def _owned_or_shared_q(user: User) -> Q:
    return Q(owner=user) | Q(
        Exists(ProjectCollaborator.objects.filter(project=OuterRef("pk"), user=user))
    )


def _filtered(
    projects: QuerySet[Project],
    *,
    status: str = "",
    privacy: str = "",
    tag: str = "",
    search: str = "",
) -> QuerySet[Project]:
    projects = projects_in_status(projects, status)
    projects = projects_of_privacy(projects, privacy)
    projects = projects_tagged(projects, tag)
    return projects_matching(projects, search)


# The filters of a project list, shared by the selectors above and the API's FilterSets.


def projects_in_status(projects: QuerySet[Project], status: str) -> QuerySet[Project]:
    """``status``: one status or several, comma-separated."""
    return projects.filter(status__in=status.split(",")) if status else projects


def projects_of_privacy(projects: QuerySet[Project], privacy: str) -> QuerySet[Project]:
    return projects.filter(privacy=privacy) if privacy else projects


def projects_tagged(projects: QuerySet[Project], tag: str) -> QuerySet[Project]:
    if not tag:
        return projects
    return projects.filter(
        Exists(ProjectTag.objects.filter(project=OuterRef("pk"), name=normalize_tag(tag)))
    )


def projects_matching(projects: QuerySet[Project], search: str) -> QuerySet[Project]:
    if not search:
        return projects
    return projects.filter(Q(name__icontains=search) | Q(description__icontains=search))


def projects_owned_or_shared(
    projects: QuerySet[Project], user: User | AnonymousUser | None
) -> QuerySet[Project]:
    """Only the projects ``user`` owns or collaborates on."""
    return projects.filter(_owned_or_shared_q(user)) if isinstance(user, User) else projects


def projects_of_space_id(projects: QuerySet[Project], makerspace_id: Any) -> QuerySet[Project]:
    return projects.filter(makerspace_id=makerspace_id) if makerspace_id else projects


def project_visible_to(
    *, user: User | AnonymousUser | None, makerspace: Makerspace, project_id: Any
) -> Project | None:
    """The project if ``user`` may see it; None means 404 (hidden and missing look alike)."""
    return projects_visible_to(user=user, makerspace=makerspace).filter(pk=project_id).first()


def projects_of_user(user: User, *, status: str = "") -> QuerySet[Project]:
    """The user's own projects and those shared with them, in spaces where they are an
    active member (a project of a space they left is out of their reach)."""
    space_ids = makerspace_ids_with(user, "projects.view")
    projects = Project.objects.filter(makerspace_id__in=space_ids, makerspace__is_active=True)
    projects = _filtered(projects.filter(_owned_or_shared_q(user)), status=status)
    return _with_details(projects).order_by("-updated_at", "pk")


def public_projects(
    *, makerspace: Makerspace | None = None, tag: str = "", search: str = ""
) -> QuerySet[Project]:
    """Public projects of active spaces, for the gallery and the API without sign-in.
    Archived projects stay reachable by link but leave the gallery."""
    projects = Project.objects.filter(
        privacy=ProjectPrivacy.PUBLIC, makerspace__is_active=True
    ).exclude(status=ProjectStatus.ARCHIVED)
    if makerspace is not None:
        projects = projects.filter(makerspace=makerspace)
    projects = _filtered(projects, tag=tag, search=search)
    return _with_details(projects).order_by("-updated_at", "pk")


def public_project(project_id: Any) -> Project | None:
    return _with_details(
        Project.objects.filter(
            pk=project_id, privacy=ProjectPrivacy.PUBLIC, makerspace__is_active=True
        )
    ).first()


def normalize_tag(raw: str) -> str:
    return "-".join(raw.strip().lower().split())


# --- what a user may do with a project -----------------------------------------------------


@dataclass(frozen=True)
class ProjectRights:
    """``edit``: details, BOM, consuming it, linked bookings. ``share``: privacy,
    collaborators, deleting. ``moderate``: staff of the space acting on any project."""

    view: bool
    edit: bool
    share: bool
    moderate: bool
    role: str  # owner, editor, viewer, staff, member, public


NO_RIGHTS = ProjectRights(view=False, edit=False, share=False, moderate=False, role="")


@dataclass(frozen=True)
class Caller:
    """Who asks, as the rights on the projects of one space see them; ``user_id`` is None
    for whoever is not signed in (or is deactivated). The same for every project of the
    space, so a list works it out once."""

    user_id: Any
    is_member: bool
    moderate: bool


ANYONE = Caller(user_id=None, is_member=False, moderate=False)


def caller_in_space(user: User | AnonymousUser | None, makerspace_id: Any) -> Caller:
    if user is None or not user.is_authenticated or not user.is_active:
        return ANYONE
    assert isinstance(user, User)
    return Caller(
        user_id=user.pk,
        is_member=role_in(user, makerspace_id) is not None or user.is_superuser,
        moderate=has_makerspace_permission(user, makerspace_id, "projects.manage"),
    )


def rights_of(
    caller: Caller, *, owner_id: Any, privacy: str, collaborator_role: str | None
) -> ProjectRights:
    """The rights of ``caller`` on a project of the space; ``collaborator_role`` is the
    caller's role among its collaborators (None if not one of them)."""
    is_public = privacy == ProjectPrivacy.PUBLIC
    if caller.user_id is None:
        return ProjectRights(view=is_public, edit=False, share=False, moderate=False, role="public")
    is_member = caller.is_member
    # A former member keeps nothing of a space's projects but what the public sees.
    if owner_id == caller.user_id and is_member:
        return ProjectRights(
            view=True, edit=True, share=True, moderate=caller.moderate, role="owner"
        )
    if caller.moderate:
        return ProjectRights(view=True, edit=True, share=True, moderate=True, role="staff")
    role = collaborator_role if is_member else None
    if role == CollaboratorRole.EDITOR:
        return ProjectRights(view=True, edit=True, share=False, moderate=False, role="editor")
    if role == CollaboratorRole.VIEWER:
        return ProjectRights(view=True, edit=False, share=False, moderate=False, role="viewer")
    view = is_public or (is_member and privacy == ProjectPrivacy.MAKERSPACE)
    return ProjectRights(
        view=view, edit=False, share=False, moderate=False, role="member" if is_member else "public"
    )


def _collaborator_role(project: Project, user: User) -> str | None:
    cache = getattr(project, "_prefetched_objects_cache", {})
    if "collaborators" in cache:
        for collaborator in cache["collaborators"]:
            if collaborator.user_id == user.pk:
                return str(collaborator.role)
        return None
    return (
        ProjectCollaborator.objects.filter(project=project, user=user)
        .values_list("role", flat=True)
        .first()
    )


def project_rights(*, user: User | AnonymousUser | None, project: Project) -> ProjectRights:
    caller = caller_in_space(user, project.makerspace_id)
    # Only a member who does not own the project has a collaborator role that matters.
    role = None
    if caller.is_member and project.owner_id != caller.user_id:
        assert isinstance(user, User)
        role = _collaborator_role(project, user)
    return rights_of(
        caller, owner_id=project.owner_id, privacy=project.privacy, collaborator_role=role
    )


# --- the bill of materials against the stock --------------------------------------------------


@dataclass(frozen=True)
class LineAvailability:
    line: BomLine
    required: Decimal
    in_stock: Decimal
    short: Decimal

    @property
    def is_short(self) -> bool:
        return self.short > 0


def bom_of_project(project: Project) -> QuerySet[BomLine]:
    return BomLine.objects.filter(project=project).select_related("item").order_by(*BOM_ORDER)


def bom_availability(project: Project, *, multiplier: int = 1) -> list[LineAvailability]:
    """Per line: what ``multiplier`` builds need, what the space holds, what is missing."""
    rows = []
    for line in bom_of_project(project):
        required = (line.quantity * multiplier).quantize(QUANTUM)
        in_stock = line.item.current_stock.quantize(QUANTUM)
        short = max(required - in_stock, ZERO).quantize(QUANTUM)
        rows.append(LineAvailability(line=line, required=required, in_stock=in_stock, short=short))
    return rows


def bom_shortages(project: Project, *, multiplier: int = 1) -> list[LineAvailability]:
    """The lines the space cannot cover: what the store's "buy what is short" adds to a
    cart, matching store products by the item's SKU."""
    return [row for row in bom_availability(project, multiplier=multiplier) if row.is_short]


# --- linked bookings -------------------------------------------------------------------------


def reservation_links_of_project(project: Project) -> QuerySet[ProjectReservation]:
    return (
        ProjectReservation.objects.filter(project=project)
        .select_related("reservation__equipment", "reservation__user")
        .order_by("reservation__start_time", "pk")
    )


def linkable_reservations(*, project: Project, user: User) -> QuerySet[Reservation]:
    """The user's bookings in the project's space not yet linked to any project (for the
    page's "link a booking" choice), when the user is the owner or a collaborator."""
    if project.owner_id != user.pk and not project.collaborators.filter(user=user).exists():
        return Reservation.objects.none()
    return (
        Reservation.objects.filter(makerspace_id=project.makerspace_id, user=user)
        .exclude(Exists(ProjectReservation.objects.filter(reservation=OuterRef("pk"))))
        .exclude(status__in=(ReservationStatus.CANCELLED, ReservationStatus.NO_SHOW))
        .select_related("equipment")
        .order_by("-start_time")
    )
