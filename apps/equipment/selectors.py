"""Reads of equipment and reservations; availability and utilization are computed in SQL."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from apps.accounts.models import User
from apps.equipment.models import (
    HOLDING_STATUSES,
    Equipment,
    EquipmentStatus,
    Reservation,
    ReservationStatus,
)
from apps.makerspaces.hours import opening_windows
from apps.makerspaces.models import Makerspace, MembershipStatus, MemberSkill, Skill

UTILIZATION_DAYS = 30
# Statuses whose time counts as the machine being used or spoken for.
USED_STATUSES = (
    ReservationStatus.CONFIRMED,
    ReservationStatus.ACTIVE,
    ReservationStatus.COMPLETED,
)


def overlapping(start: datetime, end: datetime) -> Q:
    """Holding reservations whose blocked span meets [start, end)."""
    return Q(status__in=HOLDING_STATUSES, start_time__lt=end, block_end__gt=start)


def _next_available_time(now: datetime) -> Any:
    """The first moment from now not covered by a holding reservation of the machine.

    It is now, if nothing holds the machine now; otherwise the earliest end of a
    holding reservation that no other holding reservation covers.
    """
    holding = Reservation.objects.filter(
        equipment=OuterRef("pk"), status__in=HOLDING_STATUSES, block_end__gt=now
    )
    covered_now = holding.filter(start_time__lte=now)
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
        When(~Q(status=EquipmentStatus.AVAILABLE), then=Value(None)),
        When(~Exists(covered_now), then=Value(now)),
        default=Subquery(uncovered_ends.values("block_end")[:1]),
        output_field=DateTimeField(),
    )


def _used_duration_since(since: datetime, now: datetime) -> Any:
    """Booked or used time of each machine within [since, now], summed in SQL."""
    clipped = ExpressionWrapper(
        Least(F("end_time"), Value(now)) - Greatest(F("start_time"), Value(since)),
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


def open_seconds(makerspace: Makerspace, since: datetime, until: datetime) -> float:
    """Seconds the space was open between two moments (business hours, closures)."""
    zone = ZoneInfo(makerspace.timezone)
    closed = set(makerspace.closures.values_list("date", flat=True))
    total = 0.0
    day = since.astimezone(zone).date()
    while day <= until.astimezone(zone).date():
        for opens, closes in opening_windows(
            makerspace.business_hours, makerspace.timezone, day, closed
        ):
            start, end = max(opens, since), min(closes, until)
            if end > start:
                total += (end - start).total_seconds()
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
    since = now - timedelta(days=UTILIZATION_DAYS)
    machines = (
        Equipment.objects.filter(makerspace=makerspace)
        .select_related("makerspace")
        .prefetch_related(Prefetch("skill_requirements", queryset=Skill.objects.order_by("slug")))
        .annotate(
            is_available=Case(
                When(
                    Q(status=EquipmentStatus.AVAILABLE)
                    & ~Exists(
                        Reservation.objects.filter(equipment=OuterRef("pk")).filter(
                            overlapping(now, now + timedelta(seconds=1))
                        )
                    ),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            ),
            next_available_time=_next_available_time(now),
            used_duration=_used_duration_since(since, now),
        )
        .order_by("name")
    )
    if status:
        machines = machines.filter(status=status)
    if equipment_type:
        machines = machines.filter(type=equipment_type)
    return machines


def bookable_equipment(
    *, makerspace: Makerspace, user: User, start: datetime, end: datetime
) -> QuerySet[Equipment]:
    """Machines the user may book in [start, end): available, skills held, slot free."""
    held = MemberSkill.objects.current().filter(
        membership__user=user,
        membership__makerspace=makerspace,
        membership__status=MembershipStatus.ACTIVE,
    )
    requirement = Equipment.skill_requirements.through
    lacks_a_skill = Exists(
        requirement.objects.filter(equipment=OuterRef("pk")).exclude(skill__in=held.values("skill"))
    )
    slot_taken = Exists(
        Reservation.objects.filter(equipment=OuterRef("pk")).filter(overlapping(start, end))
    )
    return (
        equipment_of_space(makerspace)
        .filter(status=EquipmentStatus.AVAILABLE)
        .exclude(lacks_a_skill)
        .exclude(slot_taken)
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
