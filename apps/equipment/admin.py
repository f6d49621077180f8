"""The staff admin of machines, bookings, booking rules and the waitlist: every page
scoped to the spaces the staff member runs, every write through a service (so booking
rules hold, members are emailed and the audit log is written)."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import SimpleTemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.equipment.models import (
    BookingRules,
    Equipment,
    EquipmentRules,
    MaintenanceLog,
    Reservation,
    WaitlistEntry,
)
from apps.equipment.rules import RULE_NAMES
from apps.equipment.services.equipment import (
    EQUIPMENT_FIELDS,
    booking_rules_update,
    equipment_create,
    equipment_delete,
    equipment_rules_delete,
    equipment_rules_update,
    equipment_update,
)
from apps.equipment.services.maintenance import maintenance_log_add
from apps.equipment.services.reservations import (
    reservation_cancel,
    reservation_decide,
    reservation_update_notes,
)
from apps.equipment.services.waitlist import waitlist_remove
from apps.makerspaces.admin_inlines import MakerspaceScopedInline
from apps.makerspaces.admin_scoped import MakerspaceListFilter, MakerspaceScopedAdmin
from apps.makerspaces.admin_services import ServiceAction, ServiceAdapter
from apps.makerspaces.models import Skill

STAFF_CANCEL_REASON = "Cancelled by the makerspace's staff."


# --- times in the space's own timezone -----------------------------------------------------


def local_time(moment: datetime | None, zone_name: str, *, with_date: bool = True) -> str:
    """``moment`` as the space's clock shows it, with the zone's abbreviation."""
    if moment is None:
        return "-"
    local = moment.astimezone(ZoneInfo(zone_name))
    shown = date_format(local, "D j M Y, H:i" if with_date else "H:i")
    return f"{shown} {local.tzname()}"


def local_time_column(field: str, description: Any, *, sortable: bool = False) -> Any:
    """A column with the row's ``field`` on its space's clock."""

    @admin.display(description=description, ordering=field if sortable else None)
    def column(model_admin: Any, obj: Any) -> str:
        return local_time(getattr(obj, field), obj.makerspace.timezone)

    return column


def local_span_end(start: datetime, end: datetime, zone_name: str) -> str:
    """The end of a span: only the time when it ends on the day it starts."""
    zone = ZoneInfo(zone_name)
    same_day = start.astimezone(zone).date() == end.astimezone(zone).date()
    return local_time(end, zone_name, with_date=not same_day)


def zones_of(model_admin: MakerspaceScopedAdmin, request: HttpRequest) -> list[str]:
    """The distinct timezones of the spaces the staff member sees."""
    spaces = model_admin.scoped_makerspaces(request).order_by()
    return sorted(set(spaces.values_list("timezone", flat=True)))


def local_period(zone_name: str, period: str, *, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of ``"today"`` or ``"week"`` (Monday to Monday) on that zone's clock."""
    zone = ZoneInfo(zone_name)
    first_day = now.astimezone(zone).date()
    length = 1
    if period == "week":
        first_day -= timedelta(days=first_day.weekday())
        length = 7
    after_day = first_day + timedelta(days=length)
    return (
        datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone),
        datetime(after_day.year, after_day.month, after_day.day, tzinfo=zone),
    )


# --- list filters --------------------------------------------------------------------------


