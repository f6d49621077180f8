"""Writes of makerspaces: tenants, memberships, invitations, skills, closures.

Every write takes ``acting_user`` and checks the role matrix itself before it writes:
the API, the admin and the pages check too, but only to answer early and to hide what
a user cannot do. Jobs and commands act as ``apps.accounts.system.system_actor()``.
Every change staff would ask about is written to the audit log in the same
transaction.
"""

from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import User
from apps.core.audit import audit_record, update_audited
from apps.core.concurrency import lock_at_version
from apps.core.exceptions import (
    ApplicationError,
    ConflictError,
    permission_denied,
    validation_error,
)
from apps.core.models import AuditLogEntry
from apps.core.permissions import (
    Role,
    forget_roles,
    has_makerspace_permission,
    require_makerspace_permission,
)
from apps.makerspaces.invitation_tokens import INVITATION_VALID_FOR
from apps.makerspaces.models import (
    Closure,
    Invitation,
    InvitationStatus,
    JoinPolicy,
    Makerspace,
    Membership,
    MembershipRole,
    MembershipStatus,
    MemberSkill,
    Skill,
    SkillInstructor,
)
from apps.makerspaces.selectors import is_skill_instructor
from apps.makerspaces.tasks import send_invitation_email

Action = AuditLogEntry.Action
MAKERSPACE_FIELDS = (
    "name",
    "slug",
    "description",
    "address",
    "location",
    "latitude",
    "longitude",
    "timezone",
    "currency",
    "contact_email",
    "contact_phone",
    "business_hours",
    "join_policy",
    "settings",
)
ROLE_RANK = {Role.MEMBER: 0, Role.MANAGER: 1, Role.ADMIN: 2}


def _require_signed_in(acting_user: User) -> None:
    """Joining, creating a space and answering invitations need an account, no role."""
    if not acting_user.is_authenticated or not acting_user.is_active:
        raise permission_denied("Sign in first.")


def _require_super_admin(acting_user: User, message: str) -> None:
    if not (acting_user.is_authenticated and acting_user.is_active and acting_user.is_superuser):
        raise permission_denied(message)


# Page routes under /spaces/ that a space's slug must not shadow.
RESERVED_SLUGS = frozenset({"mine", "new", "invitations"})


def _reserved_slug_error(slug: str) -> ApplicationError:
    return validation_error("slug", f"{slug!r} is reserved; choose another slug.")


def _unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "makerspace"
    slug, counter = base, 2
    while slug in RESERVED_SLUGS or Makerspace.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


# --- makerspaces --------------------------------------------------------------------


def _flip(makerspace: Makerspace, field: str, value: bool, *, action: str, actor: User) -> None:
    """Set one flag of a new space and audit it as the step it stands for."""
    old = getattr(makerspace, field)
    setattr(makerspace, field, value)
    makerspace.save(update_fields=[field, "updated_at"])
    audit_record(
        actor=actor,
        instance=makerspace,
        action=action,
        makerspace_id=makerspace.pk,
        changes={field: [old, value]},
    )


