"""Shared helpers of the inventory tests: items with stock given through the services,
so the ledger always agrees, and the URLs of the inventory API."""

import itertools
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.system import system_actor
from apps.inventory import services
from apps.inventory.models import InventoryItem, StockMovement
from apps.makerspaces.models import Makerspace
from tests.conftest import bearer_client

_numbers = itertools.count(1)


def stocked_item(
    makerspace: Makerspace,
    *,
    stock: str | int | Decimal = 0,
    acting_user: User | None = None,
    **fields: Any,
) -> InventoryItem:
    """An item created by the service (by the system actor unless ``acting_user`` is
    given); a starting stock is its opening movement."""
    number = next(_numbers)
    fields.setdefault("name", f"Material {number:04d}")
    fields.setdefault("sku", f"MAT-{number:05d}")
    if acting_user is None:
        acting_user = system_actor()
    return services.item_create(
        makerspace=makerspace,
        acting_user=acting_user,
        opening_stock=Decimal(str(stock)),
        **fields,
    )


def ledger_sum(item: InventoryItem) -> Decimal:
    total = StockMovement.objects.filter(item=item).aggregate(total=Sum("delta"))["total"]
    return total if total is not None else Decimal("0")


def stock_of(item: InventoryItem) -> Decimal:
    return InventoryItem.objects.values_list("current_stock", flat=True).get(pk=item.pk)


def client_for(user: User) -> APIClient:
    """A client holding a real access token, so every request loads the user afresh."""
    return bearer_client(user)


def items_url(makerspace: Makerspace) -> str:
    return f"/api/v1/makerspaces/{makerspace.pk}/inventory/"


def item_url(item: InventoryItem, action: str = "") -> str:
    url = f"/api/v1/makerspaces/{item.makerspace_id}/inventory/{item.pk}/"
    return f"{url}{action}" if action else url


def orders_url(makerspace: Makerspace) -> str:
    return f"/api/v1/makerspaces/{makerspace.pk}/purchase-orders/"
