"""/api/v1/store/products/: the catalogue's list (filters, sorts, search, fast read
path), detail, writes, stock and reviews."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import User
from apps.core.concurrency import etag_for
from apps.store import services
from apps.store.models import Product, ProductStockMovement, Review
from tests.factories import MarketFactory, ProductFactory
from tests.store.conftest import client_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/store/products/"


def make(store, name: str, price: str, **fields) -> Product:
    stock = fields.pop("stock", 0)
    product = services.product_create(
        acting_user=store.admin,
        market=fields.pop("market", store.market),
        category=fields.pop("category", store.drills),
        name=name,
        sku=fields.pop("sku", name.upper().replace(" ", "-")),
        price=Decimal(price),
        opening_stock=stock,
        **fields,
    )
    return product


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["data"]]


@pytest.fixture
def catalogue(store):
    make(store, "Cordless drill", "120.00", stock=3, is_featured=True, tags=["battery"])
    make(store, "Hammer", "15.00", category=store.hand_tools, stock=10, sale_price=Decimal("9.50"))
    make(store, "Angle grinder", "80.00", category=store.power_tools, description="A disc cutter")
    make(store, "Saw", "30.00", market=None, category=store.hand_tools, stock=1)
    make(store, "Hidden", "1.00", is_active=False)
    return store


def test_anyone_lists_active_products_by_name_in_the_envelope(catalogue) -> None:
    response = client_for(None).get(URL)
    assert names(response) == ["Angle grinder", "Cordless drill", "Hammer", "Saw"]
    body = response.json()
    assert body["meta"] == {"total": 4, "page": 1, "limit": 20, "has_next": False}
    hammer = next(row for row in body["data"] if row["name"] == "Hammer")
    assert list(hammer) == [
        "id",
        "name",
        "slug",
        "sku",
        "description",
        "long_description",
        "price",
        "sale_price",
        "effective_price",
        "currency",
        "category",
        "market",
        "stock_quantity",
        "track_inventory",
        "allow_backorder",
        "in_stock",
        "tags",
        "images",
        "specifications",
        "dimensions",
        "weight",
        "is_featured",
        "rating",
        "review_count",
        "created_at",
    ]
    assert (hammer["price"], hammer["sale_price"], hammer["effective_price"]) == (
        "15.00",
        "9.50",
        "9.50",
    )
    assert (hammer["category"], hammer["market"], hammer["images"]) == (
        "hand-tools",
        str(catalogue.market.pk),
        [],
    )


@pytest.mark.parametrize("who", ["owner", "staff", "admin"])
def test_managers_also_see_their_inactive_products(catalogue, who) -> None:
    assert "Hidden" in names(catalogue.client(who).get(URL))
    assert "Hidden" not in names(catalogue.client("other").get(URL))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=tools", ["Angle grinder", "Cordless drill", "Hammer", "Saw"]),
        ("category=power-tools", ["Angle grinder", "Cordless drill"]),
        ("category=drills", ["Cordless drill"]),
        ("category=nothing-here", []),
        ("min_price=20", ["Angle grinder", "Cordless drill", "Saw"]),
        ("max_price=10", ["Hammer"]),  # its sale price counts
        ("min_price=10&max_price=80", ["Angle grinder", "Saw"]),
        ("in_stock=true", ["Cordless drill", "Hammer", "Saw"]),
        ("in_stock=false", ["Angle grinder"]),
        ("featured=true", ["Cordless drill"]),
        ("featured=false", ["Angle grinder", "Hammer", "Saw"]),
        ("sort=price_asc", ["Hammer", "Saw", "Angle grinder", "Cordless drill"]),
        ("sort=price_desc", ["Cordless drill", "Angle grinder", "Saw", "Hammer"]),
        ("sort=newest", ["Saw", "Angle grinder", "Hammer", "Cordless drill"]),
        ("search=drill", ["Cordless drill"]),
        ("search=disc cutter", ["Angle grinder"]),
        ("search=battery", ["Cordless drill"]),
        ("search=DRILL", ["Cordless drill"]),
        ("search=nothing", []),
    ],
)
def test_filters_and_sorts(catalogue, query, expected) -> None:
    assert names(client_for(None).get(f"{URL}?{query}")) == expected


def test_market_filter_and_rating_sort(catalogue) -> None:
    assert names(client_for(None).get(f"{URL}?market={catalogue.market.pk}")) == [
        "Angle grinder",
        "Cordless drill",
        "Hammer",
    ]
    hammer = Product.objects.get(name="Hammer")
    saw = Product.objects.get(name="Saw")
    services.review_create(product=hammer, acting_user=catalogue.other, rating=3)
    services.review_create(product=saw, acting_user=catalogue.other, rating=5)
    services.review_create(product=saw, acting_user=catalogue.staff, rating=4)
    assert names(client_for(None).get(f"{URL}?sort=rating")) == [
        "Saw",
        "Hammer",
        "Angle grinder",
        "Cordless drill",
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=cheapest", "sort"),
        ("in_stock=maybe", "in_stock"),
        ("featured=2", "featured"),
        ("min_price=-1", "min_price"),
        ("max_price=abc", "max_price"),
        ("market=not-a-uuid", "market"),
        ("limit=0", "limit"),
    ],
)
def test_bad_filters_answer_400_naming_the_parameter(catalogue, query, field) -> None:
    response = client_for(None).get(f"{URL}?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]


def test_the_list_costs_the_same_queries_at_two_page_sizes(store) -> None:
    other_market = MarketFactory.create()
    for index in range(30):
        ProductFactory.create(
            category=store.drills if index % 2 else store.hand_tools,
            market=store.market if index % 3 else other_market,
            sale_price="5.00" if index % 4 == 0 else None,
            weight="1.250" if index % 5 == 0 else None,
        )
    counts = {}
    for who in (None, "other"):
        for limit in (2, 25):
            # A fresh user object per request, as a real request has.
            client = client_for(None if who is None else User.objects.get(pk=store.other.pk))
            with CaptureQueriesContext(connection) as queries:
                response = client.get(
                    f"{URL}?limit={limit}&category=tools&sort=price_asc&in_stock=false"
                )
            assert response.status_code == 200
            assert len(response.json()["data"]) == limit
            counts[(who, limit)] = len(queries)
    assert counts[(None, 2)] == counts[(None, 25)] == 3, counts  # categories, count, page
    # Signed in: the markets the caller manages, then the same three.
    assert counts[("other", 2)] == counts[("other", 25)] == 4, counts


def test_detail_by_id_or_slug_with_its_version(catalogue) -> None:
    hammer = Product.objects.get(name="Hammer")
    by_id = client_for(None).get(f"{URL}{hammer.pk}/")
    by_slug = client_for(None).get(f"{URL}{hammer.slug}/")
    assert by_id.status_code == by_slug.status_code == 200
    assert by_id.json() == by_slug.json()
    assert by_id["ETag"] == etag_for(hammer)
    hidden = Product.objects.get(name="Hidden")
    assert client_for(None).get(f"{URL}{hidden.slug}/").status_code == 404
    assert catalogue.client("staff").get(f"{URL}{hidden.slug}/").status_code == 200
    assert client_for(None).get(f"{URL}no-such-thing/").json()["error"]["code"] == "NOT_FOUND"


def test_owner_creates_a_product_in_their_market(store) -> None:
    body = {
        "name": "Drill bits",
        "sku": "BIT-1",
        "price": "12.00",
        "category": "drills",
        "market": str(store.market.pk),
        "stock_quantity": 4,
        "tags": ["hss"],
        "specifications": {"sizes": "1-10 mm"},
        "weight": "0.200",
    }
    response = store.client("owner").post(URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["slug"], data["stock_quantity"], data["in_stock"], data["weight"]) == (
        "drill-bits",
        4,
        True,
        "0.200",
    )
    product = Product.objects.get(sku="BIT-1")
    assert product.stock_movements.get().change == 4


@pytest.mark.parametrize(
    ("who", "market", "status"),
    [(None, True, 401), ("other", True, 403), ("owner", False, 403), ("staff", False, 403)],
)
def test_product_creation_refusals_write_nothing(store, who, market, status) -> None:
    body = {"name": "X", "sku": "X-1", "price": "1.00", "category": "drills"}
    if market:
        body["market"] = str(store.market.pk)
    response = store.client(who).post(URL, body, format="json")
    assert response.status_code == status
    assert response.json()["error"]["code"] in ("NOT_AUTHENTICATED", "PERMISSION_DENIED")
    assert not Product.objects.exists()


def test_product_validation(store) -> None:
    client = store.client("owner")
    base = {
        "name": "X",
        "sku": "X-1",
        "price": "10.00",
        "category": "drills",
        "market": str(store.market.pk),
    }
    cases = [
        ({**base, "sale_price": "10.00"}, "sale_price"),
        ({**base, "category": "nope"}, "category"),
        ({**base, "price": "-1"}, "price"),
        ({**base, "rating": "5.00"}, "rating"),
        ({**base, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = client.post(URL, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["error"]["details"], response.json()
    assert client.post(URL, base, format="json").status_code == 201
    again = client.post(URL, {**base, "name": "Y"}, format="json")
    assert again.status_code == 400
    assert "sku" in again.json()["error"]["details"]


def test_patch_with_if_match(catalogue) -> None:
    drill = Product.objects.get(name="Cordless drill")
    client = catalogue.client("staff")
    etag = client.get(f"{URL}{drill.pk}/")["ETag"]
    response = client.patch(
        f"{URL}{drill.pk}/", {"price": "99.00"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200
    assert response.json()["price"] == "99.00"
    stale = client.patch(f"{URL}{drill.pk}/", {"price": "1.00"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert Product.objects.get(pk=drill.pk).price == Decimal("99.00")
    for body, field in [({"stock_quantity": 5}, "stock_quantity"), ({"market": None}, "market")]:
        response = client.patch(f"{URL}{drill.pk}/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()["error"]["details"]
    assert (
        catalogue.client("other")
        .patch(f"{URL}{drill.pk}/", {"price": "1.00"}, format="json")
        .status_code
        == 403
    )


def test_delete(catalogue) -> None:
    saw = Product.objects.get(name="Saw")
    assert catalogue.client("owner").delete(f"{URL}{saw.pk}/").status_code == 403
    assert catalogue.client("admin").delete(f"{URL}{saw.pk}/").status_code == 204
    assert Product.objects.get(pk=saw.pk).is_active is False  # it has a ledger


def test_stock_route_and_its_ledger(catalogue) -> None:
    drill = Product.objects.get(name="Cordless drill")
    client = catalogue.client("staff")
    url = f"{URL}{drill.pk}/stock"
    taken = client.post(url, {"change": -2, "reason": "sale", "note": "shop"}, format="json")
    assert taken.status_code == 200, taken.content
    assert taken.json()["stock_quantity"] == 1
    assert taken.json()["movement"]["actor"] == {
        "id": str(catalogue.staff.pk),
        "name": "Stepan Staff",
    }
    short = client.post(url, {"change": -5, "reason": "sale"}, format="json")
    assert short.status_code == 400
    assert short.json()["error"]["code"] == "INSUFFICIENT_STOCK"
    assert short.json()["error"]["details"]["available"] == 1
    assert client.post(url, {"change": 0, "reason": "adjust"}, format="json").status_code == 400
    assert (
        catalogue.client("other")
        .post(url, {"change": 1, "reason": "restock"}, format="json")
        .status_code
        == 403
    )
    assert ProductStockMovement.objects.filter(product=drill).count() == 2

    for index in range(3):
        client.post(url, {"change": 1, "reason": "restock", "note": str(index)}, format="json")
    ledger = client.get(f"{URL}{drill.pk}/stock-movements?limit=2")
    assert ledger.status_code == 200
    body = ledger.json()
    assert [row["position"] for row in body["data"]] == [5, 4]
    assert body["meta"]["total"] == 5
    following = client.get(
        f"{URL}{drill.pk}/stock-movements?limit=2&cursor={body['meta']['next_cursor']}"
    )
    assert [row["position"] for row in following.json()["data"]] == [3, 2]
    page3 = client.get(f"{URL}{drill.pk}/stock-movements?limit=2&page=3")
    assert [row["position"] for row in page3.json()["data"]] == [1]
    assert client.get(f"{URL}{drill.pk}/stock-movements?cursor=forged").status_code == 400
    assert catalogue.client("other").get(f"{URL}{drill.pk}/stock-movements").status_code == 403


def test_reviews_route(catalogue) -> None:
    hammer = Product.objects.get(name="Hammer")
    url = f"{URL}{hammer.pk}/reviews/"
    assert client_for(None).post(url, {"rating": 5}, format="json").status_code == 401
    created = catalogue.client("other").post(url, {"rating": 4, "title": "Solid"}, format="json")
    assert created.status_code == 201, created.content
    review = created.json()
    assert list(review) == [
        "id",
        "user",
        "rating",
        "title",
        "comment",
        "verified_purchase",
        "created_at",
    ]
    assert review["user"] == {"id": str(catalogue.other.pk), "name": "Oksana Other"}
    assert review["verified_purchase"] is False
    again = catalogue.client("other").post(url, {"rating": 1}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "ALREADY_REVIEWED")
    bad = catalogue.client("staff").post(url, {"rating": 6}, format="json")
    assert bad.status_code == 400
    catalogue.client("staff").post(url, {"rating": 1}, format="json")
    listed = client_for(None).get(url)
    assert listed.status_code == 200
    assert [row["rating"] for row in listed.json()["data"]] == [1, 4]
    detail = client_for(None).get(f"{URL}{hammer.pk}/").json()
    assert (detail["rating"], detail["review_count"]) == ("2.50", 2)
    assert Review.objects.filter(product=hammer).count() == 2
