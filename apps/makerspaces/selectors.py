"""Reads of makerspaces, memberships and skills. Tenant scoping lives here."""

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from django.db import connection
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import ACos, Cos, Greatest, Least, Radians, Sin
from django.utils import timezone

from apps.accounts.models import User
from apps.core.models import AuditLogEntry
from apps.core.permissions import STAFF_ROLES, remember_role, role_in
from apps.makerspaces.models import (
    Closure,
    Invitation,
    InvitationStatus,
    Makerspace,
    Membership,
    MembershipStatus,
    MemberSkill,
    Skill,
    SkillInstructor,
)

EARTH_RADIUS_KM = 6371.0088


def distance_km_expression(lat: float, lng: float) -> Any:
    """Great-circle distance in SQL (spherical law of cosines), NULL without coordinates."""
    lat_r = Radians(Value(lat))
    cosine = Sin(lat_r) * Sin(Radians(F("latitude"))) + Cos(lat_r) * Cos(
        Radians(F("latitude"))
    ) * Cos(Radians(F("longitude")) - Radians(Value(lng)))
    # Rounding can push the cosine a hair past ±1, where ACOS is undefined.
    clamped = Greatest(Least(cosine, Value(1.0)), Value(-1.0))
    return Case(
        When(latitude__isnull=True, then=Value(None)),
        default=ACos(clamped) * Value(EARTH_RADIUS_KM),
        output_field=FloatField(),
    )


class DistanceKm(Func):
    """``distance_km_expression`` as one node: the same SQL, written out per database.

    The directory computes the distance on every request, in its count, its filter and
    its rows; built from two dozen ORM expressions, resolving and compiling them cost
    more than the query itself. This node compiles to exactly the SQL they compile to
    (tests/makerspaces/test_api_presenters.py compares the two on the database the
    suite runs on), so the distances and their order stay the same.
    """

    output_field = FloatField()
    # Django's SQLite backend casts decimal columns and what it derives from them to
    # NUMERIC, and writes GREATEST and LEAST as MAX and MIN.
    _SQL = {
        "postgresql": (
            "CASE WHEN {lat} IS NULL THEN NULL ELSE (ACOS(GREATEST(LEAST(((SIN(RADIANS(%s))"
            " * SIN(RADIANS({lat}))) + ((COS(RADIANS(%s)) * COS(RADIANS({lat})))"
            " * COS((RADIANS({lng}) - RADIANS(%s))))), %s), %s)) * %s) END"
        ),
        "sqlite": (
            "CASE WHEN {lat} IS NULL THEN NULL ELSE (ACOS(MAX(MIN(((SIN(RADIANS(%s))"
            " * (CAST(SIN((CAST(RADIANS({lat}) AS NUMERIC))) AS NUMERIC)))"
            " + ((COS(RADIANS(%s)) * (CAST(COS((CAST(RADIANS({lat}) AS NUMERIC))) AS NUMERIC)))"
            " * COS(((CAST(RADIANS({lng}) AS NUMERIC)) - RADIANS(%s))))), %s), %s)) * %s) END"
        ),
    }

    def __init__(self, lat: float, lng: float) -> None:
        super().__init__(F("latitude"), F("longitude"))
        self.point = (lat, lng)

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, tuple[Any, ...]]:
        template = self._SQL.get(connection.vendor)
        if template is None:
            expression = distance_km_expression(*self.point).resolve_expression(compiler.query)
            return compiler.compile(expression)
        latitude, latitude_params = compiler.compile(self.source_expressions[0])
        longitude, longitude_params = compiler.compile(self.source_expressions[1])
        assert not latitude_params  # plain columns
        assert not longitude_params
        lat, lng = self.point
        sql = template.format(lat=latitude, lng=longitude)
        return sql, (lat, lat, lng, 1.0, -1.0, EARTH_RADIUS_KM)


