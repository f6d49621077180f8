"""The projects API: CRUD, who sees and changes what, collaborators, the bill of
materials with availability and all-or-nothing consumption, linked bookings, and the
public gallery without sign-in."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.core.models import AuditLogEntry
from apps.inventory.models import InventoryItem, StockMovement
from apps.projects import services
from apps.projects.models import (
    BomLine,
    Project,
    ProjectCollaborator,
    ProjectReservation,
)
from tests.projects.conftest import Space, booking, make_project, stocked_item

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


def projects_url(space: Space) -> str:
    return f"/api/v1/makerspaces/{space.makerspace.pk}/projects/"


def project_url(project: Project, suffix: str = "") -> str:
    return f"/api/v1/makerspaces/{project.makerspace_id}/projects/{project.pk}/{suffix}"


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def shared_project(space: Space, **fields: Any) -> Project:
    """The owner's project with an editor and a viewer."""
    project = make_project(space.makerspace, space["owner"], **fields)
    for role in ("editor", "viewer"):
        services.collaborator_add(
            project=project, user=space[role], role=role, acting_user=space["owner"]
        )
    return project


# --- CRUD ----------------------------------------------------------------------------------


def test_a_member_starts_a_project_and_owns_it(alpha: Space) -> None:
    # Given a member of the space
    client = client_for(alpha["member"])

    # When they create a project
    response = client.post(
        projects_url(alpha),
        {
            "name": "Laser-cut lamp",
            "description": "Plywood and LEDs",
            "privacy": "makerspace",
            "tags": ["Laser", "table lamp", "laser"],
        },
    )

    # Then it is theirs, private by default but here shared with the space, tags cleaned
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == {"id": str(alpha["member"].pk), "name": alpha["member"].name}
    assert body["status"] == "draft"
    assert body["privacy"] == "makerspace"
    assert body["tags"] == ["laser", "table-lamp"]
    assert body["collaborators"] == []
    assert body["bom"] == []
    assert body["can_edit"] is True
    assert body["can_share"] is True
    assert response.headers["ETag"]
    project = Project.objects.get(pk=body["id"])
    assert AuditLogEntry.objects.filter(object_id=str(project.pk), action="create").exists()


def test_create_refuses_unknown_and_bad_fields(alpha: Space) -> None:
    client = client_for(alpha["member"])

    unknown = client.post(projects_url(alpha), {"name": "X", "owner": str(alpha["admin"].pk)})
    bad_tag = client.post(projects_url(alpha), {"name": "X", "tags": ["no/slashes"]})
    bad_status = client.post(projects_url(alpha), {"name": "X", "status": "done"})

    assert unknown.status_code == 400
    assert "owner" in unknown.json()["error"]["details"]
    assert bad_tag.status_code == 400
    assert "tags" in bad_tag.json()["error"]["details"]
    assert bad_status.status_code == 400
    assert not Project.objects.exists()


def test_the_owner_updates_with_optimistic_locking(alpha: Space) -> None:
    # Given a project read with its ETag
    project = make_project(alpha.makerspace, alpha["owner"])
    client = client_for(alpha["owner"])
    etag = client.get(project_url(project)).headers["ETag"]

    # When it is changed, and changed again against the old version
    first = client.patch(
        project_url(project),
        {"name": "Floor lamp", "status": "active", "tags": ["lamp"]},
        HTTP_IF_MATCH=etag,
    )
    second = client.patch(project_url(project), {"name": "Stale"}, HTTP_IF_MATCH=etag)

    # Then the first wins and the second hears 412
    assert first.status_code == 200, first.content
    assert first.json()["name"] == "Floor lamp"
    assert first.json()["tags"] == ["lamp"]
    assert second.status_code == 412
    project.refresh_from_db()
    assert project.name == "Floor lamp"
    entry = AuditLogEntry.objects.get(object_id=str(project.pk), action="update")
    assert entry.changes["name"] == ["Desk lamp", "Floor lamp"]
    assert entry.changes["tags"] == [[], ["lamp"]]


