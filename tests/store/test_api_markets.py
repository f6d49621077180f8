"""/api/v1/store/markets/ and /api/v1/store/categories/."""

import pytest

from apps.store.models import Category, Market, MarketClosure, MarketStaff
from tests.factories import MarketFactory, UserFactory
from tests.store.conftest import client_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/store/markets/"
CATEGORIES = "/api/v1/store/categories/"

MARKET_KEYS = [
    "id",
    "name",
    "description",
    "owner",
    "makerspace",
    "contact_email",
    "contact_phone",
    "address",
    "coordinates",
    "business_hours",
    "delivery_options",
    "payment_methods",
    "is_active",
    "verified",
    "rating",
    "total_orders",
    "total_revenue",
    "created_at",
]


def test_anyone_lists_active_markets_with_search_and_verified(store) -> None:
    MarketFactory.create(name="Lviv Bits", verified=True, description="electronics")
    MarketFactory.create(name="Closed shop", is_active=False)
    response = client_for(None).get(URL)
    assert response.status_code == 200
    rows = response.json()["data"]
    assert [row["name"] for row in rows] == ["Kyiv Parts", "Lviv Bits"]
    assert list(rows[0]) == MARKET_KEYS
    assert rows[0]["owner"] == {"id": str(store.owner.pk), "name": "Olena Owner"}
    assert [r["name"] for r in client_for(None).get(f"{URL}?verified=true").json()["data"]] == [
        "Lviv Bits"
    ]
    assert [r["name"] for r in client_for(None).get(f"{URL}?verified=false").json()["data"]] == [
        "Kyiv Parts"
    ]
    assert [r["name"] for r in client_for(None).get(f"{URL}?search=ELECTRON").json()["data"]] == [
        "Lviv Bits"
    ]
    assert client_for(None).get(f"{URL}?verified=perhaps").status_code == 400


def test_create_one_market_per_owner(db) -> None:
    user = UserFactory.create(name="Vendor")
    client = client_for(user)
    body = {
        "name": "Maker Mart",
        "coordinates": {"lat": 50.45, "lng": 30.52},
        "delivery_options": {
            "pickup": {"enabled": True},
            "shipping": {"enabled": True, "fee": "5"},
        },
        "payment_methods": ["card"],
        "timezone": "Europe/Kyiv",
    }
    created = client.post(URL, body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["verified"], data["coordinates"], data["delivery_options"]["shipping"]["fee"]) == (
        False,
        {"lat": 50.45, "lng": 30.52},
        "5.00",
    )
    assert Market.objects.get(owner=user).timezone == "Europe/Kyiv"
    second = client.post(URL, {"name": "Second"}, format="json")
    assert (second.status_code, second.json()["error"]["code"]) == (409, "MARKET_EXISTS")
    assert client_for(None).post(URL, {"name": "Anon"}, format="json").status_code == 401
    bad = client_for(UserFactory.create()).post(
        URL,
        {"name": "Bad", "delivery_options": {"local_delivery": {"enabled": True}}},
        format="json",
    )
    assert bad.status_code == 400
    assert "delivery_options" in bad.json()["error"]["details"]
    assert Market.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 200), ("admin", 200), ("staff", 403), ("other", 403), (None, 401)]
)
def test_only_the_owner_patches_the_market(store, who, status) -> None:
    response = store.client(who).patch(
        f"{URL}{store.market.pk}/", {"name": "Renamed"}, format="json"
    )
    assert response.status_code == status
    assert (Market.objects.get(pk=store.market.pk).name == "Renamed") is (status == 200)


def test_patch_with_a_stale_version_is_refused(store) -> None:
    client = store.client("owner")
    etag = client.get(f"{URL}{store.market.pk}/")["ETag"]
    assert (
        client.patch(
            f"{URL}{store.market.pk}/", {"name": "A"}, format="json", HTTP_IF_MATCH=etag
        ).status_code
        == 200
    )
    stale = client.patch(
        f"{URL}{store.market.pk}/", {"name": "B"}, format="json", HTTP_IF_MATCH=etag
    )
    assert stale.status_code == 412
    assert Market.objects.get(pk=store.market.pk).name == "A"


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("owner", 403), ("other", 403), (None, 401)]
)
def test_verify(store, who, status) -> None:
    response = store.client(who).post(f"{URL}{store.market.pk}/verify", {}, format="json")
    assert response.status_code == status
    market = Market.objects.get(pk=store.market.pk)
    assert market.verified is (status == 200)
    assert (market.verified_at is not None) is (status == 200)