def makerspace_create(
    *,
    acting_user: User,
    name: str,
    verified: bool = False,
    is_active: bool = True,
    **fields: Any,
) -> Makerspace:
    """Create a space; the acting user becomes its first admin.

    Any signed-in user may open a space. The admin's add form can also create it
    verified (a super admin's call) or already deactivated; all of it is one
    transaction, so a refusal or a clash leaves no half-made space behind.
    """
    _require_signed_in(acting_user)
    if verified:
        _require_super_admin(acting_user, "Only a super admin verifies makerspaces.")
    unknown = set(fields) - set(MAKERSPACE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown makerspace fields: {sorted(unknown)}")
    slug = fields.pop("slug", None) or _unique_slug(name)
    if slug in RESERVED_SLUGS:
        raise _reserved_slug_error(slug)
    try:
        with transaction.atomic():
            makerspace = Makerspace(name=name, slug=slug, **fields)
            makerspace.full_clean()
            makerspace.save()
            Membership.objects.create(
                user=acting_user,
                makerspace=makerspace,
                role=Role.ADMIN,
                status=MembershipStatus.ACTIVE,
            )
            audit_record(
                actor=acting_user,
                instance=makerspace,
                action=Action.CREATE,
                makerspace_id=makerspace.pk,
                changes={"name": name, "slug": slug},
            )
            if verified:
                _flip(makerspace, "verified", True, action=Action.VERIFY, actor=acting_user)
            if not is_active:
                _flip(makerspace, "is_active", False, action=Action.DELETE, actor=acting_user)
    except IntegrityError:
        raise validation_error("slug", "A makerspace with this slug already exists.") from None
    forget_roles(acting_user)
    return makerspace


def makerspace_update(
    *,
    makerspace: Makerspace,
    acting_user: User,
    changes: dict[str, Any],
    expected_etag: str | None = None,
) -> Makerspace:
    require_makerspace_permission(
        acting_user,
        makerspace,
        "makerspace.update",
        message="Only an admin of this makerspace can change it.",
    )
    unknown = set(changes) - set(MAKERSPACE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown makerspace fields: {sorted(unknown)}")
    if changes.get("slug") in RESERVED_SLUGS:
        raise _reserved_slug_error(changes["slug"])
    with transaction.atomic():
        makerspace = lock_at_version(makerspace, expected_etag=expected_etag)
        update_audited(
            makerspace, changes=changes, actor=acting_user, makerspace_id=makerspace.pk, clean={}
        )
    return makerspace


def makerspace_change(
    *, makerspace: Makerspace, acting_user: User, changes: dict[str, Any]
) -> Makerspace:
    """One staff save of a space (the admin's form): its fields, its verified badge and
    whether it is active, all or nothing in one transaction. Each part checks its own
    permission, so a manager's save that touches the badge changes nothing at all."""
    fields = {name: value for name, value in changes.items() if name in MAKERSPACE_FIELDS}
    with transaction.atomic():
        if fields:
            makerspace_update(makerspace=makerspace, acting_user=acting_user, changes=fields)
        if "verified" in changes:
            makerspace_set_verified(
                makerspace=makerspace, acting_user=acting_user, verified=changes["verified"]
            )
        if changes.get("is_active") is True:
            makerspace_reactivate(makerspace=makerspace, acting_user=acting_user)
        elif changes.get("is_active") is False:
            makerspace_deactivate(makerspace=makerspace, acting_user=acting_user)
    return Makerspace.objects.get(pk=makerspace.pk)


def makerspace_deactivate(*, makerspace: Makerspace, acting_user: User) -> Makerspace:
    """A space is never hard-deleted: its bookings, stock and invoices stay on record."""
    require_makerspace_permission(
        acting_user,
        makerspace,
        "makerspace.delete",
        message="Only an admin of this makerspace can deactivate it.",
    )
    with transaction.atomic():
        makerspace = Makerspace.objects.select_for_update().get(pk=makerspace.pk)
        if makerspace.is_active:
            makerspace.is_active = False
            makerspace.save(update_fields=["is_active", "updated_at"])
            audit_record(
                actor=acting_user,
                instance=makerspace,
                action=Action.DELETE,
                makerspace_id=makerspace.pk,
                changes={"is_active": [True, False]},
            )
    return makerspace


def makerspace_set_verified(
    *, makerspace: Makerspace, acting_user: User, verified: bool = True
) -> Makerspace:
    _require_super_admin(acting_user, "Only a super admin verifies makerspaces.")
    with transaction.atomic():
        makerspace = Makerspace.objects.select_for_update().get(pk=makerspace.pk)
        if makerspace.verified != verified:
            audit_record(
                actor=acting_user,
                instance=makerspace,
                action=Action.VERIFY,
                makerspace_id=makerspace.pk,
                changes={"verified": [makerspace.verified, verified]},
            )
            makerspace.verified = verified
            makerspace.save(update_fields=["verified", "updated_at"])
    return makerspace


# --- memberships ----------------------------------------------------------------


def makerspace_join(*, makerspace: Makerspace, acting_user: User) -> Membership:
    """The acting user joins by the space's policy: open → active member, approval →
    pending, invite → 403. Joining needs an account, no role."""
    _require_signed_in(acting_user)
    user = acting_user
    if not makerspace.is_active:
        raise ApplicationError("NOT_FOUND", "No such makerspace.", status_code=404)
    if makerspace.join_policy == JoinPolicy.INVITE:
        raise permission_denied("This makerspace takes new members by invitation only.")
    status = (
        MembershipStatus.ACTIVE
        if makerspace.join_policy == JoinPolicy.OPEN
        else MembershipStatus.PENDING
    )
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                user=user, makerspace=makerspace, role=Role.MEMBER, status=status
            )
            audit_record(
                actor=user,
                instance=membership,
                action=Action.JOIN,
                makerspace_id=makerspace.pk,
                changes={"status": status},
            )
    except IntegrityError:
        raise ConflictError(
            "ALREADY_MEMBER", "You already belong to this makerspace (or asked to)."
        ) from None
    forget_roles(user)
    return membership


def membership_approve(*, membership: Membership, acting_user: User) -> Membership:
    require_makerspace_permission(
        acting_user,
        membership.makerspace_id,
        "members.approve",
        message="Only the space's staff approve requests to join.",
    )
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.status != MembershipStatus.PENDING:
            raise ConflictError("NOT_PENDING", "This membership is not waiting for approval.")
        membership.status = MembershipStatus.ACTIVE
        membership.joined_at = timezone.now()
        membership.save(update_fields=["status", "joined_at", "updated_at"])
        audit_record(
            actor=acting_user,
            instance=membership,
            action=Action.APPROVE,
            makerspace_id=membership.makerspace_id,
            changes={"status": [MembershipStatus.PENDING, MembershipStatus.ACTIVE]},
        )
    return membership


def _lock_admins(makerspace_id: Any) -> list[Membership]:
    # Lock every admin row of the space, in primary-key order, so two demotions or
    # departures cannot each see "another admin remains" and leave none.
    return list(
        Membership.objects.select_for_update()
        .filter(makerspace_id=makerspace_id, role=Role.ADMIN, status=MembershipStatus.ACTIVE)
        .order_by("pk")
    )


def _ensure_not_last_admin(membership: Membership, admins: list[Membership]) -> None:
    if (
        membership.role == Role.ADMIN
        and membership.status == MembershipStatus.ACTIVE
        and all(admin.pk == membership.pk for admin in admins)
    ):
        raise ConflictError(
            "LAST_ADMIN",
            "A makerspace needs at least one admin: make someone else admin first.",
        )


def membership_change_role(*, membership: Membership, role: str, acting_user: User) -> Membership:
    require_makerspace_permission(
        acting_user,
        membership.makerspace_id,
        "members.manage",
        message="Only an admin of this makerspace changes roles.",
    )
    if role not in MembershipRole.values:
        raise validation_error("role", f"Choose one of {', '.join(MembershipRole.values)}.")
    with transaction.atomic():
        admins = _lock_admins(membership.makerspace_id)
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.role == role:
            return membership
        if role != Role.ADMIN:
            _ensure_not_last_admin(membership, admins)
        audit_record(
            actor=acting_user,
            instance=membership,
            action=Action.UPDATE,
            makerspace_id=membership.makerspace_id,
            changes={"role": [membership.role, role]},
        )
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    forget_roles(membership.user)
    return membership


def may_remove_membership(*, acting_user: User, membership: Membership) -> bool:
    """Anyone may leave a space; removing someone else takes ``members.manage``."""
    if acting_user.is_authenticated and membership.user_id == acting_user.pk:
        return True
    return has_makerspace_permission(acting_user, membership.makerspace_id, "members.manage")


def membership_remove(*, membership: Membership, acting_user: User) -> None:
    """Remove a member (or let one leave); the last admin cannot go."""
    if not may_remove_membership(acting_user=acting_user, membership=membership):
        raise permission_denied("Only an admin of this makerspace removes members.")
    with transaction.atomic():
        admins = _lock_admins(membership.makerspace_id)
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        _ensure_not_last_admin(membership, admins)
        audit_record(
            actor=acting_user,
            instance=membership,
            action=Action.LEAVE if acting_user.pk == membership.user_id else Action.DELETE,
            makerspace_id=membership.makerspace_id,
            changes={"role": membership.role, "user": membership.user.email},
        )
        membership.delete()
    forget_roles(membership.user)


# --- invitations ----------------------------------------------------------------------


def invitation_create(
    *, makerspace: Makerspace, email: str, role: str, acting_user: User
) -> Invitation:
    require_makerspace_permission(
        acting_user,
        makerspace,
        "members.invite",
        message="Only the space's staff invite new members.",
    )
    email = email.strip().lower()
    if not has_makerspace_permission(acting_user, makerspace, "members.manage") and (
        role != Role.MEMBER
    ):
        raise permission_denied("Managers invite members; only an admin can invite staff.")
    if Membership.objects.filter(makerspace=makerspace, user__email__iexact=email).exists():
        raise ConflictError("ALREADY_MEMBER", f"{email} already belongs to this makerspace.")
    with transaction.atomic():
        # A new invitation replaces an open one to the same address.
        Invitation.objects.select_for_update().filter(
            makerspace=makerspace, email__iexact=email, status=InvitationStatus.PENDING
        ).update(status=InvitationStatus.REVOKED, responded_at=timezone.now())
        invitation = Invitation.objects.create(
            makerspace=makerspace,
            email=email,
            role=role,
            invited_by=acting_user,
            expires_at=timezone.now() + INVITATION_VALID_FOR,
        )
        audit_record(
            actor=acting_user,
            instance=invitation,
            action=Action.INVITE,
            makerspace_id=makerspace.pk,
            changes={"email": email, "role": role},
        )
        invitation_id = str(invitation.pk)
        transaction.on_commit(lambda: send_invitation_email.delay(invitation_id))
    return invitation


def _open_invitation_for(invitation: Invitation, user: User) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.email.lower() != user.email.lower():
        # Someone else's invitation: as if it did not exist.
        raise ApplicationError("NOT_FOUND", "No such invitation.", status_code=404)
    if invitation.status != InvitationStatus.PENDING:
        raise ConflictError("INVITATION_CLOSED", f"This invitation was {invitation.status}.")
    if invitation.is_expired:
        raise ApplicationError(
            "INVITATION_EXPIRED", "This invitation has expired; ask for a new one.", status_code=410
        )
    return invitation


def invitation_accept(
    *, invitation: Invitation, acting_user: User, holds_emailed_link: bool = False
) -> Membership:
    """Accept an invitation addressed to the acting user's email; nobody accepts
    another's (it reads as missing to them).

    From the inbox (API) the address must be verified, or anyone could sign up with
    someone else's address and take their invitation. Opening the emailed link proves
    the inbox is theirs, so that path also verifies the address.
    """
    _require_signed_in(acting_user)
    user = acting_user
    if not user.email_verified and not holds_emailed_link:
        raise ApplicationError(
            "EMAIL_NOT_VERIFIED",
            "Verify your email address first, or use the link in the invitation email.",
            status_code=403,
        )
    with transaction.atomic():
        invitation = _open_invitation_for(invitation, user)
        if not user.email_verified:
            user.email_verified = True
            user.save(update_fields=["email_verified", "updated_at"])
        membership, created = Membership.objects.select_for_update().get_or_create(
            user=user,
            makerspace_id=invitation.makerspace_id,
            defaults={"role": invitation.role, "status": MembershipStatus.ACTIVE},
        )
        if not created:
            # A pending request or a lower role is lifted to what the invitation offers.
            if ROLE_RANK[invitation.role] > ROLE_RANK[membership.role]:
                membership.role = invitation.role
            membership.status = MembershipStatus.ACTIVE
            membership.save(update_fields=["role", "status", "updated_at"])
        invitation.status = InvitationStatus.ACCEPTED
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["status", "responded_at", "updated_at"])
        audit_record(
            actor=user,
            instance=membership,
            action=Action.JOIN,
            makerspace_id=invitation.makerspace_id,
            changes={"role": membership.role, "invitation": str(invitation.pk)},
        )
    forget_roles(user)
    return membership


