"""Pages of the fabrication (3D-print) service: a member's jobs with the upload form
and its live quote, a job's page (its quote, accepting it, paying, its status), and a
makerspace staff's print queue.

The upload form works without scripts (it posts here and lands on the new job's
page); with them, ``static/js/fabrication-quote.js`` asks the quote API as the
member picks a file, a material and a quantity. Each view parses the request and
calls one service, which checks the caller again.
"""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.api.actors import acting_user
from apps.core.exceptions import ApplicationError
from apps.makerspaces.models import Makerspace
from apps.store import fabrication_selectors as selectors
from apps.store import mesh
from apps.store.fabrication_forms import AcceptForm, ModelUploadForm, QueueFilterForm, StatusForm
from apps.store.models import FabricationJob, FabricationStatus, PaymentStatus
from apps.store.services import fabrication as services

JOBS_PAGE_SIZE = 20
QUEUE_PAGE_SIZE = 50
OPEN_STATES = (
    FabricationStatus.QUOTED,
    FabricationStatus.ORDERED,
    FabricationStatus.ACCEPTED,
    FabricationStatus.PRINTING,
    FabricationStatus.READY,
)

# Service messages are English API text; the pages word the codes they expect in the
# reader's language and fall back to the service's message for anything else.
ERROR_MESSAGES = {
    "MODEL_TYPE": gettext_lazy("Upload an STL or 3MF file."),
    "MODEL_EMPTY": gettext_lazy("This file holds no 3D model."),
    "MODEL_UNREADABLE": gettext_lazy("This model file is damaged and cannot be read."),
    "MODEL_NOT_WATERTIGHT": gettext_lazy(
        "This model has holes or open edges. Close the mesh (most slicers can repair it) "
        "and upload it again."
    ),
    "MODEL_TOO_LARGE": gettext_lazy("This model file is too large."),
    "MODEL_DOES_NOT_FIT": gettext_lazy(
        "The model (%(model)s mm) does not fit the printer (%(build)s mm) in any orientation."
    ),
    "NOT_PAID": gettext_lazy("This print is not paid yet."),
    "INVALID_STATE": gettext_lazy("The job cannot make that move from where it is now."),
    "PERMISSION_DENIED": gettext_lazy("You may not do this."),
}


def error_text(exc: ApplicationError) -> str:
    wording = ERROR_MESSAGES.get(exc.code)
    if wording is None:
        return exc.message
    if exc.code == "MODEL_DOES_NOT_FIT":
        sizes = {
            name: " × ".join(str(value) for value in exc.details.get(key, {}).values())
            for name, key in (("model", "model_mm"), ("build", "build_mm"))
        }
        return str(wording) % sizes
    return str(wording)


def _refusal_into(form: Any, exc: ApplicationError) -> None:
    """A service's refusal next to the field it names, when the form has it."""
    placed = False
    for field, problems in (exc.details or {}).items():
        if field in form.fields and isinstance(problems, list | tuple):
            text = error_text(exc) if exc.code != "VALIDATION_ERROR" else None
            form.add_error(field, text or [str(problem) for problem in problems])
            placed = True
    if not placed:
        form.add_error(None, error_text(exc))


def order_link(order: Any) -> str:
    """The store's page of an order (its pay button), by its order number; the path
    written out when the order pages are not routed."""
    try:
        return reverse("store:order", args=[order.order_number])
    except NoReverseMatch:
        return f"/store/orders/{order.order_number}/"


def job_url(job: FabricationJob) -> str:
    return reverse("store:fabrication-job", args=[job.pk])


def _visible_job_or_404(request: HttpRequest, job_id: UUID) -> FabricationJob:
    job = selectors.jobs_visible_to(request.user).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such print job.")
    return job


def _upload_page(request: HttpRequest, form: ModelUploadForm, status: int = 200) -> HttpResponse:
    jobs = selectors.jobs_visible_to(request.user).filter(user=acting_user(request))
    page = Paginator(jobs, JOBS_PAGE_SIZE).get_page(request.GET.get("page"))
    staffed = Makerspace.objects.filter(
        pk__in=selectors.staffed_makerspace_ids(request.user)
    ).order_by("name")
    context = {
        "form": form,
        "page": page,
        "staffed_spaces": staffed,
        "has_materials": form.fields["material"].queryset.exists(),  # type: ignore[attr-defined]
        "quote_url": reverse("store-fabrication-quote"),
        "error_messages": {
            code.lower().replace("_", "-"): text for code, text in ERROR_MESSAGES.items()
        },
    }
    return render(request, "store/fabrication/index.html", context, status=status)


