"""The store's services: permissions checked inside each write, the stock ledger, reviews
kept counted, the category tree, markets (one per owner, delivery options, verification).
"""

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from apps.store import services
from apps.store.models import Category, Market, Product, ProductStockMovement, Review
from tests.factories import MakerspaceFactory, MembershipFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(call, code: str, status: int) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert (caught.value.code, caught.value.status_code) == (code, status), caught.value.message
    return caught.value


def new_product(store, who: str = "owner", market: Any = "default", **fields) -> Product:
    return services.product_create(
        acting_user=getattr(store, who),
        market=store.market if market == "default" else market,
        category=fields.pop("category", store.drills),
        name=fields.pop("name", "Cordless drill"),
        sku=fields.pop("sku", "DR-1"),
        price=fields.pop("price", Decimal("120.00")),
        **fields,
    )


# --- permissions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"), [("owner", True), ("staff", True), ("admin", True), ("other", False)]
)
def test_market_products_are_managed_by_owner_staff_and_super_admin(store, who, allowed) -> None:
    if allowed:
        product = new_product(store, who)
        assert product.market == store.market
        movement = services.product_stock_change(
            product=product, change=3, reason="restock", acting_user=getattr(store, who)
        )
        assert movement.quantity_after == 3
    else:
        refused(lambda: new_product(store, who), "PERMISSION_DENIED", 403)
        assert not Product.objects.exists()


@pytest.mark.parametrize("who", ["owner", "staff", "other"])
def test_only_a_super_admin_manages_the_central_catalogue(store, who) -> None:
    refused(lambda: new_product(store, who, market=None), "PERMISSION_DENIED", 403)
    product = new_product(store, "admin", market=None)
    assert product.market is None
    refused(
        lambda: services.product_update(
            product=product, acting_user=getattr(store, who), changes={"name": "x"}
        ),
        "PERMISSION_DENIED",
        403,
    )


@pytest.mark.parametrize(
    ("who", "allowed"), [("owner", True), ("admin", True), ("staff", False), ("other", False)]
)
def test_only_the_owner_edits_the_market_and_its_staff(store, who, allowed) -> None:
    actor = getattr(store, who)
    newcomer = UserFactory.create()
    if allowed:
        services.market_update(market=store.market, acting_user=actor, changes={"name": "New"})
        staff = services.market_staff_add(market=store.market, user=newcomer, acting_user=actor)
        services.market_staff_remove(staff=staff, acting_user=actor)
        assert Market.objects.get(pk=store.market.pk).name == "New"
    else:
        refused(
            lambda: services.market_update(
                market=store.market, acting_user=actor, changes={"name": "New"}
            ),
            "PERMISSION_DENIED",
            403,
        )
        refused(
            lambda: services.market_staff_add(
                market=store.market, user=newcomer, acting_user=actor
            ),
            "PERMISSION_DENIED",
            403,
        )
        assert Market.objects.get(pk=store.market.pk).name == "Kyiv Parts"
        assert not store.market.staff.filter(user=newcomer).exists()


def test_a_staff_member_added_twice_is_a_conflict(store) -> None:
    refused(
        lambda: services.market_staff_add(
            market=store.market, user=store.staff, acting_user=store.owner
        ),
        "ALREADY_STAFF",
        409,
    )


@pytest.mark.parametrize("who", ["owner", "staff", "other"])
def test_only_a_super_admin_verifies_markets_and_manages_categories(store, who) -> None:
    actor = getattr(store, who)
    refused(
        lambda: services.market_verify(market=store.market, acting_user=actor),
        "PERMISSION_DENIED",
        403,
    )
    refused(
        lambda: services.category_create(acting_user=actor, name="Glue", slug="glue"),
        "PERMISSION_DENIED",
        403,
    )
    assert not Category.objects.filter(slug="glue").exists()
    assert Market.objects.get(pk=store.market.pk).verified is False