def invitation_decline(*, invitation: Invitation, acting_user: User) -> Invitation:
    """Decline an invitation addressed to the acting user's email."""
    _require_signed_in(acting_user)
    with transaction.atomic():
        invitation = _open_invitation_for(invitation, acting_user)
        invitation.status = InvitationStatus.DECLINED
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["status", "responded_at", "updated_at"])
    return invitation


def invitation_revoke(*, invitation: Invitation, acting_user: User) -> Invitation:
    require_makerspace_permission(
        acting_user,
        invitation.makerspace_id,
        "members.invite",
        message="Only the space's staff withdraw invitations.",
    )
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status == InvitationStatus.PENDING:
            invitation.status = InvitationStatus.REVOKED
            invitation.responded_at = timezone.now()
            invitation.save(update_fields=["status", "responded_at", "updated_at"])
            audit_record(
                actor=acting_user,
                instance=invitation,
                action=Action.REVOKE,
                makerspace_id=invitation.makerspace_id,
                changes={"email": invitation.email},
            )
    return invitation


# --- skills -------------------------------------------------------------------------------


def skill_create(
    *,
    makerspace: Makerspace,
    slug: str,
    name: str,
    acting_user: User,
    description: str = "",
    validity_days: int | None = None,
    renews_on_use: bool = False,
) -> Skill:
    require_makerspace_permission(
        acting_user, makerspace, "skills.manage", message="Only the space's staff add skills."
    )
    try:
        with transaction.atomic():
            skill = Skill.objects.create(
                makerspace=makerspace,
                slug=slug,
                name=name,
                description=description,
                validity_days=validity_days,
                renews_on_use=renews_on_use,
            )
            audit_record(
                actor=acting_user,
                instance=skill,
                action=Action.CREATE,
                makerspace_id=makerspace.pk,
                changes={"slug": slug, "name": name},
            )
    except IntegrityError:
        raise validation_error("slug", f"This makerspace already has a skill {slug!r}.") from None
    return skill