def test_filters_of_the_list(alpha: Space) -> None:
    owner = alpha["owner"]
    make_project(alpha.makerspace, owner, name="Lamp", tags=["laser"], status="active")
    make_project(alpha.makerspace, owner, name="Robot arm", tags=["cnc"], privacy="makerspace")
    make_project(alpha.makerspace, alpha["member"], name="Someone's shelf", privacy="makerspace")
    client = client_for(owner)

    def names(**query: str) -> list[str]:
        response = client.get(projects_url(alpha), query)
        assert response.status_code == 200, response.content
        return sorted(row["name"] for row in response.json()["data"])

    assert names() == ["Lamp", "Robot arm", "Someone's shelf"]
    assert names(tag="LASER") == ["Lamp"]
    assert names(status="active") == ["Lamp"]
    assert names(privacy="makerspace") == ["Robot arm", "Someone's shelf"]
    assert names(search="robot") == ["Robot arm"]
    assert names(mine="true") == ["Lamp", "Robot arm"]
    assert client.get(projects_url(alpha), {"status": "done"}).status_code == 400


def test_deleting_is_for_the_owner_and_staff(alpha: Space) -> None:
    project = shared_project(alpha)

    by_editor = client_for(alpha["editor"]).delete(project_url(project))
    by_owner = client_for(alpha["owner"]).delete(project_url(project))

    assert by_editor.status_code == 403
    assert error_code(by_editor) == "PERMISSION_DENIED"
    assert by_owner.status_code == 204
    assert not Project.objects.exists()


# --- privacy -------------------------------------------------------------------------------

VISIBLE, HIDDEN, UNAUTHENTICATED = 200, 404, 401
# role → (private, makerspace, public) on the space's nested route
PRIVACY_MATRIX = {
    "owner": (VISIBLE, VISIBLE, VISIBLE),
    "editor": (VISIBLE, VISIBLE, VISIBLE),
    "viewer": (VISIBLE, VISIBLE, VISIBLE),
    "member": (HIDDEN, VISIBLE, VISIBLE),
    "manager": (VISIBLE, VISIBLE, VISIBLE),
    "admin": (VISIBLE, VISIBLE, VISIBLE),
    "super admin": (VISIBLE, VISIBLE, VISIBLE),
    "member of another space": (HIDDEN, HIDDEN, HIDDEN),
    "anonymous": (UNAUTHENTICATED, UNAUTHENTICATED, UNAUTHENTICATED),
}
PRIVACY_CASES = [
    pytest.param(role, privacy, expected[index], id=f"{privacy} project, {role}")
    for role, expected in PRIVACY_MATRIX.items()
    for index, privacy in enumerate(("private", "makerspace", "public"))
]


def caller(role: str, alpha: Space, bravo: Space, super_admin: User) -> User | None:
    if role == "anonymous":
        return None
    if role == "super admin":
        return super_admin
    if role == "member of another space":
        return bravo["member"]
    return alpha[role]


@pytest.mark.parametrize(("role", "privacy", "expected"), PRIVACY_CASES)
def test_who_sees_a_project(
    alpha: Space, bravo: Space, super_admin: User, role: str, privacy: str, expected: int
) -> None:
    # Given a project with an editor and a viewer
    project = shared_project(alpha, privacy=privacy, name=f"Secret {privacy} thing")
    client = client_for(caller(role, alpha, bravo, super_admin))

    # When a caller reads it, the list, and a sub-resource
    detail = client.get(project_url(project))
    listed = client.get(projects_url(alpha))
    bom = client.get(project_url(project, "bom/"))

    # Then the privacy and the caller's role decide; a hidden project is a plain 404
    assert detail.status_code == expected, detail.content
    assert bom.status_code == expected, bom.content
    if expected == VISIBLE:
        assert [row["id"] for row in listed.json()["data"]] == [str(project.pk)]
    elif expected == HIDDEN:
        assert error_code(detail) == "NOT_FOUND"
        assert project.name not in detail.content.decode()
        if listed.status_code == 200:
            assert listed.json()["data"] == []
    else:
        assert error_code(detail) == "NOT_AUTHENTICATED"


@pytest.mark.parametrize(
    ("role", "field", "expected"),
    [
        ("owner", "name", 200),
        ("editor", "name", 200),
        ("viewer", "name", 403),
        ("member", "name", 403),
        ("manager", "name", 200),
        ("admin", "status", 200),
        ("owner", "privacy", 200),
        ("editor", "privacy", 403),
        ("manager", "privacy", 200),
    ],
)
def test_who_changes_a_project(alpha: Space, role: str, field: str, expected: int) -> None:
    # Given a project the whole space can see
    project = shared_project(alpha, privacy="makerspace")
    value = {"name": "Renamed", "status": "archived", "privacy": "public"}[field]

    # When a caller changes one field
    response = client_for(alpha[role]).patch(project_url(project), {field: value})

    # Then owner and editors edit, sharing is the owner's (and staff's) call
    assert response.status_code == expected, response.content
    project.refresh_from_db()
    assert (getattr(project, field) == value) is (expected == 200)