def test_verifying_sets_the_moment_and_is_audited(store) -> None:
    market = services.market_verify(market=store.market, acting_user=store.admin)
    assert market.verified is True
    assert market.verified_at is not None
    assert AuditLogEntry.objects.filter(object_id=str(market.pk), action="verify").count() == 1
    market = services.market_verify(market=market, acting_user=store.admin, verified=False)
    assert (market.verified, market.verified_at) == (False, None)


# --- markets -----------------------------------------------------------------------------


def test_any_user_opens_one_market_unverified_and_a_second_is_a_conflict(db) -> None:
    user = UserFactory.create()
    market = services.market_create(acting_user=user, name="Lviv Bits")
    assert (market.owner, market.verified, market.slug) == (user, False, "lviv-bits")
    refused(lambda: services.market_create(acting_user=user, name="Another"), "MARKET_EXISTS", 409)
    assert Market.objects.filter(owner=user).count() == 1


def test_a_market_for_a_makerspace_needs_that_space_s_admin(db) -> None:
    space = MakerspaceFactory.create()
    member = MembershipFactory.create(makerspace=space, role="member").user
    admin = MembershipFactory.create(makerspace=space, role="admin").user
    refused(
        lambda: services.market_create(acting_user=member, name="M", makerspace=space),
        "PERMISSION_DENIED",
        403,
    )
    market = services.market_create(acting_user=admin, name="Lab shop", makerspace=space)
    assert market.makerspace == space


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("business_hours", {"mon": [["10:00", "09:00"]]}),
        ("business_hours", {"someday": []}),
        ("timezone", "Mars/Olympus"),
        ("delivery_options", {"drone": {"enabled": True}}),
        (
            "delivery_options",
            {"local_delivery": {"enabled": True, "radius_km": 0, "fee": "1", "minimum_order": "0"}},
        ),
        (
            "delivery_options",
            {
                "local_delivery": {
                    "enabled": True,
                    "radius_km": 5,
                    "fee": "-1",
                    "minimum_order": "0",
                }
            },
        ),
        ("delivery_options", {"local_delivery": {"enabled": True, "radius_km": 5, "fee": "1"}}),
        ("delivery_options", {"shipping": {"enabled": "yes", "fee": "3"}}),
        ("delivery_options", {"shipping": {"enabled": True, "fee": "3.333"}}),
        ("payment_methods", ["card", "bitcoin"]),
        ("payment_methods", ["card", "card"]),
    ],
)
def test_market_settings_are_checked(store, field, value) -> None:
    error = refused(
        lambda: services.market_update(
            market=store.market, acting_user=store.owner, changes={field: value}
        ),
        "VALIDATION_ERROR",
        400,
    )
    assert field in error.details
    assert Market.objects.get(pk=store.market.pk).__dict__[field] != value


def test_good_delivery_options_are_stored_with_money_as_text(store) -> None:
    market = services.market_update(
        market=store.market,
        acting_user=store.owner,
        changes={
            "delivery_options": {
                "pickup": {"enabled": True},
                "local_delivery": {
                    "enabled": True,
                    "radius_km": 12.5,
                    "fee": 4,
                    "minimum_order": "20",
                },
                "shipping": {"enabled": False, "fee": "7.5"},
            },
            "payment_methods": ["cash_on_pickup", "card"],
            "business_hours": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]]},
            "timezone": "Europe/Kyiv",
        },
    )
    market.refresh_from_db()
    assert market.delivery_options == {
        "pickup": {"enabled": True},
        "local_delivery": {
            "enabled": True,
            "radius_km": 12.5,
            "fee": "4.00",
            "minimum_order": "20.00",
        },
        "shipping": {"enabled": False, "fee": "7.50"},
    }
    assert market.payment_methods == ["cash_on_pickup", "card"]


