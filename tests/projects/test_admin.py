"""The staff admin of projects, through its real views: scoped to the spaces a staff
member runs (private projects included, to moderate them), every write through the
project services."""

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from apps.core.models import AuditLogEntry
from apps.projects import services
from apps.projects.models import BomLine, Project, ProjectCollaborator
from tests.admin_support import change_url, form_data, logged_in
from tests.projects.conftest import Space, make_project, stocked_item

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:projects_project_changelist")
ADD = reverse("admin:projects_project_add")


def names_listed(response: Any) -> list[str]:
    return sorted(project.name for project in response.context["cl"].result_list)


def test_a_manager_sees_every_project_of_their_space_only(alpha: Space, bravo: Space) -> None:
    make_project(alpha.makerspace, alpha["owner"], name="Alpha private", privacy="private")
    make_project(alpha.makerspace, alpha["owner"], name="Alpha public", privacy="public")
    make_project(bravo.makerspace, bravo["owner"], name="Bravo public", privacy="public")

    response = logged_in(alpha["manager"]).get(CHANGELIST)

    assert response.status_code == 200
    assert names_listed(response) == ["Alpha private", "Alpha public"]


def test_a_super_admin_sees_every_space(alpha: Space, bravo: Space, super_admin: Any) -> None:
    make_project(alpha.makerspace, alpha["owner"], name="Alpha thing")
    make_project(bravo.makerspace, bravo["owner"], name="Bravo thing")

    response = logged_in(super_admin).get(CHANGELIST)

    assert names_listed(response) == ["Alpha thing", "Bravo thing"]


def test_members_have_no_admin(alpha: Space) -> None:
    response = logged_in(alpha["owner"]).get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_another_spaces_project_page_shows_nothing_of_it(alpha: Space, bravo: Space) -> None:
    foreign = make_project(bravo.makerspace, bravo["owner"], name="Bravo secret lamp")
    client = logged_in(alpha["manager"])

    response = client.get(change_url(foreign), follow=True)
    posted = client.post(change_url(foreign), {"name": "Taken over"})

    assert "Bravo secret lamp" not in response.content.decode()
    assert posted.status_code in (302, 403, 404)
    foreign.refresh_from_db()
    assert foreign.name == "Bravo secret lamp"


