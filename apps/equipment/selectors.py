"""Reads of equipment and reservations; availability and utilization are computed in SQL."""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    DurationField,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    UUIDField,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from apps.accounts.models import User
from apps.core.prepared import (
    Listing,
    Param,
    PreparedQuery,
    count_of_rows,
    prepared_listing,
)
from apps.equipment.models import (
    HOLDING_STATUSES,
    Equipment,
    EquipmentStatus,
    Reservation,
    ReservationStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from apps.equipment.rules import EffectiveRules
from apps.makerspaces.hours import opening_windows
from apps.makerspaces.models import Closure, Makerspace, MembershipStatus, MemberSkill, Skill

UTILIZATION_DAYS = 30
# Statuses whose time counts as the machine being used or spoken for.
USED_STATUSES = (
    ReservationStatus.CONFIRMED,
    ReservationStatus.ACTIVE,
    ReservationStatus.COMPLETED,
)
# A machine in use now is still bookable for later; these are not.
OUT_OF_SERVICE = (EquipmentStatus.MAINTENANCE, EquipmentStatus.OFFLINE)


def overlapping(start: Any, end: Any) -> Q:
    """Holding reservations whose blocked span meets [start, end)."""
    return Q(status__in=HOLDING_STATUSES, start_time__lt=end, block_end__gt=start)


def _at(moment: Any) -> Any:
    """A moment as an expression; a ``Param`` of a prepared query already is one."""
    return moment if isinstance(moment, Expression) else Value(moment)


def _next_available_time(now: Any) -> Any:
    """The first moment from now not covered by a holding reservation of the machine.

    It is now, if nothing holds the machine now; otherwise the earliest end of a
    holding reservation that no other holding reservation covers. None for a machine
    out of service.
    """
    holding = Reservation.objects.filter(
        equipment=OuterRef("pk"), status__in=HOLDING_STATUSES, block_end__gt=now
    )
    # A session checked in early holds the machine before its booked start.
    covered_now = holding.filter(Q(start_time__lte=now) | Q(status=ReservationStatus.ACTIVE))
    uncovered_ends = holding.filter(
        ~Exists(
            Reservation.objects.filter(
                equipment=OuterRef("equipment"),
                status__in=HOLDING_STATUSES,
                start_time__lte=OuterRef("block_end"),
                block_end__gt=OuterRef("block_end"),
            )
        )
    ).order_by("block_end")
    return Case(
        When(status__in=OUT_OF_SERVICE, then=Value(None)),
        When(~Exists(covered_now), then=_at(now)),
        default=Subquery(uncovered_ends.values("block_end")[:1]),
        output_field=DateTimeField(),
    )


def _used_duration_since(since: Any, now: Any) -> Any:
    """Booked or used time of each machine within [since, now], summed in SQL."""
    clipped = ExpressionWrapper(
        Least(F("end_time"), _at(now)) - Greatest(F("start_time"), _at(since)),
        output_field=DurationField(),
    )
    per_machine = (
        Reservation.objects.filter(
            equipment=OuterRef("pk"),
            status__in=USED_STATUSES,
            start_time__lt=now,
            end_time__gt=since,
        )
        .order_by()
        .values("equipment")
        .annotate(total=Sum(clipped))
        .values("total")
    )
    return Coalesce(
        Subquery(per_machine, output_field=DurationField()),
        Value(timedelta(0)),
        output_field=DurationField(),
    )


def _live_state(*, now: Any, soon: Any, since: Any) -> dict[str, Any]:
    """A machine's live state as annotations: free now (nothing holds [now, soon)),
    when it next is, and its booked or used time since ``since``."""
    return {
        "is_available": Case(
            When(
                Q(status=EquipmentStatus.AVAILABLE)
                & ~Exists(
                    Reservation.objects.filter(equipment=OuterRef("pk")).filter(
                        overlapping(now, soon)
                    )
                ),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
        "next_available_time": _next_available_time(now),
        "used_duration": _used_duration_since(since, now),
    }


_CLOSED_DAYS = PreparedQuery(
    lambda: Closure.objects.filter(
        makerspace_id=Param("makerspace", UUIDField()),
        date__gte=Param("first", DateField()),
        date__lte=Param("last", DateField()),
    )
    .order_by()
    .values_list("date")
)


def closed_days(makerspace: Makerspace, first: date, last: date) -> set[date]:
    """The space's closures from ``first`` to ``last`` (local dates, both included)."""
    window = {"makerspace": makerspace.pk, "first": first, "last": last}
    return {day for (day,) in _CLOSED_DAYS.rows(window)}


@lru_cache(maxsize=4096)
def _opening_windows(
    business_hours: str, timezone_name: str, day: date
) -> tuple[tuple[datetime, datetime], ...]:
    # The same hours give the same windows on a day: each list's 31 days of hours are
    # worked out once per process rather than once per request.
    return tuple(opening_windows(json.loads(business_hours), timezone_name, day))


def open_seconds(makerspace: Makerspace, since: datetime, until: datetime) -> float:
    """Seconds the space was open between two moments (business hours, closures)."""
    zone = ZoneInfo(makerspace.timezone)
    day, last = since.astimezone(zone).date(), until.astimezone(zone).date()
    closed = closed_days(makerspace, day, last)
    hours = json.dumps(makerspace.business_hours, sort_keys=True)
    total = 0.0
    while day <= last:
        windows = () if day in closed else _opening_windows(hours, makerspace.timezone, day)
        for opens, closes in windows:
            start, end = max(opens, since), min(closes, until)
            if end > start:
                # Timestamps, not datetime subtraction: two times of one zone subtract
                # as wall clocks, which is an hour off on the days the clocks change.
                total += end.timestamp() - start.timestamp()
        day += timedelta(days=1)
    return total


def equipment_of_space(
    makerspace: Makerspace,
    *,
    status: str | None = None,
    equipment_type: str | None = None,
    now: datetime | None = None,
) -> QuerySet[Equipment]:
    now = now or timezone.now()
    machines = (
        Equipment.objects.filter(makerspace=makerspace)
        .select_related("makerspace")
        .prefetch_related(Prefetch("skill_requirements", queryset=Skill.objects.order_by("slug")))
        .annotate(
            **_live_state(
                now=now,
                soon=now + timedelta(seconds=1),
                since=now - timedelta(days=UTILIZATION_DAYS),
            )
        )
        .order_by("name")
    )
    return equipment_matching(machines, status=status, equipment_type=equipment_type)


def equipment_matching(
    machines: QuerySet[Equipment],
    *,
    status: Any = None,
    equipment_type: Any = None,
) -> QuerySet[Equipment]:
    """The machines in ``status`` and of ``equipment_type`` (each when given): the one
    filter of the machine list, for the pages and the API alike."""
    if status:
        machines = machines.filter(status=status)
    if equipment_type:
        machines = machines.filter(type=equipment_type)
    return machines


def _current_grant(now: Any) -> Q:
    # makerspaces' current_grant_condition() at a moment given here, which may be a
    # Param of a prepared query: the grant never expires or expires after ``now``.
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


def lacking_a_skill(*, makerspace_id: Any, user_id: Any, now: Any) -> Exists:
    """Whether the machine (the outer query's row) requires a skill the user does not
    hold as a current grant in the space at ``now``."""
    held = MemberSkill.objects.filter(
        _current_grant(now),
        membership__user_id=user_id,
        membership__makerspace_id=makerspace_id,
        membership__status=MembershipStatus.ACTIVE,
    )
    requirement = Equipment.skill_requirements.through
    return Exists(
        requirement.objects.filter(equipment=OuterRef("pk")).exclude(skill__in=held.values("skill"))
    )


def _bookable(
    machines: QuerySet[Equipment],
    *,
    makerspace_id: Any,
    user_id: Any,
    start: Any,
    end: Any,
    now: Any,
) -> QuerySet[Equipment]:
    """Of ``machines``, those the user may book in [start, end): available, skills
    held, slot free and not held for someone else's waitlist offer."""
    lacks_a_skill = lacking_a_skill(makerspace_id=makerspace_id, user_id=user_id, now=now)
    slot_taken = Exists(
        Reservation.objects.filter(equipment=OuterRef("pk")).filter(overlapping(start, end))
    )
    held_for_another = Exists(
        WaitlistEntry.objects.filter(
            equipment=OuterRef("pk"),
            status=WaitlistStatus.OFFERED,
            offer_expires_at__gt=now,
            start_time__lt=end,
            end_time__gt=start,
        ).exclude(user_id=user_id)
    )
    return (
        machines.exclude(status__in=OUT_OF_SERVICE)
        .exclude(lacks_a_skill)
        .exclude(slot_taken)
        .exclude(held_for_another)
    )


def bookable_equipment(
    *, makerspace: Makerspace, user: User, start: datetime, end: datetime
) -> QuerySet[Equipment]:
    """Machines the user may book in [start, end): available, skills held, slot free and
    not held for someone else's waitlist offer."""
    now = timezone.now()
    return _bookable(
        equipment_of_space(makerspace, now=now),
        makerspace_id=makerspace.pk,
        user_id=user.pk,
        start=start,
        end=end,
        now=now,
    )


# --- the machine list of the API: prepared queries and plain rows -------------------------


class _JoinedSlugs(Func):
    """The slugs of a subquery's rows as one text, in the database's order of slugs.
    A plain function, not an aggregate: the subquery has no GROUP BY and one row."""

    template = "STRING_AGG(%(expressions)s, ',' ORDER BY %(expressions)s)"
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # No ordered GROUP_CONCAT before SQLite 3.44: _SkillSlugs sorts on reading.
        template = "GROUP_CONCAT(%(expressions)s, ',')"
        return self.as_sql(compiler, connection, template=template, **extra_context)


class _SkillSlugs(Subquery):
    """The slugs of the skills the machine (the outer row) requires, as a list in the
    order of ``equipment_of_space``'s prefetch: by slug, as the database sorts."""

    def __init__(self) -> None:
        requirement = Equipment.skill_requirements.through
        slugs = (
            requirement.objects.filter(equipment=OuterRef("pk"))
            .order_by()
            .values(slugs=_JoinedSlugs("skill__slug"))
        )
        super().__init__(slugs, output_field=TextField())

    def get_db_converters(self, connection: Any) -> list[Any]:
        return [self._as_list]

    @staticmethod
    def _as_list(value: Any, expression: Any, connection: Any) -> list[str]:
        slugs = value.split(",") if value else []
        # SQLite's BINARY collation is code point order, which sorted() gives.
        return sorted(slugs) if connection.vendor == "sqlite" else slugs


class MachineRow(NamedTuple):
    """A machine as the API lists it: ``equipment_of_space``'s row with its live state
    and the slugs of the skills it requires."""

    id: UUID
    makerspace_id: UUID
    name: str
    type: str
    status: str
    location: str
    description: str
    specifications: Any
    hourly_rate: Decimal
    maintenance_interval_hours: int | None
    maintenance_interval_days: int | None
    usage_minutes_since_maintenance: int
    maintenance_due: bool
    calendar_token: str
    created_at: datetime
    updated_at: datetime
    is_available: bool
    next_available_time: datetime | None
    used_duration: timedelta
    skill_slugs: list[str]

    @property
    def pk(self) -> UUID:
        return self.id


def _space_machines(*, status: bool = False, equipment_type: bool = False) -> QuerySet[Equipment]:
    return equipment_matching(
        Equipment.objects.filter(makerspace_id=Param("makerspace", UUIDField())),
        status=Param("status", CharField()) if status else None,
        equipment_type=Param("type", CharField()) if equipment_type else None,
    )


def _bookable_machines() -> QuerySet[Equipment]:
    return _bookable(
        _space_machines(),
        makerspace_id=Param("makerspace", UUIDField()),
        user_id=Param("user", UUIDField()),
        start=Param("start", DateTimeField()),
        end=Param("end", DateTimeField()),
        now=Param("now", DateTimeField()),
    )


def _rows_of(machines: QuerySet[Equipment], *, counted: bool = True) -> QuerySet[Any]:
    rows = machines.annotate(
        **_live_state(
            now=Param("now", DateTimeField()),
            soon=Param("soon", DateTimeField()),
            since=Param("since", DateTimeField()),
        ),
        skill_slugs=_SkillSlugs(),
    ).order_by("name")
    if not counted:
        return rows.values_list(*MachineRow._fields)
    # The page and the count of all its rows in one statement (cheap: the live state is
    # still worked out for the page's rows only, after the LIMIT).
    return rows.annotate(total=Window(Count("*"))).values_list(*MachineRow._fields, "total")


def _count_of(found: QuerySet[Any]) -> QuerySet[Any]:
    return found.order_by().annotate(total=count_of_rows()).values_list("total")


@cache
def _list_queries(by_status: bool, by_type: bool) -> tuple[PreparedQuery, PreparedQuery]:
    """The rows and the count of the machine list, with the filters asked for."""

    def machines() -> QuerySet[Equipment]:
        return _space_machines(status=by_status, equipment_type=by_type)

    return PreparedQuery(lambda: _rows_of(machines())), PreparedQuery(lambda: _count_of(machines()))


_ONE_MACHINE = PreparedQuery(
    lambda: _rows_of(_space_machines().filter(pk=Param("machine", UUIDField())), counted=False)
)
_BOOKABLE = PreparedQuery(lambda: _rows_of(_bookable_machines()))
_BOOKABLE_COUNT = PreparedQuery(lambda: _count_of(_bookable_machines()))


def _moments(now: datetime | None) -> dict[str, datetime]:
    now = now or timezone.now()
    return {
        "now": now,
        "soon": now + timedelta(seconds=1),
        "since": now - timedelta(days=UTILIZATION_DAYS),
    }


def machine_rows_of_space(
    makerspace: Makerspace,
    *,
    status: str | None = None,
    equipment_type: str | None = None,
    now: datetime | None = None,
) -> Listing[MachineRow]:
    """``equipment_of_space`` as rows for the API's list, paged by the paginator."""
    rows, count = _list_queries(bool(status), bool(equipment_type))
    values: dict[str, Any] = {"makerspace": makerspace.pk, **_moments(now)}
    if status:
        values["status"] = status
    if equipment_type:
        values["type"] = equipment_type
    return prepared_listing(
        rows=rows, count=count, row=MachineRow._make, values=values, counted=True
    )


def machine_row_of_space(
    makerspace: Makerspace, machine_id: UUID, *, now: datetime | None = None
) -> MachineRow | None:
    """One machine of ``equipment_of_space`` as the API shows it; None if not there."""
    found = _ONE_MACHINE.rows({"makerspace": makerspace.pk, "machine": machine_id, **_moments(now)})
    return MachineRow._make(found[0]) if found else None


def machine_matches(
    machine: MachineRow, *, status: str | None = None, equipment_type: str | None = None
) -> bool:
    """Whether ``equipment_matching`` with these criteria keeps the machine."""
    return (not status or machine.status == status) and (
        not equipment_type or machine.type == equipment_type
    )


def bookable_machine_rows(
    *,
    makerspace: Makerspace,
    user: User,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> Listing[MachineRow]:
    """``bookable_equipment`` as rows for the API, paged by the paginator."""
    values = {"makerspace": makerspace.pk, "user": user.pk, "start": start, "end": end}
    return prepared_listing(
        rows=_BOOKABLE,
        count=_BOOKABLE_COUNT,
        row=MachineRow._make,
        values={**values, **_moments(now)},
        counted=True,
    )


def reservations_of_space(
    makerspace: Makerspace, *, user: User | None = None
) -> QuerySet[Reservation]:
    reservations = Reservation.objects.filter(makerspace=makerspace).select_related(
        "equipment", "user"
    )
    if user is not None:
        reservations = reservations.filter(user=user)
    return reservations.order_by("start_time")


def reservations_matching(
    reservations: QuerySet[Reservation],
    *,
    user: Any = None,
    statuses: list[Any] | None = None,
    start: Any = None,
    end: Any = None,
) -> QuerySet[Reservation]:
    """Bookings of ``user``, in one of ``statuses``, meeting the window [start, end)
    (each when given; an open end is unbounded). Values or Params of a prepared query."""
    if user is not None:
        reservations = reservations.filter(user=user)
    if statuses:
        reservations = reservations.filter(status__in=statuses)
    if start is not None:
        reservations = reservations.filter(end_time__gt=start)
    if end is not None:
        reservations = reservations.filter(start_time__lt=end)
    return reservations


class ReservationRow(NamedTuple):
    """A booking as the API lists it, with its machine's name and its member."""

    id: UUID
    equipment_id: UUID
    equipment_name: str
    user_id: UUID
    user_email: str
    user_name: str
    start_time: datetime
    end_time: datetime
    status: str
    notes: str
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    used_minutes: int | None
    series_id: UUID | None
    cancel_reason: str
    created_at: datetime


RESERVATION_COLUMNS = (
    "id",
    "equipment_id",
    "equipment__name",
    "user_id",
    "user__email",
    "user__name",
    "start_time",
    "end_time",
    "status",
    "notes",
    "checked_in_at",
    "checked_out_at",
    "used_minutes",
    "series_id",
    "cancel_reason",
    "created_at",
)


@cache
def _reservation_queries(
    *, of_user: bool, statuses: int, equipment: bool, start: bool, end: bool
) -> tuple[PreparedQuery, PreparedQuery]:
    def reservations() -> QuerySet[Reservation]:
        found = Reservation.objects.filter(makerspace_id=Param("makerspace", UUIDField()))
        if equipment:
            found = found.filter(equipment_id=Param("equipment", UUIDField()))
        return reservations_matching(
            found,
            user=Param("user", UUIDField()) if of_user else None,
            statuses=[Param(f"status_{index}", CharField()) for index in range(statuses)],
            start=Param("start", DateTimeField()) if start else None,
            end=Param("end", DateTimeField()) if end else None,
        )

    def rows() -> QuerySet[Any]:
        found = reservations().order_by("start_time")
        if not of_user:
            return found.values_list(*RESERVATION_COLUMNS)
        # One member's bookings are few: counting them in the page's statement costs
        # less than a statement of its own. The whole space's are read a page at a time
        # by index, which a count over them all would undo.
        return found.annotate(total=Window(Count("*"))).values_list(*RESERVATION_COLUMNS, "total")

    return PreparedQuery(rows), PreparedQuery(lambda: _count_of(reservations()))


def reservation_rows_of_space(
    makerspace: Makerspace,
    *,
    user: User | None = None,
    statuses: list[str] | None = None,
    equipment_id: UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Listing[ReservationRow]:
    """``reservations_of_space`` narrowed as ``reservations_matching`` narrows it (and
    to one machine), as rows for the API's list, paged by the paginator."""
    wanted = list(dict.fromkeys(statuses or ()))
    rows, count = _reservation_queries(
        of_user=user is not None,
        statuses=len(wanted),
        equipment=equipment_id is not None,
        start=start is not None,
        end=end is not None,
    )
    values: dict[str, Any] = {f"status_{index}": status for index, status in enumerate(wanted)}
    values.update(makerspace=makerspace.pk, user=user and user.pk, equipment=equipment_id)
    values.update(start=start, end=end)
    return prepared_listing(
        rows=rows, count=count, row=ReservationRow._make, values=values, counted=user is not None
    )


def reservation_row(reservation: Reservation) -> ReservationRow:
    """A loaded booking (with its machine and member) as a row."""
    return ReservationRow(
        id=reservation.pk,
        equipment_id=reservation.equipment_id,
        equipment_name=reservation.equipment.name,
        user_id=reservation.user_id,
        user_email=reservation.user.email,
        user_name=reservation.user.name,
        start_time=reservation.start_time,
        end_time=reservation.end_time,
        status=reservation.status,
        notes=reservation.notes,
        checked_in_at=reservation.checked_in_at,
        checked_out_at=reservation.checked_out_at,
        used_minutes=reservation.used_minutes,
        series_id=reservation.series_id,
        cancel_reason=reservation.cancel_reason,
        created_at=reservation.created_at,
    )


def missing_skill_slugs(*, equipment: Equipment, user: User) -> list[str]:
    held = MemberSkill.objects.current().filter(
        membership__user=user,
        membership__makerspace_id=equipment.makerspace_id,
        membership__status=MembershipStatus.ACTIVE,
    )
    return sorted(
        equipment.skill_requirements.exclude(pk__in=held.values("skill")).values_list(
            "slug", flat=True
        )
    )


# --- a member's own bookings and waitlist entries (the "my bookings" page) ---------------


def _current_or_upcoming(now: datetime) -> Q:
    """Bookings still ahead of the member: a running session until it is checked out."""
    return Q(status=ReservationStatus.ACTIVE) | Q(
        status__in=(ReservationStatus.PENDING, ReservationStatus.CONFIRMED),
        end_time__gt=now,
    )


def upcoming_reservations_of_user(user: User, *, now: datetime | None = None) -> list[Reservation]:
    """The member's current and upcoming bookings across spaces, soonest first, each
    with ``may_cancel``, ``may_check_in`` and ``may_check_out`` as the services decide."""
    now = now or timezone.now()
    reservations: list[Reservation] = list(
        Reservation.objects.filter(user=user)
        .filter(_current_or_upcoming(now))
        .select_related("equipment", "makerspace")
        .annotate(
            # The machine's override, else the space's rule, else the default: one
            # query for the whole list instead of rules_for() per row.
            check_in_grace_minutes=Coalesce(
                F("equipment__rules_override__check_in_grace_minutes"),
                F("makerspace__booking_rules__check_in_grace_minutes"),
                Value(EffectiveRules().check_in_grace_minutes),
            )
        )
        .order_by("start_time")
    )
    for reservation in reservations:
        grace = timedelta(minutes=reservation.check_in_grace_minutes)  # type: ignore[attr-defined]
        reservation.may_cancel = (  # type: ignore[attr-defined]
            reservation.status in (ReservationStatus.PENDING, ReservationStatus.CONFIRMED)
            and reservation.start_time > now
        )
        reservation.may_check_in = (  # type: ignore[attr-defined]
            reservation.status == ReservationStatus.CONFIRMED
            and reservation.start_time - grace
            <= now
            <= min(reservation.start_time + grace, reservation.end_time)
        )
        reservation.may_check_out = reservation.status == ReservationStatus.ACTIVE  # type: ignore[attr-defined]
    return reservations


def past_reservations_of_user(user: User, *, now: datetime | None = None) -> QuerySet[Reservation]:
    """Everything else the member booked, latest first."""
    return (
        Reservation.objects.filter(user=user)
        .exclude(_current_or_upcoming(now or timezone.now()))
        .select_related("equipment", "makerspace")
        .order_by("-start_time")
    )


def reservation_of_user(user: User, reservation_id: Any) -> Reservation | None:
    """One of the member's own bookings; None (a 404) for anyone else's."""
    return (
        Reservation.objects.filter(user=user, pk=reservation_id)
        .select_related("equipment", "makerspace")
        .first()
    )


def open_waitlist_entries_of_user(user: User) -> QuerySet[WaitlistEntry]:
    """Entries still waiting or offered for a slot that has not begun, soonest first."""
    return (
        WaitlistEntry.objects.filter(
            user=user,
            status__in=(WaitlistStatus.WAITING, WaitlistStatus.OFFERED),
            start_time__gt=timezone.now(),
        )
        .select_related("equipment", "makerspace")
        .order_by("start_time")
    )


def waitlist_entry_of_user(user: User, entry_id: Any) -> WaitlistEntry | None:
    return (
        WaitlistEntry.objects.filter(user=user, pk=entry_id)
        .select_related("equipment", "makerspace")
        .first()
    )


def waitlist_of_equipment(equipment: Equipment) -> QuerySet[WaitlistEntry]:
    """The machine's queue: entries still waiting or offered, first come first."""
    return (
        WaitlistEntry.objects.filter(
            equipment=equipment,
            status__in=(WaitlistStatus.WAITING, WaitlistStatus.OFFERED),
        )
        .select_related("equipment", "makerspace", "user")
        .order_by("created_at")
    )


def waitlist_open_to(*, equipment: Equipment, user: User, start: datetime, end: datetime) -> bool:
    """Whether ``user`` could queue for [start, end) of ``equipment`` now: someone's
    booking takes the slot (a slot only held for a waitlist offer has no queue of its
    own) and they are not waiting for it already. The window's own rules are checked
    when they join."""
    taken = Reservation.objects.filter(equipment=equipment).filter(overlapping(start, end))
    waiting = WaitlistEntry.objects.filter(
        equipment=equipment,
        user=user,
        start_time=start,
        end_time=end,
        status__in=(WaitlistStatus.WAITING, WaitlistStatus.OFFERED),
    )
    return taken.exists() and not waiting.exists()
