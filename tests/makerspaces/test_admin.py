"""The staff admin, through its real views: scoped to the spaces a staff member runs,
and every write through a service (rules hold, the audit log is written)."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditLogEntry
from apps.makerspaces.admin_scoped import MakerspaceListFilter
from apps.makerspaces.models import Invitation, Makerspace, Membership, MemberSkill, Skill
from tests import factories
from tests.admin_support import (
    action_names,
    change_url,
    form_data,
    logged_in,
    messages_of,
    rows,
    staff,
)
from tests.factories import DEFAULT_PASSWORD

# factory_boy types a call as the factory, not the model it builds.
ClosureFactory: Any = factories.ClosureFactory
InvitationFactory: Any = factories.InvitationFactory
MakerspaceFactory: Any = factories.MakerspaceFactory
MembershipFactory: Any = factories.MembershipFactory
MemberSkillFactory: Any = factories.MemberSkillFactory
SkillFactory: Any = factories.SkillFactory
UserFactory: Any = factories.UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

# The changelists make a fixed number of queries, whatever the number of rows.
CHANGELIST_QUERY_BOUND = 12


# --- helpers -------------------------------------------------------------------------------


def changelist(model: str) -> str:
    app = "core" if model == "auditlogentry" else "makerspaces"
    return reverse(f"admin:{app}_{model}_changelist")


def add_url(model: str) -> str:
    return reverse(f"admin:makerspaces_{model}_add")


@pytest.fixture
def space_a() -> Makerspace:
    return MakerspaceFactory.create(name="Alpha Works")


@pytest.fixture
def space_b() -> Makerspace:
    return MakerspaceFactory.create(name="Bravo Lab")


@pytest.fixture
def manager_a(space_a: Makerspace) -> Any:
    return staff(space_a, "manager")


@pytest.fixture
def admin_a(space_a: Makerspace) -> Any:
    return staff(space_a, "admin")


@pytest.fixture
def manager_b(space_b: Makerspace) -> Any:
    return staff(space_b, "manager")


@pytest.fixture
def super_admin() -> Any:
    return UserFactory.create(is_superuser=True)


@pytest.fixture
def both_spaces_filled(space_a: Makerspace, space_b: Makerspace) -> None:
    for space in (space_a, space_b):
        staff(space, "admin")
        for _ in range(3):
            MembershipFactory.create(makerspace=space)
            SkillFactory.create(makerspace=space)


# --- who may use the admin -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "role", "space_is_active", "can_open"),
    [
        ("admin of an active space", "admin", True, True),
        ("manager of an active space", "manager", True, True),
        ("plain member", "member", True, False),
        ("manager of a deactivated space only", "manager", False, False),
        ("no membership at all", None, True, False),
    ],
)
def test_admin_index_is_for_the_staff_of_an_active_space(
    case: str, role: str | None, space_is_active: bool, can_open: bool
) -> None:
    space = MakerspaceFactory.create(is_active=space_is_active)
    user = staff(space, role) if role else UserFactory.create()
    assert not user.is_staff

    response = logged_in(user).get(reverse("admin:index"))

    if can_open:
        assert response.status_code == 200, case
        assert "MakrX staff" in response.content.decode()
    else:
        assert response.status_code == 302, case
        assert response["Location"].startswith(reverse("admin:login"))


def test_a_plain_member_is_sent_to_the_login_page(space_a: Makerspace) -> None:
    member = staff(space_a, "member")

    response = logged_in(member).get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next=/admin/"


def test_a_manager_without_is_staff_can_sign_in_through_the_admin_login(
    manager_a: Any, space_a: Makerspace
) -> None:
    member = staff(space_a, "member")
    client = Client()

    manager_login = client.post(
        reverse("admin:login"),
        {"username": manager_a.email, "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )
    member_login = Client().post(
        reverse("admin:login"),
        {"username": member.email, "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert manager_login.status_code == 302
    assert manager_login["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert member_login.status_code == 200
    assert member_login.context["form"].errors


def test_the_admin_login_counts_failures_like_the_sign_in_page(
    manager_a: Any, settings: Any
) -> None:
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT_ACCOUNT_ADDRESS):
        client.post(reverse("admin:login"), {"username": manager_a.email, "password": "wrong"})

    response = client.post(
        reverse("admin:login"), {"username": manager_a.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_accounts_stay_with_super_admins(manager_a: Any, super_admin: Any) -> None:
    manager_client = logged_in(manager_a)

    index = manager_client.get(reverse("admin:index"))
    users = manager_client.get(reverse("admin:accounts_user_changelist"))
    user_page = manager_client.get(reverse("admin:accounts_user_change", args=[manager_a.pk]))

    app_labels = {app["app_label"] for app in index.context["app_list"]}
    assert "accounts" not in app_labels
    assert "makerspaces" in app_labels
    assert users.status_code == 403
    assert user_page.status_code == 403
    assert logged_in(super_admin).get(reverse("admin:accounts_user_changelist")).status_code == 200


# --- scoping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "space_of"),
    [
        ("makerspace", lambda row: row.pk),
        ("membership", lambda row: row.makerspace_id),
        ("skill", lambda row: row.makerspace_id),
    ],
)
@pytest.mark.usefixtures("both_spaces_filled")
def test_changelists_show_only_the_managers_space(
    model: str,
    space_of: Any,
    manager_a: Any,
    space_a: Makerspace,
    space_b: Makerspace,
    django_assert_max_num_queries: Any,
) -> None:
    client = logged_in(manager_a)

    with django_assert_max_num_queries(CHANGELIST_QUERY_BOUND):
        response = client.get(changelist(model))

    assert response.status_code == 200
    assert rows(response)
    assert {space_of(row) for row in rows(response)} == {space_a.pk}
    assert space_b.name not in response.content.decode()


@pytest.mark.usefixtures("both_spaces_filled")
def test_a_super_admin_sees_every_space(
    super_admin: Any,
    space_a: Makerspace,
    space_b: Makerspace,
    django_assert_max_num_queries: Any,
) -> None:
    client = logged_in(super_admin)

    with django_assert_max_num_queries(CHANGELIST_QUERY_BOUND):
        spaces = client.get(changelist("makerspace"))
    skills = client.get(changelist("skill"))

    assert {row.pk for row in rows(spaces)} == {space_a.pk, space_b.pk}
    assert {row.makerspace_id for row in rows(skills)} == {space_a.pk, space_b.pk}


def test_member_count_counts_active_members(manager_a: Any, space_a: Makerspace) -> None:
    MembershipFactory.create(makerspace=space_a)
    MembershipFactory.create(makerspace=space_a, status="pending")

    response = logged_in(manager_a).get(changelist("makerspace"))

    (row,) = rows(response)
    assert row.active_member_count == 2


@pytest.mark.parametrize("model", ["makerspace", "membership", "skill"])
def test_another_spaces_change_page_shows_nothing_of_it(
    model: str, manager_a: Any, space_b: Makerspace
) -> None:
    admin_b = staff(space_b, "admin")
    skill_b = SkillFactory.create(makerspace=space_b, name="Bravo secret skill")
    other = {
        "makerspace": space_b,
        "membership": Membership.objects.get(user=admin_b),
        "skill": skill_b,
    }[model]

    response = logged_in(manager_a).get(change_url(other))

    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response["Location"] == reverse("admin:index")
    followed = logged_in(manager_a).get(change_url(other), follow=True)
    assert space_b.name not in followed.content.decode()
    assert "Bravo secret skill" not in followed.content.decode()


def test_the_makerspace_filter_offers_only_the_managers_spaces(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    SkillFactory.create(makerspace=space_a)
    SkillFactory.create(makerspace=space_b)

    response = logged_in(manager_a).get(changelist("skill"))

    (space_filter,) = [
        spec
        for spec in response.context["cl"].filter_specs
        if isinstance(spec, MakerspaceListFilter)
    ]
    assert space_filter.lookup_choices == [(str(space_a.pk), space_a.name)]


def test_filtering_by_another_space_shows_nothing(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    SkillFactory.create(makerspace=space_b)

    response = logged_in(manager_a).get(changelist("skill"), {"makerspace": str(space_b.pk)})

    # An unknown choice is an invalid lookup: the admin falls back to ?e=1.
    assert response.status_code == 302
    assert "e=1" in response["Location"]


def test_the_skill_form_offers_only_the_managers_spaces(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    response = logged_in(manager_a).get(add_url("skill"))

    choices = response.context["adminform"].form.fields["makerspace"].queryset
    assert list(choices) == [space_a]
    assert response.context["adminform"].form.initial["makerspace"] == str(space_a.pk)


# --- writes into another space are refused --------------------------------------------------


def test_adding_a_skill_into_another_space_is_refused(manager_a: Any, space_b: Makerspace) -> None:
    response = logged_in(manager_a).post(
        add_url("skill"),
        {"makerspace": str(space_b.pk), "slug": "laser-basic", "name": "Laser basics"},
    )

    assert response.status_code == 200
    assert "makerspace" in response.context["adminform"].form.errors
    assert not Skill.objects.filter(slug="laser-basic").exists()
    assert not AuditLogEntry.objects.exists()


def test_a_change_post_cannot_move_a_skill_into_another_space(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    skill = SkillFactory.create(makerspace=space_a, slug="lathe", name="Lathe")
    client = logged_in(manager_a)
    data = form_data(client.get(change_url(skill)))
    data["makerspace"] = str(space_b.pk)

    client.post(change_url(skill), data)

    skill.refresh_from_db()
    assert skill.makerspace_id == space_a.pk
    assert not Skill.objects.filter(makerspace=space_b).exists()


def test_a_change_post_cannot_move_a_membership_into_another_space(
    admin_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    membership = MembershipFactory.create(makerspace=space_a, role="member")
    client = logged_in(admin_a)
    data = form_data(client.get(change_url(membership)))
    data["makerspace"] = str(space_b.pk)

    client.post(change_url(membership), data)

    membership.refresh_from_db()
    assert membership.makerspace_id == space_a.pk
    assert not Membership.objects.filter(makerspace=space_b).exists()


def test_posting_to_another_spaces_skill_changes_nothing(
    manager_a: Any, space_b: Makerspace
) -> None:
    skill_b = SkillFactory.create(makerspace=space_b, name="Bravo skill")

    response = logged_in(manager_a).post(
        change_url(skill_b),
        {"makerspace": str(space_b.pk), "name": "Taken over", "slug": skill_b.slug},
    )

    assert response.status_code in (302, 403, 404)
    skill_b.refresh_from_db()
    assert skill_b.name == "Bravo skill"
    assert not AuditLogEntry.objects.exists()


def test_granting_a_skill_of_another_space_is_refused(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    membership = MembershipFactory.create(makerspace=space_a)
    skill_b = SkillFactory.create(makerspace=space_b)

    response = logged_in(manager_a).post(
        add_url("memberskill"), {"membership": str(membership.pk), "skill": str(skill_b.pk)}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not MemberSkill.objects.exists()


def test_a_manager_sees_the_space_but_cannot_change_it(manager_a: Any, space_a: Makerspace) -> None:
    client = logged_in(manager_a)
    page = client.get(change_url(space_a))

    response = client.post(change_url(space_a), {"name": "Renamed by a manager"})

    assert page.status_code == 200
    assert response.status_code == 403
    space_a.refresh_from_db()
    assert space_a.name == "Alpha Works"


# --- writes go through the services --------------------------------------------------------


def test_demoting_the_last_admin_is_refused_and_nothing_changes(
    admin_a: Any, space_a: Makerspace
) -> None:
    membership = Membership.objects.get(user=admin_a)
    client = logged_in(admin_a)
    data = form_data(client.get(change_url(membership)))
    data["role"] = "manager"

    response = client.post(change_url(membership), data)

    assert response.status_code == 302
    assert response["Location"] == change_url(membership)
    assert any("at least one admin" in message for message in messages_of(response))
    membership.refresh_from_db()
    assert membership.role == "admin"
    assert not AuditLogEntry.objects.exists()


def test_demoting_an_admin_when_another_remains_goes_through_the_service(
    admin_a: Any, space_a: Makerspace
) -> None:
    other_admin = MembershipFactory.create(makerspace=space_a, role="admin")
    client = logged_in(admin_a)
    data = form_data(client.get(change_url(other_admin)))
    data["role"] = "manager"

    response = client.post(change_url(other_admin), data)

    assert response.status_code == 302
    other_admin.refresh_from_db()
    assert other_admin.role == "manager"
    entry = AuditLogEntry.objects.get(object_id=str(other_admin.pk))
    assert entry.actor == admin_a
    assert entry.changes == {"role": ["admin", "manager"]}


def test_an_admin_change_is_audited_and_visible_only_to_that_spaces_staff(
    admin_a: Any, manager_a: Any, manager_b: Any, space_a: Makerspace
) -> None:
    client = logged_in(admin_a)
    data = form_data(client.get(change_url(space_a)))
    data["name"] = "Alpha Works Reloaded"

    response = client.post(change_url(space_a), data)

    assert response.status_code == 302
    space_a.refresh_from_db()
    assert space_a.name == "Alpha Works Reloaded"
    entry = AuditLogEntry.objects.get(makerspace_id=space_a.pk, action="update")
    assert entry.actor == admin_a
    assert entry.changes == {"name": ["Alpha Works", "Alpha Works Reloaded"]}

    seen_by_a = logged_in(manager_a).get(changelist("auditlogentry"))
    seen_by_b = logged_in(manager_b).get(changelist("auditlogentry"))
    entry_page_for_b = logged_in(manager_b).get(change_url(entry))

    assert entry in rows(seen_by_a)
    assert entry not in rows(seen_by_b)
    assert "Alpha Works Reloaded" not in seen_by_b.content.decode()
    assert entry_page_for_b.status_code in (302, 404)


def test_the_makerspace_page_shows_its_audit_history(
    admin_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    AuditLogEntry.objects.create(
        makerspace_id=space_a.pk,
        content_type_id=_content_type_id(Makerspace),
        object_id=str(space_a.pk),
        object_repr="alpha-entry",
        action="update",
    )
    AuditLogEntry.objects.create(
        makerspace_id=space_b.pk,
        content_type_id=_content_type_id(Makerspace),
        object_id=str(space_b.pk),
        object_repr="bravo-entry",
        action="update",
    )

    page = logged_in(admin_a).get(change_url(space_a)).content.decode()

    assert "alpha-entry" in page
    assert "bravo-entry" not in page
    assert f"{changelist('auditlogentry')}?makerspace={space_a.pk}" in page


def _content_type_id(model: Any) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(model).pk


def test_the_audit_log_cannot_be_written_through_the_admin(
    admin_a: Any, super_admin: Any, space_a: Makerspace
) -> None:
    for user in (admin_a, super_admin):
        client = logged_in(user)
        assert client.get(reverse("admin:core_auditlogentry_add")).status_code == 403


def test_verified_is_for_super_admins_only(
    admin_a: Any, super_admin: Any, space_a: Makerspace
) -> None:
    client = logged_in(admin_a)
    data = form_data(client.get(change_url(space_a)))
    data["verified"] = "on"

    client.post(change_url(space_a), data)

    space_a.refresh_from_db()
    assert space_a.verified is False

    assert action_names(logged_in(admin_a).get(changelist("makerspace"))) == {"deactivate"}

    response = logged_in(super_admin).post(
        changelist("makerspace"),
        {"action": "verify", "_selected_action": [str(space_a.pk)]},
    )

    assert response.status_code == 302
    space_a.refresh_from_db()
    assert space_a.verified is True
    assert AuditLogEntry.objects.filter(makerspace_id=space_a.pk, action="verify").exists()


def test_an_admin_deactivates_their_space_through_the_action(
    admin_a: Any, manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    assert "deactivate" not in action_names(logged_in(manager_a).get(changelist("makerspace")))

    response = logged_in(admin_a).post(
        changelist("makerspace"),
        {"action": "deactivate", "_selected_action": [str(space_a.pk), str(space_b.pk)]},
    )

    assert response.status_code == 302
    space_a.refresh_from_db()
    space_b.refresh_from_db()
    assert space_a.is_active is False
    assert space_b.is_active is True
    assert AuditLogEntry.objects.filter(makerspace_id=space_a.pk, action="delete").exists()


def test_a_manager_approves_pending_requests_of_their_space(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    pending_a = MembershipFactory.create(makerspace=space_a, status="pending")
    pending_b = MembershipFactory.create(makerspace=space_b, status="pending")

    response = logged_in(manager_a).post(
        changelist("membership"),
        {"action": "approve_pending", "_selected_action": [str(pending_a.pk), str(pending_b.pk)]},
    )

    assert response.status_code == 302
    pending_a.refresh_from_db()
    pending_b.refresh_from_db()
    assert pending_a.status == "active"
    assert pending_b.status == "pending"
    entry = AuditLogEntry.objects.get(action="approve")
    assert entry.object_id == str(pending_a.pk)
    assert entry.actor == manager_a


def test_a_manager_cannot_change_roles(manager_a: Any, space_a: Makerspace) -> None:
    member = MembershipFactory.create(makerspace=space_a, role="member")

    response = logged_in(manager_a).post(change_url(member), {"role": "admin"})

    assert response.status_code == 403
    member.refresh_from_db()
    assert member.role == "member"


def test_adding_a_skill_goes_through_the_service(manager_a: Any, space_a: Makerspace) -> None:
    response = logged_in(manager_a).post(
        add_url("skill"),
        {"makerspace": str(space_a.pk), "slug": "laser-basic", "name": "Laser basics"},
    )

    assert response.status_code == 302
    skill = Skill.objects.get(slug="laser-basic")
    assert skill.makerspace_id == space_a.pk
    entry = AuditLogEntry.objects.get(action="create")
    assert entry.object_id == str(skill.pk)
    assert entry.actor == manager_a


def test_granting_and_revoking_a_skill_on_the_skill_page(
    manager_a: Any, space_a: Makerspace
) -> None:
    skill = SkillFactory.create(makerspace=space_a)
    membership = MembershipFactory.create(makerspace=space_a)
    client = logged_in(manager_a)

    data = form_data(client.get(change_url(skill)))
    data.update({"grants-TOTAL_FORMS": "1", "grants-0-membership": str(membership.pk)})
    granted = client.post(change_url(skill), data)

    assert granted.status_code == 302
    grant = MemberSkill.objects.get(membership=membership, skill=skill)
    assert grant.granted_by == manager_a

    data = form_data(client.get(change_url(skill)))
    data["grants-0-DELETE"] = "on"
    revoked = client.post(change_url(skill), data)

    assert revoked.status_code == 302
    assert not MemberSkill.objects.exists()
    assert list(
        AuditLogEntry.objects.filter(object_id=str(grant.pk))
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["grant", "revoke"]


def test_expired_grants_are_shown_as_expired(
    manager_a: Any, space_a: Makerspace, django_assert_max_num_queries: Any
) -> None:
    current = MemberSkillFactory.create(membership=MembershipFactory.create(makerspace=space_a))
    expired = MemberSkillFactory.create(
        membership=MembershipFactory.create(makerspace=space_a),
        expires_at=timezone.now() - timedelta(days=1),
    )
    client = logged_in(manager_a)

    with django_assert_max_num_queries(CHANGELIST_QUERY_BOUND):
        everything = client.get(changelist("memberskill"))
    only_expired = client.get(changelist("memberskill"), {"validity": "expired"})
    only_current = client.get(changelist("memberskill"), {"validity": "current"})

    assert set(rows(everything)) == {current, expired}
    assert rows(only_expired) == [expired]
    assert rows(only_current) == [current]
    assert 'alt="False"' in everything.content.decode()


def test_revoking_invitations_only_in_the_managers_space(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    invitation_a = InvitationFactory.create(makerspace=space_a)
    invitation_b = InvitationFactory.create(makerspace=space_b)
    client = logged_in(manager_a)

    listed = client.get(changelist("invitation"))
    response = client.post(
        changelist("invitation"),
        {"action": "revoke", "_selected_action": [str(invitation_a.pk), str(invitation_b.pk)]},
    )

    assert rows(listed) == [invitation_a]
    assert response.status_code == 302
    invitation_a.refresh_from_db()
    invitation_b.refresh_from_db()
    assert invitation_a.status == "revoked"
    assert invitation_b.status == "pending"
    assert AuditLogEntry.objects.get(action="revoke").object_id == str(invitation_a.pk)


def test_inviting_through_the_admin_uses_the_service(manager_a: Any, space_a: Makerspace) -> None:
    client = logged_in(manager_a)

    as_member = client.post(
        add_url("invitation"),
        {"makerspace": str(space_a.pk), "email": "New@Example.org", "role": "member"},
    )
    as_admin = client.post(
        add_url("invitation"),
        {"makerspace": str(space_a.pk), "email": "boss@example.org", "role": "admin"},
    )

    assert as_member.status_code == 302
    invitation = Invitation.objects.get(email="new@example.org")
    assert invitation.invited_by == manager_a
    assert AuditLogEntry.objects.filter(action="invite", object_id=str(invitation.pk)).exists()
    # Managers invite members; only an admin invites staff (a rule of the service).
    assert as_admin.status_code == 302
    assert any("only an admin" in message for message in messages_of(as_admin))
    assert not Invitation.objects.filter(email="boss@example.org").exists()


def test_removing_the_last_admin_is_refused_and_nothing_changes(
    admin_a: Any, space_a: Makerspace
) -> None:
    membership = Membership.objects.get(user=admin_a)
    delete_url = reverse("admin:makerspaces_membership_delete", args=[membership.pk])

    response = logged_in(admin_a).post(delete_url, {"post": "yes"})

    assert response.status_code == 302
    assert any("at least one admin" in message for message in messages_of(response))
    assert Membership.objects.filter(pk=membership.pk, role="admin").exists()
    assert not AuditLogEntry.objects.exists()


def test_autocomplete_offers_only_the_managers_space(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    member_a = MembershipFactory.create(makerspace=space_a, user__email="ada@alpha.example")
    MembershipFactory.create(makerspace=space_b, user__email="ada@bravo.example")

    response = logged_in(manager_a).get(
        reverse("admin:autocomplete"),
        {
            "app_label": "makerspaces",
            "model_name": "memberskill",
            "field_name": "membership",
            "term": "ada@",
        },
    )

    assert response.status_code == 200
    assert [result["id"] for result in response.json()["results"]] == [str(member_a.pk)]


@pytest.mark.parametrize("who", ["super admin", "admin of A", "manager of A"])
def test_every_page_of_the_admin_opens(
    who: str, super_admin: Any, admin_a: Any, manager_a: Any, space_a: Makerspace
) -> None:
    user = {"super admin": super_admin, "admin of A": admin_a, "manager of A": manager_a}[who]
    grant = MemberSkillFactory.create(membership=MembershipFactory.create(makerspace=space_a))
    objects = {
        "makerspace": space_a,
        "membership": grant.membership,
        "skill": grant.skill,
        "memberskill": grant,
        "invitation": InvitationFactory.create(makerspace=space_a),
        "closure": ClosureFactory.create(makerspace=space_a),
    }
    audit = AuditLogEntry.objects.create(
        makerspace_id=space_a.pk,
        content_type_id=_content_type_id(Makerspace),
        object_id=str(space_a.pk),
        object_repr=str(space_a),
        action="update",
        changes={"name": ["old", "new"]},
    )
    client = logged_in(user)

    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(change_url(audit)).status_code == 200
    for model, obj in objects.items():
        assert client.get(changelist(model)).status_code == 200, (who, model)
        assert client.get(change_url(obj)).status_code == 200, (who, model)
        add_page = client.get(add_url(model))
        assert add_page.status_code in (200, 403), (who, model)
    assert client.get(changelist("auditlogentry")).status_code == 200


def test_inline_writes_on_the_makerspace_page_go_through_the_services(
    admin_a: Any, space_a: Makerspace
) -> None:
    member = MembershipFactory.create(makerspace=space_a, role="member")
    client = logged_in(admin_a)
    data = form_data(client.get(change_url(space_a)))
    (member_prefix,) = [
        key.removesuffix("-id")
        for key, value in data.items()
        if key.startswith("memberships-") and key.endswith("-id") and value == str(member.pk)
    ]
    data[f"{member_prefix}-role"] = "manager"
    closure_day = (timezone.localdate() + timedelta(days=40)).isoformat()
    data.update(
        {"closures-TOTAL_FORMS": "1", "closures-0-date": closure_day, "closures-0-reason": "Move"}
    )

    response = client.post(change_url(space_a), data)

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == "manager"
    assert space_a.closures.get().reason == "Move"
    assert set(
        AuditLogEntry.objects.filter(makerspace_id=space_a.pk).values_list("action", flat=True)
    ) == {"update", "create"}
    assert AuditLogEntry.objects.get(object_id=str(member.pk)).changes == {
        "role": ["member", "manager"]
    }


def test_a_super_admin_reactivates_a_space(super_admin: Any) -> None:
    space = MakerspaceFactory.create(is_active=False)
    client = logged_in(super_admin)

    response = client.post(
        changelist("makerspace"), {"action": "reactivate", "_selected_action": [str(space.pk)]}
    )

    assert response.status_code == 302
    space.refresh_from_db()
    assert space.is_active is True
    entry = AuditLogEntry.objects.get(makerspace_id=space.pk)
    assert entry.changes == {"is_active": [False, True]}
    assert entry.actor == super_admin


def test_an_objects_history_page_shows_its_audit_entries(
    admin_a: Any, manager_b: Any, space_a: Makerspace
) -> None:
    other_admin = MembershipFactory.create(makerspace=space_a, role="admin")
    client = logged_in(admin_a)
    data = form_data(client.get(change_url(other_admin)))
    data["role"] = "manager"
    client.post(change_url(other_admin), data)
    history_url = change_url(other_admin).replace("/change/", "/history/")

    own = client.get(history_url)
    foreign = logged_in(manager_b).get(history_url)

    assert own.status_code == 200
    assert "admin" in own.content.decode()
    assert "manager" in own.content.decode()
    assert admin_a.name in own.content.decode()
    assert foreign.status_code in (302, 403, 404)
    assert admin_a.name not in foreign.content.decode()


def test_the_admin_shows_a_space_only_to_those_who_run_it(
    manager_a: Any, space_a: Makerspace, space_b: Makerspace
) -> None:
    # Given a manager of Alpha who is a plain member of Bravo, where members may see skills
    MembershipFactory.create(makerspace=space_b, user=manager_a, role="member")
    skill_a = SkillFactory.create(makerspace=space_a, name="Alpha skill")
    skill_b = SkillFactory.create(makerspace=space_b, name="Bravo skill")
    client = logged_in(manager_a)

    # When they browse the admin
    skills = client.get(changelist("skill"))
    spaces = client.get(changelist("makerspace"))
    bravo_skill = client.get(change_url(skill_b))
    bravo_space = client.get(change_url(space_b))

    # Then Bravo is nowhere: the admin is for the spaces one runs
    assert rows(skills) == [skill_a]
    assert rows(spaces) == [space_a]
    (space_filter,) = [f for f in skills.context["cl"].filter_specs if f.title == "makerspace"]
    assert [label for _value, label in space_filter.lookup_choices] == ["Alpha Works"]
    assert bravo_skill.status_code in (302, 403, 404)
    assert bravo_space.status_code in (302, 403, 404)
    assert "Bravo skill" not in bravo_skill.content.decode()


def test_the_skill_inline_writes_like_the_skill_page(admin_a: Any, space_a: Makerspace) -> None:
    # Given the makerspace page with its skills inline
    client = logged_in(admin_a)
    data = form_data(client.get(change_url(space_a)))
    data.update(
        {
            "skills-TOTAL_FORMS": "1",
            "skills-0-name": "Laser basics",
            "skills-0-slug": "laser-basic",
            "skills-0-validity_days": "365",
        }
    )

    # When a skill is added there, then renamed there
    added = client.post(change_url(space_a), data)
    skill = Skill.objects.get(slug="laser-basic")
    data = form_data(client.get(change_url(space_a)))
    (prefix,) = [
        key.removesuffix("-id")
        for key, value in data.items()
        if key.startswith("skills-") and key.endswith("-id") and value == str(skill.pk)
    ]
    data[f"{prefix}-name"] = "Laser, the basics"
    renamed = client.post(change_url(space_a), data)

    # Then the skill services wrote both, with the admin as the actor
    assert (added.status_code, renamed.status_code) == (302, 302)
    skill.refresh_from_db()
    assert (skill.makerspace_id, skill.name, skill.validity_days) == (
        space_a.pk,
        "Laser, the basics",
        365,
    )
    entries = AuditLogEntry.objects.filter(object_id=str(skill.pk)).order_by("created_at", "id")
    assert [(entry.action, entry.actor) for entry in entries] == [
        ("create", admin_a),
        ("update", admin_a),
    ]
    assert entries[1].changes == {"name": ["Laser basics", "Laser, the basics"]}


def test_a_super_admin_adds_a_verified_inactive_space_in_one_go(super_admin: Any) -> None:
    client = logged_in(super_admin)
    data = form_data(client.get(reverse("admin:makerspaces_makerspace_add")))
    data.update(
        {
            "name": "Charlie Forge",
            "slug": "charlie-forge",
            "timezone": "Europe/Kyiv",
            "currency": "UAH",
            "verified": "on",
        }
    )
    data.pop("is_active", None)

    response = client.post(reverse("admin:makerspaces_makerspace_add"), data)

    assert response.status_code == 302
    space = Makerspace.objects.get(slug="charlie-forge")
    assert (space.name, space.verified, space.is_active) == ("Charlie Forge", True, False)
    assert Membership.objects.get(makerspace=space).user == super_admin
    assert set(
        AuditLogEntry.objects.filter(makerspace_id=space.pk).values_list("action", flat=True)
    ) == {"create", "verify", "delete"}
