"""The API's product list runs prepared queries, one per combination of criteria, with
each request's values bound: it must find what the ORM's filters find, page by page,
whatever the values and whoever asks."""

from decimal import Decimal
from itertools import product as combinations

import pytest

from apps.store import selectors, services
from apps.store.catalogue import Catalogue, catalogue_listing, products_of_catalogue
from apps.store.models import MarketStaff
from tests.factories import MarketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelves(store):
    """Products in three markets (one closed) and the central catalogue; the staff
    member of the first market also owns the second."""
    second = MarketFactory.create(owner=store.staff, name="Lviv Parts")
    closed = MarketFactory.create(name="Closed Parts", is_active=False)
    MarketStaff.objects.create(market=second, user=store.owner)
    rows = [
        ("Cordless drill", "120.00", None, store.drills, store.market, 3, True, True),
        ("Drill bits", "12.00", "9.00", store.drills, second, 0, False, True),
        ("Hammer", "15.00", "9.50", store.hand_tools, store.market, 10, False, True),
        ("Angle grinder", "80.00", None, store.power_tools, second, 0, True, True),
        ("Saw", "30.00", None, store.hand_tools, None, 1, False, True),
        ("Old drill", "50.00", None, store.drills, store.market, 2, False, False),
        ("Closed drill", "40.00", None, store.drills, closed, 5, False, True),
        ("Spare drill", "60.00", None, store.drills, second, 4, False, False),
    ]
    for name, price, sale, category, market, stock, featured, active in rows:
        services.product_create(
            acting_user=store.admin,
            market=market,
            category=category,
            name=name,
            sku=name.upper().replace(" ", "-"),
            price=Decimal(price),
            sale_price=None if sale is None else Decimal(sale),
            opening_stock=stock,
            is_featured=featured,
            is_active=active,
            description="for wood and metal" if stock else "cuts discs",
        )
    return store


CATALOGUES = [
    Catalogue(),
    Catalogue(category="tools", sort="price_desc"),
    Catalogue(category="drills", in_stock=True),
    Catalogue(category="power-tools", featured=False, sort="newest"),
    Catalogue(search="drill", sort="price_asc"),
    Catalogue(search="wood metal", min_price=Decimal("10"), max_price=Decimal("60")),
    Catalogue(min_price=Decimal("9.50"), in_stock=False, sort="rating"),
    Catalogue(max_price=Decimal("9.50")),
    Catalogue(featured=True, category="tools"),
]


@pytest.mark.parametrize(
    ("who", "catalogue"), list(combinations([None, "other", "owner", "staff", "admin"], CATALOGUES))
)
def test_the_prepared_list_finds_what_the_filters_find(shelves, who, catalogue) -> None:
    user = None if who is None else getattr(shelves, who)
    expected = list(
        products_of_catalogue(selectors.products_visible_to(user), catalogue).values_list(
            "name", flat=True
        )
    )
    listing = catalogue_listing(user, catalogue)
    assert len(listing) == len(expected)
    # Page by page, two at a time, and whole.
    pages = [[row["name"] for row in listing[start : start + 2]] for start in range(0, 8, 2)]
    assert [name for page in pages for name in page] == expected
    assert [row["name"] for row in listing] == expected


def test_the_same_shape_with_other_values_is_read_afresh(shelves) -> None:
    # One prepared query serves both markets: the values are bound, not kept.
    first = catalogue_listing(None, Catalogue(market=shelves.market.pk))
    second_market = selectors.market_of_owner(shelves.staff)
    assert second_market is not None
    second = catalogue_listing(None, Catalogue(market=second_market.pk))
    assert [row["name"] for row in first] == ["Cordless drill", "Hammer"]
    assert [row["name"] for row in second] == ["Angle grinder", "Drill bits"]
    cheap = catalogue_listing(None, Catalogue(max_price=Decimal("10")))
    dear = catalogue_listing(None, Catalogue(max_price=Decimal("100")))
    assert [row["name"] for row in cheap] == ["Drill bits", "Hammer"]
    assert len(dear) == 4


def test_an_unknown_category_lists_nothing_without_a_query(
    shelves, django_assert_num_queries
) -> None:
    listing = catalogue_listing(None, Catalogue(category="no-such-thing"))
    with django_assert_num_queries(0):
        assert len(listing) == 0
        assert listing[0:20] == []
