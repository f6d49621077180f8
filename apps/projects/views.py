"""Member pages of projects: "my projects", the create and edit forms, a project's page
with its bill of materials (availability and consuming it), collaborators and linked
bookings, and the public gallery of a space.

Each view parses the request, calls selectors or one service, and renders; who may do
what is decided in the services, so these pages, the API and the admin cannot disagree.
"""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.core.api.actors import acting_user
from apps.core.exceptions import ApplicationError
from apps.core.permissions import has_makerspace_permission, makerspace_ids_with
from apps.inventory.models import InventoryItem
from apps.makerspaces.models import Makerspace
from apps.makerspaces.selectors import active_makerspace
from apps.projects import selectors, services
from apps.projects.forms import (
    BomLineForm,
    CollaboratorForm,
    ConsumeForm,
    LinkBookingForm,
    ProjectCreateForm,
    ProjectForm,
    QuantityForm,
)
from apps.projects.models import (
    BomLine,
    Project,
    ProjectCollaborator,
    ProjectPrivacy,
    ProjectReservation,
    ProjectStatus,
)
from apps.projects.selectors import ProjectRights

GALLERY_PAGE_SIZE = 24
MY_PROJECTS_PAGE_SIZE = 50

# Service messages are English API text. The pages word the codes they expect in the
# reader's language and fall back to the service's own message for anything else.
ERROR_MESSAGES = {
    "PERMISSION_DENIED": gettext_lazy("You may not change this project that way."),
    "PROJECT_ARCHIVED": gettext_lazy("This project is archived: set it active again to change it."),
    "ALREADY_COLLABORATOR": gettext_lazy("This member already collaborates on the project."),
    "ALREADY_LINKED": gettext_lazy("This booking is already linked to a project."),
}


def _error_text(exc: ApplicationError) -> str:
    if exc.code == "INSUFFICIENT_STOCK":
        lines = "; ".join(
            _("%(name)s (%(sku)s): %(short)s %(unit)s short")
            % {
                "name": row.get("name", ""),
                "sku": row.get("sku", ""),
                "short": row.get("short", ""),
                "unit": row.get("unit", ""),
            }
            for row in exc.details.get("items", [])
        )
        return _("Not enough in stock, so nothing was taken: %(lines)s.") % {"lines": lines}
    wording = ERROR_MESSAGES.get(exc.code)
    if wording:
        return str(wording)
    if exc.code == "VALIDATION_ERROR" and exc.details:
        problems = [
            " ".join(str(message) for message in messages_)
            if isinstance(messages_, list | tuple)
            else str(messages_)
            for messages_ in exc.details.values()
        ]
        return " ".join(problems)
    return exc.message


def _load(project_id: UUID) -> Project | None:
    return (
        Project.objects.select_related("owner", "makerspace")
        .prefetch_related("tags", "collaborators__user")
        .filter(pk=project_id, makerspace__is_active=True)
        .first()
    )


def _project_or_404(request: HttpRequest, project_id: UUID) -> tuple[Project, ProjectRights]:
    """The project and the caller's rights; a project they may not see does not exist."""
    project = _load(project_id)
    if project is None:
        raise Http404("No such project.")
    rights = selectors.project_rights(user=request.user, project=project)
    if not rights.view:
        raise Http404("No such project.")
    return project, rights


def _back(project: Project) -> HttpResponse:
    return redirect("projects:detail", project_id=project.pk)


def _form_errors(form: Any) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


# --- my projects, starting one -------------------------------------------------------------


@login_required
def my_projects_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    page = Paginator(selectors.projects_of_user(user), MY_PROJECTS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {"project": project, "rights": selectors.project_rights(user=user, project=project)}
        for project in page.object_list
    ]
    context = {
        "page": page,
        "rows": rows,
        "may_create": bool(makerspace_ids_with(user, "projects.create")),
    }
    return render(request, "projects/mine.html", context)


