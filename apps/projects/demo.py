"""Demo project: member@'s public "Laser-cut lamp" in Kyiv Fab Lab, with a bill of
materials from the space's stock, a collaborator and the laser session linked to it.

Stock items are found by SKU; the inventory demo normally created them already, and
the few this project needs are created here only when they are missing.
"""

from decimal import Decimal
from typing import Any

from apps.accounts.models import User
from apps.equipment.models import Reservation, ReservationStatus
from apps.inventory import services as inventory_services
from apps.inventory.models import InventoryItem
from apps.makerspaces.models import Makerspace
from apps.projects import services
from apps.projects.models import (
    BomLine,
    CollaboratorRole,
    Project,
    ProjectCollaborator,
    ProjectPrivacy,
    ProjectReservation,
    ProjectStatus,
)

D = Decimal
LAMP = "Laser-cut lamp"
# (SKU, quantity per lamp, note); each with what to create if the stock lacks it.
BOM = [
    ("PLY-3MM", D("2"), "Shade panels and base"),
    ("PLA-BLK", D("60"), "Printed socket holder"),
    ("LED-STRIP-1M", D("1"), "Warm white"),
]
FALLBACK_ITEMS: dict[str, dict[str, Any]] = {
    "PLY-3MM": {
        "name": "Plywood sheet 3 mm",
        "category": "Sheet material",
        "unit": "sheet",
        "opening_stock": D("30"),
    },
    "PLA-BLK": {
        "name": "PLA filament black",
        "category": "Filament",
        "unit": "g",
        "opening_stock": D("3000"),
    },
    "LED-STRIP-1M": {
        "name": "LED strip 1 m",
        "category": "Electronics",
        "unit": "pcs",
        "opening_stock": D("30"),
    },
}


def _item(space: Makerspace, sku: str, manager: User) -> InventoryItem:
    item = InventoryItem.objects.filter(makerspace=space, sku=sku).first()
    if item is None:
        item = inventory_services.item_create(
            makerspace=space, acting_user=manager, sku=sku, **FALLBACK_ITEMS[sku]
        )
    return item


def load(*, stdout: Any, style: Any) -> None:
    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    member = User.objects.get(email="member@makrx.local")
    manager = User.objects.get(email="manager@makrx.local")
    newbie = User.objects.get(email="newbie@makrx.local")

    lamp = Project.objects.filter(makerspace=kyiv, owner=member, name=LAMP).first()
    if lamp is None:
        lamp = services.project_create(
            makerspace=kyiv,
            owner=member,
            name=LAMP,
            description=(
                "A table lamp of laser-cut plywood panels around a warm LED strip, "
                "with a 3D-printed socket holder. Files and notes for anyone to build one."
            ),
            status=ProjectStatus.ACTIVE,
            privacy=ProjectPrivacy.PUBLIC,
            tags=["laser", "lamp", "plywood", "led"],
            acting_user=member,
        )
    for sku, quantity, note in BOM:
        item = _item(kyiv, sku, manager)
        if not BomLine.objects.filter(project=lamp, item=item).exists():
            services.bom_line_add(
                project=lamp, item=item, quantity=quantity, note=note, acting_user=member
            )
    if not ProjectCollaborator.objects.filter(project=lamp, user=newbie).exists():
        services.collaborator_add(
            project=lamp, user=newbie, role=CollaboratorRole.VIEWER, acting_user=member
        )
    # The laser session member@ already had (the equipment demo's past booking).
    session = (
        Reservation.objects.filter(
            makerspace=kyiv,
            user=member,
            status=ReservationStatus.COMPLETED,
            equipment__type="laser_cutter",
        )
        .order_by("start_time")
        .first()
    )
    if session is not None and not ProjectReservation.objects.filter(reservation=session).exists():
        services.project_reservation_link(project=lamp, reservation=session, acting_user=member)
    stdout.write(
        f"  Projects: member@'s public {LAMP!r} in {kyiv.name} with a {len(BOM)}-line bill"
        " of materials; see /projects/gallery/kyiv-fab-lab/."
    )