def test_adding_a_project_goes_through_the_service(alpha: Space, bravo: Space) -> None:
    client = logged_in(alpha["manager"])
    page = client.get(ADD)
    owner_choices = {
        str(user.pk) for user in page.context["adminform"].form.fields["owner"].queryset
    }
    assert str(alpha["member"].pk) in owner_choices
    assert str(bravo["member"].pk) not in owner_choices

    response = client.post(
        ADD,
        {
            "makerspace": str(alpha.makerspace.pk),
            "owner": str(alpha["member"].pk),
            "name": "Workshop sign",
            "description": "",
            "status": "active",
            "privacy": "makerspace",
            "tag_list": "Laser, sign",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    project = Project.objects.get(name="Workshop sign")
    assert project.owner == alpha["member"]
    assert sorted(project.tags.values_list("name", flat=True)) == ["laser", "sign"]
    entry = AuditLogEntry.objects.get(object_id=str(project.pk))
    assert (entry.action, entry.actor) == ("create", alpha["manager"])


def test_a_project_cannot_be_added_into_another_space(alpha: Space, bravo: Space) -> None:
    response = logged_in(alpha["manager"]).post(
        ADD,
        {
            "makerspace": str(bravo.makerspace.pk),
            "owner": str(bravo["member"].pk),
            "name": "Sneaky",
            "status": "draft",
            "privacy": "private",
        },
    )

    assert response.status_code == 200
    assert not Project.objects.exists()


def test_bom_and_collaborator_inlines_write_through_the_services(
    alpha: Space, bravo: Space
) -> None:
    # Given a project and items of this and another space
    project = make_project(alpha.makerspace, alpha["owner"], name="Lamp")
    sheet = stocked_item(alpha.makerspace, "PLY-3MM", "10", unit="sheet")
    foreign = stocked_item(bravo.makerspace, "FOREIGN-1", "10")
    client = logged_in(alpha["manager"])
    page = client.get(change_url(project))
    item_choices = page.context["inline_admin_formsets"][0].formset.empty_form.fields["item"]
    assert list(item_choices.queryset) == [sheet]

    # When the manager adds a line, a collaborator, and a line of the other space
    data = form_data(page)
    data.update(
        {
            "bom_lines-TOTAL_FORMS": "1",
            "bom_lines-0-item": str(sheet.pk),
            "bom_lines-0-quantity": "2",
            "collaborators-TOTAL_FORMS": "1",
            "collaborators-0-user": str(alpha["editor"].pk),
            "collaborators-0-role": "editor",
        }
    )
    saved = client.post(change_url(project), data)
    data["bom_lines-0-item"] = str(foreign.pk)
    data["collaborators-TOTAL_FORMS"] = "0"
    refused = client.post(change_url(project), data)

    # Then the services wrote them and the other space's item is refused
    assert saved.status_code == 302
    line = BomLine.objects.get(project=project)
    assert (line.item, line.quantity) == (sheet, Decimal("2"))
    assert ProjectCollaborator.objects.get(project=project).user == alpha["editor"]
    assert set(
        AuditLogEntry.objects.filter(makerspace_id=alpha.makerspace.pk)
        .exclude(object_id=str(project.pk))
        .values_list("action", flat=True)
    ) >= {"create", "grant"}
    assert refused.status_code == 200
    assert BomLine.objects.filter(project=project).count() == 1


def test_the_archive_action_refuses_other_spaces(alpha: Space, bravo: Space) -> None:
    ours = make_project(alpha.makerspace, alpha["owner"], name="Ours")
    theirs = make_project(bravo.makerspace, bravo["owner"], name="Theirs")

    response = logged_in(alpha["manager"]).post(
        CHANGELIST,
        {"action": "archive", "_selected_action": [str(ours.pk), str(theirs.pk)]},
    )

    assert response.status_code == 302
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.status, theirs.status) == ("archived", "draft")


def test_the_change_page_opens_with_its_inlines(alpha: Space) -> None:
    project = make_project(alpha.makerspace, alpha["owner"], name="Lamp", tags=["lamp"])
    item = stocked_item(alpha.makerspace, "PLY-3MM", "10")
    services.bom_line_add(
        project=project, item=item, quantity=Decimal("1"), acting_user=alpha["owner"]
    )

    for user in (alpha["manager"], alpha["admin"]):
        response = logged_in(user).get(change_url(project))
        assert response.status_code == 200
        assert response.context["adminform"].form["tag_list"].value() == "lamp"


def test_a_bom_line_changes_its_quantity_but_never_its_item(alpha: Space) -> None:
    # Given a project with a line of plywood, and acrylic in stock too
    project = make_project(alpha.makerspace, alpha["owner"], name="Lamp")
    plywood = stocked_item(alpha.makerspace, "PLY-3MM", "10")
    acrylic = stocked_item(alpha.makerspace, "ACR-3MM", "10")
    line = services.bom_line_add(
        project=project, item=plywood, quantity=Decimal("1"), acting_user=alpha["owner"]
    )
    client = logged_in(alpha["manager"])
    data = form_data(client.get(change_url(project)))

    # When the manager moves the line to acrylic, then changes only its quantity
    moved = client.post(change_url(project), {**data, "bom_lines-0-item": str(acrylic.pk)})
    line.refresh_from_db()
    item_after_move = line.item_id
    changed = client.post(change_url(project), {**data, "bom_lines-0-quantity": "3"})

    # Then the move is refused with nothing written, and the quantity goes through the service
    assert moved.status_code == 302
    assert item_after_move == plywood.pk
    assert changed.status_code == 302
    line.refresh_from_db()
    assert (line.item_id, line.quantity) == (plywood.pk, Decimal("3"))
    update = AuditLogEntry.objects.get(object_id=str(line.pk), action="update")
    assert update.actor == alpha["manager"]
    assert [Decimal(value) for value in update.changes["quantity"]] == [Decimal("1"), Decimal("3")]
    assert set(update.changes) == {"quantity"}
