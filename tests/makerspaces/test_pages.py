"""The member pages of makerspaces: directory, a space's page, my spaces, members page."""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from apps.makerspaces.invitation_tokens import invitation_token
from apps.makerspaces.models import (
    Closure,
    Invitation,
    Makerspace,
    Membership,
    MemberSkill,
)
from tests.factories import MakerspaceFactory, MembershipFactory, SkillFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

DIRECTORY = reverse("makerspaces:directory")
KYIV = (Decimal("50.450100"), Decimal("30.523400"))
LVIV = (Decimal("49.839700"), Decimal("24.029700"))
BERLIN = (Decimal("52.520000"), Decimal("13.405000"))


def detail_url(space: Makerspace) -> str:
    return reverse("makerspaces:detail", kwargs={"slug": space.slug})


def members_url(space: Makerspace) -> str:
    return reverse("makerspaces:members", kwargs={"slug": space.slug})


def signed_in(client, user):
    client.force_login(user)
    return client


def page_text(response) -> str:
    return response.content.decode()


def order_of(html: str, names: list[str]) -> list[str]:
    """The given names in the order they first appear in the page."""
    found = [(html.index(name), name) for name in names if name in html]
    return [name for _, name in sorted(found)]


@pytest.fixture
def three_cities():
    return [
        MakerspaceFactory.create(
            name="Berlin Fablab", location="Berlin", latitude=BERLIN[0], longitude=BERLIN[1]
        ),
        MakerspaceFactory.create(
            name="Kyiv Hackerspace", location="Kyiv", latitude=KYIV[0], longitude=KYIV[1]
        ),
        MakerspaceFactory.create(
            name="Lviv Makers", location="Lviv", latitude=LVIV[0], longitude=LVIV[1]
        ),
    ]


@pytest.fixture
def space():
    return MakerspaceFactory.create(name="Kyiv Lab", slug="kyiv-lab")


@pytest.fixture
def admin(space):
    return MembershipFactory.create(makerspace=space, role="admin", user__name="Olena Admin")


# --- directory ---------------------------------------------------------------------------


def test_directory_lists_active_spaces_alphabetically(client, three_cities) -> None:
    MakerspaceFactory.create(name="Closed Garage", is_active=False)

    response = client.get(DIRECTORY)

    assert response.status_code == 200
    html = page_text(response)
    assert order_of(html, ["Berlin Fablab", "Kyiv Hackerspace", "Lviv Makers"]) == [
        "Berlin Fablab",
        "Kyiv Hackerspace",
        "Lviv Makers",
    ]
    assertNotContains(response, "Closed Garage")
    assertNotContains(response, " km<")


def test_directory_search_matches_name_and_city(client, three_cities) -> None:
    response = client.get(DIRECTORY, {"search": "lviv"})

    assert response.status_code == 200
    assertContains(response, "Lviv Makers")
    assertNotContains(response, "Kyiv Hackerspace")
    assertNotContains(response, "Berlin Fablab")


def test_directory_near_orders_by_distance_and_shows_km(client, three_cities) -> None:
    response = client.get(DIRECTORY, {"near": "50.45,30.52"})

    assert response.status_code == 200
    html = page_text(response)
    assert order_of(html, ["Berlin Fablab", "Kyiv Hackerspace", "Lviv Makers"]) == [
        "Kyiv Hackerspace",
        "Lviv Makers",
        "Berlin Fablab",
    ]
    distances = [float(km) for km in re.findall(r'class="distance">([\d.,]+) km<', html)]
    assert len(distances) == 3
    assert distances[0] < 1
    assert 450 < distances[1] < 490  # Kyiv–Lviv is about 470 km
    assert 1150 < distances[2] < 1250  # Kyiv–Berlin is about 1200 km


def test_directory_radius_keeps_only_spaces_that_close(client, three_cities) -> None:
    response = client.get(DIRECTORY, {"near": "50.45,30.52", "radius_km": "600"})

    assert response.status_code == 200
    assertContains(response, "Kyiv Hackerspace")
    assertContains(response, "Lviv Makers")
    assertNotContains(response, "Berlin Fablab")


def test_directory_verified_only(client, three_cities) -> None:
    Makerspace.objects.filter(name="Lviv Makers").update(verified=True)

    response = client.get(DIRECTORY, {"verified": "on"})

    assert response.status_code == 200
    assertContains(response, "Lviv Makers")
    assertNotContains(response, "Kyiv Hackerspace")
    assertNotContains(response, "Berlin Fablab")


