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
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.core.models import AuditLogEntry
from apps.makerspaces import services
from apps.makerspaces.admin_inlines import MakerspaceScopedInline
from apps.makerspaces.admin_scoped import MakerspaceListFilter, MakerspaceScopedAdmin
from apps.makerspaces.admin_services import ServiceAction, ServiceAdapter
from apps.makerspaces.admin_site import admin_may
from apps.makerspaces.models import (
    Closure,
    Invitation,
    Makerspace,
    Membership,
    MembershipStatus,
    MemberSkill,
    Skill,
    current_grant_condition,
)
from apps.makerspaces.selectors import audit_log_of_space

AUDIT_HISTORY_LENGTH = 10
SKILL_CHANGEABLE_FIELDS = ("name", "description", "validity_days", "renews_on_use")


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


# --- writes: one adapter per model, shared by its admin and its inline ---------------------


def _update_makerspace(makerspace: Makerspace, changes: dict[str, Any], user: User) -> Makerspace:
    return services.makerspace_change(makerspace=makerspace, acting_user=user, changes=changes)


MAKERSPACE_ADAPTER = ServiceAdapter[Makerspace](
    permissions={"view": "makerspace.view", "change": "makerspace.update"},
    create=lambda data, user: services.makerspace_create(
        acting_user=user,
        verified=bool(data.get("verified")),
        is_active=data.get("is_active") is not False,
        **{name: data[name] for name in services.MAKERSPACE_FIELDS if name in data},
    ),
    update=_update_makerspace,
    update_fields=(*services.MAKERSPACE_FIELDS, "verified", "is_active"),
)
# Members join or are invited; the admin changes roles and removes members.
MEMBERSHIP_ADAPTER = ServiceAdapter[Membership](
    permissions={"view": "members.view", "change": "members.manage", "delete": "members.manage"},
    update=lambda membership, changes, user: services.membership_change_role(
        membership=membership, role=changes["role"], acting_user=user
    ),
    delete=lambda membership, user: services.membership_remove(
        membership=membership, acting_user=user
    ),
    update_fields=("role",),
)
SKILL_ADAPTER = ServiceAdapter[Skill](
    permissions={
        "view": "skills.view",
        "add": "skills.manage",
        "change": "skills.manage",
        "delete": "skills.manage",
    },
    create=lambda data, user: services.skill_create(
        makerspace=data["makerspace"],
        slug=data["slug"],
        name=data["name"],
        description=data.get("description", ""),
        validity_days=data.get("validity_days"),
        renews_on_use=data.get("renews_on_use", False),
        acting_user=user,
    ),
    update=lambda skill, changes, user: services.skill_update(
        skill=skill, acting_user=user, changes=changes
    ),
    delete=lambda skill, user: services.skill_delete(skill=skill, acting_user=user),
    update_fields=SKILL_CHANGEABLE_FIELDS,
)
MEMBER_SKILL_ADAPTER = ServiceAdapter[MemberSkill](
    permissions={
        "view": "skills.view",
        "add": "skills.grant",
        "change": "skills.grant",
        "delete": "skills.grant",
    },
    create=lambda data, user: services.skill_grant(
        membership=data["membership"],
        skill=data["skill"],
        expires_at=data.get("expires_at"),
        acting_user=user,
    ),
    # Renewing is granting again; without a date the skill's own validity applies.
    update=lambda grant, changes, user: services.skill_grant(
        membership=grant.membership,
        skill=grant.skill,
        expires_at=changes["expires_at"],
        acting_user=user,
    ),
    delete=lambda grant, user: services.skill_revoke(
        membership=grant.membership, skill=grant.skill, acting_user=user
    ),
    update_fields=("expires_at",),
)
CLOSURE_ADAPTER = ServiceAdapter[Closure](
    permissions={"view": "makerspace.view", "add": "closures.manage", "delete": "closures.manage"},
    create=lambda data, user: services.closure_add(
        makerspace=data["makerspace"],
        day=data["date"],
        reason=data.get("reason", ""),
        acting_user=user,
    ),
    delete=lambda closure, user: services.closure_remove(closure=closure, acting_user=user),
)
# Invitations are sent and revoked (an action), never edited.
INVITATION_ADAPTER = ServiceAdapter[Invitation](
    permissions={"view": "members.view", "add": "members.invite"},
    create=lambda data, user: services.invitation_create(
        makerspace=data["makerspace"], email=data["email"], role=data["role"], acting_user=user
    ),
)


# --- inlines -------------------------------------------------------------------------------


class MembershipInline(MakerspaceScopedInline):
    model = Membership
    parent_makerspace_field = "id"
    adapter = MEMBERSHIP_ADAPTER
    select_related = ("user",)
    fields = ("user", "role", "status", "joined_at")
    readonly_fields = ("user", "status", "joined_at")
    ordering = ("user__email",)
    show_change_link = True


class SkillInline(MakerspaceScopedInline):
    model = Skill
    form = SkillForm
    parent_makerspace_field = "id"
    adapter = SKILL_ADAPTER
    fields = ("name", "slug", "validity_days")
    show_change_link = True


class ClosureInline(MakerspaceScopedInline):
    model = Closure
    parent_makerspace_field = "id"
    adapter = CLOSURE_ADAPTER
    fields = ("date", "reason")


