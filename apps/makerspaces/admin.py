"""The staff admin of makerspaces: every page scoped to the spaces the staff member runs,
every write through a service (so the rules hold and the audit log is written)."""

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.models import AuditLogEntry
from apps.makerspaces import services
from apps.makerspaces.admin_scoping import (
    MakerspaceListFilter,
    MakerspaceScopedAdmin,
    MakerspaceScopedInline,
    acting_user,
    staff_may,
)
from apps.makerspaces.models import (
    Closure,
    Invitation,
    Makerspace,
    Membership,
    MembershipStatus,
    MemberSkill,
    Skill,
)

AUDIT_HISTORY_LENGTH = 10
SKILL_CHANGEABLE_FIELDS = ("name", "description", "validity_days", "renews_on_use")


def _current_grants(prefix: str = "") -> Q:
    return Q(**{f"{prefix}expires_at__isnull": True}) | Q(
        **{f"{prefix}expires_at__gt": timezone.now()}
    )


# --- forms ---------------------------------------------------------------------------------


class SkillForm(forms.ModelForm):
    class Meta:
        model = Skill
        fields = ("makerspace", "slug", "name", "description", "validity_days", "renews_on_use")

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        # Equipment names the skills it needs by slug.
        if not self.instance._state.adding and slug != self.instance.slug:
            raise forms.ValidationError(_("A skill's slug cannot change; create a new skill."))
        return slug


class MemberSkillForm(forms.ModelForm):
    class Meta:
        model = MemberSkill
        fields = ("membership", "skill", "expires_at")

    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data.get("expires_at")
        if (
            expires_at is not None
            and "expires_at" in self.changed_data
            and expires_at <= timezone.now()
        ):
            raise forms.ValidationError(_("Must be in the future."))
        return expires_at

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.instance._state.adding and "membership" in self.changed_data:
            raise forms.ValidationError(
                _("A grant cannot move to another member: revoke it and grant it anew.")
            )
        membership = cleaned.get("membership")
        skill = cleaned.get("skill") or (self.instance.skill if self.instance.skill_id else None)
        if membership and skill and membership.makerspace_id != skill.makerspace_id:
            raise forms.ValidationError(_("This skill belongs to another makerspace."))
        return cleaned


# --- inlines -------------------------------------------------------------------------------


class MembershipInline(MakerspaceScopedInline):
    model = Membership
    parent_makerspace_field = "id"
    admin_permissions = {
        "view": "members.view",
        "change": "members.manage",
        "delete": "members.manage",
    }
    fields = ("user", "role", "status", "joined_at")
    readonly_fields = ("user", "status", "joined_at")
    ordering = ("user__email",)
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user")

    def update_via_service(
        self, request: HttpRequest, *, obj: Any, form: forms.ModelForm
    ) -> Membership | None:
        if "role" not in form.changed_data:
            return None
        return services.membership_change_role(
            membership=obj, role=form.cleaned_data["role"], acting_user=acting_user(request)
        )

    def delete_via_service(self, request: HttpRequest, *, obj: Any) -> None:
        services.membership_remove(membership=obj, acting_user=acting_user(request))


class SkillInline(MakerspaceScopedInline):
    model = Skill
    form = SkillForm
    parent_makerspace_field = "id"
    admin_permissions = {
        "view": "skills.view",
        "add": "skills.manage",
        "change": "skills.manage",
        "delete": "skills.manage",
    }
    fields = ("name", "slug", "validity_days")
    show_change_link = True

    def create_via_service(
        self, request: HttpRequest, *, parent: Any, form: forms.ModelForm
    ) -> Skill:
        return services.skill_create(
            makerspace=parent,
            slug=form.cleaned_data["slug"],
            name=form.cleaned_data["name"],
            validity_days=form.cleaned_data.get("validity_days"),
            acting_user=acting_user(request),
        )

    def update_via_service(
        self, request: HttpRequest, *, obj: Any, form: forms.ModelForm
    ) -> Skill | None:
        return _update_skill(request, obj, form)

    def delete_via_service(self, request: HttpRequest, *, obj: Any) -> None:
        services.skill_delete(skill=obj, acting_user=acting_user(request))


class ClosureInline(MakerspaceScopedInline):
    model = Closure
    parent_makerspace_field = "id"
    admin_permissions = {
        "view": "makerspace.view",
        "add": "closures.manage",
        "delete": "closures.manage",
    }
    fields = ("date", "reason")

    def create_via_service(
        self, request: HttpRequest, *, parent: Any, form: forms.ModelForm
    ) -> Closure:
        return services.closure_add(
            makerspace=parent,
            day=form.cleaned_data["date"],
            reason=form.cleaned_data.get("reason", ""),
            acting_user=acting_user(request),
        )

    def delete_via_service(self, request: HttpRequest, *, obj: Any) -> None:
        services.closure_remove(closure=obj, acting_user=acting_user(request))


