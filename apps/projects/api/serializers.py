from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from apps.core.api.serializers import StrictFieldsMixin
from apps.projects.models import (
    MAX_TAGS,
    TAG_MAX_LENGTH,
    BomLine,
    CollaboratorRole,
    Project,
    ProjectCollaborator,
    ProjectPrivacy,
    ProjectReservation,
    ProjectStatus,
)
from apps.projects.selectors import project_rights
from apps.projects.services import MAX_MULTIPLIER

QUANTITY: dict[str, Any] = {"max_digits": 14, "decimal_places": 3}
# Words of letters, digits, hyphens or underscores: spaces between them become hyphens.
TAG_INPUT = RegexValidator(
    r"^\s*[\w-][\w\s-]*$", "A tag is one word of letters, digits, hyphens or underscores."
)


class PersonSerializer(serializers.Serializer):
    """A person as other members see them: no email address."""

    id = serializers.UUIDField()
    name = serializers.CharField()


class ItemRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    sku = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()


class SpaceRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()


class CollaboratorSerializer(serializers.ModelSerializer):
    user = PersonSerializer()

    class Meta:
        model = ProjectCollaborator
        fields = ["id", "user", "role", "created_at"]


class BomLineSerializer(serializers.ModelSerializer):
    item = ItemRefSerializer()
    quantity = serializers.DecimalField(**QUANTITY)

    class Meta:
        model = BomLine
        fields = ["id", "item", "quantity", "note", "created_at"]


class PublicBomLineSerializer(serializers.ModelSerializer):
    item = ItemRefSerializer()
    quantity = serializers.DecimalField(**QUANTITY)

    class Meta:
        model = BomLine
        fields = ["item", "quantity", "note"]


class TagListField(serializers.ListField):
    child = serializers.CharField()

    def to_representation(self, data: Any) -> list[str]:
        return [tag.name for tag in data.all()]


class ProjectSerializer(serializers.ModelSerializer):
    makerspace = serializers.UUIDField(source="makerspace_id")
    owner = PersonSerializer()
    tags = TagListField()
    collaborators = CollaboratorSerializer(many=True)
    bom = BomLineSerializer(many=True, source="bom_lines")
    can_edit = serializers.SerializerMethodField(
        help_text="The caller may change details, the BOM and linked bookings, and consume."
    )
    can_share = serializers.SerializerMethodField(
        help_text="The caller may change privacy and collaborators, and delete the project."
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "makerspace",
            "name",
            "description",
            "owner",
            "status",
            "privacy",
            "tags",
            "collaborators",
            "bom",
            "can_edit",
            "can_share",
            "created_at",
            "updated_at",
        ]

    def _rights(self, project: Project) -> Any:
        request = self.context.get("request")
        return project_rights(user=getattr(request, "user", None), project=project)

    def get_can_edit(self, project: Project) -> bool:
        return bool(self._rights(project).edit)

    def get_can_share(self, project: Project) -> bool:
        return bool(self._rights(project).share)


class PublicProjectSerializer(serializers.ModelSerializer):
    makerspace = SpaceRefSerializer()
    owner = PersonSerializer()
    tags = TagListField()
    bom = PublicBomLineSerializer(many=True, source="bom_lines")

    class Meta:
        model = Project
        fields = [
            "id",
            "makerspace",
            "name",
            "description",
            "owner",
            "status",
            "tags",
            "bom",
            "created_at",
            "updated_at",
        ]


class ProjectInputSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    status = serializers.ChoiceField(
        choices=ProjectStatus.choices, required=False, default=ProjectStatus.DRAFT
    )
    privacy = serializers.ChoiceField(
        choices=ProjectPrivacy.choices, required=False, default=ProjectPrivacy.PRIVATE
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX_LENGTH, validators=[TAG_INPUT]),
        max_length=MAX_TAGS,
        required=False,
        default=list,
    )


