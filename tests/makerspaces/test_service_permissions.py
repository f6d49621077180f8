"""Every write service of makerspaces checks the role matrix itself.

The API, the admin and the pages refuse early, but the service is the guard: called
directly, as an outsider (no membership) or as a plain member, each write answers
PERMISSION_DENIED and writes nothing, not even an audit entry.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from apps.makerspaces import services
from apps.makerspaces.models import (
    Closure,
    Invitation,
    Makerspace,
    Membership,
    MemberSkill,
    Skill,
    SkillInstructor,
)
from tests.factories import (
    ClosureFactory,
    InvitationFactory,
    MakerspaceFactory,
    MembershipFactory,
    MemberSkillFactory,
    SkillFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

OUTSIDER = "outsider"
MEMBER = "plain member"
WATCHED = (
    Makerspace,
    Membership,
    Skill,
    MemberSkill,
    SkillInstructor,
    Closure,
    Invitation,
    AuditLogEntry,
    User,
)


@dataclass
class Space:
    makerspace: Makerspace
    admin: Membership
    other: Membership  # a plain member the callers act on; holds `skill`
    applicant: Membership  # a pending request to join
    skill: Skill
    grant: MemberSkill
    closure: Closure
    invitation: Invitation
    callers: dict[str, User]


@pytest.fixture
def space() -> Space:
    makerspace = MakerspaceFactory.create(name="Alpha Workshop")
    other = MembershipFactory.create(makerspace=makerspace)
    skill = SkillFactory.create(makerspace=makerspace, validity_days=30, renews_on_use=True)
    member = MembershipFactory.create(makerspace=makerspace)
    return Space(
        makerspace=makerspace,
        admin=MembershipFactory.create(makerspace=makerspace, role="admin"),
        other=other,
        applicant=MembershipFactory.create(makerspace=makerspace, status="pending"),
        skill=skill,
        grant=MemberSkillFactory.create(
            membership=other, skill=skill, expires_at=timezone.now() + timedelta(days=1)
        ),
        closure=ClosureFactory.create(makerspace=makerspace),
        invitation=InvitationFactory.create(makerspace=makerspace),
        callers={
            OUTSIDER: MembershipFactory.create().user,  # a member of another space
            MEMBER: member.user,
        },
    )


def table_rows() -> dict[str, list[tuple[Any, ...]]]:
    return {model.__name__: list(model.objects.order_by("pk").values_list()) for model in WATCHED}


Call = Callable[[Space, User], Any]
BOTH = (OUTSIDER, MEMBER)


def case(label: str, call: Call, refused: tuple[str, ...] = BOTH) -> list[Any]:
    return [pytest.param(call, role, id=f"{label} as {role}") for role in refused]


CASES = [
    *case(
        "makerspace_create verified",
        lambda s, actor: services.makerspace_create(
            acting_user=actor, name="Beta Lab", verified=True
        ),
    ),
    *case(
        "makerspace_update",
        lambda s, actor: services.makerspace_update(
            makerspace=s.makerspace, acting_user=actor, changes={"name": "Taken over"}
        ),
    ),
    *case(
        "makerspace_update of business hours",
        lambda s, actor: services.makerspace_update(
            makerspace=s.makerspace, acting_user=actor, changes={"business_hours": {"mon": []}}
        ),
    ),
    *case(
        "makerspace_deactivate",
        lambda s, actor: services.makerspace_deactivate(makerspace=s.makerspace, acting_user=actor),
    ),
    *case(
        "makerspace_set_verified",
        lambda s, actor: services.makerspace_set_verified(
            makerspace=s.makerspace, acting_user=actor
        ),
    ),
    *case(
        "makerspace_reactivate",
        lambda s, actor: services.makerspace_reactivate(makerspace=s.makerspace, acting_user=actor),
    ),
    *case(
        "membership_approve",
        lambda s, actor: services.membership_approve(membership=s.applicant, acting_user=actor),
    ),
    *case(
        "membership_change_role",
        lambda s, actor: services.membership_change_role(
            membership=s.other, role="admin", acting_user=actor
        ),
    ),
    *case(
        "membership_remove of another member",
        lambda s, actor: services.membership_remove(membership=s.other, acting_user=actor),
    ),
    *case(
        "invitation_create",
        lambda s, actor: services.invitation_create(
            makerspace=s.makerspace, email="friend@example.org", role="member", acting_user=actor
        ),
    ),
    *case(
        "invitation_revoke",
        lambda s, actor: services.invitation_revoke(invitation=s.invitation, acting_user=actor),
    ),
    *case(
        "skill_create",
        lambda s, actor: services.skill_create(
            makerspace=s.makerspace, slug="cnc", name="CNC", acting_user=actor
        ),
    ),
    *case(
        "skill_update",
        lambda s, actor: services.skill_update(
            skill=s.skill, acting_user=actor, changes={"name": "Renamed"}
        ),
    ),
    *case(
        "skill_delete",
        lambda s, actor: services.skill_delete(skill=s.skill, acting_user=actor),
    ),
    *case(
        "skill_grant",
        lambda s, actor: services.skill_grant(membership=s.admin, skill=s.skill, acting_user=actor),
    ),
    *case(
        "skill_grant renewing another's grant",
        lambda s, actor: services.skill_grant(
            membership=s.other,
            skill=s.skill,
            acting_user=actor,
            expires_at=timezone.now() + timedelta(days=400),
        ),
    ),
    *case(
        "skill_revoke",
        lambda s, actor: services.skill_revoke(
            membership=s.other, skill=s.skill, acting_user=actor
        ),
    ),
    *case(
        "skill_instructor_set",
        lambda s, actor: services.skill_instructor_set(
            membership=s.other, skill=s.skill, is_instructor=True, acting_user=actor
        ),
    ),
    *case(
        "closure_add",
        lambda s, actor: services.closure_add(
            makerspace=s.makerspace,
            day=timezone.localdate() + timedelta(days=200),
            reason="Holiday",
            acting_user=actor,
        ),
    ),
    *case(
        "closure_remove",
        lambda s, actor: services.closure_remove(closure=s.closure, acting_user=actor),
    ),
    # Members use the machines, so only an outsider is refused the renewal.
    *case(
        "skills_renew_on_use",
        lambda s, actor: services.skills_renew_on_use(
            user=s.other.user,
            makerspace=s.makerspace,
            skill_ids=[s.skill.pk],
            acting_user=actor,
        ),
        refused=(OUTSIDER,),
    ),
]


@pytest.mark.parametrize(("call", "role"), CASES)
def test_a_write_service_refuses_who_may_not_and_writes_nothing(
    space: Space, call: Call, role: str
) -> None:
    # Given a space with an object of each kind, and a caller without the right there
    actor = space.callers[role]
    before = table_rows()

    # When the service is called directly, past every view
    with pytest.raises(ApplicationError) as refused:
        call(space, actor)

    # Then it refuses with the one 403, and nothing was written
    assert refused.value.code == "PERMISSION_DENIED"
    assert refused.value.status_code == 403
    assert table_rows() == before


def test_the_refusals_are_the_role_matrix_not_a_broken_call(space: Space) -> None:
    # Given the space's admin, who may do each of these
    admin = space.admin.user

    # When they make the same calls
    services.makerspace_update(
        makerspace=space.makerspace, acting_user=admin, changes={"name": "Renamed"}
    )
    services.membership_change_role(membership=space.other, role="manager", acting_user=admin)
    services.skill_revoke(membership=space.other, skill=space.skill, acting_user=admin)
    services.closure_remove(closure=space.closure, acting_user=admin)
    services.invitation_revoke(invitation=space.invitation, acting_user=admin)

    # Then each wrote, with its audit entry
    assert Makerspace.objects.get(pk=space.makerspace.pk).name == "Renamed"
    assert Membership.objects.get(pk=space.other.pk).role == "manager"
    assert not MemberSkill.objects.filter(pk=space.grant.pk).exists()
    assert not Closure.objects.filter(pk=space.closure.pk).exists()
    assert Invitation.objects.get(pk=space.invitation.pk).status == "revoked"
    assert AuditLogEntry.objects.filter(actor=admin).count() == 5


@pytest.mark.parametrize("role", BOTH)
def test_anyone_may_leave_but_not_remove_another(space: Space, role: str) -> None:
    # Given a caller's own membership (an outsider joins first)
    actor = space.callers[role]
    if role == OUTSIDER:
        services.makerspace_join(makerspace=space.makerspace, acting_user=actor)
    own = Membership.objects.get(user=actor, makerspace=space.makerspace)

    # When they leave
    services.membership_remove(membership=own, acting_user=actor)

    # Then they are gone, recorded as leaving
    assert not Membership.objects.filter(pk=own.pk).exists()
    assert AuditLogEntry.objects.filter(actor=actor, action="leave").count() == 1


def test_an_instructor_grants_their_skill_without_staff_rights(space: Space) -> None:
    # Given a plain member the staff made an instructor of the skill
    teacher = space.callers[MEMBER]
    membership = Membership.objects.get(user=teacher, makerspace=space.makerspace)
    MemberSkillFactory.create(membership=membership, skill=space.skill)
    SkillInstructor.objects.create(skill=space.skill, membership=membership)

    # When they grant it to the admin
    services.skill_grant(membership=space.admin, skill=space.skill, acting_user=teacher)

    # Then the grant is written
    assert MemberSkill.objects.filter(membership=space.admin, skill=space.skill).exists()


def test_joining_needs_an_active_account(space: Space) -> None:
    # Given a deactivated account
    former = UserFactory.create(is_active=False)
    before = table_rows()

    # When it tries to join an open space
    with pytest.raises(ApplicationError) as refused:
        services.makerspace_join(makerspace=space.makerspace, acting_user=former)

    # Then it is refused, and nothing was written
    assert refused.value.code == "PERMISSION_DENIED"
    assert table_rows() == before


@pytest.mark.parametrize("decision", ["accept", "decline"])
def test_nobody_answers_another_persons_invitation(space: Space, decision: str) -> None:
    # Given an invitation to someone else's address
    intruder = space.callers[OUTSIDER]
    before = table_rows()

    # When another user answers it
    answer = services.invitation_accept if decision == "accept" else services.invitation_decline
    with pytest.raises(ApplicationError) as refused:
        answer(invitation=space.invitation, acting_user=intruder)

    # Then for them it does not exist, and nothing was written
    assert refused.value.code == "NOT_FOUND"
    assert table_rows() == before


def test_a_plain_member_cannot_invite_and_a_manager_cannot_invite_staff(space: Space) -> None:
    # Given a manager, who invites members but not staff
    manager = MembershipFactory.create(makerspace=space.makerspace, role="manager").user
    before = table_rows()

    # When they invite an admin
    with pytest.raises(ApplicationError) as refused:
        services.invitation_create(
            makerspace=space.makerspace, email="boss@example.org", role="admin", acting_user=manager
        )

    # Then the service refuses, and nothing was written
    assert refused.value.code == "PERMISSION_DENIED"
    assert table_rows() == before


def test_creating_a_space_in_one_go_verified_and_deactivated_by_a_super_admin() -> None:
    # Given a super admin
    root = UserFactory.create(is_superuser=True, is_staff=True)

    # When they create a space that starts verified and deactivated
    makerspace = services.makerspace_create(
        acting_user=root, name="Gamma Forge", verified=True, is_active=False
    )

    # Then it is all written, with the creator as its admin and each step audited
    makerspace.refresh_from_db()
    assert (makerspace.verified, makerspace.is_active) == (True, False)
    assert Membership.objects.get(makerspace=makerspace).user == root
    actions = list(
        AuditLogEntry.objects.filter(makerspace_id=makerspace.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "verify", "delete"]


@pytest.mark.django_db
def test_a_staff_save_of_a_space_is_all_or_nothing() -> None:
    """The admin's one save: an admin who may edit the space but not verify it changes
    nothing, not even the fields it was allowed to change."""
    from apps.makerspaces.models import Makerspace as Space

    membership = MembershipFactory.create(role="admin")
    space = membership.makerspace
    audit_before = AuditLogEntry.objects.count()

    with pytest.raises(ApplicationError) as refused:
        services.makerspace_change(
            makerspace=space,
            acting_user=membership.user,
            changes={"name": "Renamed Lab", "verified": True},
        )

    space_after = Space.objects.get(pk=space.pk)
    assert refused.value.code == "PERMISSION_DENIED"
    assert (space_after.name, space_after.verified) == (space.name, space.verified)
    assert AuditLogEntry.objects.count() == audit_before


@pytest.mark.django_db
def test_a_staff_save_changes_fields_and_state_together() -> None:
    from apps.accounts.system import system_actor
    from apps.makerspaces.models import Makerspace as Space

    space = MembershipFactory.create(role="admin").makerspace

    services.makerspace_change(
        makerspace=space,
        acting_user=system_actor(),
        changes={"name": "Renamed Lab", "verified": True, "is_active": False},
    )

    space_after = Space.objects.get(pk=space.pk)
    assert (space_after.name, space_after.verified, space_after.is_active) == (
        "Renamed Lab",
        True,
        False,
    )