def skill_update(*, skill: Skill, acting_user: User, changes: dict[str, Any]) -> Skill:
    require_makerspace_permission(
        acting_user,
        skill.makerspace_id,
        "skills.manage",
        message="Only the space's staff change skills.",
    )
    with transaction.atomic():
        skill = Skill.objects.select_for_update().get(pk=skill.pk)
        update_audited(skill, changes=changes, actor=acting_user, makerspace_id=skill.makerspace_id)
    return skill


def skill_delete(*, skill: Skill, acting_user: User) -> None:
    require_makerspace_permission(
        acting_user,
        skill.makerspace_id,
        "skills.manage",
        message="Only the space's staff delete skills.",
    )
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            instance=skill,
            action=Action.DELETE,
            makerspace_id=skill.makerspace_id,
            changes={"slug": skill.slug},
        )
        skill.delete()


def skill_grant(
    *,
    membership: Membership,
    skill: Skill,
    acting_user: User,
    expires_at: datetime | None = None,
) -> MemberSkill:
    """Grant (or renew) a skill. Without ``expires_at`` the skill's validity applies.

    Staff with ``skills.grant`` grant any skill; an instructor of ``skill`` grants
    that one skill to other members of the space.
    """
    if not has_makerspace_permission(acting_user, membership.makerspace_id, "skills.grant"):
        if not is_skill_instructor(user=acting_user, skill=skill):
            raise permission_denied(
                f"Only the space's staff or an instructor of {skill.name} can grant it."
            )
        if membership.user_id == acting_user.pk:
            raise permission_denied("Instructors cannot certify themselves; ask the staff.")
    if skill.makerspace_id != membership.makerspace_id:
        raise validation_error("skill", "This skill belongs to another makerspace.")
    now = timezone.now()
    if expires_at is None and skill.validity_days:
        expires_at = now + timedelta(days=skill.validity_days)
    if expires_at is not None and expires_at <= now:
        raise validation_error("expires_at", "Must be in the future.")
    with transaction.atomic():
        grant, created = MemberSkill.objects.select_for_update().get_or_create(
            membership=membership,
            skill=skill,
            defaults={"granted_by": acting_user, "granted_at": now, "expires_at": expires_at},
        )
        if not created:
            old_expiry = grant.expires_at
            grant.granted_by = acting_user
            grant.granted_at = now
            grant.expires_at = expires_at
            grant.save(update_fields=["granted_by", "granted_at", "expires_at", "updated_at"])
        audit_record(
            actor=acting_user,
            instance=grant,
            action=Action.GRANT,
            makerspace_id=membership.makerspace_id,
            changes={
                "skill": skill.slug,
                "user": membership.user.email,
                "expires_at": [None if created else old_expiry, expires_at],
            },
        )
    return grant


