"""The staff admin of projects: scoped to the spaces the staff member runs, where they
moderate every project (private ones too); every write goes through the services."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.inventory.models import InventoryItem
from apps.makerspaces.admin_inlines import MakerspaceScopedInline
from apps.makerspaces.admin_scoped import MakerspaceListFilter, MakerspaceScopedAdmin
from apps.makerspaces.admin_services import ServiceAction, ServiceAdapter
from apps.makerspaces.models import Membership, MembershipStatus
from apps.projects import services
from apps.projects.models import (
    BomLine,
    Project,
    ProjectCollaborator,
    ProjectReservation,
    ProjectStatus,
)

PROJECT_PERMISSIONS = {
    "view": "projects.manage",
    "add": "projects.manage",
    "change": "projects.manage",
    "delete": "projects.manage",
}


def _members_of(space_ids: Any) -> QuerySet[User]:
    """Active members of those spaces (of every space when ``space_ids`` is None)."""
    memberships = Membership.objects.filter(status=MembershipStatus.ACTIVE)
    if space_ids is not None:
        memberships = memberships.filter(makerspace_id__in=space_ids)
    return User.objects.filter(pk__in=memberships.values("user_id")).order_by("email")


# --- forms ---------------------------------------------------------------------------------


class ProjectForm(forms.ModelForm):
    tag_list = forms.CharField(
        label=_("tags"),
        required=False,
        help_text=_("Comma-separated, e.g. laser, lamp, plywood."),
    )

    class Meta:
        model = Project
        fields = ("makerspace", "owner", "name", "description", "status", "privacy")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["tag_list"].initial = ", ".join(
                self.instance.tags.values_list("name", flat=True)
            )

    def clean_tag_list(self) -> list[str]:
        raw = self.cleaned_data.get("tag_list", "")
        try:
            return services.clean_tags(part for part in raw.split(","))
        except ApplicationError as error:
            raise forms.ValidationError(" ".join(error.details.get("tags", []))) from error


# --- writes: one adapter per model, shared by its admin and its inline ---------------------


def _update_project(project: Project, changes: dict[str, Any], user: User) -> Project:
    if "tag_list" in changes:
        changes["tags"] = changes.pop("tag_list")
    # The service re-reads the row under a lock, so it diffs against what is stored,
    # not against this instance the form already changed.
    return services.project_update(project=project, acting_user=user, changes=changes)


PROJECT_ADAPTER = ServiceAdapter[Project](
    permissions=PROJECT_PERMISSIONS,
    create=lambda data, user: services.project_create(
        makerspace=data["makerspace"],
        owner=data["owner"],
        name=data["name"],
        description=data.get("description", ""),
        status=data["status"],
        privacy=data["privacy"],
        tags=data.get("tag_list", []),
        acting_user=user,
    ),
    update=_update_project,
    delete=lambda project, user: services.project_delete(project=project, acting_user=user),
    update_fields=("name", "description", "status", "privacy", "tag_list"),
)
BOM_LINE_ADAPTER = ServiceAdapter[BomLine](
    permissions=PROJECT_PERMISSIONS,
    create=lambda data, user: services.bom_line_add(
        project=data["project"],
        item=data["item"],
        quantity=data["quantity"],
        note=data.get("note", ""),
        acting_user=user,
    ),
    update=lambda line, changes, user: services.bom_line_update(
        line=line, acting_user=user, **changes
    ),
    delete=lambda line, user: services.bom_line_remove(line=line, acting_user=user),
    update_fields=("quantity", "note"),
    fixed_fields=("item",),
)
COLLABORATOR_ADAPTER = ServiceAdapter[ProjectCollaborator](
    permissions=PROJECT_PERMISSIONS,
    create=lambda data, user: services.collaborator_add(
        project=data["project"], user=data["user"], role=data["role"], acting_user=user
    ),
    update=lambda collaborator, changes, user: services.collaborator_change_role(
        collaborator=collaborator, role=changes["role"], acting_user=user
    ),
    delete=lambda collaborator, user: services.collaborator_remove(
        collaborator=collaborator, acting_user=user
    ),
    update_fields=("role",),
    fixed_fields=("user",),
)


# --- inlines -------------------------------------------------------------------------------


class BomLineInline(MakerspaceScopedInline):
    model = BomLine
    adapter = BOM_LINE_ADAPTER
    select_related = ("item",)
    fields = ("item", "quantity", "note")
    verbose_name = _("bill of materials line")
    verbose_name_plural = _("bill of materials")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "item":
            parent = self.parent
            kwargs["queryset"] = (
                InventoryItem.objects.filter(makerspace_id=parent.makerspace_id, is_active=True)
                if parent is not None
                else InventoryItem.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CollaboratorInline(MakerspaceScopedInline):
    model = ProjectCollaborator
    adapter = COLLABORATOR_ADAPTER
    select_related = ("user", "added_by")
    fields = ("user", "role", "added_by")
    readonly_fields = ("added_by",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            parent = self.parent
            kwargs["queryset"] = (
                _members_of([parent.makerspace_id]) if parent is not None else User.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class LinkedBookingInline(MakerspaceScopedInline):
    """Bookings made for the project: staff may unlink one, members link them."""

    model = ProjectReservation
    adapter = ServiceAdapter[ProjectReservation](
        permissions={"view": "projects.manage", "delete": "projects.manage"},
        delete=lambda link, user: services.project_reservation_unlink(link=link, acting_user=user),
    )
    select_related = ("reservation__equipment", "linked_by")
    fields = ("reservation", "linked_by", "created_at")
    readonly_fields = ("reservation", "linked_by", "created_at")
    verbose_name = _("linked booking")
    verbose_name_plural = _("linked bookings")


# --- projects ------------------------------------------------------------------------------


@admin.register(Project)
class ProjectAdmin(MakerspaceScopedAdmin):
    form = ProjectForm
    adapter = PROJECT_ADAPTER
    list_display = ("name", "makerspace", "owner", "status", "privacy", "tag_names", "updated_at")
    list_filter = (MakerspaceListFilter, "status", "privacy")
    search_fields = ("name", "description", "owner__email", "owner__name", "tags__name")
    list_select_related = ("makerspace", "owner")
    ordering = ("makerspace__name", "-updated_at")
    inlines = (BomLineInline, CollaboratorInline, LinkedBookingInline)
    actions = ("archive",)
    # Ownership does not move: the owner's bookings and the ledger point at them.
    readonly_on_change = ("owner",)
    fields = ("makerspace", "owner", "name", "description", "status", "privacy", "tag_list")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return super().get_queryset(request).prefetch_related("tags")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "owner":
            kwargs["queryset"] = _members_of(self.writable_makerspace_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("tags"))
    def tag_names(self, obj: Project) -> str:
        return ", ".join(tag.name for tag in obj.tags.all())

    archive = ServiceAction(
        description=_("Archive the selected projects"),
        permission="projects.manage",
        run=lambda project, user: services.project_update(
            project=project, acting_user=user, changes={"status": ProjectStatus.ARCHIVED}
        ),
        done=_("Archived"),
    )