class MemberSkillInline(MakerspaceScopedInline):
    """The members holding a skill, on the skill's page."""

    model = MemberSkill
    form = MemberSkillForm
    admin_permissions = {
        "view": "skills.view",
        "add": "skills.grant",
        "change": "skills.grant",
        "delete": "skills.grant",
    }
    fields = ("membership", "expires_at", "is_current", "granted_at", "granted_by")
    readonly_fields = ("is_current", "granted_at", "granted_by")
    autocomplete_fields = ("membership",)
    parent_skill: Skill | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[MemberSkill]:
        return (
            super()
            .get_queryset(request)
            .select_related("membership__user", "membership__makerspace", "granted_by")
        )

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        self.parent_skill = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "membership":
            memberships = Membership.objects.select_related("user", "makerspace")
            parent = self.parent_skill
            kwargs["queryset"] = (
                memberships.filter(makerspace_id=parent.makerspace_id)
                if parent is not None
                else memberships.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(boolean=True, description=_("current"))
    def is_current(self, obj: MemberSkill) -> bool | None:
        return None if obj._state.adding else obj.is_current

    def create_via_service(
        self, request: HttpRequest, *, parent: Any, form: forms.ModelForm
    ) -> MemberSkill:
        return services.skill_grant(
            membership=form.cleaned_data["membership"],
            skill=parent,
            expires_at=form.cleaned_data.get("expires_at"),
            acting_user=acting_user(request),
        )

    def update_via_service(
        self, request: HttpRequest, *, obj: Any, form: forms.ModelForm
    ) -> MemberSkill | None:
        return _renew_grant(request, obj, form)

    def delete_via_service(self, request: HttpRequest, *, obj: Any) -> None:
        services.skill_revoke(
            membership=obj.membership, skill=obj.skill, acting_user=acting_user(request)
        )


def _update_skill(request: HttpRequest, skill: Skill, form: forms.ModelForm) -> Skill | None:
    changes = {
        field: form.cleaned_data[field]
        for field in form.changed_data
        if field in SKILL_CHANGEABLE_FIELDS
    }
    if not changes:
        return None
    return services.skill_update(skill=skill, acting_user=acting_user(request), changes=changes)


def _renew_grant(
    request: HttpRequest, grant: MemberSkill, form: forms.ModelForm
) -> MemberSkill | None:
    if "expires_at" not in form.changed_data:
        return None
    # Renewing is granting again; without a date the skill's own validity applies.
    return services.skill_grant(
        membership=grant.membership,
        skill=grant.skill,
        expires_at=form.cleaned_data.get("expires_at"),
        acting_user=acting_user(request),
    )


# --- makerspaces ---------------------------------------------------------------------------


@admin.register(Makerspace)
class MakerspaceAdmin(MakerspaceScopedAdmin):
    makerspace_field = "id"
    admin_permissions = {"view": "makerspace.view", "change": "makerspace.update"}
    list_display = ("name", "slug", "location", "verified", "is_active", "member_count")
    list_filter = ("verified", "is_active", "join_policy")
    search_fields = ("name", "slug", "location", "address")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline, SkillInline, ClosureInline)
    actions = ("verify", "deactivate", "reactivate")
    readonly_fields = ("audit_history", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "join_policy")}),
        (
            _("Place"),
            {"fields": ("address", "location", "latitude", "longitude", "timezone")},
        ),
        (_("Contact"), {"fields": ("contact_email", "contact_phone", "currency")}),
        (_("Hours and settings"), {"fields": ("business_hours", "settings")}),
        (_("Status"), {"fields": ("verified", "is_active", "created_at", "updated_at")}),
        (_("Audit history"), {"fields": ("audit_history",)}),
    )

    def may(self, request: HttpRequest, action: str, obj: Any = None) -> bool:
        if action == "add":
            # A new tenant is the platform's call; its creator becomes its first admin.
            return bool(request.user.is_superuser)
        return super().may(request, action, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Makerspace]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_member_count=Count(
                    "memberships",
                    filter=Q(memberships__status=MembershipStatus.ACTIVE),
                    distinct=True,
                )
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["verified", "is_active"]
        return readonly

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        hidden = set()
        if obj is None:
            hidden = {"audit_history", "created_at", "updated_at"}
        elif not staff_may(request.user, obj.pk, "audit.view"):
            hidden = {"audit_history"}
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):
            fields = tuple(field for field in options["fields"] if field not in hidden)
            if fields:
                fieldsets.append((name, {**options, "fields": fields}))
        return fieldsets

    @admin.display(description=_("members"), ordering="active_member_count")
    def member_count(self, obj: Any) -> int:
        return int(getattr(obj, "active_member_count", 0))

    @admin.display(description=_("audit history"))
    def audit_history(self, obj: Makerspace) -> SafeString | str:
        if obj.pk is None:
            return "-"
        entries = (
            AuditLogEntry.objects.filter(makerspace_id=obj.pk)
            .select_related("actor", "content_type")
            .order_by("-created_at", "-id")[:AUDIT_HISTORY_LENGTH]
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(timezone.localtime(entry.created_at), "SHORT_DATETIME_FORMAT"),
                    entry.actor or "-",
                    entry.get_action_display(),
                    entry.content_type.name,
                    entry.object_repr,
                )
                for entry in entries
            ),
        )
        url = reverse("admin:core_auditlogentry_changelist")
        link = f"{url}?{urlencode({'makerspace': str(obj.pk)})}"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            '</thead><tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            _("when"),
            _("who"),
            _("did"),
            _("what"),
            _("which"),
            rows,
            link,
            _("The whole audit log of this makerspace"),
        )

    def create_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> Makerspace:
        user = acting_user(request)
        data = form.cleaned_data
        fields = {
            name: data[name]
            for name in services.MAKERSPACE_FIELDS
            if name in data and name != "name"
        }
        makerspace = services.makerspace_create(creator=user, name=data["name"], **fields)
        if data.get("verified"):
            makerspace = services.makerspace_set_verified(
                makerspace=makerspace, acting_user=user, verified=True
            )
        if data.get("is_active") is False:
            makerspace = services.makerspace_deactivate(makerspace=makerspace, acting_user=user)
        return makerspace

    def update_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> Makerspace:
        user = acting_user(request)
        data = form.cleaned_data
        changes = {
            name: data[name] for name in form.changed_data if name in services.MAKERSPACE_FIELDS
        }
        if changes:
            services.makerspace_update(makerspace=obj, acting_user=user, changes=changes)
        if "verified" in form.changed_data:
            services.makerspace_set_verified(
                makerspace=obj, acting_user=user, verified=data["verified"]
            )
        if "is_active" in form.changed_data:
            if data["is_active"]:
                services.makerspace_reactivate(makerspace=obj, acting_user=user)
            else:
                services.makerspace_deactivate(makerspace=obj, acting_user=user)
        return Makerspace.objects.get(pk=obj.pk)

    def has_verify_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return self.holds_anywhere(request, "makerspace.delete")

    def has_reactivate_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    @admin.action(description=_("Verify the selected makerspaces"), permissions=["verify"])
    def verify(self, request: HttpRequest, queryset: QuerySet[Makerspace]) -> None:
        user = acting_user(request)
        self.apply_to_each(
            request,
            queryset,
            permission="makerspace.update",
            service=lambda space: services.makerspace_set_verified(
                makerspace=space, acting_user=user, verified=True
            ),
            done_message=gettext("Verified"),
        )

    @admin.action(description=_("Deactivate the selected makerspaces"), permissions=["deactivate"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Makerspace]) -> None:
        user = acting_user(request)
        self.apply_to_each(
            request,
            queryset,
            permission="makerspace.delete",
            service=lambda space: services.makerspace_deactivate(
                makerspace=space, acting_user=user
            ),
            done_message=gettext("Deactivated"),
        )

    @admin.action(description=_("Reactivate the selected makerspaces"), permissions=["reactivate"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Makerspace]) -> None:
        user = acting_user(request)
        self.apply_to_each(
            request,
            queryset,
            permission="makerspace.update",
            service=lambda space: services.makerspace_reactivate(
                makerspace=space, acting_user=user
            ),
            done_message=gettext("Reactivated"),
        )


