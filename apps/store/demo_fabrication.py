"""Demo 3D-print service: Kyiv Fab Lab's price list (PLA and PETG on a Prusa MK4,
resin on a small resin printer) and one quoted job of a demo member, a 20 mm
calibration cube generated here.

Written through the fabrication services and found by natural key (a material's
space and name, the member's job by its file name) before it is created, so loading
again changes nothing.
"""

from decimal import Decimal
from typing import Any

from apps.accounts.models import User
from apps.makerspaces.models import Makerspace
from apps.store.models import FabricationJob, FabricationMaterial
from apps.store.services import fabrication as services

D = Decimal
SPACE_SLUG = "kyiv-fab-lab"
STAFF_EMAIL = "owner@makrx.local"
MEMBER_EMAIL = "member@makrx.local"
DEMO_MODEL_NAME = "calibration-cube.stl"
PRUSA = {"printer_name": "Prusa MK4", "build_x_mm": D("250"), "build_y_mm": D("210")}

MATERIALS: list[dict[str, Any]] = [
    {
        "name": "PLA",
        "price_per_cm3": D("4.50"),
        "setup_fee": D("60.00"),
        **PRUSA,
        "build_z_mm": D("220"),
    },
    {
        "name": "PETG",
        "price_per_cm3": D("5.50"),
        "setup_fee": D("60.00"),
        **PRUSA,
        "build_z_mm": D("220"),
    },
    {
        "name": "Resin",
        "price_per_cm3": D("18.00"),
        "setup_fee": D("120.00"),
        "printer_name": "Elegoo Mars 4",
        "build_x_mm": D("153"),
        "build_y_mm": D("77"),
        "build_z_mm": D("165"),
    },
]


def cube_stl(side_mm: float = 20.0) -> bytes:
    """A closed cube as binary STL, in millimetres."""
    import trimesh

    data: bytes = trimesh.creation.box(extents=(side_mm, side_mm, side_mm)).export(file_type="stl")
    return data


def load_fabrication(stdout: Any = None) -> None:
    space = Makerspace.objects.filter(slug=SPACE_SLUG).first()
    staff = User.objects.filter(email=STAFF_EMAIL).first()
    if space is None or staff is None:
        return
    existing = set(
        FabricationMaterial.objects.filter(makerspace=space).values_list("name", flat=True)
    )
    for spec in MATERIALS:
        if spec["name"] in existing:
            continue
        fields = dict(spec)
        services.fabrication_material_create(
            makerspace=space, acting_user=staff, name=fields.pop("name"), **fields
        )

    member = User.objects.filter(email=MEMBER_EMAIL).first()
    if member is not None and not (
        FabricationJob.objects.filter(
            makerspace=space, user=member, original_filename=DEMO_MODEL_NAME
        ).exists()
    ):
        services.fabrication_job_create(
            makerspace=space,
            material=FabricationMaterial.objects.get(makerspace=space, name="PLA"),
            filename=DEMO_MODEL_NAME,
            data=cube_stl(),
            quantity=2,
            notes="Two cubes to check the printer's calibration.",
            acting_user=member,
        )
    if stdout is not None:
        stdout.write(
            f"  3D printing: {space.name} prints PLA, PETG and resin; {MEMBER_EMAIL} has a "
            "quoted job (/store/fabrication/)."
        )
