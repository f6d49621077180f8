"""Search uses PostgreSQL full text on the GIN index of migration 0002."""

import pytest
from django.db import connection

from apps.store import selectors
from apps.store.models import Product
from tests.factories import ProductFactory
from tests.store.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_the_search_filter_uses_the_gin_index(store) -> None:
    ProductFactory.create(category=store.tools, name="Brass hinge", search_document="Brass hinge")
    products = selectors.products_matching(Product.objects.all(), "hinge")
    sql, params = products.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert selectors.SEARCH_INDEX in plan, plan


def test_search_syntax(store) -> None:
    ProductFactory.create(
        category=store.tools, name="Brass hinge", search_document="Brass hinge\nsmall"
    )
    ProductFactory.create(
        category=store.tools, name="Steel hinge", search_document="Steel hinge\nlarge"
    )
    url = "/api/v1/store/products/?search="
    found = lambda q: [r["name"] for r in client_for(None).get(url + q).json()["data"]]  # noqa: E731
    assert found("hinge") == ["Brass hinge", "Steel hinge"]
    assert found("steel hinge") == ["Steel hinge"]
    assert found("small") == ["Brass hinge"]
