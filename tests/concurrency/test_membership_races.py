"""Two admins stepping down at once must not leave a space without an admin."""

from collections import Counter

import pytest

from apps.makerspaces.models import Membership
from tests.concurrency.helpers import run_together
from tests.conftest import bearer_client
from tests.factories import MakerspaceFactory, MembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_admins_demoting_themselves_at_once_leave_one_admin() -> None:
    space = MakerspaceFactory.create()
    admins = [MembershipFactory.create(makerspace=space, role="admin") for _ in range(2)]

    def step_down(index: int) -> int:
        mine = admins[index]
        return (
            bearer_client(mine.user)
            .patch(f"/api/v1/makerspaces/{space.pk}/members/{mine.pk}/", {"role": "member"})
            .status_code
        )

    statuses = Counter(run_together(2, step_down))

    assert statuses == {200: 1, 409: 1}
    assert Membership.objects.filter(makerspace=space, role="admin").count() == 1


def test_admins_leaving_at_once_leave_one_admin() -> None:
    space = MakerspaceFactory.create()
    admins = [MembershipFactory.create(makerspace=space, role="admin") for _ in range(4)]

    def leave(index: int) -> int:
        mine = admins[index]
        return (
            bearer_client(mine.user)
            .delete(f"/api/v1/makerspaces/{space.pk}/members/{mine.pk}/")
            .status_code
        )

    statuses = Counter(run_together(4, leave))

    assert statuses == {204: 3, 409: 1}
    assert Membership.objects.filter(makerspace=space, role="admin").count() == 1


def test_many_joins_of_one_user_make_one_membership() -> None:
    space = MakerspaceFactory.create(join_policy="open")
    member = MembershipFactory.create().user  # a user who belongs elsewhere

    def join(index: int) -> int:
        return bearer_client(member).post(f"/api/v1/makerspaces/{space.pk}/join").status_code

    statuses = Counter(run_together(10, join))

    assert statuses == {201: 1, 409: 9}
    assert Membership.objects.filter(makerspace=space, user=member).count() == 1
