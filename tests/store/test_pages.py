"""The store pages: the catalogue with its filters, a product with its reviews, the
market directory and a market's page, opening a market, and the pages where a
market's owner and staff manage its products and stock."""

from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import User
from apps.store import services
from apps.store.models import Category, Market, MarketStaff, Product, Review
from tests import factories

UserFactory: Any = factories.UserFactory
MarketFactory: Any = factories.MarketFactory
CategoryFactory: Any = factories.CategoryFactory

pytestmark = pytest.mark.django_db

CATALOGUE = reverse("store:catalogue")
MARKETS = reverse("store:markets")
OPEN_MARKET = reverse("store:market-create")


# --- helpers -------------------------------------------------------------------------------


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def listed_slugs(response: Any) -> list[str]:
    return [product.slug for product in response.context["page"].object_list]


def product(
    *,
    market: Market | None,
    category: Category,
    actor: User,
    name: str,
    price: str = "10.00",
    stock: int = 5,
    **fields: Any,
) -> Product:
    """A product written as the services write it (its stock is its ledger)."""
    return services.product_create(
        acting_user=actor,
        market=market,
        category=category,
        name=name,
        sku=name.upper().replace(" ", "-")[:60],
        price=Decimal(price),
        opening_stock=stock,
        **fields,
    )


class Shop:
    def __init__(self) -> None:
        self.admin = UserFactory.create(is_superuser=True)
        self.owner = UserFactory.create(name="Olha Owner")
        self.staff = UserFactory.create(name="Stas Staff")
        self.other = UserFactory.create(name="Ostap Other")
        self.market = MarketFactory.create(
            owner=self.owner, name="Kyiv Parts", slug="kyiv-parts", verified=True
        )
        MarketStaff.objects.create(market=self.market, user=self.staff)
        self.other_market = MarketFactory.create(
            owner=self.other, name="Lviv Bits", slug="lviv-bits"
        )
        self.electronics = CategoryFactory.create(name="Electronics", slug="electronics")
        self.sensors = CategoryFactory.create(
            name="Sensors", slug="sensors", parent=self.electronics
        )
        self.tools = CategoryFactory.create(name="Tools", slug="tools")
        self.esp32 = product(
            market=None,
            category=self.electronics,
            actor=self.admin,
            name="ESP32 board",
            price="9.00",
            is_featured=True,
            specifications={"Voltage": "3.3 V"},
        )
        self.sensor = product(
            market=None,
            category=self.sensors,
            actor=self.admin,
            name="BME280 sensor",
            price="8.00",
            sale_price=Decimal("6.00"),
        )
        self.sold_out = product(
            market=None, category=self.tools, actor=self.admin, name="Caliper", stock=0
        )
        self.drill = product(
            market=self.market,
            category=self.tools,
            actor=self.owner,
            name="Hand drill",
            price="30.00",
        )
        self.bits = product(
            market=self.other_market,
            category=self.tools,
            actor=self.other,
            name="Drill bits",
            price="12.00",
        )


@pytest.fixture
def shop() -> Shop:
    return Shop()


# --- the catalogue -------------------------------------------------------------------------


def test_catalogue_answers_anonymous_visitors_with_the_tree_and_every_product(
    shop: Shop,
) -> None:
    response = Client().get(CATALOGUE)

    assert response.status_code == 200
    assert sorted(listed_slugs(response)) == sorted(
        p.slug for p in (shop.esp32, shop.sensor, shop.sold_out, shop.drill, shop.bits)
    )
    roots = [node["slug"] for node in response.context["category_tree"]]
    assert roots == ["electronics", "tools"]
    assert response.context["category_tree"][0]["children"][0]["slug"] == "sensors"
    assert b"ESP32 board" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"category": "electronics"}, ["bme280-sensor", "esp32-board"], id="tree"),
        pytest.param({"category": "sensors"}, ["bme280-sensor"], id="leaf"),
        pytest.param(
            {"min_price": "9.50", "max_price": "12"}, ["caliper", "drill-bits"], id="price"
        ),
        pytest.param({"featured": "on"}, ["esp32-board"], id="featured"),
        pytest.param({"search": "drill"}, ["drill-bits", "hand-drill"], id="search"),
    ],
)
def test_catalogue_filters(shop: Shop, query: dict[str, str], expected: list[str]) -> None:
    response = Client().get(CATALOGUE, query)

    assert response.status_code == 200
    assert sorted(listed_slugs(response)) == expected