def test_a_former_member_loses_their_private_project(alpha: Space) -> None:
    project = make_project(alpha.makerspace, alpha["owner"])
    alpha.makerspace.memberships.filter(user=alpha["owner"]).update(status="suspended")

    response = client_for(alpha["owner"]).get(project_url(project))

    assert response.status_code == 404


# --- public projects without sign-in -------------------------------------------------------


def test_public_projects_are_readable_without_sign_in(alpha: Space, bravo: Space) -> None:
    # Given public, space-only and private projects in two spaces
    item = stocked_item(alpha.makerspace, "PLY-3MM", "10", unit="sheet")
    lamp = shared_project(alpha, name="Lamp", privacy="public", tags=["laser"])
    services.bom_line_add(
        project=lamp, item=item, quantity=Decimal("2"), acting_user=alpha["owner"]
    )
    make_project(alpha.makerspace, alpha["owner"], name="Members only", privacy="makerspace")
    secret = make_project(alpha.makerspace, alpha["owner"], name="Secret", privacy="private")
    robot = make_project(bravo.makerspace, bravo["owner"], name="Robot", privacy="public")
    anonymous = client_for(None)

    # When anyone reads the gallery and a project
    everything = anonymous.get("/api/v1/projects/")
    in_alpha = anonymous.get("/api/v1/projects/", {"makerspace": str(alpha.makerspace.pk)})
    tagged = anonymous.get("/api/v1/projects/", {"tag": "laser"})
    detail = anonymous.get(f"/api/v1/projects/{lamp.pk}/")
    hidden = anonymous.get(f"/api/v1/projects/{secret.pk}/")

    # Then only public projects exist there, without collaborators or stock
    assert everything.status_code == 200
    assert sorted(row["name"] for row in everything.json()["data"]) == ["Lamp", "Robot"]
    assert [row["id"] for row in in_alpha.json()["data"]] == [str(lamp.pk)]
    assert [row["id"] for row in tagged.json()["data"]] == [str(lamp.pk)]
    assert detail.status_code == 200
    body = detail.json()
    assert body["makerspace"]["slug"] == alpha.makerspace.slug
    assert body["bom"] == [
        {
            "item": {"id": str(item.pk), "sku": "PLY-3MM", "name": item.name, "unit": "sheet"},
            "quantity": "2.000",
            "note": "",
        }
    ]
    assert "collaborators" not in body
    assert alpha["editor"].name not in detail.content.decode()
    assert hidden.status_code == 404
    assert error_code(hidden) == "NOT_FOUND"
    assert robot.pk


def test_my_projects_across_spaces(alpha: Space, bravo: Space) -> None:
    user = alpha["editor"]
    mine = make_project(alpha.makerspace, user, name="Mine")
    shared = shared_project(alpha, name="Shared")
    make_project(alpha.makerspace, alpha["member"], name="Not mine", privacy="makerspace")

    response = client_for(user).get("/api/v1/users/me/projects/")

    assert response.status_code == 200
    assert sorted(row["id"] for row in response.json()["data"]) == sorted(
        [str(mine.pk), str(shared.pk)]
    )
    assert client_for(None).get("/api/v1/users/me/projects/").status_code == 401


# --- collaborators -------------------------------------------------------------------------


def test_the_owner_shares_a_project_and_the_collaborator_sees_it(alpha: Space) -> None:
    # Given a private project
    project = make_project(alpha.makerspace, alpha["owner"])
    member = alpha["member"]
    assert client_for(member).get(project_url(project)).status_code == 404

    # When the owner adds a member by email
    added = client_for(alpha["owner"]).post(
        project_url(project, "collaborators/"), {"email": member.email.upper(), "role": "editor"}
    )

    # Then the member sees and edits it
    assert added.status_code == 201, added.content
    assert added.json()["user"] == {"id": str(member.pk), "name": member.name}
    assert added.json()["role"] == "editor"
    assert client_for(member).get(project_url(project)).json()["can_edit"] is True
    listed = client_for(member).get(project_url(project, "collaborators/"))
    assert [row["user"]["id"] for row in listed.json()["data"]] == [str(member.pk)]