def makerspace_directory(
    *,
    search: str = "",
    verified: bool | None = None,
    near: tuple[float, float] | None = None,
    radius_km: float | None = None,
    spaces: QuerySet[Makerspace] | None = None,
) -> QuerySet[Makerspace]:
    """Active spaces matching the directory's criteria; ``spaces`` narrows (or prefetches
    on) the starting set."""
    spaces = (Makerspace.objects.all() if spaces is None else spaces).filter(is_active=True)
    if search:
        spaces = spaces.filter(
            Q(name__icontains=search)
            | Q(description__icontains=search)
            | Q(address__icontains=search)
            | Q(location__icontains=search)
        )
    if verified is not None:
        spaces = spaces.filter(verified=verified)
    if near is not None:
        spaces = spaces.annotate(distance_km=DistanceKm(*near)).filter(distance_km__isnull=False)
        if radius_km is not None:
            spaces = spaces.filter(distance_km__lte=radius_km)
        return spaces.order_by("distance_km", "name")
    return spaces.order_by("name")


def makerspaces_of(user: User) -> QuerySet[Makerspace]:
    """Spaces where the user holds an active membership."""
    return Makerspace.objects.filter(
        memberships__user=user, memberships__status=MembershipStatus.ACTIVE
    )


def makerspace_for_member(*, user: User, makerspace_id: Any) -> Makerspace | None:
    """The space if the caller belongs to it (or is a super admin); None means 404.

    One query answers both the space and the caller's role in it, which is remembered
    for the permission checks of the same request.
    """
    role = Membership.objects.filter(
        makerspace=OuterRef("pk"), user=user, status=MembershipStatus.ACTIVE
    ).values("role")[:1]
    space = Makerspace.objects.filter(pk=makerspace_id).annotate(caller_role=Subquery(role)).first()
    if space is None:
        return None
    remember_role(user, space.pk, space.caller_role)
    if space.caller_role is None and not user.is_superuser:
        return None
    return space


def makerspace_visible_to(*, user: User | Any, makerspace_id: Any) -> Makerspace | None:
    """The space as its public page shows it: an active one to anyone, a deactivated one
    only to its members and super admins (to everyone else it does not exist)."""
    makerspace = Makerspace.objects.prefetch_related("closures").filter(pk=makerspace_id).first()
    if makerspace is None or _is_visible(user, makerspace.pk, is_active=makerspace.is_active):
        return makerspace
    return None


def _is_visible(user: User | Any, makerspace_id: Any, *, is_active: bool) -> bool:
    if is_active:
        return True
    return bool(user.is_authenticated and (user.is_superuser or role_in(user, makerspace_id)))


# --- the API's rows of a space ------------------------------------------------------------
# What the directory and a space's page show, read as plain rows (no model instances):
# ``apps.makerspaces.api.presenters`` turns them into the API's JSON.

MAKERSPACE_ROW_COLUMNS = (
    "id",
    "name",
    "slug",
    "description",
    "address",
    "location",
    "latitude",
    "longitude",
    "timezone",
    "currency",
    "contact_email",
    "contact_phone",
    "business_hours",
    "join_policy",
    "settings",
    "verified",
    "is_active",
    "created_at",
)


def makerspace_rows(spaces: QuerySet[Makerspace]) -> QuerySet[Any]:
    """``spaces`` (the directory's, filtered and ordered) as rows of the columns a space
    shows, with ``distance_km`` when ``near`` computed one; ``closures_by_space`` then
    finds their closures."""
    columns: tuple[str, ...] = MAKERSPACE_ROW_COLUMNS
    if "distance_km" in spaces.query.annotations:
        columns = (*columns, "distance_km")
    return spaces.values(*columns, **_closures_in_row())


def makerspace_row_visible_to(*, user: User | Any, makerspace_id: Any) -> dict[str, Any] | None:
    """A space's row as its public page shows it (the rule of ``makerspace_visible_to``),
    with ``updated_at``, its version."""
    row = (
        Makerspace.objects.filter(pk=makerspace_id)
        .values(*MAKERSPACE_ROW_COLUMNS, "updated_at", **_closures_in_row())
        .first()
    )
    if row is None or not _is_visible(user, row["id"], is_active=row["is_active"]):
        return None
    return row


