from decimal import Decimal
from typing import Any

from rest_framework import serializers

from apps.core.api.serializers import JSONObjectField, StrictFieldsMixin
from apps.equipment.feeds import equipment_feed_url
from apps.equipment.models import (
    BookingRules,
    Equipment,
    EquipmentRules,
    MaintenanceKind,
    MaintenanceLog,
    Reservation,
    WaitlistEntry,
)
from apps.equipment.rules import RULE_NAMES
from apps.equipment.services.recurring import MAX_OCCURRENCES


class MaintenanceScheduleSerializer(StrictFieldsMixin, serializers.Serializer):
    interval_hours = serializers.IntegerField(min_value=1, allow_null=True, required=False)
    interval_days = serializers.IntegerField(min_value=1, allow_null=True, required=False)


class SkillSlugsField(serializers.ListField):
    """Skills as their slugs: read from the (prefetched) relation, written as a list."""

    child = serializers.SlugField()

    def to_representation(self, data: Any) -> list[str]:
        return [skill.slug for skill in data.all()]


class EquipmentSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    skill_requirements = SkillSlugsField(
        required=False, help_text="Slugs of the space's skills a member must hold to book it."
    )
    maintenance_schedule = MaintenanceScheduleSerializer(required=False)
    specifications = JSONObjectField(required=False)
    is_available = serializers.BooleanField(read_only=True)
    next_available_time = serializers.DateTimeField(read_only=True, allow_null=True)
    utilization_rate = serializers.SerializerMethodField()
    currency = serializers.CharField(source="makerspace.currency", read_only=True)
    hourly_rate = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    calendar_url = serializers.SerializerMethodField(
        help_text="iCalendar feed of the machine's bookings (times only, no names)."
    )
    usage_hours_since_maintenance = serializers.SerializerMethodField(
        help_text=(
            "Hours the machine was used (checked in to checked out) since its last routine "
            "maintenance; `maintenance_due` turns true once it reaches "
            "`maintenance_schedule.interval_hours`."
        )
    )

    class Meta:
        model = Equipment
        fields = [
            "id",
            "makerspace",
            "name",
            "type",
            "status",
            "location",
            "description",
            "specifications",
            "skill_requirements",
            "hourly_rate",
            "currency",
            "maintenance_schedule",
            "maintenance_due",
            "usage_hours_since_maintenance",
            "is_available",
            "next_available_time",
            "utilization_rate",
            "calendar_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "makerspace", "maintenance_due", "created_at", "updated_at"]

    def to_representation(self, instance: Equipment) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["maintenance_schedule"] = {
            "interval_hours": instance.maintenance_interval_hours,
            "interval_days": instance.maintenance_interval_days,
        }
        if not hasattr(instance, "is_available"):
            data["is_available"] = None
            data["next_available_time"] = None
        return data

    def get_calendar_url(self, instance: Equipment) -> str:
        return equipment_feed_url(instance)

    def get_usage_hours_since_maintenance(self, instance: Equipment) -> float:
        return round(instance.usage_minutes_since_maintenance / 60, 2)

    def get_utilization_rate(self, instance: Equipment) -> float | None:
        """Booked or used hours over open hours in the last 30 days (0–1)."""
        used = getattr(instance, "used_duration", None)
        open_seconds = self.context.get("open_seconds", {}).get(instance.makerspace_id)
        if used is None or not open_seconds:
            return None
        return round(min(1.0, used.total_seconds() / open_seconds), 4)

    def validate_specifications(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        schedule = values.pop("maintenance_schedule", None)
        if schedule is not None:
            if "interval_hours" in schedule:
                values["maintenance_interval_hours"] = schedule["interval_hours"]
            if "interval_days" in schedule:
                values["maintenance_interval_days"] = schedule["interval_days"]
        return values


class WindowQuerySerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return attrs


class RulesSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = BookingRules
        fields = list(RULE_NAMES)


class EquipmentRulesSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = EquipmentRules
        fields = list(RULE_NAMES)


class MaintenanceLogSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=MaintenanceKind.choices)
    performed_at = serializers.DateTimeField(required=False)
    performed_by = serializers.SerializerMethodField()

    class Meta:
        model = MaintenanceLog
        fields = ["id", "kind", "notes", "cost", "performed_by", "performed_at", "created_at"]
        read_only_fields = ["id", "performed_by", "created_at"]

    def get_performed_by(self, log: MaintenanceLog) -> dict[str, Any] | None:
        user = log.performed_by
        return {"id": str(user.pk), "name": user.name, "email": user.email} if user else None


class ReservationUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()


class ReservationSerializer(serializers.ModelSerializer):
    equipment_name = serializers.CharField(source="equipment.name", read_only=True)
    user = ReservationUserSerializer(read_only=True)

    class Meta:
        model = Reservation
        fields = [
            "id",
            "equipment",
            "equipment_name",
            "user",
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
        ]
        read_only_fields = fields


class ReservationCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    equipment = serializers.UUIDField()
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ReasonSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class MaterialUsedSerializer(serializers.Serializer):
    item = serializers.UUIDField(help_text="An inventory item of this makerspace.")
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=Decimal("0.001"))


