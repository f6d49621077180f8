"""The directory and a space's page answer through lean rows: the same JSON as
MakerspaceSerializer, the same distances in the same order, in a fixed number of
queries whatever the page size."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.core.concurrency import etag_for
from apps.makerspaces import selectors
from apps.makerspaces.api.presenters import makerspace_row
from apps.makerspaces.api.serializers import MakerspaceSerializer
from apps.makerspaces.models import Makerspace
from tests.conftest import bearer_client
from tests.factories import ClosureFactory, MakerspaceFactory, MembershipFactory, UserFactory
from tests.lean import assert_lean_matches

pytestmark = pytest.mark.django_db

KYIV = (Decimal("50.450100"), Decimal("30.523400"))
LVIV = (Decimal("49.839700"), Decimal("24.029700"))
SYDNEY = (Decimal("-33.868800"), Decimal("151.209300"))
# A space's row and closures come in one query on PostgreSQL, in two elsewhere.
ROWS_QUERIES = 1 if connection.vendor == "postgresql" else 2


def varied_spaces() -> list[Makerspace]:
    """Spaces with and without coordinates, closures, settings and custom hours."""
    bare = MakerspaceFactory.create(
        name="Bare", description="", address="", location="", contact_email="", settings={}
    )
    kyiv = MakerspaceFactory.create(
        name="Київ Лаб",
        latitude=KYIV[0],
        longitude=KYIV[1],
        contact_email="hello@kyiv.example",
        contact_phone="+380 44 000 0000",
        business_hours={"mon": [["09:00", "13:00"], ["14:00", "24:00"]], "sat": []},
        settings={"booking": {"max_hours": 4}, "labels": ["a", "b"], "ratio": 0.25},
        verified=True,
        join_policy="invite",
    )
    lviv = MakerspaceFactory.create(name="Lviv Fab", latitude=LVIV[0], longitude=LVIV[1])
    sydney = MakerspaceFactory.create(
        name="Sydney Shed", latitude=SYDNEY[0], longitude=SYDNEY[1], is_active=False
    )
    for day, reason in [(12, "Move"), (3, ""), (25, "Holiday «Різдво»")]:
        ClosureFactory.create(makerspace=kyiv, date=dt.date(2027, 1, day), reason=reason)
    ClosureFactory.create(makerspace=lviv, date=dt.date(2026, 12, 31), reason="New Year's Eve")
    Makerspace.objects.filter(pk=kyiv.pk).update(
        created_at=dt.datetime(2026, 3, 1, 8, 15, 30, 123456, tzinfo=dt.UTC)
    )
    return [bare, kyiv, lviv, sydney]


def lean_rows(spaces: Any) -> Any:
    """The lean row of a space, read as the directory reads it."""
    rows = list(selectors.makerspace_rows(spaces))
    closures = selectors.closures_by_space(rows)
    by_id = {row["id"]: row for row in rows}
    return lambda space: makerspace_row(by_id[space.pk], closures.get(space.pk, ()))


def test_the_lean_row_is_the_serializer_row() -> None:
    varied_spaces()
    spaces = Makerspace.objects.order_by("name")

    assert assert_lean_matches(lean_rows(spaces), MakerspaceSerializer, spaces) == 4


def test_the_lean_row_with_a_distance_is_the_serializer_row() -> None:
    varied_spaces()
    spaces = selectors.makerspace_directory(near=(50.0, 30.0))

    compared = assert_lean_matches(lean_rows(spaces), MakerspaceSerializer, spaces)

    assert compared == 2  # the active spaces with coordinates


def test_closures_read_with_the_rows_equal_closures_read_apart() -> None:
    varied_spaces()
    with_rows = list(selectors.makerspace_rows(Makerspace.objects.order_by("name")))
    # Rows without the closures column: their closures are read with a query of their own.
    plain = list(Makerspace.objects.order_by("name").values(*selectors.MAKERSPACE_ROW_COLUMNS))

    together = selectors.closures_by_space(with_rows)
    apart = selectors.closures_by_space(plain)

    def as_text(found: dict[Any, Any]) -> dict[str, list[tuple[str, str, str]]]:
        return {
            str(space_id): [(str(pk), day.isoformat(), reason) for pk, day, reason in closures]
            for space_id, closures in found.items()
            if closures
        }

    assert as_text(together) == as_text(apart)
    assert [reason for _, _, reason in apart[Makerspace.objects.get(name="Київ Лаб").pk]] == [
        "",
        "Move",
        "Holiday «Різдво»",
    ]


@pytest.mark.parametrize("point", [(48.0, 30.0), (-33.5, 151.25), (0.0, 0.0), (90.0, -180.0)])
def test_the_distance_node_compiles_to_the_distance_expression(
    point: tuple[float, float],
) -> None:
    node = Makerspace.objects.annotate(d=selectors.DistanceKm(*point)).values("d")
    reference = Makerspace.objects.annotate(d=selectors.distance_km_expression(*point)).values("d")

    assert node.query.sql_with_params() == reference.query.sql_with_params()


def test_near_answers_the_distances_and_order_of_the_distance_expression(
    api_client: APIClient,
) -> None:
    varied_spaces()
    MakerspaceFactory.create(name="Nowhere", latitude=None, longitude=None)
    for index in range(6):
        MakerspaceFactory.create(
            name=f"Ring {index}",
            latitude=Decimal("50.000000") + index,
            longitude=Decimal("30.000000") - index,
        )
    expected = (
        Makerspace.objects.filter(is_active=True)
        .annotate(distance_km=selectors.distance_km_expression(50.45, 30.52))
        .filter(distance_km__isnull=False, distance_km__lte=700)
        .order_by("distance_km", "name")
        .values_list("name", "distance_km")
    )

    rows = api_client.get("/api/v1/makerspaces/?near=50.45,30.52&radius_km=700").json()["data"]

    assert [(row["name"], row["distance_km"]) for row in rows] == [
        (name, round(distance, 2)) for name, distance in expected
    ]
    assert len(rows) >= 6


@pytest.mark.parametrize("query", ["", "&search=space", "&near=50.0,30.0", "&verified=false"])
def test_the_directory_makes_the_same_queries_for_a_small_and_a_full_page(
    api_client: APIClient, query: str
) -> None:
    for index in range(30):
        space = MakerspaceFactory.create(
            name=f"Space {index:02}", latitude=Decimal("49.5"), longitude=Decimal(index)
        )
        ClosureFactory.create(makerspace=space)

    def queries_for(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api_client.get(f"/api/v1/makerspaces/?limit={limit}{query}")
        assert response.status_code == 200
        assert len(response.json()["data"]) == limit
        assert all(row["closures"] for row in response.json()["data"])
        return len(captured.captured_queries)

    # The count, then the page's rows with their closures.
    assert queries_for(2) == queries_for(25) == 1 + ROWS_QUERIES


def test_a_page_past_the_end_reads_no_rows(api_client: APIClient) -> None:
    MakerspaceFactory.create_batch(3)

    with CaptureQueriesContext(connection) as captured:
        response = api_client.get("/api/v1/makerspaces/?limit=2&page=5")

    assert response.json() == {
        "data": [],
        "meta": {"total": 3, "page": 5, "limit": 2, "has_next": False},
    }
    assert len(captured.captured_queries) == 1


def test_the_space_page_is_the_serializer_row_with_its_version() -> None:
    _, kyiv, _, _ = varied_spaces()
    space = Makerspace.objects.get(pk=kyiv.pk)
    client = bearer_client(UserFactory.create())

    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/v1/makerspaces/{kyiv.pk}")

    assert response.status_code == 200
    assert response.json() == MakerspaceSerializer(space).data
    assert [closure["date"] for closure in response.json()["closures"]] == [
        "2027-01-03",
        "2027-01-12",
        "2027-01-25",
    ]
    assert response["ETag"] == etag_for(space)
    space_queries = [query for query in captured.captured_queries if "makerspaces_" in query["sql"]]
    assert len(space_queries) == ROWS_QUERIES


def test_a_deactivated_space_shows_only_to_its_members() -> None:
    _, _, _, sydney = varied_spaces()
    member = MembershipFactory.create(makerspace=sydney).user
    url = f"/api/v1/makerspaces/{sydney.pk}"

    as_member = bearer_client(member).get(url)
    as_outsider = bearer_client(UserFactory.create()).get(url)
    anonymous = APIClient().get(url)

    assert as_member.status_code == 200
    assert as_member.json()["is_active"] is False
    assert as_outsider.status_code == 404
    assert anonymous.status_code == 404