# --- memberships ---------------------------------------------------------------------------


@admin.register(Membership)
class MembershipAdmin(MakerspaceScopedAdmin):
    """Members join or are invited (see invitations); here staff change roles, approve
    requests and remove members, all through the membership services."""

    admin_permissions = {
        "view": "members.view",
        "change": "members.manage",
        "delete": "members.manage",
    }
    list_display = ("user_email", "user_name", "makerspace", "role", "status", "joined_at")
    list_filter = (MakerspaceListFilter, "role", "status")
    search_fields = ("user__email", "user__name")
    list_select_related = ("user", "makerspace")
    ordering = ("makerspace__name", "user__email")
    fields = ("user", "makerspace", "role", "status", "joined_at")
    readonly_fields = ("user", "status", "joined_at")
    actions = ("approve_pending",)

    @admin.display(description=_("email"), ordering="user__email")
    def user_email(self, obj: Membership) -> str:
        return obj.user.email

    @admin.display(description=_("name"), ordering="user__name")
    def user_name(self, obj: Membership) -> str:
        return obj.user.name

    def update_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> Membership | None:
        if "role" not in form.changed_data:
            return None
        return services.membership_change_role(
            membership=obj, role=form.cleaned_data["role"], acting_user=acting_user(request)
        )

    def delete_via_service(self, request: HttpRequest, obj: Any) -> None:
        services.membership_remove(membership=obj, acting_user=acting_user(request))

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return self.holds_anywhere(request, "members.approve")

    @admin.action(description=_("Approve the selected pending requests"), permissions=["approve"])
    def approve_pending(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        user = acting_user(request)
        self.apply_to_each(
            request,
            queryset,
            permission="members.approve",
            service=lambda membership: services.membership_approve(
                membership=membership, acting_user=user
            ),
            done_message=gettext("Approved"),
        )


# --- invitations ---------------------------------------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(MakerspaceScopedAdmin):
    """Invitations are sent and revoked, never edited."""

    admin_permissions = {"view": "members.view", "add": "members.invite"}
    list_display = (
        "email",
        "makerspace",
        "role",
        "status",
        "invited_by",
        "created_at",
        "expires_at",
        "is_expired",
    )
    list_filter = (MakerspaceListFilter, "status", "role")
    search_fields = ("email",)
    list_select_related = ("makerspace", "invited_by")
    readonly_fields = ("status", "invited_by", "created_at", "expires_at", "responded_at")
    actions = ("revoke",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("makerspace", "email", "role")
        return ("makerspace", "email", "role", *self.readonly_fields)

    @admin.display(boolean=True, description=_("expired"), ordering="expires_at")
    def is_expired(self, obj: Invitation) -> bool:
        return obj.is_expired

    def create_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> Invitation:
        return services.invitation_create(
            makerspace=form.cleaned_data["makerspace"],
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            acting_user=acting_user(request),
        )

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self.holds_anywhere(request, "members.invite")

    @admin.action(description=_("Revoke the selected invitations"), permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        user = acting_user(request)
        self.apply_to_each(
            request,
            queryset,
            permission="members.invite",
            service=lambda invitation: services.invitation_revoke(
                invitation=invitation, acting_user=user
            ),
            done_message=gettext("Revoked"),
        )


# --- skills --------------------------------------------------------------------------------


@admin.register(Skill)
class SkillAdmin(MakerspaceScopedAdmin):
    form = SkillForm
    admin_permissions = {
        "view": "skills.view",
        "add": "skills.manage",
        "change": "skills.manage",
        "delete": "skills.manage",
    }
    list_display = ("name", "slug", "makerspace", "validity_days", "holder_count")
    list_filter = (MakerspaceListFilter,)
    search_fields = ("name", "slug")
    list_select_related = ("makerspace",)
    ordering = ("makerspace__name", "name")
    fields = ("makerspace", "slug", "name", "description", "validity_days", "renews_on_use")
    inlines = (MemberSkillInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Skill]:
        return (
            super()
            .get_queryset(request)
            .annotate(current_holders=Count("grants", filter=_current_grants("grants__")))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("slug")
        return readonly

    @admin.display(description=_("current holders"), ordering="current_holders")
    def holder_count(self, obj: Any) -> int:
        return int(getattr(obj, "current_holders", 0))

    def create_via_service(self, request: HttpRequest, obj: Any, form: forms.ModelForm) -> Skill:
        data = form.cleaned_data
        return services.skill_create(
            makerspace=data["makerspace"],
            slug=data["slug"],
            name=data["name"],
            description=data.get("description", ""),
            validity_days=data.get("validity_days"),
            renews_on_use=data.get("renews_on_use", False),
            acting_user=acting_user(request),
        )

    def update_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> Skill | None:
        return _update_skill(request, obj, form)

    def delete_via_service(self, request: HttpRequest, obj: Any) -> None:
        services.skill_delete(skill=obj, acting_user=acting_user(request))


class GrantValidityFilter(admin.SimpleListFilter):
    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("current", _("current")), ("expired", _("expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "current":
            return queryset.filter(_current_grants())
        if self.value() == "expired":
            return queryset.exclude(_current_grants())
        return queryset


@admin.register(MemberSkill)
class MemberSkillAdmin(MakerspaceScopedAdmin):
    """Skill grants; an expired grant counts as not held and is shown as such."""

    form = MemberSkillForm
    makerspace_field = "membership__makerspace"
    scoped_foreign_keys = {"membership": "makerspace", "skill": "makerspace"}
    admin_permissions = {
        "view": "skills.view",
        "add": "skills.grant",
        "change": "skills.grant",
        "delete": "skills.grant",
    }
    list_display = ("member", "skill", "space", "granted_at", "expires_at", "is_current")
    list_filter = (MakerspaceListFilter, GrantValidityFilter)
    search_fields = (
        "membership__user__email",
        "membership__user__name",
        "skill__name",
        "skill__slug",
    )
    list_select_related = ("membership__user", "membership__makerspace", "skill")
    ordering = ("membership__makerspace__name", "skill__name", "membership__user__email")
    autocomplete_fields = ("membership", "skill")
    fields = ("membership", "skill", "expires_at", "granted_at", "granted_by")
    readonly_fields = ("granted_at", "granted_by")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("skill")
        return readonly

    @admin.display(description=_("member"), ordering="membership__user__email")
    def member(self, obj: MemberSkill) -> str:
        return str(obj.membership.user)

    @admin.display(description=_("makerspace"), ordering="membership__makerspace__name")
    def space(self, obj: MemberSkill) -> str:
        return str(obj.membership.makerspace)

    @admin.display(boolean=True, description=_("current"), ordering="expires_at")
    def is_current(self, obj: MemberSkill) -> bool:
        return obj.is_current

    def create_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> MemberSkill:
        return services.skill_grant(
            membership=form.cleaned_data["membership"],
            skill=form.cleaned_data["skill"],
            expires_at=form.cleaned_data.get("expires_at"),
            acting_user=acting_user(request),
        )

    def update_via_service(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm
    ) -> MemberSkill | None:
        return _renew_grant(request, obj, form)

    def delete_via_service(self, request: HttpRequest, obj: Any) -> None:
        services.skill_revoke(
            membership=obj.membership, skill=obj.skill, acting_user=acting_user(request)
        )


# --- closures ------------------------------------------------------------------------------


@admin.register(Closure)
class ClosureAdmin(MakerspaceScopedAdmin):
    admin_permissions = {
        "view": "makerspace.view",
        "add": "closures.manage",
        "delete": "closures.manage",
    }
    list_display = ("date", "makerspace", "reason")
    list_filter = (MakerspaceListFilter,)
    search_fields = ("reason",)
    list_select_related = ("makerspace",)
    fields = ("makerspace", "date", "reason")

    def create_via_service(self, request: HttpRequest, obj: Any, form: forms.ModelForm) -> Closure:
        return services.closure_add(
            makerspace=form.cleaned_data["makerspace"],
            day=form.cleaned_data["date"],
            reason=form.cleaned_data.get("reason", ""),
            acting_user=acting_user(request),
        )

    def delete_via_service(self, request: HttpRequest, obj: Any) -> None:
        services.closure_remove(closure=obj, acting_user=acting_user(request))


# --- the audit log -------------------------------------------------------------------------


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(MakerspaceScopedAdmin):
    """Read-only: entries are written by services, in the transaction of the change."""

    makerspace_field = "makerspace_id"
    admin_permissions = {"view": "audit.view"}
    list_display = (
        "created_at",
        "makerspace_name",
        "actor",
        "action",
        "content_type",
        "object_repr",
    )
    list_filter = (
        MakerspaceListFilter,
        "action",
        ("content_type", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("object_repr", "object_id", "actor__email", "actor__name")
    list_select_related = ("actor", "content_type")
    fields = (
        "created_at",
        "makerspace_name",
        "actor",
        "action",
        "content_type",
        "object_id",
        "object_repr",
        "changes_display",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditLogEntry]:
        space_name = Makerspace.objects.filter(pk=OuterRef("makerspace_id")).values("name")[:1]
        return super().get_queryset(request).annotate(space_name=Subquery(space_name))

    @admin.display(description=_("makerspace"), ordering="space_name")
    def makerspace_name(self, obj: Any) -> str:
        return getattr(obj, "space_name", None) or "-"

    @admin.display(description=_("changes"))
    def changes_display(self, obj: AuditLogEntry) -> SafeString:
        return format_html(
            "<pre>{}</pre>",
            json.dumps(obj.changes, indent=2, sort_keys=True, ensure_ascii=False),
        )
