"""``seed_volume`` at scale 0.01: the rows it writes are ones the services could read."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.accounts.models import User
from apps.equipment.models import Equipment, Reservation
from apps.inventory.models import InventoryItem, StockMovement
from apps.makerspaces.models import Makerspace, Membership, MemberSkill
from apps.projects.models import BomLine, Project, ProjectCollaborator
from apps.store.models import Category, Market, Product, ProductStockMovement
from bench.volume import BENCH_PASSWORD, DEFAULT_SEED, member_email, scaled_counts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SMALL = scaled_counts(0.01)


@pytest.fixture
def seeded(db) -> StringIO:
    out = StringIO()
    call_command("seed_volume", "--scale", "0.01", stdout=out, stderr=StringIO())
    return out


def _scalar(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_counts_follow_the_scale(seeded):
    # Given the command ran at scale 0.01, then every table holds its share of scale 1.
    assert SMALL == {
        "spaces": 1,
        "users": 200,
        "machines": 20,
        "reservations": 2_000,
        "items": 50,
        "movements": 10_000,
        "hot_item_movements": 2_000,
        "projects": 20,
        "markets": 1,
        "products": 200,
    }
    assert Makerspace.objects.count() == SMALL["spaces"]
    assert User.objects.count() == SMALL["users"]
    assert Membership.objects.count() >= SMALL["users"]
    assert MemberSkill.objects.exists()
    assert Equipment.objects.count() == SMALL["machines"]
    assert Equipment.skill_requirements.through.objects.exists()
    assert InventoryItem.objects.count() == SMALL["items"]
    assert StockMovement.objects.count() == SMALL["movements"]
    assert Project.objects.count() == SMALL["projects"]
    assert BomLine.objects.exists()
    assert ProjectCollaborator.objects.exists()
    # One item carries the long ledger the pagination benchmark pages through.
    longest = _scalar(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM inventory_stockmovement GROUP BY item_id) c"
    )
    assert longest == SMALL["hot_item_movements"]
    assert "10,000" in seeded.getvalue()
    assert BENCH_PASSWORD in seeded.getvalue()


def test_every_booking_lands_and_none_overlaps(seeded):
    # The exclusion constraint refuses an overlapping holding booking, so every
    # requested booking being present means none was refused.
    assert Reservation.objects.count() == SMALL["reservations"]
    overlapping = _scalar(
        "SELECT count(*) FROM equipment_reservation a JOIN equipment_reservation b "
        "ON a.equipment_id = b.equipment_id AND a.id < b.id "
        "AND tstzrange(a.start_time, a.block_end) && tstzrange(b.start_time, b.block_end)"
    )
    assert overlapping == 0
    statuses = set(Reservation.objects.values_list("status", flat=True).distinct())
    assert {"completed", "cancelled", "no_show", "confirmed", "pending"} <= statuses
    # Bookers are members of the machine's space.
    strangers = _scalar(
        "SELECT count(*) FROM equipment_reservation r WHERE NOT EXISTS (SELECT 1 FROM "
        "makerspaces_membership m WHERE m.user_id = r.user_id "
        "AND m.makerspace_id = r.makerspace_id)"
    )
    assert strangers == 0


def test_stock_is_the_sum_of_a_consistent_ledger(seeded):
    out = StringIO()
    call_command("check_stock_ledger", stdout=out, stderr=StringIO())
    assert f"All {SMALL['items']} items agree" in out.getvalue()
    # Each balance_after is the running sum of its item's deltas, in ledger order.
    wrong_balances = _scalar(
        "SELECT count(*) FROM (SELECT balance_after, sum(delta) OVER (PARTITION BY item_id "
        "ORDER BY created_at, id) AS running FROM inventory_stockmovement) m "
        "WHERE balance_after <> running OR balance_after < 0"
    )
    assert wrong_balances == 0
    foreign_bom_lines = _scalar(
        "SELECT count(*) FROM projects_bomline b JOIN projects_project p ON p.id = b.project_id "
        "JOIN inventory_inventoryitem i ON i.id = b.item_id "
        "WHERE i.makerspace_id <> p.makerspace_id"
    )
    assert foreign_bom_lines == 0


def test_a_seeded_user_signs_in_with_the_bench_password(seeded, api_client):
    response = api_client.post(
        "/api/v1/users/login",
        {"email": member_email(seed=DEFAULT_SEED, number=7), "password": BENCH_PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["access_token"]


def test_a_second_run_refuses_a_non_empty_database(seeded):
    with pytest.raises(CommandError, match="not empty"):
        call_command("seed_volume", "--scale", "0.01", stdout=StringIO(), stderr=StringIO())
    # The same seed twice would collide on its own names, even when forced.
    with pytest.raises(CommandError, match="already here"):
        call_command(
            "seed_volume", "--scale", "0.01", "--force", stdout=StringIO(), stderr=StringIO()
        )
    assert User.objects.count() == SMALL["users"]
    assert Reservation.objects.count() == SMALL["reservations"]


def test_the_store_volume_is_consistent_and_searchable(seeded, api_client):
    assert Market.objects.count() == SMALL["markets"]
    assert Product.objects.count() == SMALL["products"]
    assert Category.objects.filter(parent__isnull=True).count() == 5
    assert (
        ProductStockMovement.objects.count() == Product.objects.filter(stock_quantity__gt=0).count()
    )
    out = StringIO()
    call_command("check_product_stock", stdout=out, stderr=StringIO())
    listed = api_client.get("/api/v1/store/products/?limit=5&search=filament&sort=price_asc")
    assert listed.status_code == 200
    rows = listed.json()["data"]
    assert rows
    found = Product.objects.filter(
        pk__in=[row["id"] for row in rows], search_document__icontains="filament"
    )
    assert found.count() == len(rows)
    prices = [float(row["effective_price"]) for row in rows]
    assert prices == sorted(prices)


def test_store_only_adds_a_store_to_an_older_volume_database(seeded):
    ProductStockMovement.objects.all().delete()
    Product.objects.all().delete()
    Market.objects.all().delete()
    Category.objects.filter(parent__isnull=False).delete()
    Category.objects.all().delete()

    call_command(
        "seed_volume", "--scale", "0.01", "--store-only", stdout=StringIO(), stderr=StringIO()
    )

    assert Product.objects.count() == SMALL["products"]
    assert Market.objects.count() == SMALL["markets"]
    with pytest.raises(CommandError, match="already holds products"):
        call_command("seed_volume", "--scale", "0.01", "--store-only", stdout=StringIO())