def test_a_stale_version_is_refused(store) -> None:
    from apps.core.concurrency import etag_for

    seen = etag_for(store.market)
    services.market_update(market=store.market, acting_user=store.owner, changes={"name": "A"})
    refused(
        lambda: services.market_update(
            market=store.market, acting_user=store.owner, changes={"name": "B"}, expected_etag=seen
        ),
        "PRECONDITION_FAILED",
        412,
    )


# --- categories --------------------------------------------------------------------------


def test_a_category_cannot_move_below_itself(store) -> None:
    for parent in (store.tools, store.drills, store.power_tools):
        refused(
            lambda parent=parent: services.category_update(
                category=store.tools, acting_user=store.admin, changes={"parent": parent}
            ),
            "VALIDATION_ERROR",
            400,
        )
    assert Category.objects.get(pk=store.tools.pk).parent is None
    moved = services.category_update(
        category=store.drills, acting_user=store.admin, changes={"parent": store.hand_tools}
    )
    assert moved.parent == store.hand_tools


def test_a_category_in_use_is_not_deleted(store) -> None:
    refused(
        lambda: services.category_delete(category=store.power_tools, acting_user=store.admin),
        "CATEGORY_IN_USE",
        409,
    )
    new_product(store, category=store.hand_tools)
    refused(
        lambda: services.category_delete(category=store.hand_tools, acting_user=store.admin),
        "CATEGORY_IN_USE",
        409,
    )
    services.category_delete(category=store.drills, acting_user=store.admin)
    assert not Category.objects.filter(slug="drills").exists()


def test_a_category_slug_is_unique(store) -> None:
    refused(
        lambda: services.category_create(acting_user=store.admin, name="T", slug="tools"),
        "VALIDATION_ERROR",
        400,
    )


# --- products ----------------------------------------------------------------------------


def test_product_rules(store) -> None:
    product = new_product(store, tags=["cordless", "18V"], description="Two batteries")
    assert product.search_document == "Cordless drill\nTwo batteries\ncordless\n18V"
    refused(lambda: new_product(store, slug=product.slug, sku="OTHER"), "VALIDATION_ERROR", 400)
    refused(lambda: new_product(store, sku="DR-1"), "VALIDATION_ERROR", 400)
    refused(
        lambda: new_product(store, sku="DR-2", sale_price=Decimal("120.00")),
        "VALIDATION_ERROR",
        400,
    )
    # The same SKU in the central catalogue is another catalogue.
    assert new_product(store, "admin", market=None).sku == "DR-1"
    updated = services.product_update(
        product=product, acting_user=store.staff, changes={"tags": ["sds"], "name": "Hammer drill"}
    )
    assert updated.search_document == "Hammer drill\nTwo batteries\nsds"
    assert Product.objects.get(pk=product.pk).search_document == updated.search_document


def test_an_opening_stock_is_the_ledger_s_first_movement(store) -> None:
    product = new_product(store, opening_stock=7)
    assert (product.stock_quantity, product.movement_count) == (7, 1)
    first = ProductStockMovement.objects.get(product=product)
    assert (first.position, first.change, first.quantity_after) == (1, 7, 7)


def test_stock_changes_are_numbered_and_never_go_below_zero(store) -> None:
    product = new_product(store, opening_stock=2)
    services.product_stock_change(
        product=product, change=-2, reason="sale", acting_user=store.staff, note="order 1"
    )
    error = refused(
        lambda: services.product_stock_change(
            product=product, change=-1, reason="sale", acting_user=store.staff
        ),
        "INSUFFICIENT_STOCK",
        400,
    )
    assert error.details["available"] == 0
    refused(
        lambda: services.product_stock_change(
            product=product, change=0, reason="adjust", acting_user=store.staff
        ),
        "VALIDATION_ERROR",
        400,
    )
    refused(
        lambda: services.product_stock_change(
            product=product, change=1, reason="gift", acting_user=store.staff
        ),
        "VALIDATION_ERROR",
        400,
    )
    product.refresh_from_db()
    assert (product.stock_quantity, product.movement_count) == (0, 2)
    positions = list(
        product.stock_movements.order_by("position").values_list("position", "quantity_after")
    )
    assert positions == [(1, 2), (2, 0)]


