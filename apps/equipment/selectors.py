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
    WaitlistEntry,
    WaitlistStatus,
)
from apps.equipment.rules import EffectiveRules
from apps.makerspaces.hours import opening_windows
from apps.makerspaces.models import Makerspace, MembershipStatus, MemberSkill, Skill

UTILIZATION_DAYS = 30
# Statuses whose time counts as the machine being used or spoken for.
USED_STATUSES = (
    ReservationStatus.CONFIRMED,
    ReservationStatus.ACTIVE,
    ReservationStatus.COMPLETED,
)
# A machine in use now is still bookable for later; these are not.
OUT_OF_SERVICE = (EquipmentStatus.MAINTENANCE, EquipmentStatus.OFFLINE)


def overlapping(start: datetime, end: datetime) -> Q:
    """Holding reservations whose blocked span meets [start, end)."""
    return Q(status__in=HOLDING_STATUSES, start_time__lt=end, block_end__gt=start)


def _next_available_time(now: datetime) -> Any:
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
    return equipment_matching(machines, status=status, equipment_type=equipment_type)


def equipment_matching(
    machines: QuerySet[Equipment],
    *,
    status: str | None = None,
    equipment_type: str | None = None,
) -> QuerySet[Equipment]:
    """The machines in ``status`` and of ``equipment_type`` (each when given): the one
    filter of the machine list, for the pages and the API alike."""
    if status:
        machines = machines.filter(status=status)
    if equipment_type:
        machines = machines.filter(type=equipment_type)
    return machines


def bookable_equipment(
    *, makerspace: Makerspace, user: User, start: datetime, end: datetime
) -> QuerySet[Equipment]:
    """Machines the user may book in [start, end): available, skills held, slot free and
    not held for someone else's waitlist offer."""
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
    held_for_another = Exists(
        WaitlistEntry.objects.filter(
            equipment=OuterRef("pk"),
            status=WaitlistStatus.OFFERED,
            offer_expires_at__gt=timezone.now(),
            start_time__lt=end,
            end_time__gt=start,
        ).exclude(user=user)
    )
    return (
        equipment_of_space(makerspace)
        .exclude(status__in=OUT_OF_SERVICE)
        .exclude(lacks_a_skill)
        .exclude(slot_taken)
        .exclude(held_for_another)
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
    user: User | None = None,
    statuses: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet[Reservation]:
    """Bookings of ``user``, in one of ``statuses``, meeting the window [start, end)
    (each when given; an open end is unbounded)."""
    if user is not None:
        reservations = reservations.filter(user=user)
    if statuses:
        reservations = reservations.filter(status__in=statuses)
    if start is not None:
        reservations = reservations.filter(end_time__gt=start)
    if end is not None:
        reservations = reservations.filter(start_time__lt=end)
    return reservations


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
