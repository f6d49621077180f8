"""The ledger's pages: by page number or by cursor, the same rows in the same order, and
at a cost that does not grow with the ledger (no OFFSET, no count of an unfiltered
ledger, the same statements for any page size)."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.core.api.keyset import MAX_CURSOR_LENGTH, Keyset
from apps.inventory import services
from apps.inventory.api.views import InventoryViewSet
from apps.inventory.models import InventoryItem, MovementKind, StockMovement
from tests.factories import MakerspaceFactory, MembershipFactory
from tests.inventory.support import client_for, item_url, stocked_item

pytestmark = pytest.mark.django_db

LEDGER_LENGTH = 31
PAGE_META = {"total", "page", "limit", "has_next", "next_cursor"}
CURSOR_META = {"limit", "has_next", "next_cursor"}


@pytest.fixture
def space():
    return MakerspaceFactory.create(name="Kyiv Lab", slug="kyiv-lab")


@pytest.fixture
def manager(space) -> User:
    return MembershipFactory.create(makerspace=space, role="manager").user


@pytest.fixture
def staff(manager) -> APIClient:
    return client_for(manager)


@pytest.fixture
def member(space) -> APIClient:
    return client_for(MembershipFactory.create(makerspace=space, role="member").user)


@pytest.fixture
def ledger(space, manager) -> InventoryItem:
    """An opening of 100, then thirty movements: restocks of 1, 3, 5 ... and deductions
    of 2, 4, 6 ... in turn."""
    item = stocked_item(space, stock=100, acting_user=manager)
    for n in range(1, LEDGER_LENGTH):
        if n % 2:
            services.stock_restock(
                item=item, quantity=Decimal(n), acting_user=manager, note=f"Delivery {n}"
            )
        else:
            services.stock_deduct(
                item=item, quantity=Decimal(n), reason=f"Job {n}", acting_user=manager
            )
    item.refresh_from_db()
    return item


def ledger_url(item: InventoryItem) -> str:
    return item_url(item, "movements/")


def newest_first(item: InventoryItem, **filters: Any) -> list[int]:
    movements = StockMovement.objects.filter(item=item, **filters).order_by("-position")
    return list(movements.values_list("id", flat=True))


def ids(body: dict[str, Any]) -> list[int]:
    return [row["id"] for row in body["data"]]


def walk(client: APIClient, item: InventoryItem, limit: int, **query: Any) -> list[list[int]]:
    """Every page of the ledger: the first by page, then each by the cursor before."""
    response = client.get(ledger_url(item), {"limit": limit, **query})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["meta"]) == PAGE_META
    pages = [ids(body)]
    while body["meta"]["next_cursor"] is not None:
        assert body["meta"]["has_next"] is True
        response = client.get(
            ledger_url(item), {"cursor": body["meta"]["next_cursor"], "limit": limit, **query}
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body["meta"]) == CURSOR_META
        pages.append(ids(body))
    assert body["meta"]["has_next"] is False
    return pages


@pytest.mark.parametrize("limit", [1, 7, LEDGER_LENGTH, 100])
def test_a_cursor_walk_gives_every_movement_once_newest_first(ledger, staff, limit) -> None:
    pages = walk(staff, ledger, limit)

    assert [row for page in pages for row in page] == newest_first(ledger)
    assert all(len(page) == limit for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit


def test_an_empty_cursor_starts_a_walk_at_the_newest_movement(ledger, staff) -> None:
    response = staff.get(ledger_url(ledger), {"cursor": "", "limit": 5})

    assert response.status_code == 200
    body = response.json()
    assert ids(body) == newest_first(ledger)[:5]
    assert set(body["meta"]) == CURSOR_META
    assert body["meta"]["limit"] == 5
    assert body["meta"]["has_next"] is True


@pytest.mark.parametrize("limit", [2, 5, 7])
def test_page_n_is_the_nth_cursor_page(ledger, staff, limit) -> None:
    pages = walk(staff, ledger, limit)

    for number, page in enumerate(pages, start=1):
        body = staff.get(ledger_url(ledger), {"page": number, "limit": limit}).json()
        assert ids(body) == page, number
        assert body["meta"]["total"] == LEDGER_LENGTH
        assert body["meta"]["page"] == number
        assert body["meta"]["has_next"] is (number < len(pages))
        # A walk by pages may go on by cursor from any of them.
        if number < len(pages):
            after = staff.get(
                ledger_url(ledger), {"cursor": body["meta"]["next_cursor"], "limit": limit}
            )
            assert ids(after.json()) == pages[number]
        else:
            assert body["meta"]["next_cursor"] is None


def test_a_page_past_the_end_is_empty_with_no_next(ledger, staff) -> None:
    body = staff.get(ledger_url(ledger), {"page": 5, "limit": 10}).json()

    assert body == {
        "data": [],
        "meta": {
            "total": LEDGER_LENGTH,
            "page": 5,
            "limit": 10,
            "has_next": False,
            "next_cursor": None,
        },
    }


def test_a_page_answers_the_ledger_as_of_its_total_while_movements_are_added(
    ledger, manager, staff
) -> None:
    first = staff.get(ledger_url(ledger), {"limit": 10}).json()

    services.stock_restock(item=ledger, quantity=Decimal("1"), acting_user=manager)
    after_cursor = staff.get(
        ledger_url(ledger), {"cursor": first["meta"]["next_cursor"], "limit": 10}
    ).json()
    fresh = staff.get(ledger_url(ledger), {"limit": 10}).json()

    # The newer movement does not shift the walk: the next page follows on from the first.
    assert ids(after_cursor) == newest_first(ledger)[11:21]
    assert fresh["meta"]["total"] == LEDGER_LENGTH + 1
    assert ids(fresh) == newest_first(ledger)[:10]


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        pytest.param({"kind": "deduct"}, {"kind": MovementKind.DEDUCT}, id="kind"),
        pytest.param(
            {"kind": "restock,opening"},
            {"kind__in": [MovementKind.RESTOCK, MovementKind.OPENING]},
            id="several kinds",
        ),
    ],
)
def test_filtered_pages_and_cursors_agree(ledger, staff, query, filters) -> None:
    expected = newest_first(ledger, **filters)

    pages = walk(staff, ledger, 4, **query)

    assert [row for page in pages for row in page] == expected
    for number, page in enumerate(pages, start=1):
        body = staff.get(ledger_url(ledger), {"page": number, "limit": 4, **query}).json()
        assert ids(body) == page
        assert body["meta"]["total"] == len(expected)


def test_a_time_filter_walks_by_cursor_too(ledger, staff) -> None:
    middle = StockMovement.objects.get(item=ledger, position=16).created_at

    pages = walk(staff, ledger, 4, since=middle.isoformat())

    assert [row for page in pages for row in page] == newest_first(ledger, created_at__gte=middle)


def test_members_walk_the_ledger_in_their_shape(ledger, member) -> None:
    pages = walk(member, ledger, 8)

    assert [row for page in pages for row in page] == newest_first(ledger)
    body = member.get(ledger_url(ledger), {"cursor": "", "limit": 1}).json()
    assert "user" not in body["data"][0]
    assert "unit_cost" not in body["data"][0]


def test_the_ledger_of_another_space_is_404_with_a_cursor_too(ledger, staff) -> None:
    elsewhere = stocked_item(MakerspaceFactory.create(), stock=5)
    cursor = staff.get(ledger_url(ledger), {"limit": 1}).json()["meta"]["next_cursor"]

    response = staff.get(ledger_url(elsewhere), {"cursor": cursor})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


# --- cursors that are not the ledger's -----------------------------------------------------


def _real_cursor(client: APIClient, item: InventoryItem) -> str:
    return client.get(ledger_url(item), {"limit": 3}).json()["meta"]["next_cursor"]


def _tampered_payload(cursor: str) -> str:
    # Another position's payload under this cursor's signature.
    other = Keyset(("-position",), salt="inventory.ledger").cursor({"position": 99})
    return f"{other.rsplit(':', 1)[0]}:{cursor.rsplit(':', 1)[1]}"


def _tampered_signature(cursor: str) -> str:
    payload, signature = cursor.rsplit(":", 1)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{payload}:{flipped}"


BAD_CURSORS = {
    "not a cursor": lambda real: "page-two",
    "no signature": lambda real: real.rsplit(":", 1)[0],
    "payload changed": _tampered_payload,
    "signature changed": _tampered_signature,
    "of another list": lambda real: Keyset(("-position",), salt="another.list").cursor(
        {"position": 5}
    ),
    # Signed as the ledger's, but holding what no ledger page gives.
    "not a position": lambda real: Keyset(("-kind",), salt="inventory.ledger").cursor(
        {"kind": "deduct"}
    ),
    "two values": lambda real: Keyset(("-position", "-id"), salt="inventory.ledger").cursor(
        {"position": 3, "id": 4}
    ),
    "null": lambda real: Keyset(("-reason",), salt="inventory.ledger").cursor({"reason": None}),
    "too long": lambda real: real + "x" * MAX_CURSOR_LENGTH,
    "not text": lambda real: "\u00e9\u00e9:\u00e9",
}


@pytest.mark.parametrize("case", list(BAD_CURSORS))
def test_a_cursor_the_ledger_did_not_give_answers_400(ledger, staff, case) -> None:
    cursor = BAD_CURSORS[case](_real_cursor(staff, ledger))

    response = staff.get(ledger_url(ledger), {"cursor": cursor})

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "cursor" in error["details"]


def test_a_cursor_and_a_page_together_answer_400(ledger, staff) -> None:
    response = staff.get(ledger_url(ledger), {"cursor": _real_cursor(staff, ledger), "page": 2})

    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["details"]


def test_the_ledger_cursor_is_the_views_own() -> None:
    assert InventoryViewSet.keyset == Keyset(("-position",), salt="inventory.ledger")


# --- cost --------------------------------------------------------------------------------


def _statements(client: APIClient, item: InventoryItem, query: dict[str, Any]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(ledger_url(item), query)
    assert response.status_code == 200, response.content
    assert response.json()["data"]
    return [query["sql"] for query in captured.captured_queries]


MODES = {
    "first page": {},
    "later page": {"page": "2"},
    "cursor": {"cursor": "after the first two"},
    "filtered page": {"kind": "restock,deduct", "page": "2"},
    "filtered cursor": {"kind": "restock,deduct", "cursor": "after the first two"},
}


@pytest.mark.parametrize("who", ["staff", "member"])
@pytest.mark.parametrize("mode", list(MODES))
def test_a_page_runs_the_same_statements_for_two_rows_or_twenty_five(
    ledger, staff, member, who, mode
) -> None:
    client = staff if who == "staff" else member
    query = dict(MODES[mode])
    if "cursor" in query:
        first = client.get(ledger_url(ledger), {"limit": 2, "kind": query.get("kind", "")})
        query["cursor"] = first.json()["meta"]["next_cursor"]

    two = _statements(client, ledger, {**query, "limit": 2})
    twenty_five = _statements(client, ledger, {**query, "limit": 25})

    assert len(two) == len(twenty_five), (two, twenty_five)


@pytest.mark.parametrize("query", [{"page": "15", "limit": "2"}, {"limit": "25"}])
def test_an_unfiltered_page_is_found_by_position_without_offset_or_count(
    ledger, staff, query
) -> None:
    statements = _statements(staff, ledger, query)

    ledger_reads = [sql for sql in statements if "inventory_stockmovement" in sql]
    assert len(ledger_reads) == 1
    assert "OFFSET" not in ledger_reads[0].upper()
    assert not any("COUNT(" in sql.upper() for sql in statements)


def test_the_ledger_total_is_the_items_count_of_movements(ledger, staff) -> None:
    InventoryItem.objects.filter(pk=ledger.pk).update(movement_count=LEDGER_LENGTH - 1)

    body = staff.get(ledger_url(ledger), {"limit": 40}).json()

    # The count, not a count(*): with the count off by one the page shows what it names.
    assert body["meta"]["total"] == LEDGER_LENGTH - 1
    assert ids(body) == newest_first(ledger)[1:]


# --- the schema ----------------------------------------------------------------------------


def test_the_schema_documents_the_cursor_and_next_cursor() -> None:
    document = SchemaGenerator().get_schema(request=None, public=True)
    operation = document["paths"]["/api/v1/makerspaces/{makerspace_pk}/inventory/{id}/movements/"][
        "get"
    ]

    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert {"cursor", "page", "limit", "kind", "since", "until"} <= set(parameters)
    assert parameters["cursor"]["schema"]["type"] == "string"
    assert "next_cursor" in parameters["cursor"]["description"]
    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    envelope = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    meta = envelope["properties"]["meta"]
    assert meta["properties"]["next_cursor"] == {
        "type": "string",
        "nullable": True,
        "description": "Pass as `cursor` for the next page; null on the last page.",
    }
    assert set(meta["required"]) == {"limit", "has_next", "next_cursor"}
    assert "cursor" in operation["description"]


# --- the keyset over two fields ------------------------------------------------------------


def test_a_two_field_keyset_walks_rows_that_share_a_time_once_each(
    space, manager, time_machine
) -> None:
    # Given movements of two items, several written at the very same moment.
    time_machine.move_to("2026-03-01T10:00:00Z", tick=False)
    first = stocked_item(space, stock=5, acting_user=manager)
    second = stocked_item(space, stock=5, acting_user=manager)
    for _ in range(3):
        services.stock_deduct(item=first, quantity=Decimal("1"), reason="Tie", acting_user=manager)
    time_machine.move_to("2026-03-01T10:00:01Z", tick=False)
    for _ in range(2):
        services.stock_deduct(
            item=second, quantity=Decimal("1"), reason="Later", acting_user=manager
        )
    log = Keyset(("-created_at", "-id"), salt="tests.log")
    every = StockMovement.objects.values("id", "created_at")

    walked: list[int] = []
    cursor = None
    while True:
        rows = log.order(every)
        if cursor is not None:
            rows = log.after(rows, log.position(cursor, StockMovement))
        page = list(rows[:2])
        walked += [row["id"] for row in page]
        if len(page) < 2:
            break
        cursor = log.cursor(page[-1])

    assert walked == list(
        StockMovement.objects.order_by("-created_at", "-id").values_list("id", flat=True)
    )
    assert len(walked) == 7


def test_a_numbered_start_counts_from_either_end() -> None:
    assert Keyset(("-position",), salt="x").numbered_start(10, 4) == (7,)
    assert Keyset(("position",), salt="x").numbered_start(10, 4) == (4,)
    with pytest.raises(ValueError, match="numbering field"):
        Keyset(("-created_at", "-id"), salt="x").numbered_start(10, 4)