def skill_revoke(*, membership: Membership, skill: Skill, acting_user: User) -> None:
    require_makerspace_permission(
        acting_user,
        membership.makerspace_id,
        "skills.grant",
        message="Only the space's staff revoke skills.",
    )
    with transaction.atomic():
        grant = MemberSkill.objects.filter(membership=membership, skill=skill).first()
        if grant is None:
            raise ApplicationError(
                "NOT_FOUND", "This member does not hold that skill.", status_code=404
            )
        audit_record(
            actor=acting_user,
            instance=grant,
            action=Action.REVOKE,
            makerspace_id=membership.makerspace_id,
            changes={"skill": skill.slug, "user": membership.user.email},
        )
        grant.delete()


# --- closures ----------------------------------------------------------------------------


def closure_add(*, makerspace: Makerspace, day: date, reason: str, acting_user: User) -> Closure:
    require_makerspace_permission(
        acting_user,
        makerspace,
        "closures.manage",
        message="Only the space's staff mark closures.",
    )
    try:
        with transaction.atomic():
            closure = Closure.objects.create(makerspace=makerspace, date=day, reason=reason)
            audit_record(
                actor=acting_user,
                instance=closure,
                action=Action.CREATE,
                makerspace_id=makerspace.pk,
                changes={"date": day, "reason": reason},
            )
    except IntegrityError:
        raise ConflictError("ALREADY_CLOSED", f"{day} is already marked closed.") from None
    return closure


