"""Member pages of makerspaces."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.makerspaces import services


def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: sign up or in as the invited address, then accept or decline."""
    try:
        invitation = services.invitation_from_token(token)
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
                services.invitation_decline(invitation=invitation, user=user)
                messages.info(request, _("You declined the invitation."))
                return redirect("home")
            membership = services.invitation_accept(invitation=invitation, user=user)
        except ApplicationError as exc:
            context["error"] = exc.message
            return render(request, "makerspaces/invitation.html", context, status=400)
        messages.success(
            request,
            _("Welcome to %(space)s!") % {"space": membership.makerspace.name},
        )
        return redirect("makerspaces:detail", slug=membership.makerspace.slug)
    return render(request, "makerspaces/invitation.html", context)
