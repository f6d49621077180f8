"""Lean rows of the project list: exactly the JSON of ``ProjectSerializer`` for the same
project, built from ``selectors.project_rows`` and ``selectors.project_details_of``
(tests/projects/test_api_presenters.py holds them to it)."""

from collections.abc import Iterable, Mapping
from typing import Any

from apps.core.api.lean import decimal_text, iso_datetime
from apps.projects.api.serializers import QUANTITY
from apps.projects.selectors import Caller, ProjectDetails, rights_of

QUANTITY_PLACES = QUANTITY["decimal_places"]


def project_row(
    project: Mapping[str, Any], details: ProjectDetails, caller: Caller
) -> dict[str, Any]:
    """One project as ``ProjectSerializer`` shows it to ``caller``."""
    project_id = project["id"]
    collaborators = details.collaborators.get(project_id, ())
    role = None
    if caller.user_id is not None:
        caller_id = str(caller.user_id)
        for _, user_id, _, collaborator_role, _ in collaborators:
            if str(user_id) == caller_id:
                role = collaborator_role
                break
    rights = rights_of(
        caller, owner_id=project["owner_id"], privacy=project["privacy"], collaborator_role=role
    )
    return {
        "id": str(project_id),
        "makerspace": str(project["makerspace_id"]),
        "name": project["name"],
        "description": project["description"],
        "owner": {"id": str(project["owner_id"]), "name": project["owner_name"]},
        "status": project["status"],
        "privacy": project["privacy"],
        "tags": details.tags.get(project_id, []),
        "collaborators": [
            {
                "id": str(collaborator_id),
                "user": {"id": str(user_id), "name": user_name},
                "role": collaborator_role,
                "created_at": iso_datetime(created_at),
            }
            for collaborator_id, user_id, user_name, collaborator_role, created_at in (
                collaborators
            )
        ],
        "bom": [
            {
                "id": str(line_id),
                "item": {"id": str(item_id), "sku": sku, "name": item_name, "unit": unit},
                "quantity": decimal_text(quantity, QUANTITY_PLACES),
                "note": note,
                "created_at": iso_datetime(created_at),
            }
            for line_id, item_id, sku, item_name, unit, quantity, note, created_at in (
                details.bom.get(project_id, ())
            )
        ],
        "can_edit": rights.edit,
        "can_share": rights.share,
        "created_at": iso_datetime(project["created_at"]),
        "updated_at": iso_datetime(project["updated_at"]),
    }


def project_rows(
    projects: Iterable[Mapping[str, Any]], details: ProjectDetails, caller: Caller
) -> list[dict[str, Any]]:
    return [project_row(project, details, caller) for project in projects]
