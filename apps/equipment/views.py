"""Member pages of equipment and bookings: a space's machines, a machine's timetable with
the booking form, and "my bookings" with cancel, check-in/out and the waitlist.

Each view parses the request, calls selectors or one service, and renders; the booking
rules live in the services, so these pages, the API and the admin cannot disagree.
"""

from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.core.api.actors import acting_user
from apps.core.exceptions import ApplicationError
from apps.core.permissions import has_makerspace_permission
from apps.equipment import selectors
from apps.equipment.forms import BookingForm, CalendarQueryForm, EquipmentFilterForm
from apps.equipment.models import (
    Equipment,
    EquipmentStatus,
    Reservation,
    ReservationStatus,
    WaitlistEntry,
)
from apps.equipment.rules import EffectiveRules, rules_for
from apps.equipment.services.reservations import (
    reservation_cancel,
    reservation_check_in,
    reservation_check_out,
    reservation_create,
)
from apps.equipment.services.waitlist import waitlist_claim, waitlist_join, waitlist_leave
from apps.equipment.timetable import machine_timetable
from apps.makerspaces.models import Makerspace
from apps.makerspaces.selectors import active_makerspace, current_skill_slugs

PAST_PAGE_SIZE = 20

# Service messages are English API text. The pages word the codes they expect in the
# reader's language and fall back to the service's own message for anything else.
ERROR_MESSAGES = {
    "INVALID_STATE": gettext_lazy("This booking can no longer be changed that way."),
    "TOO_LATE": gettext_lazy("It is too late for that: the booking has started or passed."),
    "ALREADY_WAITING": gettext_lazy("You are already on the waitlist for this slot."),
    "SLOT_FREE": gettext_lazy("This slot is free: book it instead of waiting."),
    "NOT_OFFERED": gettext_lazy("This slot has not been offered to you."),
    "OFFER_EXPIRED": gettext_lazy("The offer has expired."),
}


def _space_or_404(request: HttpRequest, slug: str) -> Makerspace:
    """The space if the caller may see its machines; to anyone else it does not exist."""
    makerspace = active_makerspace(slug)
    if makerspace is None or not has_makerspace_permission(
        request.user, makerspace, "equipment.view"
    ):
        raise Http404("No such makerspace.")
    return makerspace


def _machine_or_404(makerspace: Makerspace, equipment_id: UUID) -> Equipment:
    machine = selectors.equipment_of_space(makerspace).filter(pk=equipment_id).first()
    if machine is None:
        raise Http404("No such machine.")
    return machine


def _duration_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
    if hours:
        return _("%(hours)s h") % {"hours": hours}
    return _("%(minutes)s min") % {"minutes": rest}


def _slot_text(start: datetime, end: datetime, timezone_name: str) -> str:
    zone = ZoneInfo(timezone_name)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return "{day}, {start}–{end}".format(
        day=date_format(local_start, "D j M"),
        start=time_format(local_start, "H:i"),
        end=time_format(local_end, "H:i"),
    )


def _error_text(exc: ApplicationError) -> str:
    wording = ERROR_MESSAGES.get(exc.code)
    return str(wording) if wording else exc.message


def _booking_error_text(
    exc: ApplicationError, machine: Equipment, start: datetime, end: datetime
) -> str:
    """The refusal in the reader's language, naming the rule or the missing skills."""
    names = {"machine": machine.name}
    if exc.code == "SKILL_REQUIRED":
        skill_names = {skill.slug: skill.name for skill in machine.skill_requirements.all()}
        missing = [skill_names.get(slug, slug) for slug in exc.details.get("missing", [])]
        return _(
            "Booking %(machine)s needs training you do not hold yet: %(skills)s. "
            "Ask the staff of the space to train you."
        ) % {**names, "skills": ", ".join(missing)}
    if exc.code == "RESERVATION_CONFLICT":
        if exc.details.get("held"):
            return _("%(machine)s is held at that time for a member from the waitlist.") % names
        return _("%(machine)s is already booked at that time.") % names
    if exc.code == "EQUIPMENT_UNAVAILABLE":
        return _("%(machine)s cannot be booked now (%(status)s).") % {
            **names,
            "status": machine.get_status_display(),
        }
    if exc.code != "BOOKING_RULE_VIOLATION":
        return _error_text(exc)
    rule, limit = exc.details.get("rule"), exc.details.get("limit")
    if rule == "end_after_start":
        return _("The booking must end after it starts.")
    if rule == "not_in_past":
        return _("The booking cannot start in the past.")
    if rule == "min_minutes" and limit:
        return _("A booking of %(machine)s lasts at least %(duration)s.") % {
            **names,
            "duration": _duration_text(limit),
        }
    if rule == "max_minutes" and limit:
        return _("A booking of %(machine)s lasts at most %(duration)s.") % {
            **names,
            "duration": _duration_text(limit),
        }
    if rule == "granularity_minutes" and limit:
        return _("Bookings start and end on %(step)s-minute steps.") % {"step": limit}
    if rule == "horizon_days" and limit:
        return _("Bookings can be made at most %(days)s days ahead.") % {"days": limit}
    if rule == "business_hours":
        return _("%(space)s is not open for the whole of %(slot)s (local time).") % {
            "space": machine.makerspace.name,
            "slot": _slot_text(start, end, machine.makerspace.timezone),
        }
    if rule == "max_active_per_member" and limit:
        return _("You already have %(limit)s upcoming bookings here, the most allowed at once.") % {
            "limit": limit
        }
    return exc.message