class MemberSkillInline(MakerspaceScopedInline):
    """The members holding a skill, on the skill's page."""

    model = MemberSkill
    form = MemberSkillForm
    adapter = MEMBER_SKILL_ADAPTER
    select_related = ("membership__user", "membership__makerspace", "granted_by")
    fields = ("membership", "expires_at", "is_current", "granted_at", "granted_by")
    readonly_fields = ("is_current", "granted_at", "granted_by")
    autocomplete_fields = ("membership",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "membership":
            memberships = Membership.objects.select_related("user", "makerspace")
            parent = self.parent
            kwargs["queryset"] = (
                memberships.filter(makerspace_id=parent.makerspace_id)
                if parent is not None
                else memberships.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(boolean=True, description=_("current"))
    def is_current(self, obj: MemberSkill) -> bool | None:
        return None if obj._state.adding else obj.is_current


# --- makerspaces ---------------------------------------------------------------------------


@admin.register(Makerspace)
class MakerspaceAdmin(MakerspaceScopedAdmin):
    makerspace_field = "id"
    adapter = MAKERSPACE_ADAPTER
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
        elif not admin_may(request.user, obj.pk, "audit.view"):
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
        entries = audit_log_of_space(obj.pk)[:AUDIT_HISTORY_LENGTH]
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

    verify = ServiceAction(
        description=_("Verify the selected makerspaces"),
        permission="makerspace.update",
        super_admins_only=True,
        run=lambda space, user: services.makerspace_set_verified(
            makerspace=space, acting_user=user, verified=True
        ),
        done=_("Verified"),
    )
    deactivate = ServiceAction(
        description=_("Deactivate the selected makerspaces"),
        permission="makerspace.delete",
        run=lambda space, user: services.makerspace_deactivate(makerspace=space, acting_user=user),
        done=_("Deactivated"),
    )
    reactivate = ServiceAction(
        description=_("Reactivate the selected makerspaces"),
        permission="makerspace.update",
        super_admins_only=True,
        run=lambda space, user: services.makerspace_reactivate(makerspace=space, acting_user=user),
        done=_("Reactivated"),
    )


# --- memberships ---------------------------------------------------------------------------


@admin.register(Membership)
class MembershipAdmin(MakerspaceScopedAdmin):
    """Members join or are invited (see invitations); here staff change roles, approve
    requests and remove members, all through the membership services."""

    adapter = MEMBERSHIP_ADAPTER
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

    approve_pending = ServiceAction(
        description=_("Approve the selected pending requests"),
        permission="members.approve",
        run=lambda membership, user: services.membership_approve(
            membership=membership, acting_user=user
        ),
        done=_("Approved"),
    )


# --- invitations ---------------------------------------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(MakerspaceScopedAdmin):
    adapter = INVITATION_ADAPTER
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

    revoke = ServiceAction(
        description=_("Revoke the selected invitations"),
        permission="members.invite",
        run=lambda invitation, user: services.invitation_revoke(
            invitation=invitation, acting_user=user
        ),
        done=_("Revoked"),
    )


# --- skills --------------------------------------------------------------------------------


@admin.register(Skill)
class SkillAdmin(MakerspaceScopedAdmin):
    form = SkillForm
    adapter = SKILL_ADAPTER
    list_display = ("name", "slug", "makerspace", "validity_days", "holder_count")
    list_filter = (MakerspaceListFilter,)
    search_fields = ("name", "slug")
    list_select_related = ("makerspace",)
    ordering = ("makerspace__name", "name")
    fields = ("makerspace", "slug", "name", "description", "validity_days", "renews_on_use")
    inlines = (MemberSkillInline,)
    readonly_on_change = ("slug",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Skill]:
        return (
            super()
            .get_queryset(request)
            .annotate(current_holders=Count("grants", filter=current_grant_condition("grants__")))
        )

    @admin.display(description=_("current holders"), ordering="current_holders")
    def holder_count(self, obj: Any) -> int:
        return int(getattr(obj, "current_holders", 0))


class GrantValidityFilter(admin.SimpleListFilter):
    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("current", _("current")), ("expired", _("expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "current":
            return queryset.filter(current_grant_condition())
        if self.value() == "expired":
            return queryset.exclude(current_grant_condition())
        return queryset


@admin.register(MemberSkill)
class MemberSkillAdmin(MakerspaceScopedAdmin):
    """Skill grants; an expired grant counts as not held and is shown as such."""

    form = MemberSkillForm
    makerspace_field = "membership__makerspace"
    scoped_foreign_keys = {"membership": "makerspace", "skill": "makerspace"}
    adapter = MEMBER_SKILL_ADAPTER
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
    readonly_on_change = ("skill",)

    @admin.display(description=_("member"), ordering="membership__user__email")
    def member(self, obj: MemberSkill) -> str:
        return str(obj.membership.user)

    @admin.display(description=_("makerspace"), ordering="membership__makerspace__name")
    def space(self, obj: MemberSkill) -> str:
        return str(obj.membership.makerspace)

    @admin.display(boolean=True, description=_("current"), ordering="expires_at")
    def is_current(self, obj: MemberSkill) -> bool:
        return obj.is_current


# --- closures ------------------------------------------------------------------------------


@admin.register(Closure)
class ClosureAdmin(MakerspaceScopedAdmin):
    adapter = CLOSURE_ADAPTER
    list_display = ("date", "makerspace", "reason")
    list_filter = (MakerspaceListFilter,)
    search_fields = ("reason",)
    list_select_related = ("makerspace",)
    fields = ("makerspace", "date", "reason")


# --- the audit log -------------------------------------------------------------------------


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(MakerspaceScopedAdmin):
    """Read-only: entries are written by services, in the transaction of the change."""

    makerspace_field = "makerspace_id"
    adapter = ServiceAdapter[AuditLogEntry](permissions={"view": "audit.view"})
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