class CollaboratorInputSerializer(StrictFieldsMixin, serializers.Serializer):
    user = serializers.UUIDField(required=False, help_text="The member's user id, or give email.")
    email = serializers.EmailField(required=False, help_text="The member's email, or give user.")
    role = serializers.ChoiceField(
        choices=CollaboratorRole.choices, required=False, default=CollaboratorRole.VIEWER
    )

    body_one_of = [{"required": ["user"]}, {"required": ["email"]}]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("user" in attrs) == ("email" in attrs):
            raise serializers.ValidationError(
                {"user": ["Name the member by exactly one of user (id) or email."]}
            )
        return attrs


class CollaboratorRoleSerializer(StrictFieldsMixin, serializers.Serializer):
    role = serializers.ChoiceField(choices=CollaboratorRole.choices)

    # PATCH changes the role, the one thing there is to change: it must be given.
    whole_body_on_patch = True


class BomLineInputSerializer(StrictFieldsMixin, serializers.Serializer):
    item = serializers.UUIDField(help_text="An inventory item of the same makerspace.")
    quantity = serializers.DecimalField(min_value=Decimal("0.001"), **QUANTITY)
    note = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")


class BomLineUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    quantity = serializers.DecimalField(min_value=Decimal("0.001"), required=False, **QUANTITY)
    note = serializers.CharField(max_length=300, allow_blank=True, required=False)


class MultiplierQuerySerializer(serializers.Serializer):
    multiplier = serializers.IntegerField(
        min_value=1,
        max_value=MAX_MULTIPLIER,
        required=False,
        default=1,
        help_text="How many copies to build.",
    )


class ConsumeSerializer(StrictFieldsMixin, MultiplierQuerySerializer):
    reason = serializers.CharField(max_length=300, allow_blank=True, required=False, default="")


class AvailabilityLineSerializer(serializers.Serializer):
    line = serializers.UUIDField(source="line.id")
    item = ItemRefSerializer(source="line.item")
    required = serializers.DecimalField(**QUANTITY)  # type: ignore[assignment]
    in_stock = serializers.DecimalField(**QUANTITY)
    short = serializers.DecimalField(**QUANTITY)
    is_short = serializers.BooleanField()


class AvailabilitySerializer(serializers.Serializer):
    multiplier = serializers.IntegerField()
    all_available = serializers.BooleanField()
    lines = AvailabilityLineSerializer(many=True)


class ShortageLineSerializer(serializers.Serializer):
    line = serializers.UUIDField(source="line.id")
    item = serializers.UUIDField(source="line.item.id")
    sku = serializers.CharField(source="line.item.sku")
    name = serializers.CharField(source="line.item.name")
    unit = serializers.CharField(source="line.item.unit")
    required = serializers.DecimalField(**QUANTITY)  # type: ignore[assignment]
    in_stock = serializers.DecimalField(**QUANTITY)
    missing = serializers.DecimalField(source="short", **QUANTITY)


class ShortagesSerializer(serializers.Serializer):
    multiplier = serializers.IntegerField()
    lines = ShortageLineSerializer(many=True)


class ConsumedMovementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.UUIDField(source="item_id")
    sku = serializers.CharField(source="item.sku")
    delta = serializers.DecimalField(**QUANTITY)
    balance_after = serializers.DecimalField(**QUANTITY)


class ConsumeResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    multiplier = serializers.IntegerField()
    movements = ConsumedMovementSerializer(many=True)


class EquipmentRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class LinkedReservationSerializer(serializers.ModelSerializer):
    """A booking made for the project; ``id`` is the booking's id."""

    id = serializers.UUIDField(source="reservation.id")
    equipment = EquipmentRefSerializer(source="reservation.equipment")
    user = PersonSerializer(source="reservation.user")
    start_time = serializers.DateTimeField(source="reservation.start_time")
    end_time = serializers.DateTimeField(source="reservation.end_time")
    status = serializers.CharField(source="reservation.status")
    linked_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ProjectReservation
        fields = ["id", "equipment", "user", "start_time", "end_time", "status", "linked_at"]


class LinkReservationSerializer(StrictFieldsMixin, serializers.Serializer):
    reservation = serializers.UUIDField(
        help_text="A booking of the owner or a collaborator in this makerspace."
    )
