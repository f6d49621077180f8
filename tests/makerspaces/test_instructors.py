"""Instructors grant the skill they teach, and a skill that renews on use is extended by
each session on a machine that needs it."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from apps.equipment.models import Reservation, ReservationStatus
from apps.makerspaces import services
from apps.makerspaces.models import Membership, MemberSkill, Skill, SkillInstructor
from tests.factories import (
    EquipmentFactory,
    MakerspaceFactory,
    MembershipFactory,
    MemberSkillFactory,
    SkillFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def space():
    return MakerspaceFactory.create()


@pytest.fixture
def laser(space) -> Skill:
    return SkillFactory.create(makerspace=space, slug="laser-basic", name="Laser basics")


@pytest.fixture
def cnc(space) -> Skill:
    return SkillFactory.create(makerspace=space, slug="cnc-basic", name="CNC basics")


@pytest.fixture
def manager(space) -> Membership:
    return MembershipFactory.create(makerspace=space, role="manager")


@pytest.fixture
def teacher(space, laser, cnc) -> Membership:
    """A member who holds both skills and teaches laser-basic."""
    membership = MembershipFactory.create(makerspace=space, role="member")
    MemberSkillFactory.create(membership=membership, skill=laser)
    MemberSkillFactory.create(membership=membership, skill=cnc)
    SkillInstructor.objects.create(skill=laser, membership=membership)
    return membership


@pytest.fixture
def learner(space) -> Membership:
    return MembershipFactory.create(makerspace=space, role="member")


def instructors_url(space: Any, skill: Skill) -> str:
    return f"/api/v1/makerspaces/{space.pk}/skills/{skill.slug}/instructors"


def grant_url(space: Any, membership: Membership) -> str:
    return f"/api/v1/makerspaces/{space.pk}/members/{membership.pk}/skills"


# --- marking instructors -------------------------------------------------------------------


def test_a_manager_marks_and_unmarks_an_instructor(space, laser, manager, learner):
    # Given a member who holds laser-basic
    MemberSkillFactory.create(membership=learner, skill=laser)
    client = client_for(manager.user)

    # When a manager marks them as its instructor, lists the instructors, then unmarks them
    marked = client.post(instructors_url(space, laser), {"membership": str(learner.pk)})
    listed = client_for(learner.user).get(instructors_url(space, laser))
    unmarked = client.delete(instructors_url(space, laser), {"membership": str(learner.pk)})

    # Then each step answers as it should and both are in the audit log
    assert marked.status_code == 201, marked.content
    assert marked.json()["membership"] == str(learner.pk)
    assert marked.json()["user"] == {"id": str(learner.user.pk), "name": learner.user.name}
    assert listed.status_code == 200
    assert [row["membership"] for row in listed.json()["data"]] == [str(learner.pk)]
    assert unmarked.status_code == 204
    assert not SkillInstructor.objects.exists()
    actions = list(
        AuditLogEntry.objects.filter(changes__instructor__isnull=False)
        .order_by("id")
        .values_list("action", "actor")
    )
    assert actions == [("grant", manager.user.pk), ("revoke", manager.user.pk)]


def test_marking_twice_keeps_one_row(space, laser, manager, learner):
    # Given an instructor
    MemberSkillFactory.create(membership=learner, skill=laser)
    body = {"membership": str(learner.pk)}
    client_for(manager.user).post(instructors_url(space, laser), body)

    # When marked again
    again = client_for(manager.user).post(instructors_url(space, laser), body)

    # Then it is the same one row
    assert again.status_code == 201
    assert SkillInstructor.objects.count() == 1


def test_an_instructor_must_hold_the_skill(space, laser, manager, learner):
    # Given a member without laser-basic
    # When a manager marks them as its instructor
    response = client_for(manager.user).post(
        instructors_url(space, laser), {"membership": str(learner.pk)}
    )

    # Then it is refused with the reason, and nothing was written
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "membership": ["Grant Laser basics to this member before they teach it."]
    }
    assert not SkillInstructor.objects.exists()


@pytest.mark.parametrize("method", ["post", "delete"])
def test_a_member_cannot_choose_instructors(space, laser, teacher, learner, method):
    # Given an instructor and a plain member
    MemberSkillFactory.create(membership=learner, skill=laser)

    # When the instructor tries to mark or unmark someone
    response = getattr(client_for(teacher.user), method)(
        instructors_url(space, laser), {"membership": str(learner.pk)}, format="json"
    )

    # Then it is a 403, and nothing changed
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert list(SkillInstructor.objects.values_list("membership", flat=True)) == [teacher.pk]


def test_a_member_of_another_space_cannot_be_marked(space, laser, manager):
    # Given a member of another space
    stranger = MembershipFactory.create(makerspace=MakerspaceFactory.create())

    # When a manager names them
    response = client_for(manager.user).post(
        instructors_url(space, laser), {"membership": str(stranger.pk)}
    )

    # Then it is a validation error
    assert response.status_code == 400
    assert "membership" in response.json()["error"]["details"]
    assert not SkillInstructor.objects.exists()


# --- instructors granting ------------------------------------------------------------------


def test_an_instructor_grants_the_skill_they_teach(space, laser, teacher, learner):
    # Given an instructor of laser-basic and a member without it
    # When the instructor grants it
    response = client_for(teacher.user).post(grant_url(space, learner), {"skill": "laser-basic"})

    # Then the member holds it, granted by the instructor, and the audit log says so
    assert response.status_code == 201, response.content
    assert [skill["slug"] for skill in response.json()["skills"]] == ["laser-basic"]
    grant = MemberSkill.objects.get(membership=learner)
    assert grant.granted_by == teacher.user
    assert AuditLogEntry.objects.filter(
        action="grant", actor=teacher.user, object_id=str(grant.pk)
    ).exists()


def test_an_instructor_cannot_grant_a_skill_they_do_not_teach(space, cnc, teacher, learner):
    # Given an instructor of laser-basic only (who holds cnc-basic too)
    # When they grant cnc-basic
    response = client_for(teacher.user).post(grant_url(space, learner), {"skill": cnc.slug})

    # Then it is refused, and nothing was granted
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert "instructor of CNC basics" in response.json()["error"]["message"]
    assert not MemberSkill.objects.filter(membership=learner).exists()


def test_an_instructor_cannot_certify_themselves(space, laser, teacher):
    # Given an instructor whose own grant expires soon
    MemberSkill.objects.filter(membership=teacher, skill=laser).update(
        expires_at=timezone.now() + timedelta(days=2)
    )

    # When they renew it themselves
    response = client_for(teacher.user).post(grant_url(space, teacher), {"skill": "laser-basic"})

    # Then it is refused, and the expiry is unchanged
    assert response.status_code == 403
    grant = MemberSkill.objects.get(membership=teacher, skill=laser)
    assert grant.expires_at is not None
    assert grant.expires_at < timezone.now() + timedelta(days=3)


def test_an_instructor_whose_own_grant_lapsed_cannot_grant(space, laser, teacher, learner):
    # Given an instructor whose own laser-basic has expired
    MemberSkill.objects.filter(membership=teacher, skill=laser).update(
        expires_at=timezone.now() - timedelta(days=1)
    )

    # When they grant it
    response = client_for(teacher.user).post(grant_url(space, learner), {"skill": "laser-basic"})

    # Then it is refused
    assert response.status_code == 403
    assert not MemberSkill.objects.filter(membership=learner).exists()


def test_a_plain_member_still_cannot_grant(space, laser, learner):
    # Given a member who holds laser-basic but does not teach it
    holder = MembershipFactory.create(makerspace=space)
    MemberSkillFactory.create(membership=holder, skill=laser)

    # When they grant it
    response = client_for(holder.user).post(grant_url(space, learner), {"skill": "laser-basic"})

    # Then the route refuses them as before
    assert response.status_code == 403
    assert not MemberSkill.objects.filter(membership=learner).exists()


def test_an_instructor_cannot_grant_in_another_space(laser, teacher):
    # Given a second space where the instructor is a plain member, with the same skill slug
    other_space = MakerspaceFactory.create()
    SkillFactory.create(makerspace=other_space, slug="laser-basic")
    MembershipFactory.create(makerspace=other_space, user=teacher.user)
    target = MembershipFactory.create(makerspace=other_space)

    # When they grant it there
    response = client_for(teacher.user).post(
        grant_url(other_space, target), {"skill": "laser-basic"}
    )

    # Then they are not its instructor there
    assert response.status_code == 403
    assert not MemberSkill.objects.filter(membership=target).exists()


def test_the_service_refuses_a_grant_by_someone_without_the_right(laser, learner):
    # Given a member who is neither staff nor instructor
    outsider = MembershipFactory.create(makerspace=learner.makerspace).user

    # When the service is asked to grant on their behalf
    with pytest.raises(ApplicationError) as refused:
        services.skill_grant(membership=learner, skill=laser, acting_user=outsider)

    # Then it is a 403
    assert refused.value.status_code == 403
    assert not MemberSkill.objects.exists()


def test_staff_grant_any_skill_as_before(space, cnc, manager, learner):
    # When a manager grants a skill that has no instructors
    response = client_for(manager.user).post(grant_url(space, learner), {"skill": cnc.slug})

    # Then it is granted
    assert response.status_code == 201
    assert MemberSkill.objects.filter(membership=learner, skill=cnc).exists()


# --- renewal on use ------------------------------------------------------------------------


def test_the_skill_api_shows_and_sets_renews_on_use(space, manager):
    # When a manager creates a skill that renews on use
    response = client_for(manager.user).post(
        f"/api/v1/makerspaces/{space.pk}/skills/",
        {"slug": "sla", "name": "Resin printing", "validity_days": 90, "renews_on_use": True},
    )

    # Then it is stored and shown
    assert response.status_code == 201, response.content
    assert response.json()["renews_on_use"] is True
    assert Skill.objects.get(slug="sla").renews_on_use is True


def _session(space: Any, user: Any, skills: list[Skill]) -> Reservation:
    """A checked-in booking of a machine that needs ``skills``."""
    machine = EquipmentFactory.create(makerspace=space, status="in_use")
    machine.skill_requirements.set(skills)
    start = timezone.now() - timedelta(minutes=40)
    return Reservation.objects.create(
        makerspace=space,
        equipment=machine,
        user=user,
        start_time=start,
        end_time=start + timedelta(hours=1),
        block_end=start + timedelta(hours=1),
        status=ReservationStatus.ACTIVE,
        checked_in_at=start,
    )


def test_checking_out_renews_a_skill_that_renews_on_use(space, laser, cnc, learner):
    # Given laser-basic (90 days, renews on use) and cnc-basic (90 days, does not),
    # both held by the member and expiring in 5 days
    Skill.objects.filter(pk=laser.pk).update(validity_days=90, renews_on_use=True)
    Skill.objects.filter(pk=cnc.pk).update(validity_days=90)
    soon = timezone.now() + timedelta(days=5)
    for skill in (laser, cnc):
        MemberSkillFactory.create(membership=learner, skill=skill, expires_at=soon)
    reservation = _session(space, learner.user, [laser, cnc])

    # When the member checks out
    response = client_for(learner.user).post(
        f"/api/v1/makerspaces/{space.pk}/reservations/{reservation.pk}/check-out", {}
    )

    # Then laser-basic runs 90 days from now, cnc-basic is unchanged, and it is audited
    assert response.status_code == 200, response.content
    renewed = MemberSkill.objects.get(membership=learner, skill=laser)
    assert renewed.expires_at is not None
    assert abs(renewed.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    assert MemberSkill.objects.get(membership=learner, skill=cnc).expires_at == soon
    entry = AuditLogEntry.objects.get(object_id=str(renewed.pk), changes__renewed_on_use=True)
    assert entry.actor == learner.user
    assert entry.changes["skill"] == "laser-basic"


def test_renewal_never_shortens_revives_or_adds_an_expiry(space, laser, learner):
    # Given a renewing skill, and three members: one whose grant runs past the
    # renewal, one whose grant has expired, one whose grant never expires
    Skill.objects.filter(pk=laser.pk).update(validity_days=30, renews_on_use=True)
    later = timezone.now() + timedelta(days=200)
    expired = timezone.now() - timedelta(days=1)
    long_grant = MemberSkillFactory.create(membership=learner, skill=laser, expires_at=later)
    lapsed = MemberSkillFactory.create(
        membership=MembershipFactory.create(makerspace=space), skill=laser, expires_at=expired
    )
    forever = MemberSkillFactory.create(
        membership=MembershipFactory.create(makerspace=space), skill=laser, expires_at=None
    )

    # When each uses a machine needing the skill
    renewed = [
        services.skills_renew_on_use(
            user=grant.membership.user,
            makerspace=space,
            skill_ids=[laser.pk],
            acting_user=grant.membership.user,
        )
        for grant in (long_grant, lapsed, forever)
    ]

    # Then nothing changed
    assert renewed == [[], [], []]
    assert MemberSkill.objects.get(pk=long_grant.pk).expires_at == later
    assert MemberSkill.objects.get(pk=lapsed.pk).expires_at == expired
    assert MemberSkill.objects.get(pk=forever.pk).expires_at is None


def test_the_instructor_list_leaves_out_one_whose_own_grant_lapsed(space, laser, teacher, learner):
    # Given two instructors of laser-basic, one whose own grant has expired
    MemberSkillFactory.create(membership=learner, skill=laser)
    SkillInstructor.objects.create(skill=laser, membership=learner)
    MemberSkill.objects.filter(membership=teacher, skill=laser).update(
        expires_at=timezone.now() - timedelta(days=1)
    )

    # When a member lists the skill's instructors
    response = client_for(learner.user).get(instructors_url(space, laser))

    # Then only the one who may grant it now is listed
    assert response.status_code == 200
    assert [row["membership"] for row in response.json()["data"]] == [str(learner.pk)]