# --- a space's machines ------------------------------------------------------------------


@login_required
def equipment_list_page(request: HttpRequest, slug: str) -> HttpResponse:
    makerspace = _space_or_404(request, slug)
    form = EquipmentFilterForm(request.GET)
    # An unknown value is shown as an error and ignored, so the list never goes blank.
    form.is_valid()
    criteria = form.cleaned_data
    machines = selectors.equipment_of_space(
        makerspace,
        status=criteria.get("status") or None,
        equipment_type=criteria.get("type") or None,
    )
    context = {
        "makerspace": makerspace,
        "form": form,
        "machines": machines,
        "held_skills": current_skill_slugs(user=acting_user(request), makerspace=makerspace),
        "is_filtered": bool(criteria.get("status") or criteria.get("type")),
    }
    return render(request, "equipment/list.html", context)


# --- a machine: timetable and booking ------------------------------------------------------


def _timetable_link(machine_url: str, view: str, day: date) -> str:
    return f"{machine_url}?{urlencode({'view': view, 'date': day.isoformat()})}"


def _render_machine(
    request: HttpRequest,
    makerspace: Makerspace,
    machine: Equipment,
    rules: EffectiveRules,
    form: BookingForm,
    *,
    booking_error: str = "",
    offer_waitlist: bool = False,
    status: int = 200,
) -> HttpResponse:
    zone = ZoneInfo(makerspace.timezone)
    today = timezone.now().astimezone(zone).date()
    view, day = CalendarQueryForm(request.GET).view_and_day(today)
    if form.is_bound and form.is_valid():
        # After a refused booking, show the week (or day) of the slot that was asked for.
        day = form.cleaned_data["date"]
    user = acting_user(request)
    timetable = machine_timetable(
        equipment=machine, viewer_id=user.pk, rules=rules, view=view, day=day
    )
    here = reverse(
        "equipment:machine", kwargs={"slug": makerspace.slug, "equipment_id": machine.pk}
    )
    context = {
        "makerspace": makerspace,
        "machine": machine,
        "rules": rules,
        "rule_lengths": {
            "min": _duration_text(rules.min_minutes),
            "max": _duration_text(rules.max_minutes),
        },
        "timetable": timetable,
        "held_skills": current_skill_slugs(user=user, makerspace=makerspace),
        "may_book": has_makerspace_permission(user, makerspace, "equipment.book"),
        "is_bookable": machine.status == EquipmentStatus.AVAILABLE,
        "form": form,
        "booking_error": booking_error,
        "offer_waitlist": offer_waitlist,
        "links": {
            "previous": _timetable_link(here, view, timetable.previous_day),
            "next": _timetable_link(here, view, timetable.next_day),
            "today": _timetable_link(here, view, today),
            "day": _timetable_link(here, "day", day),
            "week": _timetable_link(here, "week", day),
        },
    }
    return render(request, "equipment/machine.html", context, status=status)


@login_required
def machine_page(request: HttpRequest, slug: str, equipment_id: UUID) -> HttpResponse:
    makerspace = _space_or_404(request, slug)
    machine = _machine_or_404(makerspace, equipment_id)
    rules = rules_for(machine)
    user = acting_user(request)
    zone_name, step = makerspace.timezone, rules.granularity_minutes
    if request.method != "POST":
        zone = ZoneInfo(makerspace.timezone)
        today = timezone.now().astimezone(zone).date()
        _view, day = CalendarQueryForm(request.GET).view_and_day(today)
        form = BookingForm(
            initial={"date": max(day, today)}, timezone_name=zone_name, step_minutes=step
        )
        return _render_machine(request, makerspace, machine, rules, form)

    if not has_makerspace_permission(user, makerspace, "equipment.book"):
        raise PermissionDenied
    form = BookingForm(request.POST, timezone_name=zone_name, step_minutes=step)
    if not form.is_valid():
        return _render_machine(request, makerspace, machine, rules, form, status=400)
    start, end = form.window()
    try:
        reservation = reservation_create(
            equipment=machine, user=user, start=start, end=end, acting_user=user
        )
    except ApplicationError as exc:
        return _render_machine(
            request,
            makerspace,
            machine,
            rules,
            form,
            booking_error=_booking_error_text(exc, machine, start, end),
            offer_waitlist=exc.code == "RESERVATION_CONFLICT" and not exc.details.get("held"),
            status=exc.status_code,
        )
    slot = _slot_text(start, end, makerspace.timezone)
    if reservation.status == ReservationStatus.PENDING:
        messages.info(
            request,
            _("Requested %(machine)s for %(slot)s: a manager will confirm it.")
            % {"machine": machine.name, "slot": slot},
        )
    else:
        messages.success(
            request, _("Booked %(machine)s for %(slot)s.") % {"machine": machine.name, "slot": slot}
        )
    return redirect("equipment:my-reservations")


