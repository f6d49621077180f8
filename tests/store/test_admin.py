"""The store's staff admin, through its real views: market owners and staff get in and
see only their market; super admins see everything, verify markets and moderate
reviews; every write goes through the store's services."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.store import services
from apps.store.models import Category, Market, MarketStaff, Product, Review
from tests import factories
from tests.admin_support import action_names, change_url, logged_in, messages_of, rows

UserFactory: Any = factories.UserFactory
MarketFactory: Any = factories.MarketFactory
CategoryFactory: Any = factories.CategoryFactory
MakerspaceFactory: Any = factories.MakerspaceFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:store_product_changelist")
MARKETS = reverse("admin:store_market_changelist")
CATEGORIES = reverse("admin:store_category_changelist")
REVIEWS = reverse("admin:store_review_changelist")
MOVEMENTS = reverse("admin:store_productstockmovement_changelist")


class Admins:
    def __init__(self) -> None:
        self.super_admin = UserFactory.create(is_superuser=True)
        self.owner = UserFactory.create()
        self.staff = UserFactory.create()
        self.other_owner = UserFactory.create()
        self.market = MarketFactory.create(owner=self.owner, name="Kyiv Parts")
        MarketStaff.objects.create(market=self.market, user=self.staff)
        self.other_market = MarketFactory.create(owner=self.other_owner, name="Lviv Bits")
        self.category = CategoryFactory.create(name="Tools", slug="tools")
        self.own = self.product(self.market, self.owner, "Hand drill")
        self.others = self.product(self.other_market, self.other_owner, "Drill bits")
        self.central = self.product(None, self.super_admin, "Caliper")

    def product(self, market: Market | None, actor: User, name: str) -> Product:
        return services.product_create(
            acting_user=actor,
            market=market,
            category=self.category,
            name=name,
            sku=name.upper().replace(" ", "-"),
            price=Decimal("10.00"),
            opening_stock=5,
        )


@pytest.fixture
def admins() -> Admins:
    return Admins()


def action(client: Client, url: str, name: str, objects: list[Any], **data: Any) -> Any:
    return client.post(
        url,
        {"action": name, "_selected_action": [str(obj.pk) for obj in objects], **data},
        follow=True,
    )


# --- who gets in ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_market_owner_and_staff_get_into_the_admin_and_see_only_the_store(
    admins: Admins, who: str
) -> None:
    client = logged_in(getattr(admins, who))

    index = client.get(reverse("admin:index"))

    assert index.status_code == 200
    models = {model["object_name"] for app in index.context["app_list"] for model in app["models"]}
    assert models == {
        "Market",
        "Order",
        "Payment",
        "Product",
        "ProductStockMovement",
        "Review",
        "Voucher",
    }


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_market_owner_and_staff_sign_in_through_the_admins_own_login_form(
    admins: Admins, who: str
) -> None:
    client = Client()
    user = getattr(admins, who)

    response = client.post(
        reverse("admin:login"),
        {"username": user.email, "password": factories.DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_admin_login_form_refuses_who_runs_nothing(admins: Admins) -> None:
    nobody = UserFactory.create()

    response = Client().post(
        reverse("admin:login"),
        {"username": nobody.email, "password": factories.DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors


@pytest.mark.parametrize(("who", "sees_link"), [("owner", True), ("staff", True), (None, False)])
def test_the_headers_admin_link_shows_for_who_runs_a_market(
    admins: Admins, who: str | None, sees_link: bool
) -> None:
    client = logged_in(getattr(admins, who)) if who else logged_in(UserFactory.create())

    page = client.get(reverse("home"))

    assert page.status_code == 200
    assert (f'href="{reverse("admin:index")}"' in page.content.decode()) is sees_link


def test_a_user_without_a_market_or_space_is_kept_out(admins: Admins) -> None:
    response = logged_in(UserFactory.create()).get(reverse("admin:index"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_an_inactive_market_does_not_open_the_admin(admins: Admins) -> None:
    services.market_update(
        market=admins.market, acting_user=admins.owner, changes={"is_active": False}
    )

    response = logged_in(admins.owner).get(reverse("admin:index"))

    assert response.status_code == 302


# --- products ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_an_owner_sees_only_their_markets_products(admins: Admins, who: str) -> None:
    client = logged_in(getattr(admins, who))

    listed = client.get(PRODUCTS)
    foreign = client.get(change_url(admins.others))
    central = client.get(change_url(admins.central))

    assert [product.pk for product in rows(listed)] == [admins.own.pk]
    assert foreign.status_code == 302  # "does not exist": not in their rows
    assert central.status_code == 302


def test_a_super_admin_sees_every_product(admins: Admins) -> None:
    listed = logged_in(admins.super_admin).get(PRODUCTS)

    assert {product.pk for product in rows(listed)} == {
        admins.own.pk,
        admins.others.pk,
        admins.central.pk,
    }


def test_an_owner_adds_a_product_only_to_their_market_through_the_service(
    admins: Admins,
) -> None:
    client = logged_in(admins.owner)
    add = reverse("admin:store_product_add")
    form = client.get(add).context["adminform"].form
    data = {
        "category": str(admins.category.pk),
        "name": "Wire stripper",
        "sku": "WS-1",
        "price": "14.00",
        "currency": "EUR",
        "track_inventory": "on",
        "tags": "[]",
        "specifications": "{}",
        "dimensions": "{}",
        "is_active": "on",
        "opening_stock": "4",
    }

    refused = client.post(add, {**data, "market": str(admins.other_market.pk)})
    added = client.post(add, {**data, "market": str(admins.market.pk)})

    assert list(form.fields["market"].queryset) == [admins.market]
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["market"]
    assert added.status_code == 302
    created = Product.objects.get(sku="WS-1")
    assert created.market == admins.market
    assert created.stock_quantity == 4
    assert created.stock_movements.get().note == "Opening stock"


def test_an_owner_edits_a_product_and_sees_its_read_only_ledger(admins: Admins) -> None:
    client = logged_in(admins.owner)
    page = client.get(change_url(admins.own))
    ledger = page.context["inline_admin_formsets"][0]

    response = client.post(
        change_url(admins.own),
        {
            "category": str(admins.category.pk),
            "name": "Hand drill, cordless",
            "slug": admins.own.slug,
            "sku": admins.own.sku,
            "price": "12.00",
            "sale_price": "9.00",
            "currency": "EUR",
            "track_inventory": "on",
            "tags": "[]",
            "specifications": "{}",
            "dimensions": "{}",
            "is_active": "on",
            "stock_movements-TOTAL_FORMS": "1",
            "stock_movements-INITIAL_FORMS": "1",
            "stock_movements-MIN_NUM_FORMS": "0",
            "stock_movements-MAX_NUM_FORMS": "0",
            "stock_movements-0-id": str(admins.own.stock_movements.get().pk),
            "stock_movements-0-product": str(admins.own.pk),
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
        },
    )

    assert page.status_code == 200
    assert not ledger.has_add_permission
    assert not ledger.has_change_permission
    assert response.status_code == 302
    admins.own.refresh_from_db()
    assert admins.own.name == "Hand drill, cordless"
    assert admins.own.sale_price == Decimal("9.00")
    assert admins.own.stock_quantity == 5


def test_change_stock_action_writes_the_ledger_and_refuses_going_negative(
    admins: Admins,
) -> None:
    client = logged_in(admins.owner)

    confirm = action(client, PRODUCTS, "change_stock", [admins.own])
    done = action(
        client,
        PRODUCTS,
        "change_stock",
        [admins.own],
        apply="yes",
        change="3",
        reason="restock",
        note="Delivery",
    )
    refused = action(
        client, PRODUCTS, "change_stock", [admins.own], apply="yes", change="-50", reason="adjust"
    )

    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert f"<td>{admins.own}</td>" in page
    assert f'name="_selected_action" value="{admins.own.pk}"' in page
    assert 'name="action" value="change_stock"' in page
    assert "change_stock" in action_names(client.get(PRODUCTS))
    assert "Stock changed: 1." in messages_of(done)
    assert any(message.startswith("Not done:") for message in messages_of(refused))
    admins.own.refresh_from_db()
    assert admins.own.stock_quantity == 8
    assert list(admins.own.stock_movements.values_list("change", flat=True)) == [3, 5]


def test_the_stock_ledger_is_scoped_and_read_only(admins: Admins) -> None:
    owner = logged_in(admins.owner)

    listed = owner.get(MOVEMENTS)
    movement = admins.own.stock_movements.get()

    assert [row.pk for row in rows(listed)] == [movement.pk]
    assert owner.post(change_url(movement), {"change": "100"}).status_code == 403
    assert reverse("admin:store_productstockmovement_changelist")
    movement.refresh_from_db()
    assert movement.change == 5


# --- markets -------------------------------------------------------------------------------


def test_an_owner_sees_only_their_market_and_no_verify_action(admins: Admins) -> None:
    client = logged_in(admins.owner)

    listed = client.get(MARKETS)

    assert [market.pk for market in rows(listed)] == [admins.market.pk]
    assert "verify_markets" not in action_names(listed)
    assert client.get(change_url(admins.other_market)).status_code == 302


def test_staff_may_view_but_not_edit_the_market(admins: Admins) -> None:
    client = logged_in(admins.staff)

    page = client.get(change_url(admins.market))

    assert page.status_code == 200
    assert not page.context["has_change_permission"]


def test_a_super_admin_sees_all_markets_and_verifies_them(admins: Admins) -> None:
    client = logged_in(admins.super_admin)

    listed = client.get(MARKETS)
    response = action(client, MARKETS, "verify_markets", [admins.market])

    assert {market.pk for market in rows(listed)} == {admins.market.pk, admins.other_market.pk}
    assert "Verified: 1." in messages_of(response)
    admins.market.refresh_from_db()
    admins.other_market.refresh_from_db()
    assert admins.market.verified
    assert admins.market.verified_at is not None
    assert not admins.other_market.verified


def test_an_owner_edits_their_market_through_the_service(admins: Admins) -> None:
    client = logged_in(admins.owner)
    page = client.get(change_url(admins.market))
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {
        key: ("" if value is None else value) for key, value in data.items() if value is not False
    }
    data["description"] = "Drills and bits."
    data["business_hours"] = '{"mon": [["09:00", "17:00"]]}'

    response = client.post(change_url(admins.market), data)

    assert response.status_code == 302
    admins.market.refresh_from_db()
    assert admins.market.description == "Drills and bits."
    assert admins.market.business_hours == {"mon": [["09:00", "17:00"]]}


# --- categories and reviews ----------------------------------------------------------------


def test_categories_are_for_super_admins_only(admins: Admins) -> None:
    owner = logged_in(admins.owner)
    super_admin = logged_in(admins.super_admin)

    refused = owner.get(CATEGORIES)
    added = super_admin.post(
        reverse("admin:store_category_add"),
        {"name": "Sensors", "slug": "sensors", "parent": str(admins.category.pk), "position": "1"},
    )

    assert refused.status_code == 403
    assert added.status_code == 302
    assert Category.objects.get(slug="sensors").parent == admins.category


def test_reviews_are_read_by_the_market_and_deleted_by_a_super_admin(admins: Admins) -> None:
    buyer = UserFactory.create()
    own_review = services.review_create(product=admins.own, acting_user=buyer, rating=2)
    services.review_create(product=admins.others, acting_user=buyer, rating=5)
    owner = logged_in(admins.owner)
    super_admin = logged_in(admins.super_admin)

    listed = owner.get(REVIEWS)
    owner_delete = owner.post(
        reverse("admin:store_review_delete", args=[own_review.pk]), {"post": "yes"}
    )
    super_delete = super_admin.post(
        reverse("admin:store_review_delete", args=[own_review.pk]), {"post": "yes"}
    )

    assert [review.pk for review in rows(listed)] == [own_review.pk]
    assert owner_delete.status_code == 403
    assert super_delete.status_code == 302
    assert not Review.objects.filter(pk=own_review.pk).exists()
    admins.own.refresh_from_db()
    assert admins.own.review_count == 0


def test_space_staff_without_a_market_see_no_store_rows(admins: Admins) -> None:
    space = MakerspaceFactory.create()
    manager = factories.MembershipFactory.create(makerspace=space, role="manager").user

    index = logged_in(manager).get(reverse("admin:index"))

    models = {model["object_name"] for app in index.context["app_list"] for model in app["models"]}
    assert index.status_code == 200
    assert not models & {"Market", "Product", "Review", "Category"}
