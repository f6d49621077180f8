"""The staff admin of the fabrication (3D-print) service, scoped to the makerspaces
the staff member runs, by the makerspace role matrix (fabrication belongs to a
space, not to a market).

The price list is written through the fabrication services, so the admin writes the
same audit log as everything else; a line that jobs were quoted with is deactivated
rather than deleted. Jobs are created by members (pages and API) and read-only here;
staff move them with the actions, each through ``fabrication_job_transition``, which
emails the member. Shipping needs a tracking number, so it is done on the print
queue page.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from apps.makerspaces.admin_scoped import MakerspaceListFilter, MakerspaceScopedAdmin
from apps.makerspaces.admin_services import ServiceAction, ServiceAdapter
from apps.store import fabrication_selectors as access
from apps.store.models import FabricationJob, FabricationMaterial, FabricationStatus
from apps.store.services import fabrication as services


def _create_material(data: dict[str, Any], user: Any) -> FabricationMaterial:
    fields = {
        name: data[name]
        for name in services.MATERIAL_FIELDS
        if name != "name" and data.get(name) is not None
    }
    return services.fabrication_material_create(
        makerspace=data["makerspace"], acting_user=user, name=data["name"], **fields
    )


MATERIAL_ADAPTER = ServiceAdapter[FabricationMaterial](
    permissions={
        "view": access.PRICE_LIST_PERMISSION,
        "add": access.PRICE_LIST_PERMISSION,
        "change": access.PRICE_LIST_PERMISSION,
        "delete": access.PRICE_LIST_PERMISSION,
    },
    create=_create_material,
    update=lambda material, changes, user: services.fabrication_material_update(
        material=material, acting_user=user, changes=changes
    ),
    delete=lambda material, user: services.fabrication_material_delete(
        material=material, acting_user=user
    ),
    update_fields=services.MATERIAL_FIELDS,
)
# Jobs are written by their members and moved by the actions below only.
JOB_ADAPTER = ServiceAdapter[FabricationJob](permissions={"view": access.STAFF_PERMISSION})


@admin.register(FabricationMaterial)
class FabricationMaterialAdmin(MakerspaceScopedAdmin):
    """A space's 3D-print price list: a material on a printer, its price per cm³ and
    setup fee, and the printer's build volume that a model must fit."""

    adapter = MATERIAL_ADAPTER
    list_display = (
        "name",
        "printer_name",
        "price_per_cm3",
        "setup_fee",
        "currency",
        "build_volume",
        "is_active",
        "makerspace",
    )
    list_filter = (MakerspaceListFilter, "is_active")
    list_select_related = ("makerspace",)
    search_fields = ("name", "printer_name")
    ordering = ("makerspace__name", "name")
    fields = (
        "makerspace",
        "name",
        "price_per_cm3",
        "setup_fee",
        "currency",
        "printer_name",
        "build_x_mm",
        "build_y_mm",
        "build_z_mm",
        "is_active",
    )

    @admin.display(description=_("build volume (mm)"))
    def build_volume(self, obj: FabricationMaterial) -> str:
        return f"{obj.build_x_mm} × {obj.build_y_mm} × {obj.build_z_mm}"


def _move(status: str) -> Any:
    def run(job: FabricationJob, user: Any) -> FabricationJob:
        return services.fabrication_job_transition(job=job, to=status, acting_user=user)

    return run


@admin.register(FabricationJob)
class FabricationJobAdmin(MakerspaceScopedAdmin):
    """Members' 3D-print jobs, read-only; the actions move them (accepting needs the
    member's payment first). Ship with a tracking number on the print queue page."""

    adapter = JOB_ADAPTER
    list_display = (
        "original_filename",
        "quantity",
        "material",
        "quote_amount",
        "currency",
        "status",
        "member",
        "created_at",
        "makerspace",
    )
    list_filter = (MakerspaceListFilter, "status")
    list_select_related = ("makerspace", "material", "user")
    search_fields = ("original_filename", "user__email", "user__name", "tracking_number")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    actions = ("accept", "start_printing", "mark_ready", "mark_picked_up", "cancel")
    fields = (
        "makerspace",
        "user",
        "material",
        "original_filename",
        "model_download",
        "quantity",
        "volume_cm3",
        "bounding_box",
        "unit_price",
        "setup_fee",
        "quote_amount",
        "currency",
        "status",
        "order_number",
        "tracking_number",
        "notes",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[FabricationJob]:
        return super().get_queryset(request).select_related("order_item__order")

    @admin.display(description=_("member"), ordering="user__email")
    def member(self, obj: FabricationJob) -> str:
        return str(obj.user)

    @admin.display(description=_("bounding box (mm)"))
    def bounding_box(self, obj: FabricationJob) -> str:
        return f"{obj.size_x_mm} × {obj.size_y_mm} × {obj.size_z_mm}"

    @admin.display(description=_("order"))
    def order_number(self, obj: FabricationJob) -> str:
        order = access.order_of(obj)
        if order is None:
            return "—"
        return f"{order.order_number} ({order.get_payment_status_display()})"

    @admin.display(description=_("model file"))
    def model_download(self, obj: FabricationJob) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("store-fabrication-model", args=[obj.pk]),
            _("Download"),
        )

    accept = ServiceAction(
        description=_("Accept the selected paid print jobs"),
        permission=access.STAFF_PERMISSION,
        run=_move(FabricationStatus.ACCEPTED),
        done=_("Accepted"),
    )
    start_printing = ServiceAction(
        description=_("Start printing the selected jobs"),
        permission=access.STAFF_PERMISSION,
        run=_move(FabricationStatus.PRINTING),
        done=_("Printing"),
    )
    mark_ready = ServiceAction(
        description=_("Mark the selected jobs ready"),
        permission=access.STAFF_PERMISSION,
        run=_move(FabricationStatus.READY),
        done=_("Ready"),
    )
    mark_picked_up = ServiceAction(
        description=_("Mark the selected jobs picked up"),
        permission=access.STAFF_PERMISSION,
        run=_move(FabricationStatus.PICKED_UP),
        done=_("Picked up"),
    )
    cancel = ServiceAction(
        description=_("Cancel the selected print jobs"),
        permission=access.STAFF_PERMISSION,
        run=_move(FabricationStatus.CANCELLED),
        done=_("Cancelled"),
    )
