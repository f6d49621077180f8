"""Every project write service checks its caller itself.

Each service is called directly, as the API, the pages and the admin call it, by
someone outside the space and by a plain member of the space who neither owns the
project nor collaborates on it: both are refused with PERMISSION_DENIED and nothing is
written (no row, no stock movement, no audit entry). Starting a project is every
member's right, so only the outsider (and a member starting one for somebody else) is
refused there.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from apps.inventory.models import InventoryItem, StockMovement
from apps.projects import services
from apps.projects.models import (
    BomLine,
    Project,
    ProjectCollaborator,
    ProjectReservation,
    ProjectTag,
)
from tests.projects.conftest import (
    Space,
    UserFactory,
    booking,
    make_project,
    stocked_item,
)

pytestmark = pytest.mark.django_db

OUTSIDER = "outsider"
MEMBER = "member"
VIEWER = "viewer"


@dataclass
class World:
    space: Space
    project: Project  # open to the space, with an editor, a viewer, a BOM line and a booking
    item: InventoryItem
    spare_item: InventoryItem  # not on the BOM yet
    line: BomLine
    collaborator: ProjectCollaborator  # the editor
    link: ProjectReservation  # the owner's booking
    unlinked: Any  # another booking of the owner, not linked
    people: dict[str, User]


@pytest.fixture
def world(alpha: Space) -> World:
    owner = alpha["owner"]
    project = make_project(alpha.makerspace, owner, name="Desk lamp", privacy="makerspace")
    collaborator = services.collaborator_add(
        project=project, user=alpha["editor"], role="editor", acting_user=owner
    )
    services.collaborator_add(
        project=project, user=alpha["viewer"], role="viewer", acting_user=owner
    )
    item = stocked_item(alpha.makerspace, "PLY-3", "20")
    spare_item = stocked_item(alpha.makerspace, "PLA-W", "20")
    line = services.bom_line_add(
        project=project, item=item, quantity=Decimal("2"), acting_user=owner
    )
    link = services.project_reservation_link(
        project=project, reservation=booking(alpha.makerspace, owner), acting_user=owner
    )
    unlinked = booking(alpha.makerspace, owner, hour=14)
    people = {OUTSIDER: UserFactory.create(), MEMBER: alpha["member"], VIEWER: alpha["viewer"]}
    return World(alpha, project, item, spare_item, line, collaborator, link, unlinked, people)


def snapshot(world: World) -> dict[str, Any]:
    """Everything a refused call could have written."""
    project = Project.objects.filter(pk=world.project.pk).values().first()
    return {
        "projects": list(Project.objects.values_list("pk", flat=True)),
        "project": project,
        "tags": list(ProjectTag.objects.values_list("name", flat=True)),
        "collaborators": list(ProjectCollaborator.objects.values_list("user_id", "role")),
        "bom": list(BomLine.objects.values_list("item_id", "quantity", "note")),
        "links": list(ProjectReservation.objects.values_list("reservation_id", flat=True)),
        "movements": StockMovement.objects.count(),
        "stock": list(InventoryItem.objects.values_list("pk", "current_stock")),
        "audit": AuditLogEntry.objects.count(),
    }


Call = Callable[[World, User], Any]

WRITES: dict[str, Call] = {
    "project_update": lambda w, user: services.project_update(
        project=w.project, acting_user=user, changes={"name": "Floor lamp", "tags": ["lamp"]}
    ),
    "project_update of privacy": lambda w, user: services.project_update(
        project=w.project, acting_user=user, changes={"privacy": "public"}
    ),
    "project_delete": lambda w, user: services.project_delete(project=w.project, acting_user=user),
    "collaborator_add": lambda w, user: services.collaborator_add(
        project=w.project, user=w.space["manager"], role="viewer", acting_user=user
    ),
    "collaborator_change_role": lambda w, user: services.collaborator_change_role(
        collaborator=w.collaborator, role="viewer", acting_user=user
    ),
    "collaborator_remove": lambda w, user: services.collaborator_remove(
        collaborator=w.collaborator, acting_user=user
    ),
    "bom_line_add": lambda w, user: services.bom_line_add(
        project=w.project, item=w.spare_item, quantity=Decimal("1"), acting_user=user
    ),
    "bom_line_update": lambda w, user: services.bom_line_update(
        line=w.line, quantity=Decimal("5"), note="thicker", acting_user=user
    ),
    "bom_line_remove": lambda w, user: services.bom_line_remove(line=w.line, acting_user=user),
    "bom_consume": lambda w, user: services.bom_consume(project=w.project, acting_user=user),
    "project_reservation_link": lambda w, user: services.project_reservation_link(
        project=w.project, reservation=w.unlinked, acting_user=user
    ),
    "project_reservation_unlink": lambda w, user: services.project_reservation_unlink(
        link=w.link, acting_user=user
    ),
}

CASES = [
    pytest.param(service, caller, id=f"{service} as {caller}")
    for service in WRITES
    for caller in (OUTSIDER, MEMBER, VIEWER)
] + [
    pytest.param("project_create", OUTSIDER, id="project_create as outsider"),
    pytest.param(
        "project_create for someone else", MEMBER, id="project_create for someone else as member"
    ),
]


def call_for(service: str) -> Call:
    if service == "project_create":
        return lambda w, user: services.project_create(
            makerspace=w.space.makerspace, owner=user, name="Shelf", acting_user=user
        )
    if service == "project_create for someone else":
        return lambda w, user: services.project_create(
            makerspace=w.space.makerspace, owner=w.space["owner"], name="Shelf", acting_user=user
        )
    return WRITES[service]


@pytest.mark.parametrize(("service", "caller"), CASES)
def test_a_caller_without_the_right_is_refused_and_nothing_is_written(
    world: World, service: str, caller: str
) -> None:
    # Given the project as it stands
    before = snapshot(world)

    # When someone without the right calls the service directly
    with pytest.raises(ApplicationError) as refusal:
        call_for(service)(world, world.people[caller])

    # Then it answers 403 PERMISSION_DENIED and nothing changed
    assert refusal.value.code == "PERMISSION_DENIED"
    assert refusal.value.status_code == 403
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("service", "role"),
    [
        *[pytest.param(service, "owner", id=f"{service} as owner") for service in WRITES],
        *[
            pytest.param(service, "editor", id=f"{service} as editor")
            for service in WRITES
            if service
            in (
                "project_update",
                "bom_line_add",
                "bom_line_update",
                "bom_line_remove",
                "bom_consume",
                "project_reservation_link",
                "project_reservation_unlink",
            )
        ],
        *[pytest.param(service, "manager", id=f"{service} as manager") for service in WRITES],
    ],
)
def test_the_owner_editors_and_staff_get_through(world: World, service: str, role: str) -> None:
    before = snapshot(world)

    WRITES[service](world, world.space[role])

    assert snapshot(world) != before


def test_a_member_starts_a_project_of_their_own(world: World) -> None:
    member = world.people[MEMBER]

    project = call_for("project_create")(world, member)

    assert Project.objects.get(pk=project.pk).owner == member
