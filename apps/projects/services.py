"""Writes of projects: the project itself, its collaborators, its bill of materials,
consuming that bill from the space's stock, and the bookings made for it.

Who may do what is decided by ``selectors.project_rights``; every service checks it,
so the API, the pages and the admin cannot disagree. Each change is written to the
audit log in the same transaction.
"""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.core.audit import audit_record, diff, update_audited
from apps.core.concurrency import lock_at_version
from apps.core.exceptions import (
    ApplicationError,
    ConflictError,
    permission_denied,
    validation_error,
)
from apps.core.models import AuditLogEntry
from apps.core.permissions import has_makerspace_permission, require_makerspace_permission
from apps.equipment.models import Reservation
from apps.inventory.models import InventoryItem, MovementKind, MovementSource, StockMovement
from apps.inventory.services import Withdrawal, stock_consume_many
from apps.makerspaces.models import Makerspace, Membership, MembershipStatus
from apps.projects.models import (
    MAX_TAGS,
    TAG_MAX_LENGTH,
    BomLine,
    CollaboratorRole,
    Project,
    ProjectCollaborator,
    ProjectPrivacy,
    ProjectReservation,
    ProjectStatus,
    ProjectTag,
    tag_format,
)
from apps.projects.selectors import normalize_tag, project_rights

Action = AuditLogEntry.Action
PROJECT_FIELDS = ("name", "description", "status", "privacy", "tags")
# Who may share (privacy) is narrower than who may edit.
SHARING_FIELDS = ("privacy",)
MAX_MULTIPLIER = 1000


def _invalid(field: str, message: str) -> ApplicationError:
    return validation_error(field, message)


def _denied(message: str) -> ApplicationError:
    return permission_denied(message)


def _require_edit(project: Project, user: User) -> None:
    if not project_rights(user=user, project=project).edit:
        raise _denied(
            "Only the owner, an editor or the staff of the space can change this project."
        )


def _require_share(project: Project, user: User) -> None:
    if not project_rights(user=user, project=project).share:
        raise _denied("Only the owner or the staff of the space can do that.")


def _require_open(project: Project) -> None:
    if project.is_archived:
        raise ConflictError(
            "PROJECT_ARCHIVED", "This project is archived; set it active again to change it."
        )


def _lock(project: Project) -> Project:
    return Project.objects.select_for_update(of=("self",)).get(pk=project.pk)


def clean_tags(raw: Iterable[str]) -> list[str]:
    """Lower-case, one word each (spaces become hyphens), no duplicates, in given order."""
    tags: list[str] = []
    for value in raw:
        tag = normalize_tag(str(value))
        if not tag:
            continue
        if len(tag) > TAG_MAX_LENGTH:
            raise _invalid("tags", f"A tag has at most {TAG_MAX_LENGTH} characters: {tag!r}.")
        try:
            tag_format(tag)
        except ValidationError:
            raise _invalid(
                "tags", f"{tag!r}: a tag is one word of letters, digits, hyphens or underscores."
            ) from None
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise _invalid("tags", f"A project has at most {MAX_TAGS} tags.")
    return tags


def _set_tags(project: Project, tags: list[str]) -> None:
    project.tags.exclude(name__in=tags).delete()
    present = set(project.tags.values_list("name", flat=True))
    ProjectTag.objects.bulk_create(
        [ProjectTag(project=project, name=tag) for tag in tags if tag not in present]
    )


def _is_active_member(user: User, makerspace: Makerspace) -> bool:
    return Membership.objects.filter(
        user=user, makerspace=makerspace, status=MembershipStatus.ACTIVE
    ).exists()


# --- projects --------------------------------------------------------------------------------


def project_create(
    *,
    makerspace: Makerspace,
    owner: User,
    name: str,
    acting_user: User,
    description: str = "",
    status: str = ProjectStatus.DRAFT,
    privacy: str = ProjectPrivacy.PRIVATE,
    tags: Iterable[str] = (),
) -> Project:
    """Start a project in a space; its owner must be an active member there."""
    require_makerspace_permission(
        acting_user, makerspace, "projects.create", message="You may not start projects here."
    )
    if not _is_active_member(owner, makerspace):
        raise _invalid("owner", "The owner must be an active member of this makerspace.")
    if acting_user.pk != owner.pk and not has_makerspace_permission(
        acting_user, makerspace, "projects.manage"
    ):
        raise _denied("You can only start projects of your own.")
    clean = clean_tags(tags)
    with transaction.atomic():
        project = Project(
            makerspace=makerspace,
            owner=owner,
            name=name,
            description=description,
            status=status,
            privacy=privacy,
        )
        project.full_clean()
        project.save()
        _set_tags(project, clean)
        audit_record(
            actor=acting_user,
            instance=project,
            action=Action.CREATE,
            makerspace_id=makerspace.pk,
            changes={"name": name, "owner": owner, "privacy": privacy, "tags": clean},
        )
    return project


