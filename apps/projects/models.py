from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel
from apps.inventory.models import InventoryItem
from apps.makerspaces.models import Makerspace

QUANTITY: dict[str, Any] = {"max_digits": 14, "decimal_places": 3}
TAG_MAX_LENGTH = 40
MAX_TAGS = 20

tag_format = RegexValidator(
    r"^[\w-]+\Z", _("A tag is one word of letters, digits, hyphens or underscores.")
)


class ProjectStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    ARCHIVED = "archived", _("Archived")


class ProjectPrivacy(models.TextChoices):
    PRIVATE = "private", _("Private: owner and collaborators")
    MAKERSPACE = "makerspace", _("Members of the makerspace")
    PUBLIC = "public", _("Public: anyone")


class CollaboratorRole(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    EDITOR = "editor", _("Editor")


class Project(BaseModel):
    """What a member builds in a makerspace, with the materials it takes."""

    makerspace = models.ForeignKey(Makerspace, on_delete=models.CASCADE, related_name="projects")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_projects"
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ProjectStatus, default=ProjectStatus.DRAFT
    )
    privacy = models.CharField(
        _("privacy"), max_length=10, choices=ProjectPrivacy, default=ProjectPrivacy.PRIVATE
    )

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["makerspace", "privacy", "status"]),
            models.Index(fields=["owner", "makerspace"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.status == ProjectStatus.ARCHIVED


class ProjectTag(models.Model):
    """One tag of a project; a row each, so that filtering by tag is an indexed lookup."""

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(_("tag"), max_length=TAG_MAX_LENGTH, validators=[tag_format])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="project_tag_unique"),
        ]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name


class ProjectCollaborator(BaseModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="collaborators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_collaborations"
    )
    role = models.CharField(
        _("role"), max_length=10, choices=CollaboratorRole, default=CollaboratorRole.VIEWER
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="project_collaborator_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) on {self.project}"


class BomLine(BaseModel):
    """One line of a project's bill of materials: an item of the same space's stock."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="bom_lines")
    # Inventory deletes an item only while it has no ledger; the line goes with it.
    item = models.ForeignKey(InventoryItem, on_delete=models.CASCADE, related_name="bom_lines")
    quantity = models.DecimalField(
        _("quantity"), validators=[MinValueValidator(Decimal("0.001"))], **QUANTITY
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "item"], name="bom_line_item_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="bom_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.item}"

    def clean(self) -> None:
        super().clean()
        if (
            self.project_id
            and self.item_id
            and self.item.makerspace_id != self.project.makerspace_id
        ):
            raise ValidationError({"item": _("This item belongs to another makerspace.")})


class ProjectReservation(BaseModel):
    """A booking made for a project. A booking serves at most one project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reservation_links")
    reservation = models.OneToOneField(
        "equipment.Reservation", on_delete=models.CASCADE, related_name="project_link"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.reservation} for {self.project}"
