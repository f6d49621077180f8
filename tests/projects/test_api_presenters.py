"""The project list answers through lean rows: the same JSON as ProjectSerializer for
every kind of caller, its details read in a fixed number of queries whatever the page
size, collaborators and BOM lines listed alike in the list and on the project's page."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.projects import selectors, services
from apps.projects.api.presenters import project_row
from apps.projects.api.serializers import ProjectSerializer
from apps.projects.models import BomLine, Project, ProjectCollaborator
from tests.lean import assert_lean_matches
from tests.projects.conftest import Space, make_project, stocked_item

pytestmark = pytest.mark.django_db

# The details of a page (tags, collaborators, BOM lines) come in one query on
# PostgreSQL, in one per kind elsewhere.
DETAILS_QUERIES = 1 if connection.vendor == "postgresql" else 3


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def projects_url(space: Space) -> str:
    return f"/api/v1/makerspaces/{space.makerspace.pk}/projects/"


def varied_projects(space: Space) -> list[Project]:
    """Projects of every privacy, with and without tags, collaborators and BOM lines."""
    owner = space["owner"]
    plywood = stocked_item(space.makerspace, "PLY-3MM", "10")
    resin = stocked_item(space.makerspace, "RESIN-1L", "2.5", unit="l")
    bare = make_project(space.makerspace, owner, name="Bare", privacy="private")
    lamp = make_project(
        space.makerspace,
        owner,
        name="Лампа «Сова»",
        description='Plywood,\nLEDs and "quotes"',
        privacy="makerspace",
        status="active",
        tags=["laser", "Lamp", "birch-ply"],
    )
    for role in ("editor", "viewer"):
        services.collaborator_add(project=lamp, user=space[role], role=role, acting_user=owner)
    for item, quantity in [(plywood, Decimal("0.001")), (resin, Decimal("12345678.125"))]:
        services.bom_line_add(
            project=lamp, item=item, quantity=quantity, note="cut twice", acting_user=owner
        )
    gallery = make_project(
        space.makerspace, space["member"], name="Gallery piece", privacy="public"
    )
    services.bom_line_add(
        project=gallery, item=plywood, quantity=Decimal("3"), acting_user=space["member"]
    )
    Project.objects.filter(pk=lamp.pk).update(
        created_at=dt.datetime(2026, 2, 1, 9, 0, 0, 100000, tzinfo=dt.UTC)
    )
    return [bare, lamp, gallery]


def lean_rows(space: Space, user: User) -> Any:
    """The lean row of a project, read as the list reads it for ``user``."""
    projects = selectors.project_list_of_space(user=user, makerspace=space.makerspace)
    rows = list(selectors.project_rows(projects))
    details = selectors.project_details_of([row["id"] for row in rows])
    caller = selectors.caller_in_space(user, space.makerspace.pk)
    by_id = {row["id"]: row for row in rows}
    return lambda project: project_row(by_id[project.pk], details, caller)


@pytest.mark.parametrize("role", ["owner", "editor", "viewer", "member", "manager", "admin"])
def test_the_lean_row_is_the_serializer_row_for_every_caller(alpha: Space, role: str) -> None:
    varied_projects(alpha)
    user = User.objects.get(pk=alpha[role].pk)
    projects = selectors.projects_visible_to(user=user, makerspace=alpha.makerspace)
    context = {"request": SimpleNamespace(user=user)}

    compared = assert_lean_matches(lean_rows(alpha, user), ProjectSerializer, projects, context)

    assert compared == projects.count() >= 2


def test_the_lean_rights_are_the_rights_of_a_project(alpha: Space, bravo: Space) -> None:
    varied_projects(alpha)
    for user in [alpha["editor"], alpha["viewer"], alpha["manager"], bravo["member"]]:
        caller = selectors.caller_in_space(user, alpha.makerspace.pk)
        for project in Project.objects.all():
            role = (
                ProjectCollaborator.objects.filter(project=project, user=user)
                .values_list("role", flat=True)
                .first()
            )

            lean = selectors.rights_of(
                caller, owner_id=project.owner_id, privacy=project.privacy, collaborator_role=role
            )

            assert lean == selectors.project_rights(user=user, project=project)


def test_details_read_together_equal_details_read_by_kind(alpha: Space) -> None:
    varied_projects(alpha)
    ids = list(Project.objects.values_list("pk", flat=True))
    user = alpha["owner"]
    projects = selectors.project_list_of_space(user=user, makerspace=alpha.makerspace)
    rows = list(selectors.project_rows(projects))
    caller = selectors.caller_in_space(user, alpha.makerspace.pk)
    together = selectors.project_details_of(ids)
    by_kind = selectors._details_by_kind(ids, selectors.ProjectDetails({}, {}, {}))

    assert [project_row(row, together, caller) for row in rows] == [
        project_row(row, by_kind, caller) for row in rows
    ]


def test_collaborators_and_bom_lines_of_one_instant_list_by_id_everywhere(alpha: Space) -> None:
    owner = alpha["owner"]
    items = [stocked_item(alpha.makerspace, f"PART-{n}", "5") for n in range(4)]
    with time_machine.travel(dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC), tick=False):
        project = make_project(alpha.makerspace, owner, privacy="makerspace")
        for role in ("viewer", "editor", "member"):
            services.collaborator_add(
                project=project, user=alpha[role], role="viewer", acting_user=owner
            )
        for item in items:
            services.bom_line_add(
                project=project, item=item, quantity=Decimal("1"), acting_user=owner
            )
    collaborator_ids = sorted(
        str(pk) for pk in ProjectCollaborator.objects.values_list("pk", flat=True)
    )
    line_ids = sorted(str(pk) for pk in BomLine.objects.values_list("pk", flat=True))
    client = client_for(owner)

    listed = client.get(projects_url(alpha)).json()["data"][0]
    shown = client.get(f"{projects_url(alpha)}{project.pk}/").json()

    for body in (listed, shown):
        assert [row["id"] for row in body["collaborators"]] == collaborator_ids
        assert [row["id"] for row in body["bom"]] == line_ids


def test_the_list_makes_the_same_queries_for_a_small_and_a_full_page(alpha: Space) -> None:
    item = stocked_item(alpha.makerspace, "PLY-3MM", "10")
    owner = alpha["owner"]
    for index in range(30):
        project = make_project(
            alpha.makerspace, owner, name=f"Project {index}", privacy="makerspace", tags=["a"]
        )
        services.collaborator_add(
            project=project, user=alpha["editor"], role="editor", acting_user=owner
        )
        services.bom_line_add(
            project=project, item=item, quantity=Decimal("1.5"), acting_user=owner
        )
    client = client_for(User.objects.get(pk=alpha["member"].pk))

    def queries_for(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{projects_url(alpha)}?limit={limit}")
        assert response.status_code == 200
        rows = response.json()["data"]
        assert len(rows) == limit
        assert all(row["tags"] and row["collaborators"] and row["bom"] for row in rows)
        return len(captured.captured_queries)

    few, many = queries_for(2), queries_for(25)

    # The space with the caller's role, the count, the page, then its details.
    assert few == many == 3 + DETAILS_QUERIES