class _ClosuresAsJSON(Func):
    """A space's closures as JSON text, ``[[id, date, reason], ...]`` by date
    (PostgreSQL; its JSON writes a uuid and a date as Python's ``str`` and
    ``isoformat`` do)."""

    output_field = TextField()
    # Only the table's name goes into the text; the space's id is the expression's.
    template = (
        "(SELECT COALESCE(json_agg(json_build_array(c.id, c.date, c.reason) ORDER BY c.date),"  # noqa: S608
        f" '[]')::text FROM {Closure._meta.db_table} c WHERE c.makerspace_id = %(expressions)s)"
    )


def _closures_in_row() -> dict[str, Any]:
    # On PostgreSQL each row brings its closures along: no query of their own. Elsewhere
    # ``closures_by_space`` reads them for the whole page in one query.
    if connection.vendor == "postgresql":
        return {"closure_list": _ClosuresAsJSON("id")}
    return {}


ClosureRow = tuple[Any, date, str]  # id, date, reason


def closures_by_space(rows: Sequence[Mapping[str, Any]]) -> dict[Any, list[ClosureRow]]:
    """Space id → its closures, by date, for rows of ``makerspace_rows`` (or
    ``makerspace_row_visible_to``): from the rows themselves where they carry them,
    else in one query for them all."""
    if not rows:
        return {}
    if "closure_list" in rows[0]:
        return {
            row["id"]: [
                (closure_id, date.fromisoformat(day), reason)
                for closure_id, day, reason in orjson.loads(row["closure_list"])
            ]
            for row in rows
        }
    found: dict[Any, list[ClosureRow]] = {}
    closures = (
        Closure.objects.filter(makerspace_id__in=[row["id"] for row in rows])
        .order_by("date")
        .values_list("makerspace_id", "id", "date", "reason")
    )
    for makerspace_id, closure_id, day, reason in closures:
        found.setdefault(makerspace_id, []).append((closure_id, day, reason))
    return found


def is_own_membership(*, user: User, membership_id: Any) -> bool:
    return Membership.objects.filter(pk=membership_id, user=user).exists()


def teaches_in(*, user: User, makerspace_id: Any) -> bool:
    """Whether ``user`` is an instructor of some skill of the space (they may then
    grant that skill; ``services.skill_grant`` decides which)."""
    return SkillInstructor.objects.filter(
        membership__user=user,
        membership__makerspace_id=makerspace_id,
        membership__status=MembershipStatus.ACTIVE,
    ).exists()


def is_skill_instructor(*, user: User | Any, skill: Skill) -> bool:
    """Whether ``user`` may certify others in ``skill``: an active member the space
    marked as its instructor who still holds the skill themselves, so a lapsed
    certificate cannot be passed on."""
    if not user.is_authenticated:
        return False
    return (
        SkillInstructor.objects.filter(
            skill=skill,
            membership__user=user,
            membership__status=MembershipStatus.ACTIVE,
        ).exists()
        and MemberSkill.objects.current()
        .filter(skill=skill, membership__user=user, membership__status=MembershipStatus.ACTIVE)
        .exists()
    )


def staff_emails_of(makerspace_id: Any) -> list[str]:
    """The addresses of a space's active admins and managers, sorted: who gets the
    space's staff emails (maintenance due, reorder alerts, low-stock digests)."""
    return sorted(
        Membership.objects.filter(
            makerspace_id=makerspace_id, role__in=STAFF_ROLES, status=MembershipStatus.ACTIVE
        ).values_list("user__email", flat=True)
    )


def audit_log_of_space(makerspace_id: Any) -> QuerySet[AuditLogEntry]:
    """Who changed what in a space, newest first (the API's audit log and the admin's
    history of a space read the same entries)."""
    return (
        AuditLogEntry.objects.filter(makerspace_id=makerspace_id)
        .select_related("actor", "content_type")
        .order_by("-created_at", "-id")
    )


def memberships_of_space(makerspace: Makerspace) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(makerspace=makerspace)
        .select_related("user")
        .prefetch_related(
            Prefetch(
                "skills",
                queryset=MemberSkill.objects.current().select_related("skill"),
                to_attr="current_skills",
            )
        )
        .order_by("user__name", "user__email")
    )


