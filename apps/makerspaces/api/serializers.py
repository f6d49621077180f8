from typing import Any
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.serializers import JSONObjectField, StrictFieldsMixin
from apps.makerspaces.hours import WEEKDAYS, validate_business_hours, validate_timezone
from apps.makerspaces.models import (
    Closure,
    Invitation,
    Makerspace,
    Membership,
    MembershipRole,
    MemberSkill,
    Skill,
)


class CoordinatesSerializer(serializers.Serializer):
    # Numbers both ways (the schema says so too); strings holding a number are still taken.
    lat = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, coerce_to_string=False
    )
    lng = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, coerce_to_string=False
    )


HHMM = r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$"
OPENING_WINDOW = {
    "type": "array",
    "items": {"type": "string", "pattern": HHMM},
    "minItems": 2,
    "maxItems": 2,
    "description": '["HH:MM", "HH:MM"]: opens, closes (later the same day; 24:00 is midnight).',
}


@extend_schema_field(
    {
        "type": "object",
        "properties": {day: {"type": "array", "items": OPENING_WINDOW} for day in WEEKDAYS},
        "additionalProperties": False,
        "description": "Opening windows per weekday, in order and not overlapping.",
    }
)
class BusinessHoursField(serializers.JSONField):
    """Weekday → opening windows; checked by ``validate_business_hours``."""


@extend_schema_field(
    {
        "type": "string",
        "enum": sorted(available_timezones()),
        "description": "An IANA timezone, e.g. Europe/Kyiv.",
    }
)
class TimezoneField(serializers.CharField):
    """An IANA timezone name; checked by ``validate_timezone``."""


class ClosureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Closure
        fields = ["id", "date", "reason"]
        read_only_fields = ["id"]


class MakerspaceSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    coordinates = CoordinatesSerializer(required=False, allow_null=True)
    timezone = TimezoneField(max_length=64, required=False)
    business_hours = BusinessHoursField(required=False)
    settings = JSONObjectField(required=False)
    closures = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()

    class Meta:
        model = Makerspace
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "address",
            "location",
            "coordinates",
            "timezone",
            "currency",
            "contact_email",
            "contact_phone",
            "business_hours",
            "closures",
            "join_policy",
            "settings",
            "verified",
            "is_active",
            "distance_km",
            "created_at",
        ]
        read_only_fields = ["id", "verified", "is_active", "created_at"]
        extra_kwargs = {"slug": {"required": False}}

    def to_representation(self, instance: Makerspace) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["coordinates"] = (
            {"lat": float(instance.latitude), "lng": float(instance.longitude)}
            if instance.latitude is not None and instance.longitude is not None
            else None
        )
        return data

    def get_closures(self, instance: Makerspace) -> list[dict[str, Any]]:
        return ClosureSerializer(instance.closures.all(), many=True).data  # type: ignore[return-value]

    def get_distance_km(self, instance: Makerspace) -> float | None:
        distance = getattr(instance, "distance_km", None)
        return round(distance, 2) if distance is not None else None

    def validate_timezone(self, value: str) -> str:
        try:
            validate_timezone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value

    def validate_business_hours(self, value: Any) -> Any:
        try:
            validate_business_hours(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value

    def validate_settings(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        if "coordinates" in values:
            coordinates = values.pop("coordinates")
            values["latitude"] = coordinates["lat"] if coordinates else None
            values["longitude"] = coordinates["lng"] if coordinates else None
        return values


class UserBriefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()


class MemberSkillSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="skill.slug")
    name = serializers.CharField(source="skill.name")

    class Meta:
        model = MemberSkill
        fields = ["slug", "name", "granted_at", "expires_at"]


class MemberSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer()
    skills = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "status", "joined_at", "skills"]

    def get_skills(self, membership: Membership) -> list[dict[str, Any]]:
        grants = getattr(membership, "current_skills", None)
        if grants is None:
            grants = list(membership.skills.current().select_related("skill"))
        return MemberSkillSerializer(grants, many=True).data  # type: ignore[return-value]


class MemberRoleSerializer(StrictFieldsMixin, serializers.Serializer):
    role = serializers.ChoiceField(choices=MembershipRole.choices)

    # PATCH changes the role, the one thing there is to change: it must be given.
    whole_body_on_patch = True


class InviteSerializer(StrictFieldsMixin, serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=MembershipRole.choices, default=MembershipRole.MEMBER)


class MakerspaceBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Makerspace
        fields = ["id", "name", "slug"]


class InvitationSerializer(serializers.ModelSerializer):
    makerspace = MakerspaceBriefSerializer()
    invited_by = UserBriefSerializer(allow_null=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "makerspace",
            "email",
            "role",
            "status",
            "invited_by",
            "expires_at",
            "created_at",
        ]


class MembershipOfUserSerializer(serializers.ModelSerializer):
    makerspace = MakerspaceBriefSerializer()

    class Meta:
        model = Membership
        fields = ["id", "makerspace", "role", "status", "joined_at"]


class SkillSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Skill
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "validity_days",
            "renews_on_use",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class SkillGrantSerializer(StrictFieldsMixin, serializers.Serializer):
    skill = serializers.SlugField(help_text="The skill's slug, e.g. laser-basic.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class AuditLogEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = UserBriefSerializer(allow_null=True)
    action = serializers.CharField()
    object_type = serializers.CharField(source="content_type.model")
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    changes = serializers.DictField()


class SkillInstructorUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class SkillInstructorSerializer(serializers.Serializer):
    membership = serializers.UUIDField(source="membership_id")
    user = SkillInstructorUserSerializer(source="membership.user")
    appointed_at = serializers.DateTimeField(source="created_at")


class SkillInstructorInputSerializer(StrictFieldsMixin, serializers.Serializer):
    membership = serializers.UUIDField(help_text="The membership id of the member.")


class VerifySerializer(serializers.Serializer):
    verified = serializers.BooleanField(default=True)


class ClosureInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    reason = serializers.CharField(max_length=200, allow_blank=True, default="")