@pytest.mark.parametrize(
    "near",
    [
        pytest.param("kyiv", id="a word"),
        pytest.param("abc,def", id="two words"),
        pytest.param("91,30", id="latitude out of range"),
        pytest.param("50,30,1", id="three numbers"),
    ],
)
def test_directory_bad_near_is_a_form_error(client, three_cities, near) -> None:
    response = client.get(DIRECTORY, {"near": near, "search": "kyiv"})

    assert response.status_code == 200
    assertContains(response, "Enter your location as latitude,longitude")
    # The valid criteria still apply.
    assertContains(response, "Kyiv Hackerspace")
    assertNotContains(response, "Lviv Makers")


def test_directory_radius_without_location_is_a_form_error(client, three_cities) -> None:
    response = client.get(DIRECTORY, {"radius_km": "50"})

    assert response.status_code == 200
    assertContains(response, "Give your location to search within a distance.")


def test_directory_is_paginated_by_twenty(client) -> None:
    for number in range(25):
        MakerspaceFactory.create(name=f"Space {number:02d}")

    first = client.get(DIRECTORY, {"search": "space"})
    second = client.get(DIRECTORY, {"search": "space", "page": 2})

    assert first.status_code == second.status_code == 200
    assert page_text(first).count('class="space-row"') == 20
    assert page_text(second).count('class="space-row"') == 5
    assertContains(first, "?search=space&amp;page=2")
    assertContains(second, "Space 24")


def test_directory_offers_the_location_button_and_a_plain_field(client) -> None:
    response = client.get(DIRECTORY)

    assertContains(response, 'id="use-my-location" hidden')
    # The script is a static file (the Content-Security-Policy refuses inline ones).
    assertContains(response, "js/directory.js")
    assertContains(response, 'data-field="id_near"')
    script = finders.find("js/directory.js")
    assert script is not None
    assert "navigator.geolocation" in Path(script).read_text()
    assertContains(response, 'name="near"')


# --- a makerspace's page -------------------------------------------------------------------


def test_detail_shows_hours_per_weekday_in_local_time_and_upcoming_closures(client) -> None:
    space = MakerspaceFactory.create(
        name="Lviv Makers",
        timezone="Europe/Kyiv",
        contact_email="hello@lviv.example",
        contact_phone="+380 32 000 0000",
        business_hours={
            "mon": [["09:00", "13:00"], ["14:00", "20:00"]],
            "tue": [["10:00", "18:00"]],
            "wed": [],
            "thu": [],
            "fri": [],
            "sat": [],
            "sun": [],
        },
    )
    today = timezone.now().date()
    Closure.objects.create(makerspace=space, date=today + timedelta(days=10), reason="Moving day")
    Closure.objects.create(makerspace=space, date=today - timedelta(days=10), reason="Long gone")
    SkillFactory.create(makerspace=space, name="Laser basics", description="The CO2 laser")

    response = client.get(detail_url(space))

    assert response.status_code == 200
    html = page_text(response)
    monday = re.search(r"<th scope=\"row\">Monday</th>\s*<td>(.*?)</td>", html, re.S)
    assert monday is not None
    assert "09:00–13:00" in monday.group(1)
    assert "14:00–20:00" in monday.group(1)
    wednesday = re.search(r"<th scope=\"row\">Wednesday</th>\s*<td>(.*?)</td>", html, re.S)
    assert wednesday is not None
    assert "Closed" in wednesday.group(1)
    assertContains(response, "Europe/Kyiv")
    assertContains(response, "Moving day")
    assertNotContains(response, "Long gone")
    assertContains(response, "Laser basics")
    assertContains(response, "mailto:hello@lviv.example")
    assertContains(response, "1 Workshop Street")


def test_detail_of_inactive_or_unknown_space_is_404(client) -> None:
    gone = MakerspaceFactory.create(is_active=False)

    assert client.get(detail_url(gone)).status_code == 404
    assert client.get("/spaces/no-such-space/").status_code == 404


