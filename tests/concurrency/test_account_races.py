"""Races on accounts: one email, one account; one version, one writer."""

from collections import Counter

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.concurrency.helpers import run_together
from tests.conftest import bearer_client
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "Lathe-and-Mill-2026"


def test_many_sign_ups_with_one_email_make_one_account() -> None:
    def sign_up(index: int) -> int:
        return (
            APIClient()
            .post(
                "/api/v1/users/register",
                {
                    "email": "race@example.org" if index % 2 else "RACE@example.org",
                    "name": f"Racer {index}",
                    "password": PASSWORD,
                    "confirm_password": PASSWORD,
                },
                REMOTE_ADDR=f"10.1.0.{index}",
            )
            .status_code
        )

    statuses = Counter(run_together(20, sign_up))

    assert statuses == {201: 1, 400: 19}
    assert User.objects.filter(email__iexact="race@example.org").count() == 1


def test_concurrent_edits_with_one_etag_let_exactly_one_win() -> None:
    user = UserFactory.create()
    etag = bearer_client(user).get("/api/v1/users/me")["ETag"]

    def edit(index: int) -> int:
        return (
            bearer_client(user)
            .patch("/api/v1/users/me", {"name": f"Editor {index}"}, HTTP_IF_MATCH=etag)
            .status_code
        )

    statuses = Counter(run_together(12, edit))

    assert statuses == {200: 1, 412: 11}
    user.refresh_from_db()
    assert user.name.startswith("Editor ")