class WhenFilter(admin.SimpleListFilter):
    """Today and this week as each space's clock has them; upcoming and past from now."""

    title = _("when")
    parameter_name = "when"

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any
    ) -> None:
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("today", _("Today")),
            ("week", _("This week")),
            ("upcoming", _("Upcoming")),
            ("past", _("Past")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        now = timezone.now()
        if value == "upcoming":
            return queryset.filter(start_time__gte=now)
        if value == "past":
            return queryset.filter(end_time__lte=now)
        if value in ("today", "week"):
            within = Q(pk__in=[])
            for zone_name in zones_of(self.model_admin, request):
                start, end = local_period(zone_name, value, now=now)
                within |= Q(
                    makerspace__timezone=zone_name, start_time__gte=start, start_time__lt=end
                )
            return queryset.filter(within)
        return queryset


class EquipmentListFilter(admin.SimpleListFilter):
    """Offers only the machines of the spaces the staff member runs."""

    title = _("equipment")
    parameter_name = "equipment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        space_ids = model_admin.makerspace_ids(request, "view")
        machines = Equipment.objects.order_by("makerspace__name", "name")
        if space_ids is not None:
            machines = machines.filter(makerspace_id__in=space_ids)
        rows = list(machines.values_list("pk", "name", "makerspace_id", "makerspace__name"))
        several_spaces = len({space_id for _pk, _name, space_id, _space in rows}) > 1
        return [
            (str(pk), f"{name} ({space})" if several_spaces else name)
            for pk, name, _space_id, space in rows
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if value not in {choice for choice, _label in self.lookup_choices}:
            raise IncorrectLookupParameters(f"Unknown equipment {value!r}.")
        return queryset.filter(equipment_id=value)


# --- writes: one adapter per model, shared by its admin and its inline ---------------------


def _skill_slugs(skills: Any) -> list[str]:
    return [skill.slug for skill in skills or []]


def _update_equipment(equipment: Equipment, changes: dict[str, Any], user: User) -> Equipment:
    skills = changes.pop("skill_requirements", None)
    # Through the service: going into maintenance or offline cancels future bookings.
    return equipment_update(
        equipment=equipment,
        acting_user=user,
        changes=changes,
        skill_slugs=None if skills is None else _skill_slugs(skills),
    )


EQUIPMENT_ADAPTER = ServiceAdapter[Equipment](
    permissions={
        "view": "equipment.view",
        "add": "equipment.create",
        "change": "equipment.update",
        "delete": "equipment.delete",
    },
    create=lambda data, user: equipment_create(
        makerspace=data["makerspace"],
        acting_user=user,
        skill_slugs=_skill_slugs(data.get("skill_requirements")),
        **{name: data[name] for name in EQUIPMENT_FIELDS if name in data},
    ),
    update=_update_equipment,
    delete=lambda equipment, user: equipment_delete(equipment=equipment, acting_user=user),
    update_fields=(*EQUIPMENT_FIELDS, "skill_requirements"),
)
EQUIPMENT_RULES_ADAPTER = ServiceAdapter[EquipmentRules](
    permissions={
        "view": "equipment.view",
        "add": "equipment.update",
        "change": "equipment.update",
        "delete": "equipment.update",
    },
    create=lambda data, user: equipment_rules_update(
        equipment=data["equipment"],
        acting_user=user,
        changes={name: data.get(name) for name in RULE_NAMES},
    ),
    update=lambda rules, changes, user: equipment_rules_update(
        equipment=rules.equipment, acting_user=user, changes=changes
    ),
    delete=lambda rules, user: equipment_rules_delete(equipment=rules.equipment, acting_user=user),
    update_fields=RULE_NAMES,
)
MAINTENANCE_LOG_ADAPTER = ServiceAdapter[MaintenanceLog](
    permissions={"view": "equipment.view", "add": "equipment.maintain"},
    create=lambda data, user: maintenance_log_add(
        equipment=data["equipment"],
        kind=data["kind"],
        notes=data.get("notes", ""),
        cost=data.get("cost") or Decimal("0.00"),
        performed_at=data.get("performed_at"),
        acting_user=user,
    ),
)
BOOKING_RULES_ADAPTER = ServiceAdapter[BookingRules](
    permissions={"view": "equipment.view", "add": "equipment.update", "change": "equipment.update"},
    create=lambda data, user: booking_rules_update(
        makerspace=data["makerspace"],
        acting_user=user,
        changes={name: data[name] for name in RULE_NAMES if name in data},
    ),
    update=lambda rules, changes, user: booking_rules_update(
        makerspace=rules.makerspace, acting_user=user, changes=changes
    ),
    update_fields=RULE_NAMES,
)
RESERVATION_ADAPTER = ServiceAdapter[Reservation](
    permissions={"view": "reservations.manage", "change": "reservations.manage"},
    update=lambda reservation, changes, user: reservation_update_notes(
        reservation=reservation, acting_user=user, notes=changes["notes"]
    ),
    update_fields=("notes",),
)


# --- equipment -----------------------------------------------------------------------------


class SkillChoiceField(forms.ModelMultipleChoiceField):
    """Skills named with their space while the form may offer several spaces' skills."""

    show_space = False

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.makerspace})" if self.show_space else str(obj.name)