def test_catalogue_filters_by_stock_and_market_and_sorts_by_effective_price(shop: Shop) -> None:
    client = Client()

    in_stock = client.get(CATALOGUE, {"in_stock": "on"})
    of_market = client.get(CATALOGUE, {"market": str(shop.market.pk)})
    cheapest_first = client.get(CATALOGUE, {"sort": "price_asc"})

    assert shop.sold_out.slug not in listed_slugs(in_stock)
    assert len(listed_slugs(in_stock)) == 4
    assert listed_slugs(of_market) == [shop.drill.slug]
    # The sensor's sale price (6.00) is below the ESP32's price (9.00).
    assert listed_slugs(cheapest_first)[:2] == [shop.sensor.slug, shop.esp32.slug]


def test_catalogue_shows_a_bad_filter_as_an_error_and_keeps_the_rest(shop: Shop) -> None:
    response = Client().get(CATALOGUE, {"min_price": "cheap", "category": "sensors"})

    assert response.status_code == 200
    assert response.context["form"].errors["min_price"]
    assert listed_slugs(response) == [shop.sensor.slug]


def test_catalogue_is_paginated(shop: Shop) -> None:
    for number in range(30):
        product(market=None, category=shop.tools, actor=shop.admin, name=f"Screw {number:02d}")

    first = Client().get(CATALOGUE)
    second = Client().get(CATALOGUE, {"page": 2})

    assert len(listed_slugs(first)) == 24
    assert len(listed_slugs(second)) == 35 - 24
    assert not set(listed_slugs(first)) & set(listed_slugs(second))


def test_catalogue_answers_in_ukrainian(shop: Shop) -> None:
    response = Client().get(CATALOGUE, headers={"accept-language": "uk"})

    assert response.status_code == 200
    assert "Магазин".encode() in response.content


# --- a product and its reviews -------------------------------------------------------------


def test_product_page_shows_price_stock_specifications_and_reviews(shop: Shop) -> None:
    reviewer = UserFactory.create(name="Rita Reviewer")
    services.review_create(
        product=shop.esp32, acting_user=reviewer, rating=4, title="Solid", comment="Works."
    )
    url = reverse("store:product", kwargs={"slug": shop.esp32.slug})

    response = Client().get(url)

    assert response.status_code == 200
    content = response.content.decode()
    assert "9.00" in content
    assert "5 in stock" in content
    assert "3.3 V" in content
    assert "Solid" in content
    assert "Rita Reviewer" in content
    assert "Sign in to write a review" in content


def test_product_page_shows_the_sale_price_and_stock_states(shop: Shop) -> None:
    sale = Client().get(reverse("store:product", kwargs={"slug": shop.sensor.slug}))
    sold_out = Client().get(reverse("store:product", kwargs={"slug": shop.sold_out.slug}))

    assert "<del" in sale.content.decode()
    assert "6.00" in sale.content.decode()
    assert "Out of stock" in sold_out.content.decode()


def test_an_unknown_or_inactive_product_is_404(shop: Shop) -> None:
    services.product_update(product=shop.bits, acting_user=shop.other, changes={"is_active": False})

    assert Client().get(reverse("store:product", kwargs={"slug": "nope"})).status_code == 404
    assert Client().get(reverse("store:product", kwargs={"slug": "drill-bits"})).status_code == 404


