"""Reads of the fabrication (3D-print) service, and who may do what in it.

Fabrication belongs to a makerspace, so it follows the makerspace role matrix
(``apps.core.permissions``), not the store's market rules:

- a member of the space (``ORDER_PERMISSION``) uploads models, gets quotes, accepts
  them and follows their own jobs;
- its managers and admins (``STAFF_PERMISSION``) see the space's jobs and move them
  through printing; with ``PRICE_LIST_PERMISSION`` they keep its price list;
- a super admin sees every job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from apps.core.permissions import has_makerspace_permission, makerspace_ids_with
from apps.makerspaces.models import Makerspace
from apps.store.models import FabricationJob, FabricationMaterial
from apps.store.permissions import is_signed_in, is_super_admin

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from apps.accounts.models import User

    Caller = User | AnonymousUser | None

# Every active member holds it: ordering a print is using the space.
ORDER_PERMISSION = "makerspace.view"
# Those who run the space's bookings run its print queue too.
STAFF_PERMISSION = "reservations.manage"
# A price list line describes a printer and what its material costs.
PRICE_LIST_PERMISSION = "equipment.update"


def may_order(user: Caller, makerspace: Any) -> bool:
    return has_makerspace_permission(user, makerspace, ORDER_PERMISSION)


def may_run_jobs(user: Caller, makerspace: Any) -> bool:
    return has_makerspace_permission(user, makerspace, STAFF_PERMISSION)


def staffed_makerspace_ids(user: Caller) -> list[str]:
    return makerspace_ids_with(user, STAFF_PERMISSION)


def jobs_visible_to(user: Caller) -> QuerySet[FabricationJob]:
    """A member's own jobs and the jobs of the spaces they run; every job to a super
    admin; none to anyone else."""
    jobs = FabricationJob.objects.select_related(
        "makerspace", "material", "user", "order_item__order"
    ).order_by("-created_at", "-id")
    if is_super_admin(user):
        return jobs
    if not is_signed_in(user):
        return jobs.none()
    return jobs.filter(Q(user=user) | Q(makerspace_id__in=staffed_makerspace_ids(user)))


def job_queue(makerspace: Makerspace) -> QuerySet[FabricationJob]:
    """A space's jobs for its staff, oldest first: the order they are printed in."""
    return (
        FabricationJob.objects.filter(makerspace=makerspace)
        .select_related("material", "user", "order_item__order")
        .order_by("created_at", "id")
    )


def orderable_makerspaces(user: Caller) -> QuerySet[Makerspace]:
    """The active spaces where ``user`` may order prints and that have a price list."""
    spaces = Makerspace.objects.filter(
        is_active=True, fabrication_materials__is_active=True
    ).distinct()
    if not is_super_admin(user):
        spaces = spaces.filter(pk__in=makerspace_ids_with(user, ORDER_PERMISSION))
    return spaces.order_by("name")


def active_materials(makerspace: Makerspace | Any) -> QuerySet[FabricationMaterial]:
    """A space's price list as members order from it."""
    return FabricationMaterial.objects.filter(
        makerspace_id=getattr(makerspace, "pk", makerspace), is_active=True
    ).order_by("name", "id")


def orderable_materials(user: Caller) -> QuerySet[FabricationMaterial]:
    """Active price list lines of every space where ``user`` may order prints."""
    materials = FabricationMaterial.objects.filter(
        is_active=True, makerspace__is_active=True
    ).select_related("makerspace")
    if not is_super_admin(user):
        materials = materials.filter(makerspace_id__in=makerspace_ids_with(user, ORDER_PERMISSION))
    return materials.order_by("makerspace__name", "name", "id")


def order_of(job: FabricationJob) -> Any:
    """The store order a job was accepted into, or None while it is only quoted."""
    try:
        return job.order_item.order
    except FabricationJob.order_item.RelatedObjectDoesNotExist:
        return None