@login_required
def project_create_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    spaces = Makerspace.objects.filter(
        pk__in=makerspace_ids_with(user, "projects.create"), is_active=True
    ).order_by("name")
    initial = {}
    wanted = request.GET.get("space")
    if wanted:
        initial["makerspace"] = spaces.filter(slug=wanted).first()
    form = ProjectCreateForm(request.POST or None, spaces=spaces, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = services.project_create(
                makerspace=data["makerspace"],
                owner=user,
                name=data["name"],
                description=data["description"],
                status=data["status"],
                privacy=data["privacy"],
                tags=data["tags"],
                acting_user=user,
            )
        except ApplicationError as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(request, _("Project %(name)s is started.") % {"name": project.name})
            return _back(project)
    return render(request, "projects/form.html", {"form": form, "project": None})


@login_required
def project_edit_page(request: HttpRequest, project_id: UUID) -> HttpResponse:
    project, rights = _project_or_404(request, project_id)
    if not rights.edit:
        raise PermissionDenied
    initial = {
        "name": project.name,
        "description": project.description,
        "status": project.status,
        "privacy": project.privacy,
        "tags": ", ".join(tag.name for tag in project.tags.all()),
    }
    form = ProjectForm(request.POST or None, initial=initial, may_share=rights.share)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            if changes:
                services.project_update(
                    project=project, acting_user=acting_user(request), changes=changes
                )
        except ApplicationError as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(request, _("The project is saved."))
            return _back(project)
    return render(request, "projects/form.html", {"form": form, "project": project})


@login_required
@require_POST
def project_delete_page(request: HttpRequest, project_id: UUID) -> HttpResponse:
    project, _rights = _project_or_404(request, project_id)
    try:
        services.project_delete(project=project, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
        return _back(project)
    messages.info(request, _("Project %(name)s is deleted.") % {"name": project.name})
    return redirect("projects:mine")


# --- a project's page ------------------------------------------------------------------------


def project_page(request: HttpRequest, project_id: UUID) -> HttpResponse:
    project = _load(project_id)
    rights = selectors.project_rights(user=request.user, project=project) if project else None
    if project is None or rights is None or not rights.view:
        if not request.user.is_authenticated:
            # A member following a link to a project of their space: sign in first.
            return redirect_to_login(request.get_full_path())
        raise Http404("No such project.")
    is_insider = rights.role not in ("public", "")
    makerspace = project.makerspace
    sees_stock = has_makerspace_permission(request.user, makerspace, "inventory.view")
    context: dict[str, Any] = {
        "project": project,
        "rights": rights,
        "is_insider": is_insider,
        "sees_stock": sees_stock,
        "tags": [tag.name for tag in project.tags.all()],
        "collaborators": list(project.collaborators.all()) if is_insider else [],
        "archived": project.status == ProjectStatus.ARCHIVED,
    }
    if sees_stock:
        consume_form = ConsumeForm(request.GET or None, initial={"multiplier": 1})
        multiplier = consume_form.cleaned_data["multiplier"] if consume_form.is_valid() else 1
        rows = selectors.bom_availability(project, multiplier=multiplier)
        context.update(
            availability=rows,
            multiplier=multiplier,
            all_available=not any(row.is_short for row in rows),
            consume_form=ConsumeForm(initial={"multiplier": multiplier}),
        )
    else:
        context["bom_lines"] = list(selectors.bom_of_project(project))
    if is_insider:
        context["bookings"] = list(selectors.reservation_links_of_project(project))
    if rights.edit and isinstance(request.user, User):
        in_bom = BomLine.objects.filter(project=project).values("item_id")
        items = InventoryItem.objects.filter(makerspace=makerspace, is_active=True).exclude(
            Q(pk__in=in_bom)
        )
        context["bom_form"] = BomLineForm(items=items.order_by("name"))
        linkable = selectors.linkable_reservations(project=project, user=request.user)
        context["link_form"] = (
            LinkBookingForm(reservations=linkable, timezone_name=makerspace.timezone)
            if linkable.exists()
            else None
        )
    if rights.share:
        context["collaborator_form"] = CollaboratorForm()
    return render(request, "projects/detail.html", context)


@login_required
@require_POST
def consume_page(request: HttpRequest, project_id: UUID) -> HttpResponse:
    project, _rights = _project_or_404(request, project_id)
    form = ConsumeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(project)
    multiplier = form.cleaned_data["multiplier"]
    try:
        movements = services.bom_consume(
            project=project, multiplier=multiplier, acting_user=acting_user(request)
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("Taken from stock: %(count)s items for %(copies)s build(s).")
            % {"count": len(movements), "copies": multiplier},
        )
    return _back(project)


# --- bill of materials -----------------------------------------------------------------------


@login_required
@require_POST
def bom_add_page(request: HttpRequest, project_id: UUID) -> HttpResponse:
    project, _rights = _project_or_404(request, project_id)
    items = InventoryItem.objects.filter(makerspace=project.makerspace, is_active=True)
    form = BomLineForm(request.POST, items=items)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(project)
    try:
        services.bom_line_add(
            project=project,
            item=form.cleaned_data["item"],
            quantity=form.cleaned_data["quantity"],
            note=form.cleaned_data["note"],
            acting_user=acting_user(request),
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return _back(project)


def _line_or_404(project: Project, line_id: UUID) -> BomLine:
    line = BomLine.objects.filter(project=project, pk=line_id).select_related("project").first()
    if line is None:
        raise Http404("No such line.")
    return line


@login_required
@require_POST
def bom_update_page(request: HttpRequest, project_id: UUID, line_id: UUID) -> HttpResponse:
    project, _rights = _project_or_404(request, project_id)
    line = _line_or_404(project, line_id)
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(project)
    try:
        services.bom_line_update(
            line=line, quantity=form.cleaned_data["quantity"], acting_user=acting_user(request)
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return _back(project)


@login_required
@require_POST
def bom_remove_page(request: HttpRequest, project_id: UUID, line_id: UUID) -> HttpResponse:
    project, _rights = _project_or_404(request, project_id)
    try:
        services.bom_line_remove(
            line=_line_or_404(project, line_id), acting_user=acting_user(request)
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return _back(project)


# --- collaborators ---------------------------------------------------------------------------


@login_required
@require_POST
def collaborator_add_page(request: HttpRequest, project_id: UUID) -> HttpResponse:
    project, _rights = _project_or_404(request, project_id)
    form = CollaboratorForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(project)
    person = User.objects.filter(email__iexact=form.cleaned_data["email"]).first()
    if person is None:
        messages.error(request, _("No member of this makerspace has that email address."))
        return _back(project)
    try:
        services.collaborator_add(
            project=project,
            user=person,
            role=form.cleaned_data["role"],
            acting_user=acting_user(request),
        )
    except ApplicationError as exc:
        if exc.code == "VALIDATION_ERROR":
            messages.error(request, _("No member of this makerspace has that email address."))
        else:
            messages.error(request, _error_text(exc))
    else:
        messages.success(
            request, _("%(name)s collaborates on the project now.") % {"name": person.name}
        )
    return _back(project)


@login_required
@require_POST
def collaborator_remove_page(
    request: HttpRequest, project_id: UUID, collaborator_id: UUID
) -> HttpResponse:
    project, _rights = _project_or_404(request, project_id)
    collaborator = ProjectCollaborator.objects.filter(project=project, pk=collaborator_id).first()
    if collaborator is None:
        raise Http404("No such collaborator.")
    leaving = collaborator.user_id == request.user.pk
    try:
        services.collaborator_remove(collaborator=collaborator, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
        return _back(project)
    if leaving and project.privacy == ProjectPrivacy.PRIVATE:
        messages.info(request, _("You left the project."))
        return redirect("projects:mine")
    return _back(project)


# --- linked bookings -------------------------------------------------------------------------


@login_required
@require_POST
def booking_link_page(request: HttpRequest, project_id: UUID) -> HttpResponse:
    project, _rights = _project_or_404(request, project_id)
    form = LinkBookingForm(
        request.POST,
        reservations=selectors.linkable_reservations(project=project, user=acting_user(request)),
        timezone_name=project.makerspace.timezone,
    )
    if not form.is_valid():
        messages.error(request, _("Choose one of your bookings in this makerspace."))
        return _back(project)
    try:
        services.project_reservation_link(
            project=project,
            reservation=form.cleaned_data["reservation"],
            acting_user=acting_user(request),
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return _back(project)


@login_required
@require_POST
def booking_unlink_page(
    request: HttpRequest, project_id: UUID, reservation_id: UUID
) -> HttpResponse:
    project, _rights = _project_or_404(request, project_id)
    link = (
        ProjectReservation.objects.filter(project=project, reservation_id=reservation_id)
        .select_related("project", "reservation")
        .first()
    )
    if link is None:
        raise Http404("No such booking.")
    try:
        services.project_reservation_unlink(link=link, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return _back(project)


# --- the public gallery ----------------------------------------------------------------------


def gallery_page(request: HttpRequest, slug: str) -> HttpResponse:
    makerspace = active_makerspace(slug)
    if makerspace is None:
        raise Http404("No such makerspace.")
    tag = request.GET.get("tag", "").strip()[:40]
    projects = selectors.public_projects(makerspace=makerspace, tag=tag)
    page = Paginator(projects, GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"makerspace": makerspace, "page": page, "tag": selectors.normalize_tag(tag)}
    return render(request, "projects/gallery.html", context)