def closure_remove(*, closure: Closure, acting_user: User) -> None:
    require_makerspace_permission(
        acting_user,
        closure.makerspace_id,
        "closures.manage",
        message="Only the space's staff remove closures.",
    )
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            instance=closure,
            action=Action.DELETE,
            makerspace_id=closure.makerspace_id,
            changes={"date": closure.date},
        )
        closure.delete()


# --- reactivation -------------------------------------------------------------------------


def makerspace_reactivate(*, makerspace: Makerspace, acting_user: User) -> Makerspace:
    """Bring a deactivated space back into the directory; a super admin's call."""
    _require_super_admin(acting_user, "Only a super admin reactivates a makerspace.")
    with transaction.atomic():
        makerspace = Makerspace.objects.select_for_update().get(pk=makerspace.pk)
        if not makerspace.is_active:
            makerspace.is_active = True
            makerspace.save(update_fields=["is_active", "updated_at"])
            audit_record(
                actor=acting_user,
                instance=makerspace,
                action=Action.UPDATE,
                makerspace_id=makerspace.pk,
                changes={"is_active": [False, True]},
            )
    return makerspace


# --- instructors and renewal on use ---------------------------------------------------


def skill_instructor_set(
    *, membership: Membership, skill: Skill, is_instructor: bool, acting_user: User
) -> SkillInstructor | None:
    """Mark (or unmark) a member as an instructor of ``skill``; idempotent either way.

    An instructor must be an active member holding the skill now.
    """
    require_makerspace_permission(
        acting_user,
        skill.makerspace_id,
        "skills.manage",
        message="Only the space's staff choose instructors.",
    )
    if skill.makerspace_id != membership.makerspace_id:
        raise validation_error("membership", "This member belongs to another makerspace.")
    with transaction.atomic():
        # The membership's lock orders this against a concurrent removal or revoke.
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        current = SkillInstructor.objects.filter(skill=skill, membership=membership).first()
        if not is_instructor:
            if current is not None:
                audit_record(
                    actor=acting_user,
                    instance=current,
                    action=Action.REVOKE,
                    makerspace_id=skill.makerspace_id,
                    changes={
                        "instructor": [True, False],
                        "skill": skill.slug,
                        "user": membership.user.email,
                    },
                )
                current.delete()
            return None
        if current is not None:
            return current
        if membership.status != MembershipStatus.ACTIVE:
            raise validation_error("membership", "Only an active member can be an instructor.")
        if not MemberSkill.objects.current().filter(membership=membership, skill=skill).exists():
            raise validation_error(
                "membership", f"Grant {skill.name} to this member before they teach it."
            )
        instructor = SkillInstructor.objects.create(
            skill=skill, membership=membership, appointed_by=acting_user
        )
        audit_record(
            actor=acting_user,
            instance=instructor,
            action=Action.GRANT,
            makerspace_id=skill.makerspace_id,
            changes={
                "instructor": [False, True],
                "skill": skill.slug,
                "user": membership.user.email,
            },
        )
    return instructor