@login_required
@require_POST
def waitlist_join_page(request: HttpRequest, slug: str, equipment_id: UUID) -> HttpResponse:
    makerspace = _space_or_404(request, slug)
    machine = _machine_or_404(makerspace, equipment_id)
    user = acting_user(request)
    if not has_makerspace_permission(user, makerspace, "equipment.book"):
        raise PermissionDenied
    form = BookingForm(request.POST, timezone_name=makerspace.timezone)
    machine_url = reverse(
        "equipment:machine", kwargs={"slug": makerspace.slug, "equipment_id": machine.pk}
    )
    if not form.is_valid():
        messages.error(request, _("Choose a date and a time to wait for."))
        return redirect(machine_url)
    start, end = form.window()
    try:
        waitlist_join(equipment=machine, user=user, start=start, end=end, acting_user=user)
    except ApplicationError as exc:
        messages.error(request, _booking_error_text(exc, machine, start, end))
        local_day = start.astimezone(ZoneInfo(makerspace.timezone)).date()
        return redirect(_timetable_link(machine_url, "week", local_day))
    messages.success(
        request,
        _(
            "You are on the waitlist for %(machine)s, %(slot)s. If the slot frees up, "
            "we will email you and hold it for you for a while."
        )
        % {"machine": machine.name, "slot": _slot_text(start, end, makerspace.timezone)},
    )
    return redirect("equipment:my-reservations")


# --- my bookings ------------------------------------------------------------------------


@login_required
def my_reservations_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    now = timezone.now()
    past = Paginator(selectors.past_reservations_of_user(user, now=now), PAST_PAGE_SIZE)
    context = {
        "upcoming": selectors.upcoming_reservations_of_user(user, now=now),
        "page": past.get_page(request.GET.get("page")),
        "waitlist": selectors.open_waitlist_entries_of_user(user),
        "now": now,
    }
    return render(request, "equipment/my_reservations.html", context)


def _reservation_or_404(request: HttpRequest, reservation_id: UUID) -> Reservation:
    reservation = selectors.reservation_of_user(acting_user(request), reservation_id)
    if reservation is None:
        raise Http404("No such booking.")
    return reservation


@login_required
@require_POST
def reservation_cancel_page(request: HttpRequest, reservation_id: UUID) -> HttpResponse:
    reservation = _reservation_or_404(request, reservation_id)
    try:
        reservation_cancel(reservation=reservation, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(
            request,
            _error_text(exc)
            if exc.code != "TOO_LATE"
            else _("The booking has started; ask the staff to cancel it."),
        )
    else:
        messages.success(
            request,
            _("Cancelled %(machine)s, %(slot)s.")
            % {
                "machine": reservation.equipment.name,
                "slot": _slot_text(
                    reservation.start_time, reservation.end_time, reservation.makerspace.timezone
                ),
            },
        )
    return redirect("equipment:my-reservations")


@login_required
@require_POST
def reservation_check_in_page(request: HttpRequest, reservation_id: UUID) -> HttpResponse:
    reservation = _reservation_or_404(request, reservation_id)
    try:
        reservation_check_in(reservation=reservation, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message if exc.code == "TOO_EARLY" else _error_text(exc))
    else:
        messages.success(
            request,
            _("Checked in to %(machine)s. Check out when you are done.")
            % {"machine": reservation.equipment.name},
        )
    return redirect("equipment:my-reservations")


@login_required
@require_POST
def reservation_check_out_page(request: HttpRequest, reservation_id: UUID) -> HttpResponse:
    reservation = _reservation_or_404(request, reservation_id)
    try:
        finished = reservation_check_out(reservation=reservation, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("Checked out of %(machine)s after %(duration)s.")
            % {
                "machine": reservation.equipment.name,
                "duration": _duration_text(finished.used_minutes or 0),
            },
        )
    return redirect("equipment:my-reservations")


def _waitlist_entry_or_404(request: HttpRequest, entry_id: UUID) -> WaitlistEntry:
    entry = selectors.waitlist_entry_of_user(acting_user(request), entry_id)
    if entry is None:
        raise Http404("No such waitlist entry.")
    return entry


@login_required
@require_POST
def waitlist_claim_page(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    entry = _waitlist_entry_or_404(request, entry_id)
    try:
        reservation = waitlist_claim(entry=entry, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(
            request, _booking_error_text(exc, entry.equipment, entry.start_time, entry.end_time)
        )
    else:
        messages.success(
            request,
            _("Booked %(machine)s for %(slot)s.")
            % {
                "machine": entry.equipment.name,
                "slot": _slot_text(
                    reservation.start_time, reservation.end_time, entry.makerspace.timezone
                ),
            },
        )
    return redirect("equipment:my-reservations")


@login_required
@require_POST
def waitlist_leave_page(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    entry = _waitlist_entry_or_404(request, entry_id)
    try:
        waitlist_leave(entry=entry, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.info(
            request,
            _("You left the waitlist for %(machine)s.") % {"machine": entry.equipment.name},
        )
    return redirect("equipment:my-reservations")