def test_review_form_creates_one_review_and_refuses_a_second_with_a_message(shop: Shop) -> None:
    member = UserFactory.create()
    client = signed_in(member)
    url = reverse("store:review", kwargs={"slug": shop.esp32.slug})

    first = client.post(url, {"rating": "5", "title": "Great", "comment": "Fast."}, follow=True)
    second = client.post(url, {"rating": "1", "title": "Changed my mind"}, follow=True)

    review = Review.objects.get(product=shop.esp32, user=member)
    assert (review.rating, review.title) == (5, "Great")
    assert Review.objects.filter(product=shop.esp32).count() == 1
    shop.esp32.refresh_from_db()
    assert (shop.esp32.review_count, shop.esp32.rating) == (1, Decimal("5.00"))
    assert "Thank you: your review is posted." in messages_of(first)
    assert "You have already reviewed this product." in messages_of(second)
    assert "You have reviewed this product." in second.content.decode()


def test_review_form_needs_a_rating_and_a_signed_in_user(shop: Shop) -> None:
    url = reverse("store:review", kwargs={"slug": shop.esp32.slug})

    anonymous = Client().post(url, {"rating": "5"})
    without_rating = signed_in(UserFactory.create()).post(url, {"title": "?"})

    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]
    assert without_rating.status_code == 400
    assert without_rating.context["review_form"].errors["rating"]
    assert not Review.objects.exists()


# --- markets -------------------------------------------------------------------------------


def test_market_directory_lists_markets_with_badges_and_searches(shop: Shop) -> None:
    everything = Client().get(MARKETS)
    searched = Client().get(MARKETS, {"search": "lviv"})
    verified = Client().get(MARKETS, {"verified": "on"})

    assert everything.status_code == 200
    assert [m.slug for m in everything.context["page"].object_list] == ["kyiv-parts", "lviv-bits"]
    assert "verified" in everything.content.decode()
    assert "unverified" in everything.content.decode()
    assert [m.slug for m in searched.context["page"].object_list] == ["lviv-bits"]
    assert [m.slug for m in verified.context["page"].object_list] == ["kyiv-parts"]


@time_machine.travel("2026-03-02 09:30:00+00:00", tick=False)  # a Monday, 11:30 in Kyiv
def test_market_page_shows_hours_in_its_timezone_closures_delivery_and_products(
    shop: Shop,
) -> None:
    services.market_update(
        market=shop.market,
        acting_user=shop.owner,
        changes={
            "timezone": "Europe/Kyiv",
            "currency": "UAH",
            "business_hours": {"mon": [["10:00", "14:00"]], "tue": [["10:00", "18:00"]]},
            "delivery_options": {
                "pickup": {"enabled": True},
                "local_delivery": {
                    "enabled": True,
                    "radius_km": 10,
                    "fee": "80.00",
                    "minimum_order": "500.00",
                },
            },
            "latitude": Decimal("50.45"),
            "longitude": Decimal("30.52"),
        },
    )
    services.market_closure_add(
        market=shop.market, acting_user=shop.owner, date="2026-03-08", reason="Holiday"
    )

    response = Client().get(reverse("store:market", kwargs={"slug": "kyiv-parts"}))

    assert response.status_code == 200
    assert response.context["is_open_now"] is True
    monday = response.context["hours"][0]
    assert monday["is_today"]
    assert monday["windows"] == [["10:00", "14:00"]]
    assert [c.reason for c in response.context["closures"]] == ["Holiday"]
    content = response.content.decode()
    assert "Pickup at the market" in content
    assert "Local delivery within 10" in content
    assert "80.00 UAH" in content
    assert [p.slug for p in response.context["products"]] == [shop.drill.slug]


@time_machine.travel("2026-03-02 13:30:00+00:00", tick=False)  # a Monday, 15:30 in Kyiv
def test_market_page_says_closed_outside_its_hours(shop: Shop) -> None:
    services.market_update(
        market=shop.market,
        acting_user=shop.owner,
        changes={"timezone": "Europe/Kyiv", "business_hours": {"mon": [["10:00", "14:00"]]}},
    )

    response = Client().get(reverse("store:market", kwargs={"slug": "kyiv-parts"}))

    assert response.context["is_open_now"] is False
    assert "Closed now" in response.content.decode()


