"""The low-stock rule, written once: "at or below the minimum". The item's own flag, the
lists and their filter, the daily digest and the pages' count all read it, so they
agree at the edge (stock exactly at the minimum is low)."""

import pytest

from apps.inventory import selectors
from apps.inventory.models import LOW_STOCK, InventoryItem, low_stock_q
from apps.makerspaces.models import Makerspace
from tests.factories import MakerspaceFactory
from tests.inventory.support import stocked_item

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("stock", "is_low"),
    [
        pytest.param("9.999", True, id="below the minimum"),
        pytest.param("10", True, id="exactly at the minimum"),
        pytest.param("10.001", False, id="just above the minimum"),
    ],
)
def test_every_reader_of_the_rule_agrees(stock: str, is_low: bool) -> None:
    space = MakerspaceFactory.create()
    item = stocked_item(space, stock=stock, min_stock_level=10)

    listed = selectors.items_of_space(space).get(pk=item.pk)

    assert item.is_low_stock is is_low
    assert listed.low is is_low  # type: ignore[attr-defined]
    assert InventoryItem.objects.filter(LOW_STOCK, pk=item.pk).exists() is is_low
    assert list(selectors.items_of_space(space, low_stock=is_low)) == [item]
    assert not selectors.items_of_space(space, low_stock=not is_low).exists()
    # The pages count a space's low items through the space.
    spaces_with_low = Makerspace.objects.filter(low_stock_q("inventory_items__"), pk=space.pk)
    assert spaces_with_low.exists() is is_low