def test_backorders_and_untracked_products_may_go_below_zero(store) -> None:
    backorder = new_product(store, allow_backorder=True)
    untracked = new_product(store, sku="DR-2", track_inventory=False)
    for product in (backorder, untracked):
        movement = services.product_stock_change(
            product=product, change=-3, reason="sale", acting_user=store.owner
        )
        assert movement.quantity_after == -3


def test_deleting_a_product_with_a_ledger_deactivates_it(store) -> None:
    kept = new_product(store, opening_stock=1)
    gone = new_product(store, sku="DR-2")
    services.product_delete(product=kept, acting_user=store.owner)
    services.product_delete(product=gone, acting_user=store.owner)
    assert Product.objects.get(pk=kept.pk).is_active is False
    assert not Product.objects.filter(pk=gone.pk).exists()


def test_the_stock_check_command_finds_a_product_that_disagrees(store) -> None:
    product = new_product(store, opening_stock=5)
    services.product_stock_change(
        product=product, change=-2, reason="sale", acting_user=store.owner
    )
    out = StringIO()
    call_command("check_product_stock", stdout=out)
    assert "All 1 products agree" in out.getvalue()

    Product.objects.filter(pk=product.pk).update(stock_quantity=9)
    ProductFactory.create(movement_count=2)  # counts movements it does not have
    ProductFactory.create()  # no stock, no ledger: agrees
    err = StringIO()
    with pytest.raises(CommandError, match="2 of 3 products disagree"):
        call_command("check_product_stock", stderr=err)
    assert "stock 9, ledger 3" in err.getvalue()
    assert "movement count 2, movements 0, last position 0" in err.getvalue()


# --- reviews -----------------------------------------------------------------------------


def test_reviews_keep_the_product_rating_current(store) -> None:
    product = new_product(store)
    first = services.review_create(
        product=product, acting_user=store.other, rating=5, title="Great"
    )
    assert first.verified_purchase is False  # no orders yet: nobody has bought it
    services.review_create(product=product, acting_user=store.staff, rating=4)
    services.review_create(product=product, acting_user=store.admin, rating=4)
    product.refresh_from_db()
    assert (product.rating, product.review_count) == (Decimal("4.33"), 3)

    refused(
        lambda: services.review_create(product=product, acting_user=store.other, rating=1),
        "ALREADY_REVIEWED",
        409,
    )
    refused(
        lambda: services.review_create(product=product, acting_user=store.owner, rating=6),
        "VALIDATION_ERROR",
        400,
    )
    refused(
        lambda: services.review_update(
            review=first, acting_user=store.staff, changes={"rating": 1}
        ),
        "PERMISSION_DENIED",
        403,
    )
    services.review_update(review=first, acting_user=store.other, changes={"rating": 1})
    product.refresh_from_db()
    assert (product.rating, product.review_count) == (Decimal("3.00"), 3)
    services.review_delete(review=first, acting_user=store.other)
    product.refresh_from_db()
    assert (product.rating, product.review_count) == (Decimal("4.00"), 2)
    assert Review.objects.filter(product=product).count() == 2


@pytest.mark.parametrize("name", ["New", "Mine"])
def test_a_market_named_like_a_page_route_gets_another_slug(name: str) -> None:
    owner = UserFactory.create()
    market = services.market_create(acting_user=owner, name=name)
    assert market.slug == f"{name.lower()}-2"


@pytest.mark.parametrize("slug", ["new", "mine"])
def test_a_reserved_market_slug_is_refused(slug: str) -> None:
    owner = UserFactory.create()
    with pytest.raises(ApplicationError) as caught:
        services.market_create(acting_user=owner, name="Shop", slug=slug)
    assert caught.value.status_code == 400
    assert not Market.objects.filter(owner=owner).exists()