def test_an_unverified_market_is_marked_as_such(shop: Shop) -> None:
    response = Client().get(reverse("store:market", kwargs={"slug": "lviv-bits"}))

    assert response.status_code == 200
    assert "MakrX has not verified this market yet." in response.content.decode()


def test_open_a_market_form_creates_an_unverified_market_owned_by_the_user() -> None:
    maker = UserFactory.create()
    client = signed_in(maker)

    page = client.get(OPEN_MARKET)
    response = client.post(
        OPEN_MARKET,
        {
            "name": "Solder Corner",
            "description": "Irons and tips.",
            "contact_email": "corner@example.com",
            "address": "Kyiv",
            "latitude": "50.45",
            "longitude": "30.52",
            "timezone": "Europe/Kyiv",
            "currency": "UAH",
            "pickup": "on",
            "local_delivery": "on",
            "radius_km": "12",
            "local_fee": "50",
            "minimum_order": "300",
            "payment_methods": ["card", "cash_on_pickup"],
        },
    )

    assert page.status_code == 200
    market = Market.objects.get(owner=maker)
    assert response.status_code == 302
    assert response["Location"] == reverse("store:market-manage", kwargs={"slug": market.slug})
    assert market.name == "Solder Corner"
    assert not market.verified
    assert market.delivery_options["local_delivery"] == {
        "enabled": True,
        "radius_km": 12.0,
        "fee": "50.00",
        "minimum_order": "300.00",
    }
    assert market.payment_methods == ["card", "cash_on_pickup"]


def test_open_a_market_refuses_a_second_market_and_local_delivery_without_location(
    shop: Shop,
) -> None:
    again = signed_in(shop.owner).get(OPEN_MARKET, follow=True)
    maker = UserFactory.create()
    no_location = signed_in(maker).post(
        OPEN_MARKET,
        {
            "name": "Nowhere",
            "timezone": "Europe/Kyiv",
            "currency": "EUR",
            "local_delivery": "on",
            "radius_km": "5",
            "payment_methods": ["card"],
        },
    )

    assert "You already run a market: each person runs one." in messages_of(again)
    assert Market.objects.filter(owner=shop.owner).count() == 1
    assert no_location.status_code == 200
    assert no_location.context["form"].errors["latitude"]
    assert not Market.objects.filter(owner=maker).exists()


def test_open_a_market_asks_visitors_to_sign_in() -> None:
    response = Client().get(OPEN_MARKET)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- a market's products, for its owner and staff ------------------------------------------


def manage_url(market: Market) -> str:
    return reverse("store:market-manage", kwargs={"slug": market.slug})


def edit_url(item: Product, name: str = "product-edit") -> str:
    assert item.market is not None
    return reverse(
        f"store:{name}", kwargs={"market_slug": item.market.slug, "product_slug": item.slug}
    )


def test_my_market_leads_to_the_owners_market_or_to_the_form(shop: Shop) -> None:
    mine = signed_in(shop.owner).get(reverse("store:my-market"))
    staff = signed_in(shop.staff).get(reverse("store:my-market"))
    none = signed_in(UserFactory.create()).get(reverse("store:my-market"))

    assert mine["Location"] == manage_url(shop.market)
    assert staff["Location"] == manage_url(shop.market)
    assert none["Location"] == OPEN_MARKET


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_owner_and_staff_see_their_products(shop: Shop, who: str) -> None:
    response = signed_in(getattr(shop, who)).get(manage_url(shop.market))

    assert response.status_code == 200
    assert listed_slugs(response) == [shop.drill.slug]


