from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.core.models import AuditLogEntry
from apps.makerspaces.models import Makerspace, Membership, MemberSkill
from apps.makerspaces.selectors import current_skill_slugs

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_every_app_and_is_safe_to_run_twice() -> None:
    first = StringIO()
    call_command("seed_demo", stdout=first)
    counts = (
        User.objects.count(),
        Makerspace.objects.count(),
        Membership.objects.count(),
        MemberSkill.objects.count(),
        AuditLogEntry.objects.count(),
    )

    call_command("seed_demo", stdout=StringIO())

    assert (
        User.objects.count(),
        Makerspace.objects.count(),
        Membership.objects.count(),
        MemberSkill.objects.count(),
        AuditLogEntry.objects.count(),
    ) == counts
    output = first.getvalue()
    assert "member@makrx.local" in output
    assert "makrx-demo-2026" in output
    member = User.objects.get(email="member@makrx.local")
    assert member.check_password("makrx-demo-2026")
    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    assert current_skill_slugs(user=member, makerspace=kyiv) == {"laser-basic", "3d-printing"}
    assert Membership.objects.get(user__email="owner@makrx.local", makerspace=kyiv).role == "admin"
