"""The header's link to the staff admin follows the role matrix, not ``is_staff``.

Space admins and managers run their space in the admin without being Django staff, so
the link shows for them as for super admins; plain members and visitors do not see it.
Deciding it costs visitors no query and a signed-in user at most the one roles query.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import MakerspaceFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_LINK = f'href="{reverse("admin:index")}"'
PAGES = [reverse("home"), reverse("makerspaces:directory")]


def caller(kind: str) -> object | None:
    space = MakerspaceFactory.create()
    if kind == "anonymous":
        return None
    if kind == "super admin":
        return UserFactory.create(is_superuser=True)
    return MembershipFactory.create(makerspace=space, role=kind).user


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("kind", "sees_link"),
    [
        ("super admin", True),
        ("admin", True),
        ("manager", True),
        ("member", False),
        ("anonymous", False),
    ],
)
def test_the_admin_link_shows_for_who_runs_a_space(
    client: Client, page: str, kind: str, sees_link: bool
) -> None:
    # Given a caller in a role (none of them is Django staff)
    user = caller(kind)
    if user is not None:
        client.force_login(user)  # type: ignore[arg-type]

    # When they open a page with the header
    response = client.get(page)

    # Then the staff admin is linked only for those the admin lets in
    assert response.status_code == 200
    assert (ADMIN_LINK in response.content.decode()) is sees_link


def test_a_member_who_left_the_staff_no_longer_sees_the_link(client: Client) -> None:
    # Given a manager who was made a plain member again
    membership = MembershipFactory.create(role="manager")
    membership.role = "member"
    membership.save(update_fields=["role"])
    client.force_login(membership.user)

    # When they open a page, Then the link is gone
    assert ADMIN_LINK not in client.get(reverse("home")).content.decode()


def membership_queries(client: Client, page: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page)
    assert response.status_code == 200
    return sum('"makerspaces_membership"' in query["sql"] for query in queries.captured_queries)


@pytest.mark.parametrize("page", PAGES)
def test_a_visitor_costs_no_roles_query(client: Client, page: str) -> None:
    # Given nobody signed in, When they open a page, Then no membership is read
    assert membership_queries(client, page) == 0


@pytest.mark.parametrize("page", PAGES)
def test_a_signed_in_user_costs_one_roles_query_at_most(client: Client, page: str) -> None:
    # Given a manager, whose roles the header also reads for its other links
    client.force_login(MembershipFactory.create(role="manager").user)

    # When they open a page, Then their roles are read once
    assert membership_queries(client, page) <= 1
