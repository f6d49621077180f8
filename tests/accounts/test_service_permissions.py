"""The account services act only for the account holder.

Called directly by someone else, each refuses with PERMISSION_DENIED and writes
nothing: the profile, the password and the sessions stay as they were.
"""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import services
from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

Call = Callable[[User, User], Any]

CASES = [
    pytest.param(
        lambda holder, other: services.user_update_profile(
            user=holder, acting_user=other, changes={"name": "Taken Over"}
        ),
        id="user_update_profile",
    ),
    pytest.param(
        lambda holder, other: services.user_change_password(
            user=holder,
            current_password=DEFAULT_PASSWORD,
            new_password="Another-Horse-77",
            acting_user=other,
        ),
        id="user_change_password",
    ),
    pytest.param(
        lambda holder, other: services.user_end_all_sessions(user=holder, acting_user=other),
        id="user_end_all_sessions",
    ),
]


def account_state() -> dict[str, list[tuple[Any, ...]]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values_list())
        for model in (User, OutstandingToken, BlacklistedToken, AuditLogEntry)
    }


@pytest.mark.parametrize("call", CASES)
def test_an_account_service_refuses_anyone_but_the_holder(call: Call) -> None:
    # Given an account with a live session, and another signed-up user
    holder = UserFactory.create(name="Hanna Holder")
    RefreshToken.for_user(holder)
    other = UserFactory.create()
    before = account_state()

    # When the other user calls the service on the holder's account
    with pytest.raises(ApplicationError) as refused:
        call(holder, other)

    # Then it refuses with the one 403, and nothing was written
    assert refused.value.code == "PERMISSION_DENIED"
    assert refused.value.status_code == 403
    assert account_state() == before


def test_the_holder_still_updates_their_own_profile() -> None:
    # Given an account, When its holder renames themselves
    holder = UserFactory.create(name="Hanna Holder")
    services.user_update_profile(user=holder, acting_user=holder, changes={"name": "Hanna H."})

    # Then the name is saved
    assert User.objects.get(pk=holder.pk).name == "Hanna H."
