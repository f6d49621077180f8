"""Member pages of makerspaces: the directory, a space's page, "my spaces", the create
form, the members page staff use, and the emailed invitation link.

Each view parses the request, calls one selector or service, and renders; the rules
live in services, so these pages, the API and the admin cannot disagree. The checks
here only hide what a caller may not do and answer early: each service checks the
role matrix again with its ``acting_user``.
"""

from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS as WEEKDAY_NAMES
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.core.api.actors import acting_user
from apps.core.exceptions import ApplicationError
from apps.core.permissions import has_makerspace_permission, role_in
from apps.makerspaces import selectors, services
from apps.makerspaces.forms import (
    DirectoryForm,
    InviteForm,
    MakerspaceCreateForm,
    RoleForm,
    SkillGrantForm,
)
from apps.makerspaces.hours import WEEKDAYS
from apps.makerspaces.invitation_tokens import invitation_from_token
from apps.makerspaces.models import Makerspace, Membership, MembershipRole, MembershipStatus

DIRECTORY_PAGE_SIZE = 20
MEMBERS_PAGE_SIZE = 50

# Service messages are English API text. The pages word the codes they expect in the
# reader's language and fall back to the service's own message for anything else.
ERROR_MESSAGES = {
    "LAST_ADMIN": gettext_lazy(
        "A makerspace needs at least one admin: make someone else admin first."
    ),
    "NOT_PENDING": gettext_lazy("This membership is not waiting for approval."),
    "INVITATION_CLOSED": gettext_lazy("This invitation is no longer open."),
    "INVITATION_EXPIRED": gettext_lazy("This invitation has expired; ask for a new one."),
}


def _error_text(exc: ApplicationError, **overrides: Any) -> str:
    wording = overrides.get(exc.code) or ERROR_MESSAGES.get(exc.code)
    return str(wording) if wording else exc.message


def _active_space_or_404(slug: str) -> Makerspace:
    makerspace = selectors.active_makerspace(slug)
    if makerspace is None:
        raise Http404("No such makerspace.")
    return makerspace


def _space_for_staff(request: HttpRequest, slug: str, permission: str) -> Makerspace:
    """The space if the caller holds ``permission`` there: 404 to outsiders (another
    tenant's space does not exist for them), 403 to members without the right."""
    makerspace = _active_space_or_404(slug)
    if has_makerspace_permission(request.user, makerspace, permission):
        return makerspace
    if role_in(request.user, makerspace) is None:
        raise Http404("No such makerspace.")
    raise PermissionDenied