def test_owner_pages_refuse_others(shop: Shop) -> None:
    outsider = signed_in(shop.other)

    assert outsider.get(manage_url(shop.market)).status_code == 403
    assert outsider.get(edit_url(shop.drill)).status_code == 403
    assert outsider.post(edit_url(shop.drill, "product-stock"), {"change": "5"}).status_code == 403
    add = reverse("store:product-add", kwargs={"market_slug": shop.market.slug})
    assert outsider.post(add, {"name": "Sneaky"}).status_code == 403
    # A product of another market is not found through this market's pages.
    owner = signed_in(shop.owner)
    wrong = reverse(
        "store:product-edit",
        kwargs={"market_slug": shop.market.slug, "product_slug": shop.bits.slug},
    )
    assert owner.get(wrong).status_code == 404
    assert Client().get(manage_url(shop.market)).status_code == 302
    shop.drill.refresh_from_db()
    assert shop.drill.stock_quantity == 5


def test_owner_adds_a_product_with_its_opening_stock(shop: Shop) -> None:
    add = reverse("store:product-add", kwargs={"market_slug": shop.market.slug})
    client = signed_in(shop.owner)

    page = client.get(add)
    response = client.post(
        add,
        {
            "name": "Wire stripper",
            "sku": "WS-1",
            "category": str(shop.tools.pk),
            "price": "14.50",
            "currency": "EUR",
            "track_inventory": "on",
            "tags": "tools, wire",
            "specifications": '{"Range": "0.2-6 mm2"}',
            "is_active": "on",
            "opening_stock": "7",
        },
    )

    assert page.status_code == 200
    created = Product.objects.get(market=shop.market, sku="WS-1")
    assert response.status_code == 302
    assert response["Location"] == edit_url(created)
    assert created.slug == "wire-stripper"
    assert created.tags == ["tools", "wire"]
    assert created.stock_quantity == 7
    assert created.stock_movements.count() == 1


def test_owner_edits_a_product_and_the_form_refuses_a_bad_sale_price(shop: Shop) -> None:
    client = signed_in(shop.staff)
    page = client.get(edit_url(shop.drill))
    data = {
        "name": "Hand drill deluxe",
        "slug": shop.drill.slug,
        "sku": shop.drill.sku,
        "category": str(shop.tools.pk),
        "price": "30.00",
        "currency": shop.drill.currency,
        "track_inventory": "on",
        "specifications": "{}",
        "is_active": "on",
    }

    bad = client.post(edit_url(shop.drill), {**data, "sale_price": "31.00"})
    good = client.post(edit_url(shop.drill), {**data, "sale_price": "25.00"})

    assert page.status_code == 200
    assert bad.status_code == 200
    assert bad.context["form"].errors["sale_price"]
    assert good.status_code == 302
    shop.drill.refresh_from_db()
    assert (shop.drill.name, shop.drill.sale_price) == ("Hand drill deluxe", Decimal("25.00"))


def test_owner_changes_stock_through_the_ledger_and_cannot_go_below_zero(shop: Shop) -> None:
    client = signed_in(shop.owner)
    stock_url = edit_url(shop.drill, "product-stock")

    added = client.post(stock_url, {"change": "3", "reason": "restock", "note": "Delivery"})
    too_much = client.post(stock_url, {"change": "-100", "reason": "adjust"})
    zero = client.post(stock_url, {"change": "0", "reason": "adjust"})

    assert added.status_code == 302
    assert too_much.status_code == 400
    assert "Not enough stock for that change." in too_much.content.decode()
    assert zero.status_code == 400
    assert zero.context["stock_form"].errors["change"]
    shop.drill.refresh_from_db()
    assert shop.drill.stock_quantity == 8
    assert list(shop.drill.stock_movements.values_list("change", flat=True)) == [3, 5]


def test_catalogue_query_count_does_not_grow_with_the_page(shop: Shop) -> None:
    def queries_for(client: Client) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CATALOGUE).status_code == 200
        return len(captured)

    member = signed_in(shop.other)
    few = (queries_for(Client()), queries_for(member))
    for number in range(30):
        product(market=shop.market, category=shop.tools, actor=shop.owner, name=f"Nut {number}")
    many = (queries_for(Client()), queries_for(member))

    assert few == many