class CheckOutSerializer(StrictFieldsMixin, serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    materials = MaterialUsedSerializer(
        many=True, required=False, help_text="Material used, deducted from stock with this booking."
    )


# --- recurring bookings -------------------------------------------------------------------


class RecurringWindowSerializer(StrictFieldsMixin, serializers.Serializer):
    equipment = serializers.UUIDField()
    start_time = serializers.DateTimeField(help_text="Start of the first week's booking.")
    end_time = serializers.DateTimeField(help_text="End of the first week's booking.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end_time"] <= attrs["start_time"]:
            raise serializers.ValidationError({"end_time": ["Must be after start_time."]})
        return attrs


class RecurringPreviewInputSerializer(RecurringWindowSerializer):
    until = serializers.DateField(
        required=False,
        help_text="Last day (local) a week may fall on. Without until or count: the horizon.",
    )
    count = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_OCCURRENCES,
        help_text="How many weeks, the first included. Never past the booking horizon.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if "until" in attrs and "count" in attrs:
            raise serializers.ValidationError({"until": ["Give until or count, not both."]})
        return attrs


class RecurringBookInputSerializer(RecurringWindowSerializer):
    occurrences = serializers.ListField(
        child=serializers.DateTimeField(),
        min_length=1,
        max_length=MAX_OCCURRENCES,
        help_text="Start times of the weeks to book, as the preview listed them.",
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class OccurrenceReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class OccurrenceSerializer(serializers.Serializer):
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    ok = serializers.BooleanField(help_text="Whether this week can be booked.")
    reason = OccurrenceReasonSerializer(
        allow_null=True, help_text="Why not: the error a booking of this week would get."
    )


class RecurringPreviewSerializer(serializers.Serializer):
    equipment = serializers.UUIDField()
    occurrences = OccurrenceSerializer(many=True)
    bookable_count = serializers.IntegerField()
    horizon_end = serializers.DateTimeField()
    capped_by_horizon = serializers.BooleanField(
        help_text="The asked-for until or count reaches past the booking horizon."
    )
    requires_approval = serializers.BooleanField()
    booking_limit = serializers.IntegerField(help_text="Most upcoming bookings a member holds.")
    upcoming_bookings = serializers.IntegerField(help_text="The caller's upcoming bookings now.")


class RecurringBookingSerializer(serializers.Serializer):
    series_id = serializers.UUIDField()
    booked = ReservationSerializer(many=True)
    refused = OccurrenceSerializer(many=True)


class SeriesCancelSerializer(serializers.Serializer):
    series_id = serializers.UUIDField()
    cancelled = ReservationSerializer(many=True)


# --- calendar feeds ----------------------------------------------------------------------


class CalendarFeedSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Private iCalendar URL; anyone holding it can read it.")


# --- the waitlist ------------------------------------------------------------------------


class WaitlistJoinSerializer(StrictFieldsMixin, serializers.Serializer):
    start_time = serializers.DateTimeField(help_text="Start of the taken slot to wait for.")
    end_time = serializers.DateTimeField(help_text="End of the taken slot to wait for.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end_time"] <= attrs["start_time"]:
            raise serializers.ValidationError({"end_time": ["Must be after start_time."]})
        return attrs


class WaitlistEntrySerializer(serializers.ModelSerializer):
    equipment_name = serializers.CharField(source="equipment.name", read_only=True)
    user = ReservationUserSerializer(read_only=True)
    offer_expires_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="While `status` is `offered`: the slot is held for the member until then.",
    )

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "makerspace",
            "equipment",
            "equipment_name",
            "user",
            "start_time",
            "end_time",
            "status",
            "offered_at",
            "offer_expires_at",
            "reservation",
            "created_at",
        ]
        read_only_fields = fields