def project_update(
    *,
    project: Project,
    acting_user: User,
    changes: dict[str, Any],
    expected_etag: str | None = None,
) -> Project:
    unknown = set(changes) - set(PROJECT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown project fields: {sorted(unknown)}")
    with transaction.atomic():
        project = lock_at_version(project, expected_etag=expected_etag)
        if any(
            field in changes and changes[field] != getattr(project, field)
            for field in SHARING_FIELDS
        ):
            _require_share(project, acting_user)
        else:
            _require_edit(project, acting_user)
        changes = dict(changes)
        changed: dict[str, Any] = {}
        if "tags" in changes:
            new_tags = clean_tags(changes.pop("tags"))
            old_tags = sorted(project.tags.values_list("name", flat=True))
            if sorted(new_tags) != old_tags:
                _set_tags(project, new_tags)
                changed["tags"] = [old_tags, sorted(new_tags)]
        changed.update(diff(project, changes))
        for field, value in changes.items():
            setattr(project, field, value)
        project.full_clean()
        project.save()
        if changed:
            audit_record(
                actor=acting_user,
                instance=project,
                action=Action.UPDATE,
                makerspace_id=project.makerspace_id,
                changes=changed,
            )
    return project


def project_delete(*, project: Project, acting_user: User) -> None:
    """Gone for good, with its BOM and links; the stock ledger keeps its project id."""
    with transaction.atomic():
        project = _lock(project)
        _require_share(project, acting_user)
        audit_record(
            actor=acting_user,
            instance=project,
            action=Action.DELETE,
            makerspace_id=project.makerspace_id,
            changes={"name": project.name, "owner": project.owner_id},
        )
        project.delete()


# --- collaborators ---------------------------------------------------------------------------


def collaborator_add(
    *, project: Project, user: User, role: str, acting_user: User
) -> ProjectCollaborator:
    if role not in CollaboratorRole.values:
        raise _invalid("role", f"Choose one of: {', '.join(CollaboratorRole.values)}.")
    _require_share(project, acting_user)
    if user.pk == project.owner_id:
        raise _invalid("user", "The owner already has every right on the project.")
    if not _is_active_member(user, project.makerspace):
        raise _invalid("user", "Collaborators must be active members of this makerspace.")
    try:
        with transaction.atomic():
            collaborator = ProjectCollaborator.objects.create(
                project=project, user=user, role=role, added_by=acting_user
            )
            audit_record(
                actor=acting_user,
                instance=collaborator,
                action=Action.GRANT,
                makerspace_id=project.makerspace_id,
                changes={"project": project, "user": user, "role": role},
            )
    except IntegrityError:
        raise ConflictError(
            "ALREADY_COLLABORATOR", "This member already collaborates on the project."
        ) from None
    return collaborator


def collaborator_change_role(
    *, collaborator: ProjectCollaborator, role: str, acting_user: User
) -> ProjectCollaborator:
    if role not in CollaboratorRole.values:
        raise _invalid("role", f"Choose one of: {', '.join(CollaboratorRole.values)}.")
    with transaction.atomic():
        collaborator = ProjectCollaborator.objects.select_for_update(of=("self",)).get(
            pk=collaborator.pk
        )
        _require_share(collaborator.project, acting_user)
        if collaborator.role != role:
            audit_record(
                actor=acting_user,
                instance=collaborator,
                action=Action.UPDATE,
                makerspace_id=collaborator.project.makerspace_id,
                changes={"role": [collaborator.role, role]},
            )
            collaborator.role = role
            collaborator.save(update_fields=["role", "updated_at"])
    return collaborator


def collaborator_remove(*, collaborator: ProjectCollaborator, acting_user: User) -> None:
    """The owner or staff remove a collaborator; a collaborator may also leave."""
    with transaction.atomic():
        collaborator = (
            ProjectCollaborator.objects.select_for_update(of=("self",))
            .select_related("project")
            .get(pk=collaborator.pk)
        )
        if collaborator.user_id != acting_user.pk:
            _require_share(collaborator.project, acting_user)
        audit_record(
            actor=acting_user,
            instance=collaborator,
            action=Action.REVOKE,
            makerspace_id=collaborator.project.makerspace_id,
            changes={"project": collaborator.project_id, "user": collaborator.user_id},
        )
        collaborator.delete()


# --- bill of materials -----------------------------------------------------------------------


def _positive(quantity: Decimal) -> None:
    if quantity <= 0:
        raise _invalid("quantity", "Must be greater than zero.")


def bom_line_add(
    *,
    project: Project,
    item: InventoryItem,
    quantity: Decimal,
    acting_user: User,
    note: str = "",
) -> BomLine:
    _positive(quantity)
    if item.makerspace_id != project.makerspace_id or not item.is_active:
        raise _invalid("item", "No such item in this makerspace's inventory.")
    try:
        with transaction.atomic():
            project = _lock(project)
            _require_edit(project, acting_user)
            _require_open(project)
            line = BomLine(project=project, item=item, quantity=quantity, note=note)
            line.full_clean(validate_unique=False)
            line.save()
            audit_record(
                actor=acting_user,
                instance=line,
                action=Action.CREATE,
                makerspace_id=project.makerspace_id,
                changes={"project": project, "item": item.sku, "quantity": quantity},
            )
    except IntegrityError:
        raise _invalid(
            "item", "This item is already in the bill of materials; change its quantity."
        ) from None
    return line


def bom_line_update(
    *,
    line: BomLine,
    acting_user: User,
    quantity: Decimal | None = None,
    note: str | None = None,
) -> BomLine:
    changes: dict[str, Any] = {}
    if quantity is not None:
        _positive(quantity)
        changes["quantity"] = quantity
    if note is not None:
        changes["note"] = note
    with transaction.atomic():
        project = _lock(line.project)
        _require_edit(project, acting_user)
        _require_open(project)
        line = (
            BomLine.objects.select_for_update(of=("self",)).select_related("item").get(pk=line.pk)
        )
        if diff(line, changes):
            update_audited(
                line,
                changes=changes,
                actor=acting_user,
                makerspace_id=project.makerspace_id,
                clean={"validate_unique": False},
            )
    return line


def bom_line_remove(*, line: BomLine, acting_user: User) -> None:
    with transaction.atomic():
        project = _lock(line.project)
        _require_edit(project, acting_user)
        _require_open(project)
        audit_record(
            actor=acting_user,
            instance=line,
            action=Action.DELETE,
            makerspace_id=project.makerspace_id,
            changes={"project": project.pk, "item": line.item_id, "quantity": line.quantity},
        )
        line.delete()


def bom_consume(
    *, project: Project, acting_user: User, multiplier: int = 1, reason: str = ""
) -> list[StockMovement]:
    """Take every line of the BOM (times ``multiplier`` builds) from stock at once.

    All or nothing: when any line is short, ``stock_consume_many`` raises 400
    INSUFFICIENT_STOCK naming the short lines and nothing is written. Each movement
    carries the project's id, so the ledger says what the stock went into.
    """
    if not 1 <= multiplier <= MAX_MULTIPLIER:
        raise _invalid("multiplier", f"Build between 1 and {MAX_MULTIPLIER} copies.")
    with transaction.atomic():
        # The project's lock keeps its BOM still while the stock is taken.
        project = _lock(project)
        _require_edit(project, acting_user)
        _require_open(project)
        lines = list(BomLine.objects.filter(project=project).select_related("item"))
        if not lines:
            raise _invalid("bom", "The bill of materials is empty.")
        copies = f" × {multiplier}" if multiplier > 1 else ""
        movements = stock_consume_many(
            withdrawals=[Withdrawal(line.item, line.quantity * multiplier) for line in lines],
            reason=reason or f"Project {project.name}{copies}",
            acting_user=acting_user,
            project_id=project.pk,
            source_type=MovementSource.PROJECT,
            source_id=project.pk,
            kind=MovementKind.CONSUME,
        )
        audit_record(
            actor=acting_user,
            instance=project,
            action=Action.UPDATE,
            makerspace_id=project.makerspace_id,
            changes={
                "bom_consumed": {
                    "multiplier": multiplier,
                    "lines": {line.item.sku: line.quantity * multiplier for line in lines},
                }
            },
        )
    return movements


# --- linked bookings -------------------------------------------------------------------------


def project_reservation_link(
    *, project: Project, reservation: Reservation, acting_user: User
) -> ProjectReservation:
    """Record that a booking was made for the project: a booking of the owner or of a
    collaborator, in the project's space, not yet linked to another project."""
    if reservation.makerspace_id != project.makerspace_id:
        raise _invalid("reservation", "No such booking in this makerspace.")
    try:
        with transaction.atomic():
            project = _lock(project)
            _require_edit(project, acting_user)
            _require_open(project)
            is_team = (
                reservation.user_id == project.owner_id
                or project.collaborators.filter(user_id=reservation.user_id).exists()
            )
            if not is_team:
                raise _invalid(
                    "reservation",
                    "Only bookings of the owner or a collaborator can be linked to the project.",
                )
            link = ProjectReservation.objects.create(
                project=project, reservation=reservation, linked_by=acting_user
            )
            audit_record(
                actor=acting_user,
                instance=link,
                action=Action.CREATE,
                makerspace_id=project.makerspace_id,
                changes={"project": project, "reservation": reservation},
            )
    except IntegrityError:
        raise ConflictError(
            "ALREADY_LINKED", "This booking is already linked to a project."
        ) from None
    return link


def project_reservation_unlink(*, link: ProjectReservation, acting_user: User) -> None:
    with transaction.atomic():
        project = _lock(link.project)
        # Whoever made the booking may always take it back from the project.
        if link.reservation.user_id != acting_user.pk:
            _require_edit(project, acting_user)
        audit_record(
            actor=acting_user,
            instance=link,
            action=Action.DELETE,
            makerspace_id=project.makerspace_id,
            changes={"project": project.pk, "reservation": link.reservation_id},
        )
        link.delete()