@pytest.mark.parametrize(
    ("policy", "status", "message"),
    [
        pytest.param("open", "active", "You are a member now.", id="open: member at once"),
        pytest.param("approval", "pending", "Request sent", id="approval: request sent"),
    ],
)
def test_join_follows_the_join_policy(client, user, policy, status, message) -> None:
    space = MakerspaceFactory.create(join_policy=policy)

    response = signed_in(client, user).post(
        reverse("makerspaces:join", kwargs={"slug": space.slug}), follow=True
    )

    assert response.redirect_chain == [(detail_url(space), 302)]
    assertContains(response, message)
    membership = Membership.objects.get(user=user, makerspace=space)
    assert (membership.role, membership.status) == ("member", status)


def test_join_by_invitation_only_explains_and_writes_nothing(client, user) -> None:
    space = MakerspaceFactory.create(join_policy="invite")
    client = signed_in(client, user)

    page = client.get(detail_url(space))
    response = client.post(reverse("makerspaces:join", kwargs={"slug": space.slug}), follow=True)

    assertContains(page, "by invitation only")
    assertNotContains(page, reverse("makerspaces:join", kwargs={"slug": space.slug}))
    assertContains(response, "This makerspace takes new members by invitation only.")
    assert not Membership.objects.filter(makerspace=space).exists()


def test_join_twice_shows_a_message_not_an_error_page(client, user) -> None:
    space = MakerspaceFactory.create(join_policy="approval")
    MembershipFactory.create(user=user, makerspace=space, status="pending")

    response = signed_in(client, user).post(
        reverse("makerspaces:join", kwargs={"slug": space.slug}), follow=True
    )

    assert response.status_code == 200
    assertContains(response, "waiting for")
    assert Membership.objects.filter(makerspace=space).count() == 1


def test_anonymous_join_goes_to_sign_in_and_back_to_the_space(client) -> None:
    space = MakerspaceFactory.create(join_policy="open")

    page = client.get(detail_url(space))
    response = client.post(reverse("makerspaces:join", kwargs={"slug": space.slug}))

    assertContains(page, "Sign in to join")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert f"next={detail_url(space)}" in response["Location"].replace("%2F", "/")
    assert not Membership.objects.exists()


@pytest.mark.parametrize(
    ("role", "text"),
    [
        pytest.param("admin", "You are an admin of this makerspace.", id="admin"),
        pytest.param("manager", "You are a manager of this makerspace.", id="manager"),
        pytest.param("member", "You are a member of this makerspace.", id="member"),
    ],
)
def test_detail_tells_members_their_role(client, space, role, text) -> None:
    membership = MembershipFactory.create(makerspace=space, role=role)

    response = signed_in(client, membership.user).get(detail_url(space))

    assertContains(response, text)
    assertNotContains(
        response, 'action="' + reverse("makerspaces:join", kwargs={"slug": space.slug})
    )
    if role == "member":
        assertNotContains(response, members_url(space))
    else:
        assertContains(response, members_url(space))


# --- my spaces and creating a space -----------------------------------------------------------