def _member_or_404(makerspace: Makerspace, membership_id: UUID) -> Membership:
    membership = selectors.memberships_of_space(makerspace).filter(pk=membership_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def _back_to_members(makerspace: Makerspace) -> HttpResponse:
    return redirect("makerspaces:members", slug=makerspace.slug)


# --- directory and a space's page --------------------------------------------------


def directory_page(request: HttpRequest) -> HttpResponse:
    form = DirectoryForm(request.GET)
    # An invalid field (a mistyped location) is shown as an error; the valid ones still
    # filter the list, so the page never goes blank because of one typo.
    form.is_valid()
    criteria = form.cleaned_data
    near = criteria.get("near")
    spaces = selectors.makerspace_directory(
        search=criteria.get("search", ""),
        verified=True if criteria.get("verified") else None,
        near=near,
        radius_km=criteria.get("radius_km") if near else None,
    )
    page = Paginator(spaces, DIRECTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "makerspaces/directory.html",
        {"form": form, "page": page, "sorted_by_distance": near is not None},
    )


def _weekly_hours(makerspace: Makerspace) -> list[dict[str, Any]]:
    today = timezone.now().astimezone(ZoneInfo(makerspace.timezone)).weekday()
    return [
        {
            "name": WEEKDAY_NAMES[index],
            "windows": makerspace.business_hours.get(day, []),
            "is_today": index == today,
        }
        for index, day in enumerate(WEEKDAYS)
    ]


def detail_page(request: HttpRequest, slug: str) -> HttpResponse:
    makerspace = _active_space_or_404(slug)
    membership = (
        selectors.membership_in(user=acting_user(request), makerspace=makerspace)
        if request.user.is_authenticated
        else None
    )
    context = {
        "makerspace": makerspace,
        "hours": _weekly_hours(makerspace),
        "closures": selectors.upcoming_closures(makerspace),
        "skills": selectors.skills_of_space(makerspace),
        "membership": membership,
        "may_view_members": has_makerspace_permission(request.user, makerspace, "members.view"),
    }
    return render(request, "makerspaces/detail.html", context)


@require_POST
def join_page(request: HttpRequest, slug: str) -> HttpResponse:
    makerspace = _active_space_or_404(slug)
    detail_url = reverse("makerspaces:detail", kwargs={"slug": makerspace.slug})
    if not request.user.is_authenticated:
        # Back to the space's page after signing in: the join itself needs a POST.
        return redirect_to_login(detail_url)
    try:
        membership = services.makerspace_join(
            makerspace=makerspace, acting_user=acting_user(request)
        )
    except ApplicationError as exc:
        messages.error(
            request,
            _error_text(
                exc,
                ALREADY_MEMBER=_(
                    "You already belong to this makerspace, or your request is waiting "
                    "for approval."
                ),
                PERMISSION_DENIED=_("This makerspace takes new members by invitation only."),
            ),
        )
        return redirect(detail_url)
    if membership.status == MembershipStatus.ACTIVE:
        messages.success(
            request, _("Welcome to %(space)s! You are a member now.") % {"space": makerspace.name}
        )
    else:
        messages.info(
            request,
            _("Request sent: a manager of %(space)s will review it.") % {"space": makerspace.name},
        )
    return redirect(detail_url)


# --- my spaces, creating a space, invitations ---------------------------------------


@login_required
def my_spaces_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    context = {
        "memberships": selectors.memberships_of_user(user),
        "invitations": selectors.pending_invitations_for(user),
    }
    return render(request, "makerspaces/mine.html", context)


@login_required
def create_page(request: HttpRequest) -> HttpResponse:
    form = MakerspaceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            makerspace = services.makerspace_create(
                acting_user=acting_user(request), name=fields.pop("name"), **fields
            )
        except ApplicationError as exc:
            form.add_error(None, _error_text(exc))
        except ValidationError as exc:
            form.add_error(None, ValidationError(exc.messages))
        else:
            messages.success(
                request,
                _("%(space)s is created, and you are its admin.") % {"space": makerspace.name},
            )
            return redirect("makerspaces:detail", slug=makerspace.slug)
    return render(request, "makerspaces/create.html", {"form": form})


@login_required
@require_POST
def invitation_respond_page(request: HttpRequest, invitation_id: UUID) -> HttpResponse:
    """Accept or decline, from "my spaces", an invitation sent to the caller's address."""
    user = acting_user(request)
    decision = request.POST.get("decision")
    if decision not in ("accept", "decline"):
        return HttpResponseBadRequest(_("Choose accept or decline."))
    invitation = selectors.pending_invitations_for(user).filter(pk=invitation_id).first()
    if invitation is None:
        messages.error(request, str(ERROR_MESSAGES["INVITATION_CLOSED"]))
        return redirect("makerspaces:mine")
    try:
        if decision == "decline":
            services.invitation_decline(invitation=invitation, acting_user=user)
        else:
            membership = services.invitation_accept(invitation=invitation, acting_user=user)
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("makerspaces:mine")
    if decision == "decline":
        messages.info(request, _("You declined the invitation."))
        return redirect("makerspaces:mine")
    messages.success(request, _("Welcome to %(space)s!") % {"space": membership.makerspace.name})
    return redirect("makerspaces:detail", slug=membership.makerspace.slug)


def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: sign up or in as the invited address, then accept or decline."""
    try:
        invitation = invitation_from_token(token)
    except ApplicationError as exc:
        return render(request, "makerspaces/invitation.html", {"error": exc.message}, status=400)
    context: dict[str, object] = {"invitation": invitation}
    if not request.user.is_authenticated:
        here = request.get_full_path()
        has_account = User.objects.filter(email__iexact=invitation.email).exists()
        target = "accounts:login" if has_account else "accounts:register"
        query = {"next": here} if has_account else {"next": here, "email": invitation.email}
        context["sign_in_url"] = f"{reverse(target)}?{urlencode(query)}"
        context["has_account"] = has_account
        return render(request, "makerspaces/invitation.html", context)
    user = request.user
    assert isinstance(user, User)
    if user.email.lower() != invitation.email.lower():
        context["wrong_account"] = True
        return render(request, "makerspaces/invitation.html", context, status=403)
    if request.method == "POST":
        try:
            if request.POST.get("decision") == "decline":
                services.invitation_decline(invitation=invitation, acting_user=user)
                messages.info(request, _("You declined the invitation."))
                return redirect("home")
            membership = services.invitation_accept(
                invitation=invitation, acting_user=user, holds_emailed_link=True
            )
        except ApplicationError as exc:
            context["error"] = exc.message
            return render(request, "makerspaces/invitation.html", context, status=400)
        messages.success(
            request,
            _("Welcome to %(space)s!") % {"space": membership.makerspace.name},
        )
        return redirect("makerspaces:detail", slug=membership.makerspace.slug)
    return render(request, "makerspaces/invitation.html", context)


# --- the members page (staff) ------------------------------------------------------------


def _render_members(
    request: HttpRequest, makerspace: Makerspace, invite_form: InviteForm | None = None
) -> HttpResponse:
    user = request.user
    rights = {
        "invite": has_makerspace_permission(user, makerspace, "members.invite"),
        "approve": has_makerspace_permission(user, makerspace, "members.approve"),
        "manage": has_makerspace_permission(user, makerspace, "members.manage"),
        "grant": has_makerspace_permission(user, makerspace, "skills.grant"),
    }
    if invite_form is None:
        invite_form = InviteForm(prefix="invite", may_invite_staff=rights["manage"])
    page = Paginator(selectors.memberships_of_space(makerspace), MEMBERS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "makerspace": makerspace,
        "page": page,
        "rights": rights,
        "invite_form": invite_form,
        "invitations": selectors.invitations_of_space(makerspace) if rights["invite"] else [],
        "skills": list(selectors.skills_of_space(makerspace)) if rights["grant"] else [],
        "role_choices": MembershipRole.choices,
        "pending_status": MembershipStatus.PENDING,
    }
    return render(request, "makerspaces/members.html", context)


@login_required
def members_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_members(request, _space_for_staff(request, slug, "members.view"))


@login_required
@require_POST
def member_invite_page(request: HttpRequest, slug: str) -> HttpResponse:
    makerspace = _space_for_staff(request, slug, "members.invite")
    user = acting_user(request)
    form = InviteForm(
        request.POST,
        prefix="invite",
        may_invite_staff=has_makerspace_permission(user, makerspace, "members.manage"),
    )
    if form.is_valid():
        email = form.cleaned_data["email"]
        try:
            invitation = services.invitation_create(
                makerspace=makerspace, email=email, role=form.cleaned_data["role"], acting_user=user
            )
        except ApplicationError as exc:
            form.add_error(
                None,
                _error_text(
                    exc,
                    ALREADY_MEMBER=_("%(email)s already belongs to this makerspace.")
                    % {"email": email},
                    PERMISSION_DENIED=_("Managers invite members; only an admin can invite staff."),
                ),
            )
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return _back_to_members(makerspace)
    return _render_members(request, makerspace, invite_form=form)


@login_required
@require_POST
def invitation_revoke_page(request: HttpRequest, slug: str, invitation_id: UUID) -> HttpResponse:
    makerspace = _space_for_staff(request, slug, "members.invite")
    invitation = selectors.invitations_of_space(makerspace).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    services.invitation_revoke(invitation=invitation, acting_user=acting_user(request))
    messages.info(
        request, _("The invitation to %(email)s is withdrawn.") % {"email": invitation.email}
    )
    return _back_to_members(makerspace)


@login_required
@require_POST
def member_approve_page(request: HttpRequest, slug: str, membership_id: UUID) -> HttpResponse:
    makerspace = _space_for_staff(request, slug, "members.approve")
    membership = _member_or_404(makerspace, membership_id)
    try:
        services.membership_approve(membership=membership, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request, _("%(name)s is a member now.") % {"name": _display_name(membership)}
        )
    return _back_to_members(makerspace)


@login_required
@require_POST
def member_role_page(request: HttpRequest, slug: str, membership_id: UUID) -> HttpResponse:
    makerspace = _space_for_staff(request, slug, "members.manage")
    membership = _member_or_404(makerspace, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role: admin, manager or member."))
        return _back_to_members(makerspace)
    try:
        membership = services.membership_change_role(
            membership=membership, role=form.cleaned_data["role"], acting_user=acting_user(request)
        )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("%(name)s is now %(role)s.")
            % {"name": _display_name(membership), "role": membership.get_role_display()},
        )
    return _back_to_members(makerspace)


@login_required
@require_POST
def member_remove_page(request: HttpRequest, slug: str, membership_id: UUID) -> HttpResponse:
    makerspace = _space_for_staff(request, slug, "members.manage")
    membership = _member_or_404(makerspace, membership_id)
    try:
        services.membership_remove(membership=membership, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("%(name)s no longer belongs to this makerspace.")
            % {"name": _display_name(membership)},
        )
    return _back_to_members(makerspace)


@login_required
@require_POST
def skill_grant_page(request: HttpRequest, slug: str, membership_id: UUID) -> HttpResponse:
    makerspace = _space_for_staff(request, slug, "skills.grant")
    membership = _member_or_404(makerspace, membership_id)
    form = SkillGrantForm(
        request.POST,
        skills=selectors.skills_of_space(makerspace),
        timezone_name=makerspace.timezone,
    )
    if not form.is_valid():
        messages.error(request, _("Choose a skill of this makerspace and a valid date."))
        return _back_to_members(makerspace)
    skill = form.cleaned_data["skill"]
    try:
        services.skill_grant(
            membership=membership,
            skill=skill,
            acting_user=acting_user(request),
            expires_at=form.expires_at(),
        )
    except ApplicationError as exc:
        messages.error(
            request,
            _error_text(
                exc,
                VALIDATION_ERROR=_("The skill must be valid until today or a later day."),
            ),
        )
    else:
        messages.success(
            request,
            _("%(name)s holds %(skill)s now.")
            % {"name": _display_name(membership), "skill": skill.name},
        )
    return _back_to_members(makerspace)


@login_required
@require_POST
def skill_revoke_page(
    request: HttpRequest, slug: str, membership_id: UUID, skill_slug: str
) -> HttpResponse:
    makerspace = _space_for_staff(request, slug, "skills.grant")
    membership = _member_or_404(makerspace, membership_id)
    skill = selectors.skills_of_space(makerspace).filter(slug=skill_slug).first()
    if skill is None:
        raise Http404("No such skill.")
    try:
        services.skill_revoke(membership=membership, skill=skill, acting_user=acting_user(request))
    except ApplicationError as exc:
        messages.error(
            request,
            _error_text(exc, NOT_FOUND=_("This member does not hold that skill.")),
        )
    else:
        messages.success(
            request,
            _("%(skill)s is revoked from %(name)s.")
            % {"name": _display_name(membership), "skill": skill.name},
        )
    return _back_to_members(makerspace)


def _display_name(membership: Membership) -> str:
    return membership.user.name or membership.user.email
