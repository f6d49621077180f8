"""Members, invitations and skills of a makerspace through the API."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.core.models import AuditLogEntry
from apps.makerspaces.models import Invitation, Membership, MemberSkill, Skill
from tests.conftest import bearer_client
from tests.factories import MakerspaceFactory, MembershipFactory, SkillFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


@pytest.fixture
def space():
    return MakerspaceFactory.create(name="Kyiv Lab")


@pytest.fixture
def admin(space):
    return MembershipFactory.create(makerspace=space, role="admin")


@pytest.fixture
def manager(space):
    return MembershipFactory.create(makerspace=space, role="manager")


@pytest.fixture
def member(space):
    return MembershipFactory.create(makerspace=space, role="member")


def members_url(space, suffix: str = "") -> str:
    return f"/api/v1/makerspaces/{space.pk}/members/{suffix}"


# --- members ----------------------------------------------------------------------------


def test_member_list_shape_and_current_skills_only(space, admin, member) -> None:
    laser = SkillFactory.create(makerspace=space, slug="laser-basic", name="Laser basics")
    lathe = SkillFactory.create(makerspace=space, slug="lathe", name="Lathe")
    MemberSkill.objects.create(membership=member, skill=laser)
    MemberSkill.objects.create(
        membership=member, skill=lathe, expires_at=timezone.now() - timedelta(days=1)
    )

    response = bearer_client(admin.user).get(members_url(space))

    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["data"]}
    row = rows[str(member.pk)]
    assert set(row) == {"id", "user", "role", "status", "joined_at", "skills"}
    assert set(row["user"]) == {"id", "email", "name"}
    assert [skill["slug"] for skill in row["skills"]] == ["laser-basic"]


def test_member_list_query_count_is_constant(space, admin, django_assert_max_num_queries) -> None:
    client = bearer_client(admin.user)
    skill = SkillFactory.create(makerspace=space)
    with django_assert_max_num_queries(8) as small:
        client.get(members_url(space) + "?limit=100")
    for membership in MembershipFactory.create_batch(30, makerspace=space):
        MemberSkill.objects.create(membership=membership, skill=skill)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(members_url(space) + "?limit=100")
    assert len(response.json()["data"]) == 31


def test_admin_changes_a_role_and_it_is_audited(space, admin, member) -> None:
    response = bearer_client(admin.user).patch(
        members_url(space, f"{member.pk}/"), {"role": "manager"}
    )

    assert response.status_code == 200
    assert response.json()["role"] == "manager"
    member.refresh_from_db()
    assert member.role == "manager"
    entry = AuditLogEntry.objects.get(object_id=str(member.pk), action="update")
    assert entry.changes == {"role": ["member", "manager"]}
    assert entry.actor == admin.user


def test_manager_cannot_change_roles(space, manager, member) -> None:
    response = bearer_client(manager.user).patch(
        members_url(space, f"{member.pk}/"), {"role": "admin"}
    )

    assert response.status_code == 403
    member.refresh_from_db()
    assert member.role == "member"


def test_last_admin_can_neither_be_demoted_nor_leave(space, admin) -> None:
    client = bearer_client(admin.user)

    demoted = client.patch(members_url(space, f"{admin.pk}/"), {"role": "member"})
    left = client.delete(members_url(space, f"{admin.pk}/"))

    assert demoted.status_code == 409
    assert demoted.json()["error"]["code"] == "LAST_ADMIN"
    assert left.status_code == 409
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_an_admin_may_step_down_when_another_admin_remains(space, admin) -> None:
    other = MembershipFactory.create(makerspace=space, role="admin")

    response = bearer_client(admin.user).patch(
        members_url(space, f"{admin.pk}/"), {"role": "member"}
    )

    assert response.status_code == 200
    assert Membership.objects.get(pk=other.pk).role == "admin"


def test_a_member_may_leave(space, member) -> None:
    response = bearer_client(member.user).delete(members_url(space, f"{member.pk}/"))

    assert response.status_code == 204
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert AuditLogEntry.objects.filter(object_id=str(member.pk), action="leave").exists()


def test_a_member_may_not_remove_someone_else(space, member, manager) -> None:
    response = bearer_client(member.user).delete(members_url(space, f"{manager.pk}/"))

    assert response.status_code == 403
    assert Membership.objects.filter(pk=manager.pk).exists()


def test_bad_role_is_400(space, admin, member) -> None:
    response = bearer_client(admin.user).patch(
        members_url(space, f"{member.pk}/"), {"role": "owner"}
    )

    assert response.status_code == 400
    assert "role" in response.json()["error"]["details"]


def test_membership_of_another_space_is_404_even_for_an_admin(space, admin) -> None:
    elsewhere = MembershipFactory.create()

    response = bearer_client(admin.user).patch(
        members_url(space, f"{elsewhere.pk}/"), {"role": "admin"}
    )

    assert response.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.role == "member"


# --- invitations ----------------------------------------------------------------------------


def invite(client, space, email: str, role: str = "member", capture=None):
    return client.post(members_url(space), {"email": email, "role": role})


def test_invitation_by_email_then_accept(space, admin, django_capture_on_commit_callbacks) -> None:
    colleague = UserFactory.create(email="colleague@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        invited = invite(bearer_client(admin.user), space, "Colleague@Example.org", "manager")

    assert invited.status_code == 201, invited.content
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["colleague@example.org"]
    assert "Kyiv Lab" in mail.outbox[0].subject
    assert re.search(r"/spaces/invitations/\S+/", str(mail.outbox[0].body))

    client = bearer_client(colleague)
    inbox = client.get("/api/v1/users/me/invitations").json()["data"]
    assert [row["makerspace"]["name"] for row in inbox] == ["Kyiv Lab"]
    accepted = client.post(f"/api/v1/invitations/{inbox[0]['id']}/accept")

    assert accepted.status_code == 201
    membership = Membership.objects.get(user=colleague, makerspace=space)
    assert (membership.role, membership.status) == ("manager", "active")
    assert Invitation.objects.get(pk=inbox[0]["id"]).status == "accepted"
    assert client.get("/api/v1/users/me/invitations").json()["data"] == []
    again = client.post(f"/api/v1/invitations/{inbox[0]['id']}/accept")
    assert again.status_code == 409


def test_invitation_to_an_unknown_email_carries_a_sign_up_link(
    space, admin, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invite(bearer_client(admin.user), space, "newcomer@example.org")

    assert "sign up" in mail.outbox[0].body.lower()


def test_someone_elses_invitation_is_404(space, admin) -> None:
    invitation_id = invite(bearer_client(admin.user), space, "someone@example.org").json()["id"]
    stranger = UserFactory.create()

    response = bearer_client(stranger).post(f"/api/v1/invitations/{invitation_id}/accept")

    assert response.status_code == 404
    assert not Membership.objects.filter(user=stranger).exists()


def test_expired_invitation_cannot_be_accepted(space, admin) -> None:
    user = UserFactory.create(email="late@example.org")
    invitation_id = invite(bearer_client(admin.user), space, "late@example.org").json()["id"]
    Invitation.objects.filter(pk=invitation_id).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    inbox = bearer_client(user).get("/api/v1/users/me/invitations").json()["data"]
    response = bearer_client(user).post(f"/api/v1/invitations/{invitation_id}/accept")

    assert inbox == []
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "INVITATION_EXPIRED"
    assert not Membership.objects.filter(user=user, makerspace=space).exists()


def test_decline_closes_the_invitation(space, admin) -> None:
    user = UserFactory.create(email="no-thanks@example.org")
    invitation_id = invite(bearer_client(admin.user), space, user.email).json()["id"]

    response = bearer_client(user).post(f"/api/v1/invitations/{invitation_id}/decline")

    assert response.status_code == 200
    assert Invitation.objects.get(pk=invitation_id).status == "declined"
    assert not Membership.objects.filter(user=user, makerspace=space).exists()


def test_a_new_invitation_replaces_the_open_one(space, admin) -> None:
    client = bearer_client(admin.user)
    first = invite(client, space, "twice@example.org").json()["id"]
    second = invite(client, space, "twice@example.org", "manager").json()["id"]

    assert Invitation.objects.get(pk=first).status == "revoked"
    assert Invitation.objects.get(pk=second).status == "pending"


def test_inviting_an_existing_member_is_409(space, admin, member) -> None:
    response = invite(bearer_client(admin.user), space, member.user.email.upper())

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_MEMBER"


def test_manager_invites_members_but_not_staff(space, manager) -> None:
    client = bearer_client(manager.user)

    as_member = invite(client, space, "a@example.org", "member")
    as_admin = invite(client, space, "b@example.org", "admin")

    assert as_member.status_code == 201
    assert as_admin.status_code == 403
    assert not Invitation.objects.filter(email="b@example.org").exists()


def test_plain_member_cannot_invite(space, member) -> None:
    response = invite(bearer_client(member.user), space, "a@example.org")

    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_space_invitations_list_and_revoke(space, admin) -> None:
    client = bearer_client(admin.user)
    invitation_id = invite(client, space, "maybe@example.org").json()["id"]

    listed = client.get(f"/api/v1/makerspaces/{space.pk}/invitations/").json()["data"]
    revoked = client.delete(f"/api/v1/makerspaces/{space.pk}/invitations/{invitation_id}/")

    assert [row["email"] for row in listed] == ["maybe@example.org"]
    assert revoked.status_code == 204
    assert Invitation.objects.get(pk=invitation_id).status == "revoked"


# --- skills ----------------------------------------------------------------------------------


def test_manager_creates_skills_and_members_read_them(space, manager, member) -> None:
    created = bearer_client(manager.user).post(
        f"/api/v1/makerspaces/{space.pk}/skills/",
        {
            "slug": "laser-basic",
            "name": "Laser basics",
            "description": "Safety first",
            "validity_days": 365,
        },
    )
    refused = bearer_client(member.user).post(
        f"/api/v1/makerspaces/{space.pk}/skills/", {"slug": "cnc", "name": "CNC"}
    )
    listed = bearer_client(member.user).get(f"/api/v1/makerspaces/{space.pk}/skills/")
    one = bearer_client(member.user).get(f"/api/v1/makerspaces/{space.pk}/skills/laser-basic/")

    assert created.status_code == 201
    assert refused.status_code == 403
    assert [row["slug"] for row in listed.json()["data"]] == ["laser-basic"]
    assert one.json()["name"] == "Laser basics"
    assert list(Skill.objects.values_list("slug", flat=True)) == ["laser-basic"]


def test_duplicate_skill_slug_is_400(space, manager) -> None:
    client = bearer_client(manager.user)
    client.post(f"/api/v1/makerspaces/{space.pk}/skills/", {"slug": "lathe", "name": "Lathe"})

    again = client.post(
        f"/api/v1/makerspaces/{space.pk}/skills/", {"slug": "lathe", "name": "Lathe 2"}
    )

    assert again.status_code == 400
    assert "slug" in again.json()["error"]["details"]


def test_the_same_slug_may_exist_in_two_spaces(space, manager) -> None:
    SkillFactory.create(slug="lathe")

    response = bearer_client(manager.user).post(
        f"/api/v1/makerspaces/{space.pk}/skills/", {"slug": "lathe", "name": "Lathe"}
    )

    assert response.status_code == 201


def test_grant_with_expiry_then_expired_skill_is_not_held(space, manager, member) -> None:
    from apps.makerspaces.selectors import current_skill_slugs

    SkillFactory.create(makerspace=space, slug="laser-basic")
    soon = timezone.now() + timedelta(days=30)

    granted = bearer_client(manager.user).post(
        members_url(space, f"{member.pk}/skills"),
        {"skill": "laser-basic", "expires_at": soon.isoformat()},
    )

    assert granted.status_code == 201, granted.content
    grant = MemberSkill.objects.get(membership=member)
    assert grant.granted_by == manager.user
    assert grant.expires_at is not None
    assert abs((grant.expires_at - soon).total_seconds()) < 1
    assert current_skill_slugs(user=member.user, makerspace=space) == {"laser-basic"}
    MemberSkill.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert current_skill_slugs(user=member.user, makerspace=space) == set()
    listed = bearer_client(manager.user).get(members_url(space, f"{member.pk}/")).json()
    assert listed["skills"] == []


def test_grant_uses_the_skills_default_validity_and_renews(space, manager, member) -> None:
    SkillFactory.create(makerspace=space, slug="cnc", validity_days=90)
    client = bearer_client(manager.user)

    client.post(members_url(space, f"{member.pk}/skills"), {"skill": "cnc"})
    first = MemberSkill.objects.get(membership=member).expires_at
    MemberSkill.objects.filter(membership=member).update(
        expires_at=timezone.now() + timedelta(days=1)
    )
    client.post(members_url(space, f"{member.pk}/skills"), {"skill": "cnc"})
    renewed = MemberSkill.objects.get(membership=member).expires_at

    assert first is not None
    assert renewed is not None
    assert 89 <= (first - timezone.now()).days <= 90
    assert renewed > timezone.now() + timedelta(days=89)
    assert MemberSkill.objects.filter(membership=member).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"skill": "no-such-skill"}, "skill"),
        ({"skill": "laser-basic", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"skill": "laser-basic", "expires_at": "tomorrow"}, "expires_at"),
        ({}, "skill"),
    ],
)
def test_bad_grants_are_400_and_grant_nothing(
    space, manager, member, body: dict, field: str
) -> None:
    SkillFactory.create(makerspace=space, slug="laser-basic")

    response = bearer_client(manager.user).post(members_url(space, f"{member.pk}/skills"), body)

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not MemberSkill.objects.exists()


def test_a_skill_of_another_space_cannot_be_granted(space, manager, member) -> None:
    SkillFactory.create(slug="foreign-skill")

    response = bearer_client(manager.user).post(
        members_url(space, f"{member.pk}/skills"), {"skill": "foreign-skill"}
    )

    assert response.status_code == 400
    assert not MemberSkill.objects.exists()


def test_revoke_a_skill(space, manager, member) -> None:
    skill = SkillFactory.create(makerspace=space, slug="laser-basic")
    MemberSkill.objects.create(membership=member, skill=skill)
    client = bearer_client(manager.user)

    revoked = client.delete(members_url(space, f"{member.pk}/skills/laser-basic"))
    missing = client.delete(members_url(space, f"{member.pk}/skills/laser-basic"))

    assert revoked.status_code == 204
    assert missing.status_code == 404
    assert not MemberSkill.objects.exists()
    assert AuditLogEntry.objects.filter(action="revoke", makerspace_id=space.pk).count() == 1


def test_plain_member_cannot_grant_skills(space, member) -> None:
    SkillFactory.create(makerspace=space, slug="laser-basic")

    response = bearer_client(member.user).post(
        members_url(space, f"{member.pk}/skills"), {"skill": "laser-basic"}
    )

    assert response.status_code == 403
    assert not MemberSkill.objects.exists()


# --- closures and the audit log --------------------------------------------------------------


def test_closures_and_audit_log(space, admin, member) -> None:
    client = bearer_client(admin.user)

    added = client.post(
        f"/api/v1/makerspaces/{space.pk}/closures/", {"date": "2026-12-25", "reason": "Christmas"}
    )
    duplicate = client.post(f"/api/v1/makerspaces/{space.pk}/closures/", {"date": "2026-12-25"})
    by_member = bearer_client(member.user).post(
        f"/api/v1/makerspaces/{space.pk}/closures/", {"date": "2026-12-31"}
    )
    detail = client.get(f"/api/v1/makerspaces/{space.pk}/").json()
    log = client.get(f"/api/v1/makerspaces/{space.pk}/audit-log/").json()["data"]
    member_log = bearer_client(member.user).get(f"/api/v1/makerspaces/{space.pk}/audit-log/")

    assert added.status_code == 201
    assert duplicate.status_code == 409
    assert by_member.status_code == 403
    assert detail["closures"] == [
        {"id": added.json()["id"], "date": "2026-12-25", "reason": "Christmas"}
    ]
    assert log[0]["action"] == "create"
    assert log[0]["object_type"] == "closure"
    assert log[0]["actor"]["id"] == str(admin.user.pk)
    assert member_log.status_code == 403


def test_an_unverified_address_sees_no_invitations_and_cannot_accept(space, admin) -> None:
    # Someone signs up with another person's address they do not control...
    squatter = UserFactory.create(email="victim@example.org", email_verified=False)
    invitation_id = invite(
        bearer_client(admin.user), space, "victim@example.org", "manager"
    ).json()["id"]
    client = bearer_client(squatter)

    inbox = client.get("/api/v1/users/me/invitations").json()["data"]
    accepted = client.post(f"/api/v1/invitations/{invitation_id}/accept")

    assert inbox == []
    assert accepted.status_code == 403
    assert accepted.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"
    assert not Membership.objects.filter(user=squatter).exists()
    assert Invitation.objects.get(pk=invitation_id).status == "pending"
