"""Prepared queries: compiled once, run with each call's values, rows as the ORM reads
them; and the listings the paginator pages through."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, DateTimeField, F, QuerySet, UUIDField, Window
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.prepared import Listing, Param, PreparedQuery, count_of_rows, prepared_listing
from apps.equipment.models import Equipment
from apps.makerspaces.models import Makerspace
from tests.factories import EquipmentFactory, MakerspaceFactory

pytestmark = pytest.mark.django_db


def _machines() -> QuerySet[Any]:
    return (
        Equipment.objects.filter(makerspace_id=Param("space", UUIDField()))
        .annotate(double_rate=F("hourly_rate") * 2)
        .order_by("name")
        # An annotation between fields: the rows keep this order all the same.
        .values_list("name", "double_rate", "specifications", "created_at")
    )


def _count() -> QuerySet[Any]:
    found = Equipment.objects.filter(makerspace_id=Param("space", UUIDField()))
    return found.order_by().annotate(total=count_of_rows()).values_list("total")


ROWS = PreparedQuery(_machines)
COUNT = PreparedQuery(_count)


@pytest.fixture
def two_spaces() -> tuple[Makerspace, Makerspace]:
    first, second = MakerspaceFactory.create(), MakerspaceFactory.create()
    for name, rate in (("Saw", "3.50"), ("Lathe", "12.25"), ("Drill", "0.00")):
        EquipmentFactory.create(
            makerspace=first, name=name, hourly_rate=Decimal(rate), specifications={"n": name}
        )
    EquipmentFactory.create(makerspace=second, name="Kiln", hourly_rate=Decimal("1.00"))
    return first, second


def test_a_prepared_query_reads_what_the_orm_reads_for_each_calls_values(
    two_spaces: tuple[Makerspace, Makerspace],
) -> None:
    first, second = two_spaces

    # Given machines in two spaces, When the query runs for each space
    rows_first = ROWS.rows({"space": first.pk})
    rows_second = ROWS.rows({"space": second.pk})

    # Then each run reads its own space's machines exactly as the ORM would
    for space, rows in ((first, rows_first), (second, rows_second)):
        expected = list(
            Equipment.objects.filter(makerspace=space)
            .annotate(double_rate=F("hourly_rate") * 2)
            .order_by("name")
            .values_list("name", "double_rate", "specifications", "created_at")
        )
        assert rows == expected
    assert [name for name, *_ in rows_first] == ["Drill", "Lathe", "Saw"]
    assert rows_first[1][2] == {"n": "Lathe"}
    assert COUNT.value({"space": first.pk}) == 3
    # and the SQL was written once
    assert ROWS.compiled(connection) is ROWS.compiled(connection)


def test_a_prepared_query_must_name_its_columns() -> None:
    # Given a query of model instances rather than of named columns
    query = PreparedQuery(lambda: Equipment.objects.filter(pk=Param("id", UUIDField())))

    # Then it is refused when it is first compiled
    with pytest.raises(ValueError, match="values_list"):
        query.rows({"id": None})


def test_a_listing_counts_once_and_reads_pages(
    two_spaces: tuple[Makerspace, Makerspace],
) -> None:
    # Given a listing of the first space's machine names
    first, _ = two_spaces
    listing = prepared_listing(
        rows=ROWS, count=COUNT, row=lambda values: values[0], values={"space": first.pk}
    )

    # Then its length is the count, and slices are pages of it
    assert len(listing) == 3
    assert listing[0:2] == ["Drill", "Lathe"]
    assert listing[2:4] == ["Saw"]
    assert listing[5:7] == []
    assert listing[1] == "Lathe"
    assert list(listing) == ["Drill", "Lathe", "Saw"]
    with pytest.raises(IndexError):
        listing[3]


def _counted() -> QuerySet[Any]:
    return _machines().annotate(total=Window(Count("*"))).values_list("name", "total")


@pytest.mark.parametrize(
    ("offset", "names", "statements"),
    [
        pytest.param(0, ["Drill", "Lathe"], 1, id="first-page"),
        pytest.param(2, ["Saw"], 1, id="last-page"),
        # Nothing read to count on: the count asks apart, and no page is read.
        pytest.param(4, [], 2, id="past-the-end"),
    ],
)
def test_a_listing_told_its_page_reads_it_with_its_count(
    two_spaces: tuple[Makerspace, Makerspace], offset: int, names: list[str], statements: int
) -> None:
    # Given a listing whose rows carry the count of them all, told the page to come
    first, _ = two_spaces
    listing = prepared_listing(
        rows=PreparedQuery(_counted),
        count=COUNT,
        row=lambda values: values[0],
        values={"space": first.pk},
        counted=True,
    )
    listing.expect(offset, 2)

    # When the paginator takes its length and then (unless past the end) its page
    with CaptureQueriesContext(connection) as captured:
        total = len(listing)
        page = listing[offset : offset + 2] if offset < total else []

    # Then both come from one statement, and a page past the end costs the count
    assert (total, page) == (3, names)
    assert len(captured) == statements


def test_a_listing_asks_for_its_count_once() -> None:
    # Given a listing that notes each count it is asked for
    counted: list[int] = []

    def count() -> int:
        counted.append(1)
        return 7

    listing: Listing[int] = Listing(count=count, page=lambda offset, limit: ([offset], None))

    # Then its length is counted once, however often it is read
    assert (len(listing), len(listing), listing[4:6]) == (7, 7, [4])
    assert counted == [1]


def test_moments_are_bound_as_the_orm_binds_them(
    two_spaces: tuple[Makerspace, Makerspace],
) -> None:
    # Given a query filtering on a moment: no machine was created after "now"
    first, _ = two_spaces
    newer = PreparedQuery(
        lambda: Equipment.objects.filter(
            makerspace_id=Param("space", UUIDField()),
            created_at__gt=Param("after", DateTimeField()),
        )
        .order_by("name")
        .values_list("name")
    )
    now = timezone.now()

    # Then the moment compares as the ORM compares it, on every backend
    assert newer.rows({"space": first.pk, "after": now}) == []
    earlier = now - timedelta(days=1)
    assert [name for (name,) in newer.rows({"space": first.pk, "after": earlier})] == [
        "Drill",
        "Lathe",
        "Saw",
    ]
