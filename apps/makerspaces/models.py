from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel
from apps.core.permissions import Role
from apps.makerspaces.hours import (
    default_business_hours,
    validate_business_hours,
    validate_timezone,
)

currency_code = RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter ISO 4217 code, e.g. EUR."))


class JoinPolicy(models.TextChoices):
    OPEN = "open", _("Anyone may join")
    APPROVAL = "approval", _("A manager approves each request")
    INVITE = "invite", _("By invitation only")


class Makerspace(BaseModel):
    """A makerspace: the tenant every other object belongs to."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    location = models.CharField(_("city / area"), max_length=120, blank=True)
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    timezone = models.CharField(
        _("timezone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[currency_code]
    )
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    business_hours = models.JSONField(
        _("business hours"), default=default_business_hours, validators=[validate_business_hours]
    )
    join_policy = models.CharField(
        _("join policy"), max_length=10, choices=JoinPolicy, default=JoinPolicy.APPROVAL
    )
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    verified = models.BooleanField(_("verified"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(latitude__isnull=True) & models.Q(longitude__isnull=True))
                | (
                    models.Q(latitude__gte=-90, latitude__lte=90)
                    & models.Q(longitude__gte=-180, longitude__lte=180)
                ),
                name="makerspace_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Closure(BaseModel):
    """A dated closure (a holiday, a move): no opening hours that day."""

    makerspace = models.ForeignKey(Makerspace, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["makerspace", "date"], name="closure_unique_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.makerspace} closed {self.date}"


class MembershipRole(models.TextChoices):
    ADMIN = Role.ADMIN, _("Admin")
    MANAGER = Role.MANAGER, _("Manager")
    MEMBER = Role.MEMBER, _("Member")


class MembershipStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PENDING = "pending", _("Pending approval")
    SUSPENDED = "suspended", _("Suspended")


class Membership(BaseModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    makerspace = models.ForeignKey(Makerspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(
        _("role"), max_length=10, choices=MembershipRole, default=MembershipRole.MEMBER
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MembershipStatus, default=MembershipStatus.ACTIVE
    )
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        ordering = ["makerspace", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "makerspace"], name="membership_unique_pair"),
        ]
        indexes = [models.Index(fields=["makerspace", "role", "status"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.makerspace} ({self.role})"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")


class Invitation(BaseModel):
    makerspace = models.ForeignKey(Makerspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    role = models.CharField(
        _("role"), max_length=10, choices=MembershipRole, default=MembershipRole.MEMBER
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=InvitationStatus, default=InvitationStatus.PENDING
    )
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address and space; a new one replaces it.
            models.UniqueConstraint(
                "makerspace",
                Lower("email"),
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.makerspace} ({self.role})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class Skill(BaseModel):
    """Something a member must be trained on, e.g. ``laser-basic``."""

    makerspace = models.ForeignKey(Makerspace, on_delete=models.CASCADE, related_name="skills")
    slug = models.SlugField(_("slug"), max_length=80)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    validity_days = models.PositiveIntegerField(
        _("valid for (days)"),
        null=True,
        blank=True,
        help_text=_("Default expiry of a new grant; empty means it never expires."),
    )
    renews_on_use = models.BooleanField(
        _("renews on use"),
        default=False,
        help_text=_(
            "Each session on a machine needing this skill extends the member's grant "
            "by the validity again."
        ),
    )

    class Meta:
        ordering = ["makerspace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["makerspace", "slug"], name="skill_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.name


def current_grant_condition(prefix: str = "") -> models.Q:
    """The one rule of a current skill grant, as a filter: it never expires, or its
    expiry is still ahead. Expired skills count as not held. ``prefix`` reaches the
    grant from another model (``"grants__"`` from a skill); ``MemberSkill.is_current``
    is the same rule for a loaded row."""
    return models.Q(**{f"{prefix}expires_at__isnull": True}) | models.Q(
        **{f"{prefix}expires_at__gt": timezone.now()}
    )


class MemberSkillQuerySet(models.QuerySet["MemberSkill"]):
    def current(self) -> "MemberSkillQuerySet":
        """Grants that count (see ``current_grant_condition``)."""
        return self.filter(current_grant_condition())


class MemberSkill(BaseModel):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="grants")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = MemberSkillQuerySet.as_manager()

    class Meta:
        ordering = ["skill__name"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "skill"], name="member_skill_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.skill} · {self.membership.user}"

    @property
    def is_current(self) -> bool:
        """``current_grant_condition`` for this row, without a query."""
        return self.expires_at is None or self.expires_at > timezone.now()


class SkillInstructor(BaseModel):
    """A member the space trusts to certify others in one skill."""

    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="instructors")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="instructs")
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["skill__name"]
        constraints = [
            models.UniqueConstraint(fields=["skill", "membership"], name="skill_instructor_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.membership.user} instructs {self.skill}"