def test_collaborator_rules(alpha: Space, bravo: Space) -> None:
    project = shared_project(alpha)
    owner = client_for(alpha["owner"])
    url = project_url(project, "collaborators/")

    outsider = owner.post(url, {"email": bravo["member"].email})
    duplicate = owner.post(url, {"user": str(alpha["editor"].pk), "role": "viewer"})
    the_owner = owner.post(url, {"user": str(alpha["owner"].pk)})
    both = owner.post(url, {"user": str(alpha["member"].pk), "email": alpha["member"].email})
    by_editor = client_for(alpha["editor"]).post(url, {"email": alpha["member"].email})

    assert outsider.status_code == 400
    assert error_code(outsider) == "VALIDATION_ERROR"
    assert duplicate.status_code == 409
    assert error_code(duplicate) == "ALREADY_COLLABORATOR"
    assert the_owner.status_code == 400
    assert both.status_code == 400
    assert by_editor.status_code == 403
    assert ProjectCollaborator.objects.filter(project=project).count() == 2


def test_roles_change_and_collaborators_leave(alpha: Space) -> None:
    project = shared_project(alpha)
    viewer_row = ProjectCollaborator.objects.get(project=project, user=alpha["viewer"])
    editor_row = ProjectCollaborator.objects.get(project=project, user=alpha["editor"])

    promoted = client_for(alpha["owner"]).patch(
        project_url(project, f"collaborators/{viewer_row.pk}/"), {"role": "editor"}
    )
    removed_by_viewer = client_for(alpha["viewer"]).delete(
        project_url(project, f"collaborators/{editor_row.pk}/")
    )
    left = client_for(alpha["viewer"]).delete(
        project_url(project, f"collaborators/{viewer_row.pk}/")
    )

    assert promoted.status_code == 200
    assert promoted.json()["role"] == "editor"
    assert removed_by_viewer.status_code == 403
    assert left.status_code == 204
    assert list(ProjectCollaborator.objects.values_list("user", flat=True)) == [alpha["editor"].pk]


# --- bill of materials ---------------------------------------------------------------------


def test_bom_lines_are_items_of_the_same_space(alpha: Space, bravo: Space) -> None:
    # Given a project and items here and in another space
    project = shared_project(alpha)
    sheet = stocked_item(alpha.makerspace, "PLY-3MM", "10", unit="sheet")
    foreign = stocked_item(bravo.makerspace, "PLA-BLK", "1000", unit="g")
    editor = client_for(alpha["editor"])
    url = project_url(project, "bom/")

    # When lines are added, changed and removed
    added = editor.post(url, {"item": str(sheet.pk), "quantity": "2.5", "note": "panels"})
    twice = editor.post(url, {"item": str(sheet.pk), "quantity": "1"})
    other_space = editor.post(url, {"item": str(foreign.pk), "quantity": "1"})
    zero = editor.post(url, {"item": str(sheet.pk), "quantity": "0"})
    by_viewer = client_for(alpha["viewer"]).post(url, {"item": str(sheet.pk), "quantity": "1"})

    # Then only the item of this space is in, once
    assert added.status_code == 201, added.content
    assert added.json()["item"]["sku"] == "PLY-3MM"
    assert added.json()["quantity"] == "2.500"
    assert twice.status_code == 400
    assert other_space.status_code == 400
    assert error_code(other_space) == "VALIDATION_ERROR"
    assert "item" in other_space.json()["error"]["details"]
    assert foreign.name not in other_space.content.decode()
    assert zero.status_code == 400
    assert by_viewer.status_code == 403
    assert list(BomLine.objects.values_list("item__sku", flat=True)) == ["PLY-3MM"]

    line_id = added.json()["id"]
    changed = editor.patch(f"{url}{line_id}/", {"quantity": "3"})
    listed = client_for(alpha["viewer"]).get(url)
    removed = editor.delete(f"{url}{line_id}/")

    assert changed.status_code == 200
    assert changed.json()["quantity"] == "3.000"
    assert [row["quantity"] for row in listed.json()["data"]] == ["3.000"]
    assert removed.status_code == 204
    assert not BomLine.objects.exists()


