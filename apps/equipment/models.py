import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel
from apps.makerspaces.models import Makerspace, Skill


class EquipmentType(models.TextChoices):
    PRINTER_3D = "3d_printer", _("3D printer")
    SLA_PRINTER = "sla_printer", _("SLA printer")
    LASER_CUTTER = "laser_cutter", _("Laser cutter")
    CNC_MACHINE = "cnc_machine", _("CNC machine")
    WORKSTATION = "workstation", _("Workstation")
    TOOL = "tool", _("Tool")


class EquipmentStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    IN_USE = "in_use", _("In use")
    MAINTENANCE = "maintenance", _("Maintenance")
    OFFLINE = "offline", _("Offline")


class Equipment(BaseModel):
    makerspace = models.ForeignKey(Makerspace, on_delete=models.CASCADE, related_name="equipment")
    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=20, choices=EquipmentType)
    status = models.CharField(
        _("status"), max_length=20, choices=EquipmentStatus, default=EquipmentStatus.AVAILABLE
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    specifications = models.JSONField(_("specifications"), default=dict, blank=True)
    skill_requirements = models.ManyToManyField(
        Skill, blank=True, related_name="equipment", verbose_name=_("required skills")
    )
    hourly_rate = models.DecimalField(
        _("hourly rate"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    # Routine maintenance is due after this many hours of use or days, whichever first.
    maintenance_interval_hours = models.PositiveIntegerField(null=True, blank=True)
    maintenance_interval_days = models.PositiveIntegerField(null=True, blank=True)
    usage_minutes_since_maintenance = models.PositiveIntegerField(default=0)
    last_maintained_at = models.DateTimeField(null=True, blank=True)
    maintenance_due = models.BooleanField(_("maintenance due"), default=False)
    # Secret of the machine's iCalendar feed URL.
    calendar_token = models.CharField(max_length=48, unique=True, default=secrets.token_urlsafe)

    class Meta:
        ordering = ["makerspace", "name"]
        verbose_name_plural = "equipment"
        indexes = [models.Index(fields=["makerspace", "status", "type"])]

    def __str__(self) -> str:
        return self.name


class BookingRules(BaseModel):
    """A space's booking rules; a machine may override any of them (``EquipmentRules``)."""

    makerspace = models.OneToOneField(
        Makerspace, on_delete=models.CASCADE, related_name="booking_rules"
    )
    min_minutes = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    max_minutes = models.PositiveIntegerField(default=480, validators=[MinValueValidator(1)])
    granularity_minutes = models.PositiveIntegerField(default=15, validators=[MinValueValidator(1)])
    buffer_minutes = models.PositiveIntegerField(default=0)
    horizon_days = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])
    within_business_hours = models.BooleanField(default=True)
    max_active_per_member = models.PositiveIntegerField(default=5)
    requires_approval = models.BooleanField(default=False)
    check_in_grace_minutes = models.PositiveIntegerField(default=15)
    waitlist_hold_minutes = models.PositiveIntegerField(default=60)

    class Meta:
        verbose_name = "booking rules"
        verbose_name_plural = "booking rules"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_minutes__gte=models.F("min_minutes")),
                name="booking_rules_max_not_below_min",
            ),
        ]

    def __str__(self) -> str:
        return f"Booking rules of {self.makerspace}"


class EquipmentRules(BaseModel):
    """Per-machine overrides; an empty field means "as the space says"."""

    equipment = models.OneToOneField(
        Equipment, on_delete=models.CASCADE, related_name="rules_override"
    )
    min_minutes = models.PositiveIntegerField(null=True, blank=True)
    max_minutes = models.PositiveIntegerField(null=True, blank=True)
    granularity_minutes = models.PositiveIntegerField(null=True, blank=True)
    buffer_minutes = models.PositiveIntegerField(null=True, blank=True)
    horizon_days = models.PositiveIntegerField(null=True, blank=True)
    within_business_hours = models.BooleanField(null=True, blank=True)
    max_active_per_member = models.PositiveIntegerField(null=True, blank=True)
    requires_approval = models.BooleanField(null=True, blank=True)
    check_in_grace_minutes = models.PositiveIntegerField(null=True, blank=True)
    waitlist_hold_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "booking rules of a machine"
        verbose_name_plural = "booking rules of machines"

    def __str__(self) -> str:
        return f"Booking rules of {self.equipment}"


class ReservationStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    CONFIRMED = "confirmed", _("Confirmed")
    ACTIVE = "active", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


# Reservations in these states hold their slot.
HOLDING_STATUSES = (
    ReservationStatus.PENDING,
    ReservationStatus.CONFIRMED,
    ReservationStatus.ACTIVE,
)


class Reservation(BaseModel):
    makerspace = models.ForeignKey(
        Makerspace, on_delete=models.CASCADE, related_name="reservations"
    )
    equipment = models.ForeignKey(Equipment, on_delete=models.PROTECT, related_name="reservations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reservations"
    )
    start_time = models.DateTimeField(_("start"))
    end_time = models.DateTimeField(_("end"))
    # end_time plus the machine's buffer: what the no-overlap constraint compares, so
    # the buffer between two bookings holds even when they race.
    block_end = models.DateTimeField()
    status = models.CharField(
        _("status"), max_length=20, choices=ReservationStatus, default=ReservationStatus.CONFIRMED
    )
    notes = models.TextField(_("notes"), blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    used_minutes = models.PositiveIntegerField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancel_reason = models.CharField(max_length=300, blank=True)
    series_id = models.UUIDField(null=True, blank=True, db_index=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_time"]
        indexes = [
            models.Index(fields=["equipment", "start_time"]),
            models.Index(fields=["user", "status", "start_time"]),
            models.Index(fields=["makerspace", "status", "start_time"]),
            # The space's bookings in time order, a page at a time (the staff's list).
            models.Index(fields=["makerspace", "start_time"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")),
                name="reservation_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(block_end__gte=models.F("end_time")),
                name="reservation_block_covers_booking",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.equipment} {self.start_time:%Y-%m-%d %H:%M}–{self.end_time:%H:%M}"

    @property
    def is_holding(self) -> bool:
        return self.status in HOLDING_STATUSES


class MaintenanceKind(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    REPAIR = "repair", _("Repair")
    INSPECTION = "inspection", _("Inspection")


class MaintenanceLog(BaseModel):
    equipment = models.ForeignKey(
        Equipment, on_delete=models.CASCADE, related_name="maintenance_logs"
    )
    kind = models.CharField(max_length=20, choices=MaintenanceKind)
    notes = models.TextField(blank=True)
    cost = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    performed_at = models.DateTimeField()

    class Meta:
        ordering = ["-performed_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.equipment} on {self.performed_at:%Y-%m-%d}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("Offered")
    BOOKED = "booked", _("Booked")
    EXPIRED = "expired", _("Offer expired")
    CANCELLED = "cancelled", _("Cancelled")


class WaitlistEntry(BaseModel):
    """A member waiting for a taken slot. When it frees up, the first in line is offered
    it and holds it for the space's hold time; then the next one is."""

    makerspace = models.ForeignKey(Makerspace, on_delete=models.CASCADE, related_name="+")
    equipment = models.ForeignKey(Equipment, on_delete=models.CASCADE, related_name="waitlist")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    status = models.CharField(max_length=20, choices=WaitlistStatus, default=WaitlistStatus.WAITING)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    reservation = models.OneToOneField(
        Reservation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "waitlist entries"
        indexes = [models.Index(fields=["equipment", "status", "start_time"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")),
                name="waitlist_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["equipment", "user", "start_time", "end_time"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_open_entry_per_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} waits for {self.equipment} {self.start_time:%Y-%m-%d %H:%M}"


class MemberCalendarFeed(BaseModel):
    """The secret of a member's iCalendar feed of their own bookings; resetting it
    replaces the token, so an old subscription URL stops working."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=48, unique=True, default=secrets.token_urlsafe)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"