def skills_renew_on_use(
    *,
    user: User,
    makerspace: Makerspace,
    skill_ids: list[Any],
    acting_user: User,
) -> list[MemberSkill]:
    """Using a machine renews the user's current grants of its skills that renew on use:
    each runs until now + the skill's validity again. A grant that already runs longer
    (or never expires) is left alone, and an expired one is not revived by use.

    The acting user is whoever ends the session (the member, staff or the system
    actor), so it takes the right to use the space's machines, not to grant skills.
    """
    require_makerspace_permission(
        acting_user, makerspace, "equipment.book", message="You may not use this makerspace."
    )
    now = timezone.now()
    renewed = []
    with transaction.atomic():
        grants = (
            MemberSkill.objects.current()
            .select_for_update(of=("self",))
            .filter(
                membership__user=user,
                membership__makerspace=makerspace,
                membership__status=MembershipStatus.ACTIVE,
                skill_id__in=skill_ids,
                skill__renews_on_use=True,
                skill__validity_days__gt=0,
                expires_at__isnull=False,
            )
            .select_related("skill")
            .order_by("pk")
        )
        for grant in grants:
            assert grant.skill.validity_days is not None
            assert grant.expires_at is not None
            new_expiry = now + timedelta(days=grant.skill.validity_days)
            if grant.expires_at >= new_expiry:
                continue
            old_expiry = grant.expires_at
            grant.expires_at = new_expiry
            grant.save(update_fields=["expires_at", "updated_at"])
            audit_record(
                actor=acting_user,
                instance=grant,
                action=Action.UPDATE,
                makerspace_id=makerspace.pk,
                changes={
                    "skill": grant.skill.slug,
                    "user": user.email,
                    "expires_at": [old_expiry, new_expiry],
                    "renewed_on_use": True,
                },
            )
            renewed.append(grant)
    return renewed