def _lamp_bom(space: Space) -> tuple[Project, InventoryItem, InventoryItem]:
    """A BOM of 2 sheets (5 in stock) and 3 strips (1 in stock)."""
    project = shared_project(space)
    sheets = stocked_item(space.makerspace, "PLY-3MM", "5", unit="sheet")
    strips = stocked_item(space.makerspace, "LED-STRIP-1M", "1")
    for item, quantity in ((sheets, "2"), (strips, "3")):
        services.bom_line_add(
            project=project, item=item, quantity=Decimal(quantity), acting_user=space["owner"]
        )
    return project, sheets, strips


def test_availability_says_per_line_what_is_short(alpha: Space) -> None:
    project, _sheets, _strips = _lamp_bom(alpha)
    client = client_for(alpha["member"])
    project.privacy = "makerspace"
    project.save()

    once = client.get(project_url(project, "bom/availability"))
    three = client.get(project_url(project, "bom/availability"), {"multiplier": 3})
    bad = client.get(project_url(project, "bom/availability"), {"multiplier": 0})

    assert once.status_code == 200, once.content
    assert once.json()["all_available"] is False
    assert [
        (row["item"]["sku"], row["required"], row["in_stock"], row["short"], row["is_short"])
        for row in once.json()["lines"]
    ] == [
        ("PLY-3MM", "2.000", "5.000", "0.000", False),
        ("LED-STRIP-1M", "3.000", "1.000", "2.000", True),
    ]
    assert [(row["required"], row["short"]) for row in three.json()["lines"]] == [
        ("6.000", "1.000"),
        ("9.000", "8.000"),
    ]
    assert bad.status_code == 400


def test_shortages_name_sku_and_missing_quantity(alpha: Space) -> None:
    project, _sheets, strips = _lamp_bom(alpha)

    response = client_for(alpha["owner"]).get(project_url(project, "bom/shortages"))

    assert response.status_code == 200
    assert response.json() == {
        "multiplier": 1,
        "lines": [
            {
                "line": str(BomLine.objects.get(item=strips).pk),
                "item": str(strips.pk),
                "sku": "LED-STRIP-1M",
                "name": strips.name,
                "unit": "pcs",
                "required": "3.000",
                "in_stock": "1.000",
                "missing": "2.000",
            }
        ],
    }


def test_consume_with_one_short_line_takes_nothing(alpha: Space) -> None:
    # Given a BOM whose LED strips are short
    project, sheets, strips = _lamp_bom(alpha)
    movements_before = StockMovement.objects.count()

    # When the owner consumes it
    response = client_for(alpha["owner"]).post(project_url(project, "bom/consume"), {})

    # Then 400 INSUFFICIENT_STOCK names the short line only, and nothing is written
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "INSUFFICIENT_STOCK"
    assert [row["sku"] for row in error["details"]["items"]] == ["LED-STRIP-1M"]
    assert error["details"]["items"][0]["short"] == "2.000"
    assert "LED strip" in error["message"] or strips.name in error["message"]
    assert StockMovement.objects.count() == movements_before
    assert not StockMovement.objects.filter(project_id=project.pk).exists()
    sheets.refresh_from_db()
    strips.refresh_from_db()
    assert (sheets.current_stock, strips.current_stock) == (Decimal("5"), Decimal("1"))


def test_consume_takes_every_line_into_the_ledger(alpha: Space) -> None:
    # Given a BOM the stock covers twice
    project, sheets, strips = _lamp_bom(alpha)
    services.bom_line_update(
        line=BomLine.objects.get(item=strips), quantity=Decimal("0.5"), acting_user=alpha["owner"]
    )

    # When an editor builds two copies
    response = client_for(alpha["editor"]).post(
        project_url(project, "bom/consume"), {"multiplier": 2}
    )

    # Then each item has one consume movement with the project's id, and stock agrees
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert sorted((row["sku"], row["delta"]) for row in body["movements"]) == [
        ("LED-STRIP-1M", "-1.000"),
        ("PLY-3MM", "-4.000"),
    ]
    ledger = StockMovement.objects.filter(project_id=project.pk)
    assert sorted(ledger.values_list("kind", "item__sku", "user")) == [
        ("consume", "LED-STRIP-1M", alpha["editor"].pk),
        ("consume", "PLY-3MM", alpha["editor"].pk),
    ]
    for item, expected in ((sheets, Decimal("1")), (strips, Decimal("0"))):
        item.refresh_from_db()
        assert item.current_stock == expected
        assert sum(item.movements.values_list("delta", flat=True)) == item.current_stock


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("member", 403)])
def test_consume_needs_edit_rights(alpha: Space, role: str, expected: int) -> None:
    project, _sheets, _strips = _lamp_bom(alpha)
    project.privacy = "makerspace"
    project.save()

    response = client_for(alpha[role]).post(project_url(project, "bom/consume"), {})

    assert response.status_code == expected
    assert not StockMovement.objects.filter(project_id=project.pk).exists()