def memberships_of_user(user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("makerspace")
        .order_by("makerspace__name")
    )


def pending_invitations_for(user: User) -> QuerySet[Invitation]:
    """Open invitations to the user's address; none until the address is verified."""
    if not user.email_verified:
        return Invitation.objects.none()
    return (
        Invitation.objects.filter(
            email__iexact=user.email,
            status=InvitationStatus.PENDING,
            expires_at__gt=timezone.now(),
            makerspace__is_active=True,
        )
        .select_related("makerspace", "invited_by")
        .order_by("-created_at")
    )


def skills_of_space(makerspace: Makerspace) -> QuerySet[Skill]:
    return Skill.objects.filter(makerspace=makerspace).order_by("name")


def current_skill_slugs(*, user: User, makerspace: Makerspace) -> set[str]:
    """Slugs of the skills the user holds now in that space (expired ones do not count)."""
    return set(
        MemberSkill.objects.current()
        .filter(
            membership__user=user,
            membership__makerspace=makerspace,
            membership__status=MembershipStatus.ACTIVE,
        )
        .values_list("skill__slug", flat=True)
    )


def parse_near(value: str) -> tuple[float, float]:
    """``"lat,lng"`` → floats; ValueError with a clear message otherwise."""
    parts = value.split(",")
    if len(parts) != 2:
        raise ValueError("Use near=lat,lng, e.g. near=50.45,30.52.")
    try:
        lat, lng = (float(Decimal(part.strip())) for part in parts)
    except ArithmeticError:
        # Decimal("abc") raises InvalidOperation, an ArithmeticError, not a ValueError.
        raise ValueError("Use near=lat,lng, e.g. near=50.45,30.52.") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValueError("Latitude must be within ±90 and longitude within ±180.")
    return lat, lng


def active_makerspace(slug: str) -> Makerspace | None:
    """The active space with this slug; None (a 404) for an unknown or deactivated one."""
    return Makerspace.objects.filter(slug=slug, is_active=True).first()


def membership_in(*, user: User, makerspace: Makerspace) -> Membership | None:
    """The user's membership of the space in any status (pending and suspended too)."""
    return Membership.objects.filter(user=user, makerspace=makerspace).first()


def upcoming_closures(makerspace: Makerspace, *, limit: int = 20) -> QuerySet[Closure]:
    """Closures from today on, where "today" is the date in the space's own timezone."""
    today = timezone.now().astimezone(ZoneInfo(makerspace.timezone)).date()
    return Closure.objects.filter(makerspace=makerspace, date__gte=today).order_by("date")[:limit]


def invitations_sent_by_space(makerspace: Makerspace) -> QuerySet[Invitation]:
    """Every invitation a space has sent, in any status, newest first."""
    return (
        Invitation.objects.filter(makerspace=makerspace)
        .select_related("makerspace", "invited_by")
        .order_by("-created_at")
    )


def closures_of_space(makerspace: Makerspace) -> QuerySet[Closure]:
    return Closure.objects.filter(makerspace=makerspace).order_by("date")


def invitations_of_space(makerspace: Makerspace) -> QuerySet[Invitation]:
    """Open invitations of a space: pending and not yet expired."""
    return (
        Invitation.objects.filter(
            makerspace=makerspace,
            status=InvitationStatus.PENDING,
            expires_at__gt=timezone.now(),
        )
        .select_related("invited_by")
        .order_by("-created_at")
    )


def instructors_of_skill(skill: Skill) -> QuerySet[SkillInstructor]:
    """Members who may grant ``skill`` now (active, holding it themselves), by name."""
    holds_it = MemberSkill.objects.current().filter(membership=OuterRef("membership"), skill=skill)
    return (
        SkillInstructor.objects.filter(skill=skill, membership__status=MembershipStatus.ACTIVE)
        .filter(Exists(holds_it))
        .select_related("membership__user")
        .order_by("membership__user__name", "pk")
    )