class EquipmentForm(forms.ModelForm):
    class Meta:
        model = Equipment
        fields = ("makerspace", *EQUIPMENT_FIELDS, "skill_requirements")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        skills = self.fields.get("skill_requirements")
        if isinstance(skills, SkillChoiceField) and self.instance.makerspace_id:
            # A machine needs skills of its own space: offer no others.
            skills.queryset = skills.queryset.filter(  # type: ignore[union-attr]
                makerspace_id=self.instance.makerspace_id
            )
            skills.show_space = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        space = cleaned.get("makerspace")
        space_id = space.pk if space is not None else self.instance.makerspace_id
        skills = cleaned.get("skill_requirements") or []
        foreign = sorted(skill.name for skill in skills if skill.makerspace_id != space_id)
        if space_id and foreign:
            self.add_error(
                "skill_requirements",
                gettext("Not skills of this makerspace: %s.") % ", ".join(foreign),
            )
        return cleaned


class MaintenanceLogForm(forms.ModelForm):
    class Meta:
        model = MaintenanceLog
        fields = ("performed_at", "kind", "notes", "cost")

    def clean_performed_at(self) -> datetime | None:
        performed_at: datetime | None = self.cleaned_data.get("performed_at")
        if performed_at is not None and performed_at > timezone.now():
            raise forms.ValidationError(_("Must not be in the future."))
        return performed_at


class MaintenanceLogInline(MakerspaceScopedInline):
    """The machine's maintenance history; a new entry is recorded through the service
    (a routine one resets the usage counter), and entries are never edited."""

    model = MaintenanceLog
    form = MaintenanceLogForm
    adapter = MAINTENANCE_LOG_ADAPTER
    select_related = ("performed_by",)
    fields = ("performed_at", "kind", "notes", "cost", "performed_by")
    readonly_fields = ("performed_by",)
    ordering = ("-performed_at",)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "performed_at" and field is not None:
            field.required = False
            field.help_text = _("Leave empty for now.")
        return field


class AsTheSpaceSays(forms.NullBooleanSelect):
    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [
            ("unknown", _("As the space says")),
            ("true", _("Yes")),
            ("false", _("No")),
        ]


