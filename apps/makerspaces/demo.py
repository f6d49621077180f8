"""Demo makerspaces, memberships, skills, closures and an open invitation."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.accounts.models import User
from apps.makerspaces import services
from apps.makerspaces.models import (
    Closure,
    Invitation,
    InvitationStatus,
    Makerspace,
    Membership,
    MemberSkill,
    Skill,
)

SPACES: list[dict[str, Any]] = [
    {
        "slug": "kyiv-fab-lab",
        "name": "Kyiv Fab Lab",
        "description": "Laser cutters, 3D printers and a CNC router in the heart of Podil.",
        "address": "Kostiantynivska St 2, Kyiv",
        "location": "Kyiv",
        "latitude": Decimal("50.464200"),
        "longitude": Decimal("30.515100"),
        "timezone": "Europe/Kyiv",
        "currency": "UAH",
        "contact_email": "hello@kyivfablab.example",
        "join_policy": "open",
        "business_hours": {
            "mon": [["10:00", "14:00"], ["15:00", "21:00"]],
            "tue": [["10:00", "21:00"]],
            "wed": [["10:00", "21:00"]],
            "thu": [["10:00", "21:00"]],
            "fri": [["10:00", "22:00"]],
            "sat": [["11:00", "18:00"]],
            "sun": [],
        },
        "verified": True,
        "owner": "owner@makrx.local",
    },
    {
        "slug": "lviv-maker-hub",
        "name": "Lviv Maker Hub",
        "description": "Woodshop and electronics bench; members approved by our team.",
        "address": "Rynok Square 10, Lviv",
        "location": "Lviv",
        "latitude": Decimal("49.841900"),
        "longitude": Decimal("24.031500"),
        "timezone": "Europe/Kyiv",
        "currency": "UAH",
        "join_policy": "approval",
        "verified": True,
        "owner": "owner@makrx.local",
    },
    {
        "slug": "berlin-hackerspace",
        "name": "Berlin Hackerspace",
        "description": "Invitation-only hackerspace with a big SLA printer.",
        "address": "Oranienstraße 1, Berlin",
        "location": "Berlin",
        "latitude": Decimal("52.500800"),
        "longitude": Decimal("13.419700"),
        "timezone": "Europe/Berlin",
        "currency": "EUR",
        "join_policy": "invite",
        "verified": False,
        "owner": "admin@makrx.local",
    },
]
SKILLS = [
    ("laser-basic", "Laser cutter basics", "Safe operation of the CO2 laser cutters.", 365),
    ("3d-printing", "3D printing", "FDM printers: slicing, loading filament, first layer.", None),
    ("cnc-router", "CNC router", "Clamping, feeds and speeds, emergency stop.", 365),
]


def _user(email: str) -> User:
    return User.objects.get(email=email)


def load(*, stdout: Any, style: Any) -> None:
    super_admin = _user("admin@makrx.local")
    for spec in SPACES:
        spec = dict(spec)
        owner = _user(spec.pop("owner"))
        verified = spec.pop("verified")
        space = Makerspace.objects.filter(slug=spec["slug"]).first()
        if space is None:
            space = services.makerspace_create(acting_user=owner, **spec)
        if verified and not space.verified:
            services.makerspace_set_verified(makerspace=space, acting_user=super_admin)

    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    lviv = Makerspace.objects.get(slug="lviv-maker-hub")
    berlin = Makerspace.objects.get(slug="berlin-hackerspace")
    owner = _user("owner@makrx.local")
    for email, space, role in [
        ("manager@makrx.local", kyiv, "manager"),
        ("member@makrx.local", kyiv, "member"),
        ("newbie@makrx.local", kyiv, "member"),
        ("member@makrx.local", lviv, "member"),
    ]:
        Membership.objects.get_or_create(
            user=_user(email), makerspace=space, defaults={"role": role, "status": "active"}
        )
    # A request to join that a manager can approve.
    Membership.objects.get_or_create(
        user=_user("newbie@makrx.local"),
        makerspace=lviv,
        defaults={"role": "member", "status": "pending"},
    )

    for slug, name, description, validity in SKILLS:
        if not Skill.objects.filter(makerspace=kyiv, slug=slug).exists():
            services.skill_create(
                makerspace=kyiv,
                slug=slug,
                name=name,
                description=description,
                validity_days=validity,
                acting_user=owner,
            )
    member = Membership.objects.get(user__email="member@makrx.local", makerspace=kyiv)
    for slug in ("laser-basic", "3d-printing"):
        if not MemberSkill.objects.filter(membership=member, skill__slug=slug).exists():
            services.skill_grant(
                membership=member,
                skill=Skill.objects.get(makerspace=kyiv, slug=slug),
                acting_user=_user("manager@makrx.local"),
            )

    year = timezone.localdate().year
    for day, reason in [(date(year, 12, 25), "Christmas"), (date(year + 1, 1, 1), "New Year")]:
        if not Closure.objects.filter(makerspace=kyiv, date=day).exists():
            services.closure_add(makerspace=kyiv, day=day, reason=reason, acting_user=owner)

    if not Invitation.objects.filter(
        makerspace=berlin, email="newbie@makrx.local", status=InvitationStatus.PENDING
    ).exists():
        Invitation.objects.create(
            makerspace=berlin,
            email="newbie@makrx.local",
            role="member",
            invited_by=super_admin,
            expires_at=timezone.now() + timedelta(days=14),
        )
    stdout.write(
        "  Spaces: Kyiv Fab Lab (open), Lviv Maker Hub (approval), Berlin Hackerspace (invite);"
        " newbie@ has an invitation to Berlin."
    )
