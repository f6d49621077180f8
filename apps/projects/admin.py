"""The staff admin of projects: scoped to the spaces the staff member runs, where they
moderate every project (private ones too); every write goes through the services."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError, validation_error
from apps.inventory.models import InventoryItem
from apps.makerspaces.admin_scoping import (
    MakerspaceListFilter,
    MakerspaceScopedAdmin,
    MakerspaceScopedInline,
    acting_user,
)
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


def _cannot_move(field: str) -> ApplicationError:
    return validation_error(field, "Remove the row and add a new one instead.")


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


# --- inlines -------------------------------------------------------------------------------


class _ProjectInline(MakerspaceScopedInline):
    admin_permissions = PROJECT_PERMISSIONS
    parent_project: Project | None = None

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        self.parent_project = obj
        return super().get_formset(request, obj, **kwargs)


class BomLineInline(_ProjectInline):
    model = BomLine
    fields = ("item", "quantity", "note")
    verbose_name = _("bill of materials line")
    verbose_name_plural = _("bill of materials")

    def get_queryset(self, request: HttpRequest) -> QuerySet[BomLine]:
        return super().get_queryset(request).select_related("item")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "item":
            parent = self.parent_project
            kwargs["queryset"] = (
                InventoryItem.objects.filter(makerspace_id=parent.makerspace_id, is_active=True)
                if parent is not None
                else InventoryItem.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def create_via_service(
        self, request: HttpRequest, *, parent: Any, form: forms.ModelForm
    ) -> BomLine:
        return services.bom_line_add(
            project=parent,
            item=form.cleaned_data["item"],
            quantity=form.cleaned_data["quantity"],
            note=form.cleaned_data.get("note", ""),
            acting_user=acting_user(request),
        )

    def update_via_service(
        self, request: HttpRequest, *, obj: Any, form: forms.ModelForm
    ) -> BomLine | None:
        if "item" in form.changed_data:
            raise _cannot_move("item")
        if not form.changed_data:
            return None
        return services.bom_line_update(
            line=obj,
            quantity=form.cleaned_data["quantity"],
            note=form.cleaned_data.get("note", ""),
            acting_user=acting_user(request),
        )

    def delete_via_service(self, request: HttpRequest, *, obj: Any) -> None:
        services.bom_line_remove(line=obj, acting_user=acting_user(request))


class CollaboratorInline(_ProjectInline):
    model = ProjectCollaborator
    fields = ("user", "role", "added_by")
    readonly_fields = ("added_by",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProjectCollaborator]:
        return super().get_queryset(request).select_related("user", "added_by")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            parent = self.parent_project
            kwargs["queryset"] = (
                _members_of([parent.makerspace_id]) if parent is not None else User.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def create_via_service(
        self, request: HttpRequest, *, parent: Any, form: forms.ModelForm
    ) -> ProjectCollaborator:
        return services.collaborator_add(
            project=parent,
            user=form.cleaned_data["user"],
            role=form.cleaned_data["role"],
            acting_user=acting_user(request),
        )

    def update_via_service(
        self, request: HttpRequest, *, obj: Any, form: forms.ModelForm
    ) -> ProjectCollaborator | None:
        if "user" in form.changed_data:
            raise _cannot_move("user")
        if "role" not in form.changed_data:
            return None
        return services.collaborator_change_role(
            collaborator=obj, role=form.cleaned_data["role"], acting_user=acting_user(request)
        )

    def delete_via_service(self, request: HttpRequest, *, obj: Any) -> None:
        services.collaborator_remove(collaborator=obj, acting_user=acting_user(request))


class LinkedBookingInline(_ProjectInline):
    """Bookings made for the project: staff may unlink one, members link them."""

    model = ProjectReservation
    admin_permissions = {"view": "projects.manage", "delete": "projects.manage"}
    fields = ("reservation", "linked_by", "created_at")
    readonly_fields = ("reservation", "linked_by", "created_at")
    verbose_name = _("linked booking")
    verbose_name_plural = _("linked bookings")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProjectReservation]:
        return super().get_queryset(request).select_related("reservation__equipment", "linked_by")

    def delete_via_service(self, request: HttpRequest, *, obj: Any) -> None:
        services.project_reservation_unlink(link=obj, acting_user=acting_user(request))


# --- projects ------------------------------------------------------------------------------


@admin.register(Project)
class ProjectAdmin(MakerspaceScopedAdmin):
    form = ProjectForm
    admin_permissions = PROJECT_PERMISSIONS
    list_display = ("name", "makerspace", "owner", "status", "privacy", "tag_names", "updated_at")
    list_filter = (MakerspaceListFilter, "status", "privacy")
    search_fields = ("name", "description", "owner__email", "owner__name", "tags__name")
    list_select_related = ("makerspace", "owner")
    ordering = ("makerspace__name", "-updated_at")
    inlines = (BomLineInline, CollaboratorInline, LinkedBookingInline)
    actions = ("archive",)
    fields = ("makerspace", "owner", "name", "description", "status", "privacy", "tag_list")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return super().get_queryset(request).prefetch_related("tags")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Ownership does not move: the owner's bookings and the ledger point at them.
            readonly.append("owner")
        return readonly

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "owner":
            kwargs["queryset"] = _members_of(self.writable_makerspace_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("tags"))
    def tag_names(self, obj: Project) -> str:
        return ", ".join(tag.name for tag in obj.tags.all())

    def create_via_service(self, request: HttpRequest, obj: Any, form: forms.ModelForm) -> Project:
        data = form.cleaned_data
        return services.project_create(
            makerspace=data["makerspace"],
            owner=data["owner"],
            name=data["name"],
            description=data.get("description", ""),
            status=data["status"],
            privacy=data["privacy"],
            tags=data.get("tag_list", []),
            acting_user=acting_user(request),
        )

    def update_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> Project | None:
        data = form.cleaned_data
        changes = {
            name: data[name]
            for name in form.changed_data
            if name in ("name", "description", "status", "privacy")
        }
        if "tag_list" in form.changed_data:
            changes["tags"] = data["tag_list"]
        if not changes:
            return None
        # The service re-reads the row under a lock, so it diffs against what is stored,
        # not against this instance the form already changed.
        return services.project_update(
            project=obj, acting_user=acting_user(request), changes=changes
        )

    def delete_via_service(self, request: HttpRequest, obj: Any) -> None:
        services.project_delete(project=obj, acting_user=acting_user(request))

    def has_archive_permission(self, request: HttpRequest) -> bool:
        return self.holds_anywhere(request, "projects.manage")

    @admin.action(description=_("Archive the selected projects"), permissions=["archive"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        user = acting_user(request)
        self.apply_to_each(
            request,
            queryset,
            permission="projects.manage",
            service=lambda project: services.project_update(
                project=project, acting_user=user, changes={"status": ProjectStatus.ARCHIVED}
            ),
            done_message=gettext("Archived"),
        )
