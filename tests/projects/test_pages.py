"""The member pages of projects: my projects, starting one, the project page with its
BOM (availability, consuming it), collaborators and linked bookings, and the public
gallery of a space."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from apps.accounts.models import User
from apps.inventory.models import StockMovement
from apps.projects import services
from apps.projects.models import BomLine, Project, ProjectCollaborator, ProjectReservation
from tests.projects.conftest import Space, booking, make_project, stocked_item

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

MINE = reverse("projects:mine")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def detail_url(project: Project) -> str:
    return reverse("projects:detail", kwargs={"project_id": project.pk})


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def lamp(space: Space, **fields: Any) -> Project:
    """The owner's lamp shared with an editor and a viewer; 2 sheets (5 in stock) and
    3 LED strips (1 in stock)."""
    project = make_project(space.makerspace, space["owner"], name="Laser-cut lamp", **fields)
    for role in ("editor", "viewer"):
        services.collaborator_add(
            project=project, user=space[role], role=role, acting_user=space["owner"]
        )
    sheets = stocked_item(space.makerspace, "PLY-3MM", "5", unit="sheet")
    strips = stocked_item(space.makerspace, "LED-STRIP-1M", "1")
    for item, quantity in ((sheets, "2"), (strips, "3")):
        services.bom_line_add(
            project=project, item=item, quantity=Decimal(quantity), acting_user=space["owner"]
        )
    return project


# --- my projects and starting one ----------------------------------------------------------


def test_my_projects_needs_sign_in(client: Client) -> None:
    response = client.get(MINE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_my_projects_lists_owned_and_shared_ones(alpha: Space, bravo: Space) -> None:
    project = lamp(alpha)
    make_project(alpha.makerspace, alpha["editor"], name="Editor's own bench")
    make_project(alpha.makerspace, alpha["member"], name="Not theirs", privacy="makerspace")
    make_project(bravo.makerspace, bravo["owner"], name="Bravo robot", privacy="public")

    response = signed_in(alpha["editor"]).get(MINE)

    assert response.status_code == 200
    assertContains(response, "Laser-cut lamp")
    assertContains(response, "Editor&#x27;s own bench")
    assertContains(response, detail_url(project))
    assertNotContains(response, "Not theirs")
    assertNotContains(response, "Bravo robot")


def test_a_member_starts_a_project(alpha: Space, bravo: Space) -> None:
    client = signed_in(alpha["member"])
    page = client.get(reverse("projects:create"))
    assert page.status_code == 200
    assertNotContains(page, bravo.makerspace.name)

    response = client.post(
        reverse("projects:create"),
        {
            "makerspace": str(alpha.makerspace.pk),
            "name": "Birdhouse",
            "description": "",
            "status": "active",
            "privacy": "makerspace",
            "tags": "wood, garden",
        },
    )

    project = Project.objects.get(name="Birdhouse")
    assert response.status_code == 302
    assert response["Location"] == detail_url(project)
    assert project.owner == alpha["member"]
    assert sorted(project.tags.values_list("name", flat=True)) == ["garden", "wood"]


def test_a_project_cannot_be_started_in_another_space(alpha: Space, bravo: Space) -> None:
    response = signed_in(alpha["member"]).post(
        reverse("projects:create"),
        {"makerspace": str(bravo.makerspace.pk), "name": "Sneaky", "status": "draft"},
    )

    assert response.status_code == 200
    assert not Project.objects.exists()


def test_an_editor_edits_but_cannot_change_privacy(alpha: Space) -> None:
    project = lamp(alpha)
    client = signed_in(alpha["editor"])
    url = reverse("projects:edit", kwargs={"project_id": project.pk})

    page = client.get(url)
    response = client.post(
        url,
        {
            "name": "Lamp v2",
            "description": "Brighter",
            "status": "active",
            "privacy": "public",
            "tags": "lamp",
        },
    )

    assert page.status_code == 200
    assertNotContains(page, 'name="privacy"')
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.privacy) == ("Lamp v2", "private")
    assert signed_in(alpha["viewer"]).get(url).status_code == 403


# --- the project page ----------------------------------------------------------------------


def test_the_owner_sees_availability_and_may_consume(alpha: Space) -> None:
    project = lamp(alpha)

    response = signed_in(alpha["owner"]).get(detail_url(project))

    assert response.status_code == 200
    assertContains(response, "Laser-cut lamp")
    assertContains(response, "PLY-3MM")
    assertContains(response, "LED-STRIP-1M")
    short_row = response.context["availability"][1]
    assert (short_row.required, short_row.in_stock, short_row.short) == (
        Decimal("3.000"),
        Decimal("1.000"),
        Decimal("2.000"),
    )
    assertContains(response, reverse("projects:consume", kwargs={"project_id": project.pk}))
    assertContains(response, alpha["viewer"].name)


def test_a_viewer_sees_the_bom_without_the_consume_button(alpha: Space) -> None:
    project = lamp(alpha)

    response = signed_in(alpha["viewer"]).get(detail_url(project))

    assert response.status_code == 200
    assertContains(response, "PLY-3MM")
    assertNotContains(response, reverse("projects:consume", kwargs={"project_id": project.pk}))
    assertNotContains(response, reverse("projects:edit", kwargs={"project_id": project.pk}))


def test_consuming_a_short_bom_shows_why_and_takes_nothing(alpha: Space) -> None:
    project = lamp(alpha)
    before = StockMovement.objects.count()
    client = signed_in(alpha["owner"])

    response = client.post(
        reverse("projects:consume", kwargs={"project_id": project.pk}), {"multiplier": "1"}
    )

    assert response.status_code == 302
    (message,) = messages_of(response)
    assert "LED-STRIP-1M" in message
    assert "PLY-3MM" not in message
    assert StockMovement.objects.count() == before


def test_consuming_a_covered_bom_takes_the_stock(alpha: Space) -> None:
    project = lamp(alpha)
    line = BomLine.objects.get(project=project, item__sku="LED-STRIP-1M")
    client = signed_in(alpha["editor"])
    client.post(
        reverse("projects:bom-update", kwargs={"project_id": project.pk, "line_id": line.pk}),
        {"quantity": "1"},
    )

    response = client.post(
        reverse("projects:consume", kwargs={"project_id": project.pk}), {"multiplier": "1"}
    )

    assert response.status_code == 302
    assert StockMovement.objects.filter(project_id=project.pk, kind="consume").count() == 2
    page = client.get(detail_url(project))
    assert [row.in_stock for row in page.context["availability"]] == [
        Decimal("3.000"),
        Decimal("0.000"),
    ]


def test_bom_lines_are_added_and_removed_on_the_page(alpha: Space, bravo: Space) -> None:
    project = make_project(alpha.makerspace, alpha["owner"])
    glue = stocked_item(alpha.makerspace, "GLUE", "4")
    foreign = stocked_item(bravo.makerspace, "FOREIGN", "4")
    client = signed_in(alpha["owner"])
    add = reverse("projects:bom-add", kwargs={"project_id": project.pk})

    page = client.get(detail_url(project))
    client.post(add, {"item": str(glue.pk), "quantity": "0.5"})
    refused = client.post(add, {"item": str(foreign.pk), "quantity": "1"})

    assertContains(page, glue.name)
    assertNotContains(page, foreign.name)
    assert messages_of(refused)
    line = BomLine.objects.get(project=project)
    assert (line.item, line.quantity) == (glue, Decimal("0.5"))

    client.post(
        reverse("projects:bom-remove", kwargs={"project_id": project.pk, "line_id": line.pk})
    )
    assert not BomLine.objects.exists()


def test_collaborators_are_added_and_leave_on_the_page(alpha: Space, bravo: Space) -> None:
    project = make_project(alpha.makerspace, alpha["owner"])
    owner = signed_in(alpha["owner"])
    add = reverse("projects:collaborator-add", kwargs={"project_id": project.pk})

    owner.post(add, {"email": alpha["member"].email, "role": "viewer"})
    refused = owner.post(add, {"email": bravo["member"].email, "role": "viewer"})

    collaborator = ProjectCollaborator.objects.get(project=project)
    assert collaborator.user == alpha["member"]
    assert messages_of(refused)[-1] == "No member of this makerspace has that email address."

    member = signed_in(alpha["member"])
    assert member.get(detail_url(project)).status_code == 200
    left = member.post(
        reverse(
            "projects:collaborator-remove",
            kwargs={"project_id": project.pk, "collaborator_id": collaborator.pk},
        )
    )
    assert left.status_code == 302
    assert left["Location"] == MINE
    assert member.get(detail_url(project)).status_code == 404


def test_bookings_are_linked_on_the_page(alpha: Space) -> None:
    project = lamp(alpha)
    mine = booking(alpha.makerspace, alpha["editor"])
    client = signed_in(alpha["editor"])

    page = client.get(detail_url(project))
    assertContains(page, mine.equipment.name)
    client.post(
        reverse("projects:booking-link", kwargs={"project_id": project.pk}),
        {"reservation": str(mine.pk)},
    )

    assert ProjectReservation.objects.get().reservation == mine
    viewer_page = signed_in(alpha["viewer"]).get(detail_url(project))
    assertContains(viewer_page, f'id="booking-{mine.pk}"')

    client.post(
        reverse(
            "projects:booking-unlink",
            kwargs={"project_id": project.pk, "reservation_id": mine.pk},
        )
    )
    assert not ProjectReservation.objects.exists()


@pytest.mark.parametrize(
    ("privacy", "who", "expected"),
    [
        ("private", "anonymous", 302),
        ("private", "member", 404),
        ("private", "outsider", 404),
        ("makerspace", "anonymous", 302),
        ("makerspace", "member", 200),
        ("makerspace", "outsider", 404),
        ("public", "anonymous", 200),
        ("public", "outsider", 200),
    ],
)
def test_who_opens_the_project_page(
    client: Client, alpha: Space, bravo: Space, privacy: str, who: str, expected: int
) -> None:
    project = lamp(alpha, privacy=privacy)
    if who != "anonymous":
        client.force_login(alpha["member"] if who == "member" else bravo["member"])

    response = client.get(detail_url(project))

    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith(reverse("accounts:login"))
    if expected == 200 and who != "member":
        # Outsiders see the BOM but neither the stock, the team nor the bookings.
        assertContains(response, "Laser-cut lamp")
        assertNotContains(response, alpha["viewer"].name)
        assert "availability" not in response.context


def test_the_project_page_speaks_ukrainian(alpha: Space) -> None:
    project = lamp(alpha)
    owner = alpha["owner"]
    owner.locale = "uk"
    owner.save(update_fields=["locale"])

    response = signed_in(owner).get(detail_url(project), HTTP_ACCEPT_LANGUAGE="en")

    assertContains(response, '<html lang="uk">')
    assertContains(response, "Специфікація матеріалів")


# --- the public gallery --------------------------------------------------------------------


def test_the_gallery_shows_public_projects_of_the_space_to_anyone(
    client: Client, alpha: Space, bravo: Space
) -> None:
    make_project(alpha.makerspace, alpha["owner"], name="Public lamp", privacy="public")
    make_project(alpha.makerspace, alpha["owner"], name="Members chair", privacy="makerspace")
    make_project(alpha.makerspace, alpha["owner"], name="Private box", privacy="private")
    make_project(bravo.makerspace, bravo["owner"], name="Bravo robot", privacy="public")
    make_project(
        alpha.makerspace, alpha["owner"], name="Old lamp", privacy="public", status="archived"
    )

    response = client.get(reverse("projects:gallery", kwargs={"slug": alpha.makerspace.slug}))

    assert response.status_code == 200
    assertContains(response, "Public lamp")
    for hidden in ("Members chair", "Private box", "Bravo robot", "Old lamp"):
        assertNotContains(response, hidden)


def test_the_gallery_filters_by_tag_and_hides_unknown_spaces(client: Client, alpha: Space) -> None:
    make_project(alpha.makerspace, alpha["owner"], name="Lamp", privacy="public", tags=["led"])
    make_project(alpha.makerspace, alpha["owner"], name="Shelf", privacy="public", tags=["wood"])
    url = reverse("projects:gallery", kwargs={"slug": alpha.makerspace.slug})

    tagged = client.get(url, {"tag": "LED"})
    missing = client.get(reverse("projects:gallery", kwargs={"slug": "no-such-space"}))

    assertContains(tagged, "Lamp")
    assertNotContains(tagged, "Shelf")
    assert missing.status_code == 404