def test_my_spaces_needs_sign_in(client) -> None:
    response = client.get(reverse("makerspaces:mine"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_my_spaces_lists_memberships_with_role_and_status(client, user) -> None:
    MembershipFactory.create(user=user, makerspace__name="Alpha Lab", role="manager")
    MembershipFactory.create(user=user, makerspace__name="Beta Lab", status="pending")
    MembershipFactory.create(makerspace__name="Someone Else's Lab")

    response = signed_in(client, user).get(reverse("makerspaces:mine"))

    assert response.status_code == 200
    assertContains(response, "Alpha Lab")
    assertContains(response, "Manager")
    assertContains(response, "Beta Lab")
    assertContains(response, "Pending approval")
    assertNotContains(response, "Someone Else")


def test_create_a_makerspace_makes_the_creator_its_admin(client, user) -> None:
    response = signed_in(client, user).post(
        reverse("makerspaces:create"),
        {
            "name": "Odesa Forge",
            "description": "Metal and wood.",
            "address": "5 Harbour Road",
            "location": "Odesa",
            "latitude": "46.482500",
            "longitude": "30.723300",
            "timezone": "Europe/Kyiv",
            "currency": "uah",
            "contact_email": "forge@example.org",
            "contact_phone": "",
            "join_policy": "open",
        },
        follow=True,
    )

    space = Makerspace.objects.get(name="Odesa Forge")
    assert response.redirect_chain == [(detail_url(space), 302)]
    assertContains(response, "You are an admin of this makerspace.")
    assert (space.currency, space.join_policy, space.timezone) == ("UAH", "open", "Europe/Kyiv")
    assert space.latitude == Decimal("46.482500")
    membership = Membership.objects.get(makerspace=space)
    assert (membership.user, membership.role, membership.status) == (user, "admin", "active")


def test_create_with_half_a_location_shows_the_error_and_writes_nothing(client, user) -> None:
    response = signed_in(client, user).post(
        reverse("makerspaces:create"),
        {
            "name": "Half Located",
            "latitude": "46.48",
            "timezone": "Europe/Kyiv",
            "currency": "UAH",
            "join_policy": "open",
        },
    )

    assert response.status_code == 200
    assertContains(response, "Give both latitude and longitude, or neither.")
    assert not Makerspace.objects.filter(name="Half Located").exists()


# --- invitations ---------------------------------------------------------------------------------


def test_invite_from_members_page_emails_and_invitee_accepts_from_my_spaces(
    client, space, admin, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    invitee = UserFactory.create(email="taras@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(client, admin.user).post(
            reverse("makerspaces:member-invite", kwargs={"slug": space.slug}),
            {"invite-email": "Taras@Example.org", "invite-role": "manager"},
            follow=True,
        )

    assert response.redirect_chain == [(members_url(space), 302)]
    assertContains(response, "Invitation sent to taras@example.org")
    invitation = Invitation.objects.get(makerspace=space)
    assert (invitation.email, invitation.role, invitation.status) == (
        "taras@example.org",
        "manager",
        "pending",
    )
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["taras@example.org"]
    assert "/spaces/invitations/" in mailoutbox[0].body

    client.logout()
    client = signed_in(client, invitee)
    mine = client.get(reverse("makerspaces:mine"))
    assertContains(mine, "Kyiv Lab invites you as Manager.")
    accepted = client.post(
        reverse("makerspaces:invitation-respond", kwargs={"invitation_id": invitation.pk}),
        {"decision": "accept"},
        follow=True,
    )

    assert accepted.redirect_chain == [(detail_url(space), 302)]
    assertContains(accepted, "You are a manager of this makerspace.")
    membership = Membership.objects.get(user=invitee, makerspace=space)
    assert (membership.role, membership.status) == ("manager", "active")
    invitation.refresh_from_db()
    assert invitation.status == "accepted"


def test_decline_from_my_spaces(client, space, admin) -> None:
    invitee = UserFactory.create()
    invitation = Invitation.objects.create(
        makerspace=space,
        email=invitee.email,
        invited_by=admin.user,
        expires_at=timezone.now() + timedelta(days=3),
    )

    response = signed_in(client, invitee).post(
        reverse("makerspaces:invitation-respond", kwargs={"invitation_id": invitation.pk}),
        {"decision": "decline"},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("makerspaces:mine"), 302)]
    assertContains(response, "You declined the invitation.")
    invitation.refresh_from_db()
    assert invitation.status == "declined"
    assert not Membership.objects.filter(user=invitee).exists()


def test_someone_elses_invitation_cannot_be_accepted_from_my_spaces(client, space, admin) -> None:
    invitation = Invitation.objects.create(
        makerspace=space,
        email="other@example.org",
        invited_by=admin.user,
        expires_at=timezone.now() + timedelta(days=3),
    )
    intruder = UserFactory.create()

    response = signed_in(client, intruder).post(
        reverse("makerspaces:invitation-respond", kwargs={"invitation_id": invitation.pk}),
        {"decision": "accept"},
        follow=True,
    )

    assertContains(response, "This invitation is no longer open.")
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert not Membership.objects.filter(user=intruder).exists()


def test_emailed_link_for_anonymous_offers_sign_up_or_sign_in(client, space, admin) -> None:
    new_person = Invitation.objects.create(
        makerspace=space,
        email="new@example.org",
        invited_by=admin.user,
        expires_at=timezone.now() + timedelta(days=3),
    )
    existing = UserFactory.create(email="known@example.org")
    known_person = Invitation.objects.create(
        makerspace=space,
        email=existing.email,
        invited_by=admin.user,
        expires_at=timezone.now() + timedelta(days=3),
    )

    to_new = client.get(
        reverse("makerspaces:invitation", kwargs={"token": invitation_token(new_person)})
    )
    to_known = client.get(
        reverse("makerspaces:invitation", kwargs={"token": invitation_token(known_person)})
    )

    assert to_new.status_code == to_known.status_code == 200
    assertContains(to_new, reverse("accounts:register") + "?next=")
    assertContains(to_new, "Sign up to accept")
    assertContains(to_known, reverse("accounts:login") + "?next=")
    assertContains(to_known, "Sign in to accept")
    assert not Membership.objects.filter(user=existing).exists()


def test_emailed_link_accepts_for_the_invited_user_on_post(
    client, space, admin, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    invitee = UserFactory.create(email="marta@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(client, admin.user).post(
            reverse("makerspaces:member-invite", kwargs={"slug": space.slug}),
            {"invite-email": invitee.email, "invite-role": "member"},
        )
    link = re.search(r"https?://[^/\s]+(/spaces/invitations/[^\s]+/)", mailoutbox[0].body)
    assert link is not None
    client.logout()
    client = signed_in(client, invitee)

    page = client.get(link.group(1))
    response = client.post(link.group(1), {"decision": "accept"})

    assertContains(page, 'value="accept"')
    assert response.status_code == 302
    assert response["Location"] == detail_url(space)
    membership = Membership.objects.get(user=invitee, makerspace=space)
    assert (membership.role, membership.status) == ("member", "active")


# --- members page ----------------------------------------------------------------------------


def test_members_page_of_a_foreign_space_is_404_and_a_plain_member_gets_403(
    client, space, admin
) -> None:
    outsider = UserFactory.create()
    member = MembershipFactory.create(makerspace=space, role="member")
    pending = MembershipFactory.create(makerspace=space, role="member", status="pending")

    as_outsider = signed_in(client, outsider).get(members_url(space))
    as_pending = signed_in(client, pending.user).get(members_url(space))
    as_member = signed_in(client, member.user).get(members_url(space))
    as_admin = signed_in(client, admin.user).get(members_url(space))

    assert as_outsider.status_code == 404
    assert as_pending.status_code == 404
    assert as_member.status_code == 403
    assert as_admin.status_code == 200
    client.logout()
    assert client.get(members_url(space)).status_code == 302


def test_plain_member_cannot_post_staff_actions(client, space, admin) -> None:
    member = MembershipFactory.create(makerspace=space, role="member")

    response = signed_in(client, member.user).post(
        reverse("makerspaces:member-role", kwargs={"slug": space.slug, "membership_id": admin.pk}),
        {"role": "member"},
    )

    assert response.status_code == 403
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_members_page_lists_roles_statuses_and_only_current_skills(client, space, admin) -> None:
    member = MembershipFactory.create(makerspace=space, user__name="Petro Member")
    laser = SkillFactory.create(makerspace=space, slug="laser-basic", name="Laser basics")
    lathe = SkillFactory.create(makerspace=space, slug="lathe", name="Lathe")
    MemberSkill.objects.create(membership=member, skill=laser)
    MemberSkill.objects.create(
        membership=member, skill=lathe, expires_at=timezone.now() - timedelta(days=1)
    )

    response = signed_in(client, admin.user).get(members_url(space))

    assert response.status_code == 200
    html = page_text(response)
    assert "Petro Member" in html
    assert "Olena Admin" in html
    assert 'data-held-skill="laser-basic"' in html
    assert 'data-held-skill="lathe"' not in html


def test_manager_sees_no_role_or_remove_forms_and_invites_members_only(
    client, space, admin
) -> None:
    manager = MembershipFactory.create(makerspace=space, role="manager")

    response = signed_in(client, manager.user).get(members_url(space))

    assert response.status_code == 200
    assertContains(response, "Send invitation")
    assertNotContains(response, "Change role")
    assertNotContains(response, ">Remove<")
    invite_roles = re.search(
        r'<select name="invite-role"[^>]*>(.*?)</select>', page_text(response), re.S
    )
    assert invite_roles is not None
    assert re.findall(r'value="(\w+)"', invite_roles.group(1)) == ["member"]


def test_invite_with_a_bad_email_shows_the_form_error(client, space, admin, mailoutbox) -> None:
    response = signed_in(client, admin.user).post(
        reverse("makerspaces:member-invite", kwargs={"slug": space.slug}),
        {"invite-email": "not-an-address", "invite-role": "member"},
    )

    assert response.status_code == 200
    assertContains(response, "Enter a valid email address.")
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_inviting_a_member_again_shows_a_message(client, space, admin) -> None:
    member = MembershipFactory.create(makerspace=space)

    response = signed_in(client, admin.user).post(
        reverse("makerspaces:member-invite", kwargs={"slug": space.slug}),
        {"invite-email": member.user.email, "invite-role": "member"},
    )

    assert response.status_code == 200
    assertContains(response, "already belongs to this makerspace")
    assert not Invitation.objects.exists()


def test_approve_a_pending_member(client, space, admin) -> None:
    pending = MembershipFactory.create(
        makerspace=space, status="pending", user__name="Iryna Waiting"
    )

    page = signed_in(client, admin.user).get(members_url(space))
    response = client.post(
        reverse(
            "makerspaces:member-approve", kwargs={"slug": space.slug, "membership_id": pending.pk}
        ),
        follow=True,
    )

    assertContains(page, "Approve")
    assertContains(response, "Iryna Waiting is a member now.")
    pending.refresh_from_db()
    assert pending.status == "active"


def test_demoting_the_last_admin_shows_an_error_and_changes_nothing(client, space, admin) -> None:
    response = signed_in(client, admin.user).post(
        reverse("makerspaces:member-role", kwargs={"slug": space.slug, "membership_id": admin.pk}),
        {"role": "member"},
        follow=True,
    )

    assert response.redirect_chain == [(members_url(space), 302)]
    assertContains(response, "A makerspace needs at least one admin")
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_removing_the_last_admin_shows_an_error_and_changes_nothing(client, space, admin) -> None:
    response = signed_in(client, admin.user).post(
        reverse(
            "makerspaces:member-remove", kwargs={"slug": space.slug, "membership_id": admin.pk}
        ),
        follow=True,
    )

    assert response.status_code == 200
    assertContains(response, "A makerspace needs at least one admin")
    assert Membership.objects.filter(pk=admin.pk).exists()


def test_admin_changes_a_role_and_removes_a_member(client, space, admin) -> None:
    promoted = MembershipFactory.create(makerspace=space)
    leaving = MembershipFactory.create(makerspace=space)
    client = signed_in(client, admin.user)

    changed = client.post(
        reverse(
            "makerspaces:member-role", kwargs={"slug": space.slug, "membership_id": promoted.pk}
        ),
        {"role": "manager"},
    )
    removed = client.post(
        reverse(
            "makerspaces:member-remove", kwargs={"slug": space.slug, "membership_id": leaving.pk}
        )
    )

    assert changed.status_code == removed.status_code == 302
    promoted.refresh_from_db()
    assert promoted.role == "manager"
    assert not Membership.objects.filter(pk=leaving.pk).exists()


def test_a_member_of_another_space_is_404_on_the_members_actions(client, space, admin) -> None:
    stranger = MembershipFactory.create(makerspace=MakerspaceFactory.create())

    response = signed_in(client, admin.user).post(
        reverse(
            "makerspaces:member-remove", kwargs={"slug": space.slug, "membership_id": stranger.pk}
        )
    )

    assert response.status_code == 404
    assert Membership.objects.filter(pk=stranger.pk).exists()


def test_grant_a_skill_with_expiry_then_revoke_it(client, space, admin) -> None:
    member = MembershipFactory.create(makerspace=space)
    laser = SkillFactory.create(makerspace=space, slug="laser-basic", name="Laser basics")
    valid_until = timezone.now().date() + timedelta(days=30)
    client = signed_in(client, admin.user)

    granted = client.post(
        reverse("makerspaces:skill-grant", kwargs={"slug": space.slug, "membership_id": member.pk}),
        {"skill": "laser-basic", "expires_on": valid_until.isoformat()},
        follow=True,
    )

    assertContains(granted, 'data-held-skill="laser-basic"')
    grant = MemberSkill.objects.get(membership=member, skill=laser)
    assert grant.expires_at is not None
    # Valid through the chosen day: until the next midnight in the space's own timezone.
    assert grant.expires_at == datetime.combine(
        valid_until + timedelta(days=1), time(0), tzinfo=ZoneInfo("Europe/Kyiv")
    )

    revoked = client.post(
        reverse(
            "makerspaces:skill-revoke",
            kwargs={"slug": space.slug, "membership_id": member.pk, "skill_slug": "laser-basic"},
        ),
        follow=True,
    )

    assertContains(revoked, "Laser basics is revoked from")
    assert not MemberSkill.objects.filter(membership=member).exists()


def test_grant_with_a_past_date_shows_an_error_and_writes_nothing(client, space, admin) -> None:
    member = MembershipFactory.create(makerspace=space)
    SkillFactory.create(makerspace=space, slug="laser-basic")

    response = signed_in(client, admin.user).post(
        reverse("makerspaces:skill-grant", kwargs={"slug": space.slug, "membership_id": member.pk}),
        {"skill": "laser-basic", "expires_on": date(2020, 1, 1).isoformat()},
        follow=True,
    )

    assertContains(response, "valid until today or a later day")
    assert not MemberSkill.objects.exists()


def test_granting_a_skill_of_another_space_is_refused(client, space, admin) -> None:
    member = MembershipFactory.create(makerspace=space)
    SkillFactory.create(makerspace=MakerspaceFactory.create(), slug="foreign-skill")

    response = signed_in(client, admin.user).post(
        reverse("makerspaces:skill-grant", kwargs={"slug": space.slug, "membership_id": member.pk}),
        {"skill": "foreign-skill"},
        follow=True,
    )

    assertContains(response, "Choose a skill of this makerspace")
    assert not MemberSkill.objects.exists()


# --- queries stay bounded ------------------------------------------------------------------------


def count_queries(client, url: str, params: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "params",
    [pytest.param({}, id="by name"), pytest.param({"near": "50.45,30.52"}, id="by distance")],
)
def test_directory_queries_do_not_grow_with_the_number_of_spaces(
    client, user, django_assert_max_num_queries, params
) -> None:
    client = signed_in(client, user)
    MakerspaceFactory.create(latitude=KYIV[0], longitude=KYIV[1], verified=True)
    with_one = count_queries(client, DIRECTORY, params)
    for _ in range(29):
        MakerspaceFactory.create(latitude=LVIV[0], longitude=LVIV[1], verified=True)

    with django_assert_max_num_queries(with_one):
        response = client.get(DIRECTORY, params)

    assert page_text(response).count('class="space-row"') == 20


def test_members_page_queries_do_not_grow_with_the_number_of_members(
    client, space, admin, django_assert_max_num_queries
) -> None:
    laser = SkillFactory.create(makerspace=space, slug="laser-basic")
    lathe = SkillFactory.create(makerspace=space, slug="lathe")
    MemberSkill.objects.create(membership=admin, skill=laser)
    client = signed_in(client, admin.user)
    with_one = count_queries(client, members_url(space))
    for _ in range(29):
        membership = MembershipFactory.create(makerspace=space)
        MemberSkill.objects.create(membership=membership, skill=laser)
        MemberSkill.objects.create(
            membership=membership, skill=lathe, expires_at=timezone.now() - timedelta(days=1)
        )

    with django_assert_max_num_queries(with_one):
        response = client.get(members_url(space))

    assert page_text(response).count('data-held-skill="laser-basic"') == 30
    assert 'data-held-skill="lathe"' not in page_text(response)


# --- Ukrainian ----------------------------------------------------------------------------------


def test_a_member_with_the_uk_locale_sees_the_directory_and_a_space_in_ukrainian(
    client,
) -> None:
    space = MakerspaceFactory.create(name="Kyiv Lab", slug="kyiv-lab", verified=True)
    Closure.objects.create(
        makerspace=space, date=timezone.now().date() + timedelta(days=10), reason="Inventory"
    )
    SkillFactory.create(makerspace=space, name="Laser basics")
    client = signed_in(client, UserFactory.create(locale="uk"))

    directory = client.get(DIRECTORY, HTTP_ACCEPT_LANGUAGE="en")

    assertContains(directory, '<html lang="uk">')
    assertContains(directory, "<h1>Мейкерспейси</h1>")
    assertContains(directory, "1 мейкерспейс")
    assertContains(directory, "Створити мейкерспейс")
    assertContains(directory, "підтверджений")
    assertNotContains(directory, "Create a makerspace")

    detail = client.get(detail_url(space), HTTP_ACCEPT_LANGUAGE="en")

    assertContains(detail, "Kyiv Lab")
    assertContains(detail, "Години роботи")
    assertContains(detail, "Найближчі вихідні дні")
    assertContains(detail, "Inventory")
    assertContains(detail, "Навички")
    assertContains(detail, "Приєднатися")
    assertContains(detail, "Приєднатися може будь-хто: ви одразу станете учасником.")
    assertNotContains(detail, "Opening hours")
