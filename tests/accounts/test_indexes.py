"""Case-insensitive email lookups are served by an index on PostgreSQL."""

import pytest
from django.db import connection

from apps.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_email_iexact_lookup_uses_an_index() -> None:
    UserFactory.create_batch(3)
    query = User.objects.filter(email__iexact="Member1@Example.org").values("id")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "accounts_user_email_upper" in plan, plan
