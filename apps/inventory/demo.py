"""Demo stock of Kyiv Fab Lab: filament, sheets, electronics and screws, two of them low,
with a short history written through the stock services and one purchase order on order.

Items are found by SKU and created only when missing (another app's demo may have
created some of them first); an existing item and its ledger are left as they are.
"""

from decimal import Decimal
from typing import Any

from apps.accounts.models import User
from apps.inventory import services
from apps.inventory.models import InventoryItem, PurchaseOrder
from apps.makerspaces.models import Makerspace

D = Decimal

ITEMS: list[dict[str, Any]] = [
    {
        "sku": "PLA-BLK",
        "name": "PLA filament black",
        "category": "Filament",
        "unit": "g",
        "min_stock_level": D("1000"),
        "reorder_quantity": D("5000"),
        "location": "Shelf A1",
        "supplier": "Prusament",
        "unit_cost": D("0.85"),
        "opening": D("3000"),
        # (kind, quantity, reason, unit cost)
        "history": [
            ("restock", D("2000"), "Delivery from Prusament", D("0.80")),
            ("deduct", D("350"), "Print job: drone frame", None),
            ("deduct", D("150"), "Calibration prints", None),
        ],
    },
    {
        "sku": "PETG-CLR",
        "name": "PETG filament clear",
        "category": "Filament",
        "unit": "g",
        "min_stock_level": D("1000"),
        "reorder_quantity": D("3000"),
        "location": "Shelf A1",
        "supplier": "Prusament",
        "unit_cost": D("0.95"),
        "opening": D("2000"),
        "history": [("deduct", D("1200"), "Print job: sensor enclosures", None)],
        "on_order": D("2000"),
    },
    {
        "sku": "PLY-3MM",
        "name": "Plywood sheet 3 mm",
        "category": "Sheet material",
        "unit": "sheet",
        "min_stock_level": D("10"),
        "reorder_quantity": D("40"),
        "location": "Laser room rack",
        "supplier": "Kyiv Timber",
        "unit_cost": D("180.00"),
        "opening": D("30"),
        "history": [("deduct", D("5"), "Laser job: shelf brackets", None)],
    },
    {
        "sku": "ACR-3MM",
        "name": "Acrylic sheet 3 mm",
        "category": "Sheet material",
        "unit": "sheet",
        "min_stock_level": D("5"),
        "reorder_quantity": D("20"),
        "location": "Laser room rack",
        "supplier": "Plexi Ukraine",
        "unit_cost": D("450.00"),
        "opening": D("10"),
        "history": [("deduct", D("6"), "Laser job: door signs", None)],
    },
    {
        "sku": "LED-STRIP-1M",
        "name": "LED strip 1 m",
        "category": "Electronics",
        "unit": "pcs",
        "min_stock_level": D("10"),
        "reorder_quantity": D("50"),
        "location": "Electronics bench, drawer 3",
        "supplier": "Elektronika",
        "unit_cost": D("120.00"),
        "opening": D("30"),
        "history": [],
    },
    {
        "sku": "M3-10",
        "name": "M3 screws",
        "category": "Hardware",
        "unit": "pcs",
        "min_stock_level": D("100"),
        "reorder_quantity": D("1000"),
        "location": "Electronics bench, drawer 1",
        "supplier": "Fasteners Co.",
        "unit_cost": D("0.50"),
        "opening": D("500"),
        "history": [],
    },
]


def _create_with_history(
    makerspace: Makerspace, spec: dict[str, Any], manager: User
) -> InventoryItem:
    spec = dict(spec)
    opening = spec.pop("opening")
    history = spec.pop("history")
    spec.pop("on_order", None)
    item = services.item_create(
        makerspace=makerspace, acting_user=manager, opening_stock=opening, **spec
    )
    for kind, quantity, reason, unit_cost in history:
        if kind == "restock":
            services.stock_restock(
                item=item, quantity=quantity, note=reason, unit_cost=unit_cost, acting_user=manager
            )
        else:
            services.stock_deduct(item=item, quantity=quantity, reason=reason, acting_user=manager)
    return item


def load(*, stdout: Any, style: Any) -> None:
    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    manager = User.objects.get(email="manager@makrx.local")
    for spec in ITEMS:
        item = InventoryItem.objects.filter(makerspace=kyiv, sku=spec["sku"]).first()
        if item is None:
            item = _create_with_history(kyiv, spec, manager)
        on_order = spec.get("on_order")
        if on_order and not PurchaseOrder.objects.filter(item=item).exists():
            services.purchase_order_create(item=item, quantity=on_order, acting_user=manager)
    stdout.write(
        "  Stock: Kyiv Fab Lab keeps filament, sheets, LED strips and screws; PETG and "
        "acrylic are low, PETG is on order."
    )