def test_an_archived_project_consumes_nothing(alpha: Space) -> None:
    project, _sheets, _strips = _lamp_bom(alpha)
    services.project_update(
        project=project, acting_user=alpha["manager"], changes={"status": "archived"}
    )

    response = client_for(alpha["owner"]).post(project_url(project, "bom/consume"), {})

    assert response.status_code == 409
    assert error_code(response) == "PROJECT_ARCHIVED"


def test_an_empty_bom_cannot_be_consumed(alpha: Space) -> None:
    project = make_project(alpha.makerspace, alpha["owner"])

    response = client_for(alpha["owner"]).post(project_url(project, "bom/consume"), {})

    assert response.status_code == 400
    assert "bom" in response.json()["error"]["details"]


# --- linked bookings -----------------------------------------------------------------------


def test_linking_bookings_of_the_team(alpha: Space, bravo: Space) -> None:
    # Given bookings of the owner, the viewer, another member and another space
    project = shared_project(alpha)
    own = booking(alpha.makerspace, alpha["owner"])
    viewers = booking(alpha.makerspace, alpha["viewer"], hour=12)
    strangers = booking(alpha.makerspace, alpha["member"], hour=14)
    foreign = booking(bravo.makerspace, bravo["owner"])
    editor = client_for(alpha["editor"])
    url = project_url(project, "reservations/")

    # When the editor links them
    linked = editor.post(url, {"reservation": str(own.pk)})
    team = editor.post(url, {"reservation": str(viewers.pk)})
    stranger = editor.post(url, {"reservation": str(strangers.pk)})
    other_space = editor.post(url, {"reservation": str(foreign.pk)})
    again = editor.post(url, {"reservation": str(own.pk)})
    by_viewer = client_for(alpha["viewer"]).post(url, {"reservation": str(strangers.pk)})

    # Then only the team's bookings of this space are linked, once
    assert linked.status_code == 201, linked.content
    assert linked.json()["id"] == str(own.pk)
    assert linked.json()["equipment"]["name"] == own.equipment.name
    assert team.status_code == 201
    assert stranger.status_code == 400
    assert other_space.status_code == 400
    assert again.status_code == 409
    assert error_code(again) == "ALREADY_LINKED"
    assert by_viewer.status_code == 403
    listed = client_for(alpha["viewer"]).get(url)
    assert [row["id"] for row in listed.json()["data"]] == [str(own.pk), str(viewers.pk)]

    # And the owner unlinks one
    unlinked = client_for(alpha["owner"]).delete(f"{url}{own.pk}/")
    assert unlinked.status_code == 204
    assert list(ProjectReservation.objects.values_list("reservation", flat=True)) == [viewers.pk]


# --- query counts --------------------------------------------------------------------------


def test_the_list_makes_a_fixed_number_of_queries(alpha: Space) -> None:
    item = stocked_item(alpha.makerspace, "PLY-3MM", "10")

    def add_projects(count: int) -> None:
        for _ in range(count):
            project = shared_project(alpha, privacy="makerspace", tags=["a", "b"])
            services.bom_line_add(
                project=project, item=item, quantity=Decimal("1"), acting_user=alpha["owner"]
            )

    def queries_for_list() -> int:
        client = client_for(User.objects.get(pk=alpha["member"].pk))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(projects_url(alpha))
        assert response.status_code == 200
        return len(captured.captured_queries)

    add_projects(2)
    few = queries_for_list()
    add_projects(6)
    many = queries_for_list()

    assert many == few
    assert few <= 12


def test_an_editor_may_send_the_unchanged_privacy(alpha: Space) -> None:
    project = shared_project(alpha, privacy="makerspace")

    response = client_for(alpha["editor"]).patch(
        project_url(project), {"name": "Renamed", "privacy": "makerspace"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Renamed"