class EquipmentRulesForm(forms.ModelForm):
    class Meta:
        model = EquipmentRules
        fields = RULE_NAMES
        widgets = {
            "within_business_hours": AsTheSpaceSays,
            "requires_approval": AsTheSpaceSays,
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        shortest, longest = cleaned.get("min_minutes"), cleaned.get("max_minutes")
        if shortest is not None and longest is not None and longest < shortest:
            self.add_error("max_minutes", gettext("Must not be below the minimum."))
        for name in ("min_minutes", "max_minutes", "granularity_minutes", "horizon_days"):
            if cleaned.get(name) == 0:
                self.add_error(name, gettext("Must be at least 1."))
        return cleaned


class EquipmentRulesInline(MakerspaceScopedInline):
    """The machine's own booking rules; an empty field follows the space's rules."""

    model = EquipmentRules
    form = EquipmentRulesForm
    adapter = EQUIPMENT_RULES_ADAPTER
    max_num = 1
    verbose_name = _("booking rules of this machine (empty: as the space says)")


@admin.register(Equipment)
class EquipmentAdmin(MakerspaceScopedAdmin):
    form = EquipmentForm
    adapter = EQUIPMENT_ADAPTER
    list_display = (
        "name",
        "makerspace",
        "type",
        "status",
        "is_maintenance_due",
        "hourly_rate",
        "usage_hours",
    )
    list_filter = (MakerspaceListFilter, "type", "status", "maintenance_due")
    search_fields = ("name", "location", "description")
    list_select_related = ("makerspace",)
    ordering = ("makerspace__name", "name")
    filter_horizontal = ("skill_requirements",)
    inlines = (EquipmentRulesInline, MaintenanceLogInline)
    readonly_fields = (
        "usage_hours",
        "last_maintained_at",
        "maintenance_due",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("makerspace", "name", "type", "status", "location", "description")}),
        (_("Booking"), {"fields": ("hourly_rate", "skill_requirements")}),
        (
            _("Maintenance"),
            {
                "fields": (
                    "maintenance_interval_hours",
                    "maintenance_interval_days",
                    "usage_hours",
                    "last_maintained_at",
                    "maintenance_due",
                )
            },
        ),
        (_("Specifications"), {"fields": ("specifications",)}),
        (_("Record"), {"fields": ("created_at", "updated_at")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        # A machine being added has no usage or record yet.
        hidden = set(self.readonly_fields)
        shown = []
        for name, options in fieldsets:
            fields = tuple(field for field in options["fields"] if field not in hidden)
            if fields:
                shown.append((name, {**options, "fields": fields}))
        return shown

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "skill_requirements":
            space_ids = self.writable_makerspace_ids(request)
            skills = Skill.objects.select_related("makerspace").order_by("makerspace__name", "name")
            if space_ids is not None:
                skills = skills.filter(makerspace_id__in=space_ids)
            kwargs["queryset"] = skills
            kwargs["form_class"] = SkillChoiceField
            field = super().formfield_for_manytomany(db_field, request, **kwargs)
            if isinstance(field, SkillChoiceField):
                field.show_space = space_ids is None or len(space_ids) > 1
            return field
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(boolean=True, description=_("maintenance due"), ordering="maintenance_due")
    def is_maintenance_due(self, obj: Equipment) -> bool:
        return obj.maintenance_due

    @admin.display(
        description=_("hours since maintenance"), ordering="usage_minutes_since_maintenance"
    )
    def usage_hours(self, obj: Equipment) -> str:
        hours = f"{obj.usage_minutes_since_maintenance / 60:.1f}"
        if obj.maintenance_interval_hours:
            return f"{hours} / {obj.maintenance_interval_hours} h"
        return f"{hours} h"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: Any) -> None:
        # The service has set the required skills already; only the inlines are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# --- booking rules -------------------------------------------------------------------------


@admin.register(BookingRules)
class BookingRulesAdmin(MakerspaceScopedAdmin):
    """A space's booking rules; a space without a row books by the defaults."""

    adapter = BOOKING_RULES_ADAPTER
    list_display = (
        "makerspace",
        "min_minutes",
        "max_minutes",
        "granularity_minutes",
        "buffer_minutes",
        "horizon_days",
        "within_business_hours",
        "requires_approval",
    )
    list_filter = (MakerspaceListFilter, "requires_approval")
    list_select_related = ("makerspace",)
    ordering = ("makerspace__name",)
    fields = ("makerspace", *RULE_NAMES)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "makerspace" and field is not None:
            # A space has one set of rules: offer the spaces that have none yet.
            field.queryset = field.queryset.filter(booking_rules__isnull=True)
        return field


# --- reservations --------------------------------------------------------------------------


class LocalTimesMixin:
    """Columns with a row's times on its space's clock."""

    @admin.display(description=_("start (local)"), ordering="start_time")
    def starts(self, obj: Any) -> str:
        return local_time(obj.start_time, obj.makerspace.timezone)

    @admin.display(description=_("end (local)"), ordering="end_time")
    def ends(self, obj: Any) -> str:
        return local_span_end(obj.start_time, obj.end_time, obj.makerspace.timezone)

    @admin.display(description=_("member"), ordering="user__email")
    def member(self, obj: Any) -> str:
        return str(obj.user)


@admin.register(Reservation)
class ReservationAdmin(LocalTimesMixin, MakerspaceScopedAdmin):
    """Bookings are made by members; here staff approve, reject and cancel them with the
    actions (each through its service, which emails the member). Only the notes are
    edited on the page."""

    adapter = RESERVATION_ADAPTER
    list_display = ("equipment", "member", "starts", "ends", "status", "makerspace")
    list_filter = (
        WhenFilter,
        "status",
        EquipmentListFilter,
        MakerspaceListFilter,
    )
    date_hierarchy = "start_time"
    search_fields = ("user__email", "user__name", "equipment__name")
    list_select_related = ("equipment", "user", "makerspace")
    ordering = ("-start_time",)
    actions = ("approve", "reject", "cancel")
    fields = (
        "makerspace",
        "equipment",
        "user",
        "starts",
        "ends",
        "status",
        "notes",
        "checked_in",
        "checked_out",
        "used_minutes",
        "decided_by",
        "cancelled",
        "cancelled_by",
        "cancel_reason",
        "series_id",
        "created_at",
    )
    readonly_fields = tuple(name for name in fields if name != "notes")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Reservation]:
        return (
            super()
            .get_queryset(request)
            .select_related("equipment", "user", "makerspace", "decided_by", "cancelled_by")
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        zones = zones_of(self, request)
        if len(zones) != 1:
            return super().changelist_view(request, extra_context)
        # Staff of spaces on one clock browse the days of that clock.
        with timezone.override(zones[0]):
            response = super().changelist_view(request, extra_context)
            # The day links are drawn while rendering, so render on that clock too.
            if isinstance(response, SimpleTemplateResponse):
                response.render()
        return response

    checked_in = local_time_column("checked_in_at", _("checked in (local)"))
    checked_out = local_time_column("checked_out_at", _("checked out (local)"))
    cancelled = local_time_column("cancelled_at", _("cancelled (local)"))

    approve = ServiceAction(
        description=_("Approve the selected pending bookings"),
        permission="reservations.manage",
        run=lambda reservation, user: reservation_decide(
            reservation=reservation, acting_user=user, approve=True
        ),
        done=_("Approved"),
    )
    reject = ServiceAction(
        description=_("Reject the selected pending bookings"),
        permission="reservations.manage",
        run=lambda reservation, user: reservation_decide(
            reservation=reservation, acting_user=user, approve=False
        ),
        done=_("Rejected"),
    )
    cancel = ServiceAction(
        description=_("Cancel the selected bookings"),
        permission="reservations.manage",
        run=lambda reservation, user: reservation_cancel(
            reservation=reservation, acting_user=user, reason=STAFF_CANCEL_REASON
        ),
        done=_("Cancelled"),
    )


# --- the waitlist --------------------------------------------------------------------------


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(LocalTimesMixin, MakerspaceScopedAdmin):
    """Members join and claim from their pages; staff watch the queue and may take
    someone off it."""

    adapter = ServiceAdapter[WaitlistEntry](permissions={"view": "reservations.manage"})
    list_display = (
        "equipment",
        "member",
        "starts",
        "ends",
        "status",
        "offer_expires",
        "created_at",
    )
    list_filter = (WhenFilter, "status", EquipmentListFilter, MakerspaceListFilter)
    search_fields = ("user__email", "user__name", "equipment__name")
    list_select_related = ("equipment", "user", "makerspace")
    ordering = ("start_time", "created_at")
    actions = ("remove",)
    fields = (
        "makerspace",
        "equipment",
        "user",
        "starts",
        "ends",
        "status",
        "offered",
        "offer_expires",
        "reservation",
        "created_at",
    )
    readonly_fields = fields

    offered = local_time_column("offered_at", _("offered (local)"), sortable=True)
    offer_expires = local_time_column("offer_expires_at", _("offer expires (local)"), sortable=True)

    remove = ServiceAction(
        description=_("Take the selected members off the waitlist"),
        permission="reservations.manage",
        run=lambda entry, user: waitlist_remove(entry=entry, acting_user=user),
        done=_("Taken off the waitlist"),
    )