def test_staff_routes(store) -> None:
    newcomer = UserFactory.create(email="new@example.org", name="Nina")
    client = store.client("owner")
    url = f"{URL}{store.market.pk}/staff/"
    assert [row["user"]["name"] for row in client.get(url).json()["data"]] == ["Stepan Staff"]
    assert store.client("staff").get(url).status_code == 403
    added = client.post(url, {"email": "NEW@example.org"}, format="json")
    assert added.status_code == 201, added.content
    assert added.json()["user"] == {"id": str(newcomer.pk), "name": "Nina"}
    assert client.post(url, {"email": "new@example.org"}, format="json").status_code == 409
    assert client.post(url, {"email": "nobody@example.org"}, format="json").status_code == 400
    assert store.client("staff").delete(f"{url}{newcomer.pk}").status_code == 403
    assert client.delete(f"{url}{newcomer.pk}").status_code == 204
    assert client.delete(f"{url}{newcomer.pk}").status_code == 404
    assert list(
        MarketStaff.objects.filter(market=store.market).values_list("user__name", flat=True)
    ) == ["Stepan Staff"]


def test_closures(store) -> None:
    url = f"{URL}{store.market.pk}/closures/"
    assert store.client("other").post(url, {"date": "2026-12-31"}, format="json").status_code == 403
    created = store.client("owner").post(
        url, {"date": "2026-12-31", "reason": "New year"}, format="json"
    )
    assert created.status_code == 201
    assert store.client("owner").post(url, {"date": "2026-12-31"}, format="json").status_code == 409
    assert client_for(None).get(url).json()["data"] == [created.json()]
    assert store.client("owner").delete(f"{url}{created.json()['id']}").status_code == 204
    assert not MarketClosure.objects.exists()


def test_unknown_markets_are_404(store) -> None:
    hidden = MarketFactory.create(is_active=False)
    assert client_for(None).get(f"{URL}{hidden.pk}/").status_code == 404
    assert client_for(hidden.owner).get(f"{URL}{hidden.pk}/").status_code == 200
    missing = client_for(None).get(f"{URL}00000000-0000-0000-0000-000000000000/")
    assert missing.json()["error"]["code"] == "NOT_FOUND"


# --- categories --------------------------------------------------------------------------


def test_the_tree(store) -> None:
    response = client_for(None).get(CATEGORIES)
    assert response.status_code == 200
    [tools] = response.json()["data"]
    assert (tools["slug"], tools["parent"]) == ("tools", None)
    assert [child["slug"] for child in tools["children"]] == ["hand-tools", "power-tools"]
    power = tools["children"][1]
    assert [(c["slug"], c["parent"], c["children"]) for c in power["children"]] == [
        ("drills", "power-tools", [])
    ]


@pytest.mark.parametrize("who", [None, "owner", "other"])
def test_only_super_admins_write_categories(store, who) -> None:
    client = store.client(who)
    assert client.post(CATEGORIES, {"name": "Glue", "slug": "glue"}, format="json").status_code in (
        401,
        403,
    )
    assert client.patch(f"{CATEGORIES}drills/", {"name": "X"}, format="json").status_code in (
        401,
        403,
    )
    assert client.delete(f"{CATEGORIES}drills/").status_code in (401, 403)
    assert Category.objects.count() == 4
    assert Category.objects.get(slug="drills").name == "Drills"


def test_super_admin_writes_categories(store) -> None:
    client = store.client("admin")
    created = client.post(CATEGORIES, {"name": "Glue", "parent": "tools"}, format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["slug"], created.json()["parent"]) == ("glue", "tools")
    moved = client.patch(f"{CATEGORIES}power-tools/", {"parent": "glue"}, format="json")
    assert moved.status_code == 200
    assert [c["slug"] for c in moved.json()["children"]] == ["drills"]
    cycle = client.patch(f"{CATEGORIES}glue/", {"parent": "drills"}, format="json")
    assert cycle.status_code == 400
    in_use = client.delete(f"{CATEGORIES}glue/")
    assert (in_use.status_code, in_use.json()["error"]["code"]) == (409, "CATEGORY_IN_USE")
    assert client.delete(f"{CATEGORIES}drills/").status_code == 204
    assert client.delete(f"{CATEGORIES}drills/").status_code == 404
