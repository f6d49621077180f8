"""Reads of projects: who sees which project, what each may do with it, and what its
bill of materials needs from the space's stock.

Visibility lives here in one place, so the API, the pages and the admin agree:
``private`` is for the owner and collaborators, ``makerspace`` for every active member
of the space, ``public`` for anyone. Staff holding ``projects.manage`` see every project
of their space, to moderate it.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from apps.accounts.models import User
from apps.core.permissions import has_makerspace_permission, makerspace_ids_with, role_in
from apps.equipment.models import Reservation, ReservationStatus
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


def _with_details(projects: QuerySet[Project]) -> QuerySet[Project]:
    """Everything a project's representation shows, in a fixed number of queries."""
    return projects.select_related("owner", "makerspace").prefetch_related(
        Prefetch("tags", queryset=ProjectTag.objects.order_by("name")),
        Prefetch(
            "collaborators",
            queryset=ProjectCollaborator.objects.select_related("user").order_by("created_at"),
        ),
        Prefetch(
            "bom_lines", queryset=BomLine.objects.select_related("item").order_by("created_at")
        ),
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
    projects = Project.objects.filter(makerspace=makerspace)
    visible = _visible_q(user, makerspace)
    if visible is not None:
        projects = projects.filter(visible)
    if mine:
        projects = projects_owned_or_shared(projects, user)
    projects = _filtered(projects, status=status, privacy=privacy, tag=tag, search=search)
    return _with_details(projects).order_by("-updated_at", "pk")


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
    is_public = project.privacy == ProjectPrivacy.PUBLIC
    if user is None or not user.is_authenticated or not user.is_active:
        return ProjectRights(view=is_public, edit=False, share=False, moderate=False, role="public")
    assert isinstance(user, User)
    is_member = role_in(user, project.makerspace_id) is not None or user.is_superuser
    moderate = has_makerspace_permission(user, project.makerspace_id, "projects.manage")
    # A former member keeps nothing of a space's projects but what the public sees.
    if project.owner_id == user.pk and is_member:
        return ProjectRights(view=True, edit=True, share=True, moderate=moderate, role="owner")
    collaborator_role = _collaborator_role(project, user) if is_member else None
    if moderate:
        return ProjectRights(view=True, edit=True, share=True, moderate=True, role="staff")
    if collaborator_role == CollaboratorRole.EDITOR:
        return ProjectRights(view=True, edit=True, share=False, moderate=False, role="editor")
    if collaborator_role == CollaboratorRole.VIEWER:
        return ProjectRights(view=True, edit=False, share=False, moderate=False, role="viewer")
    view = is_public or (is_member and project.privacy == ProjectPrivacy.MAKERSPACE)
    return ProjectRights(
        view=view, edit=False, share=False, moderate=False, role="member" if is_member else "public"
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
    return BomLine.objects.filter(project=project).select_related("item").order_by("created_at")


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