@login_required
def fabrication_page(request: HttpRequest) -> HttpResponse:
    materials = selectors.orderable_materials(request.user)
    if request.method != "POST":
        return _upload_page(request, ModelUploadForm(materials=materials))
    form = ModelUploadForm(request.POST, request.FILES, materials=materials)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    material = form.cleaned_data["material"]
    try:
        job = services.fabrication_job_create(
            makerspace=material.makerspace,
            material=material,
            filename=form.cleaned_data["file"].name,
            data=mesh.read_upload(form.cleaned_data["file"]),
            quantity=form.cleaned_data["quantity"],
            notes=form.cleaned_data["notes"],
            acting_user=acting_user(request),
        )
    except ApplicationError as exc:
        _refusal_into(form, exc)
        return _upload_page(request, form, status=400)
    messages.success(request, _("Your model is measured and quoted."))
    return redirect(job_url(job))


def _job_page(
    request: HttpRequest, job: FabricationJob, accept_form: AcceptForm, status: int = 200
) -> HttpResponse:
    order = selectors.order_of(job)
    user = request.user
    is_owner = job.user_id == user.pk
    moves = services.allowed_moves(job, user)
    context = {
        "job": job,
        "order": order,
        "is_owner": is_owner,
        "is_staff": selectors.may_run_jobs(user, job.makerspace_id),
        # A quote whose order lapsed unpaid is not ordered again (QUOTE_USED).
        "may_accept": is_owner and job.status == FabricationStatus.QUOTED and order is None,
        "quote_lapsed": job.status == FabricationStatus.QUOTED and order is not None,
        "accept_form": accept_form,
        "moves": [(move, FabricationStatus(move).label) for move in moves],
        "pay_link": (
            order_link(order)
            if is_owner
            and order is not None
            and order.payment_status == PaymentStatus.UNPAID
            and order.status == "pending"
            else None
        ),
        "order_url": order_link(order) if order is not None and is_owner else None,
        "model_url": reverse("store-fabrication-model", args=[job.pk]),
    }
    return render(request, "store/fabrication/job.html", context, status=status)


@login_required
def fabrication_job_page(request: HttpRequest, job_id: UUID) -> HttpResponse:
    job = _visible_job_or_404(request, job_id)
    return _job_page(request, job, AcceptForm())


@login_required
@require_POST
def fabrication_accept_page(request: HttpRequest, job_id: UUID) -> HttpResponse:
    job = _visible_job_or_404(request, job_id)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        return _job_page(request, job, form, status=400)
    try:
        accepted = services.fabrication_job_accept(
            job=job,
            acting_user=acting_user(request),
            shipping_method=form.cleaned_data["shipping_method"],
            shipping_address=form.shipping_address(),
        )
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
        return redirect(job_url(job))
    messages.success(
        request,
        _("Order %(number)s is placed: pay it to start the print.")
        % {"number": accepted.order.order_number},
    )
    pay_url = accepted.payment_answer.get("pay_url")
    if pay_url and url_has_allowed_host_and_scheme(
        pay_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(pay_url)
    return redirect(order_link(accepted.order))


@login_required
@require_POST
def fabrication_status_page(request: HttpRequest, job_id: UUID) -> HttpResponse:
    job = _visible_job_or_404(request, job_id)
    form = StatusForm(request.POST)
    back = job_url(job)
    if form.is_valid():
        wanted = form.cleaned_data["next"]
        if wanted and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = wanted
        try:
            job = services.fabrication_job_transition(
                job=job,
                to=form.cleaned_data["to"],
                tracking_number=form.cleaned_data["tracking_number"],
                acting_user=acting_user(request),
            )
        except ApplicationError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(
                request,
                _("%(file)s is now: %(status)s.")
                % {"file": job.original_filename, "status": job.get_status_display()},
            )
    else:
        messages.error(request, _("Choose a status to move the job to."))
    return redirect(back)


@login_required
def fabrication_queue_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A makerspace's print queue, for its staff: oldest first, open jobs by default."""
    makerspace = get_object_or_404(Makerspace, slug=slug)
    if not selectors.may_run_jobs(request.user, makerspace):
        raise Http404("No such print queue.")
    form = QueueFilterForm(request.GET)
    form.is_valid()
    wanted = form.cleaned_data.get("status") or ""
    jobs = selectors.job_queue(makerspace)
    if wanted == "":
        jobs = jobs.filter(status__in=OPEN_STATES)
    elif wanted != "all":
        jobs = jobs.filter(status=wanted)
    page = Paginator(jobs, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "job": job,
            "order": selectors.order_of(job),
            "moves": [
                (move, FabricationStatus(move).label)
                for move in services.allowed_moves(job, request.user)
            ],
        }
        for job in page.object_list
    ]
    context = {
        "makerspace": makerspace,
        "form": form,
        "page": page,
        "rows": rows,
        "here": request.get_full_path(),
    }
    return render(request, "store/fabrication/queue.html", context)
