"""Account pages: sign in, sign up, sign out, email verification, password reset and
change, profile, and the language switch."""

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_POST

from apps.accounts import services, throttles
from apps.accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    ProfileForm,
    RegisterForm,
    client_ip,
)
from apps.accounts.models import Locale, User
from apps.core.api.throttles import scope_limit
from apps.core.exceptions import ApplicationError

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return str(reverse_lazy("home"))


def login_page(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        assert form.user is not None
        login(request, form.user, backend=MODEL_BACKEND)
        return redirect(_next_url(request))
    return render(request, "accounts/login.html", {"form": form, "next": _next_url(request)})


@require_POST
def logout_page(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("home")


def _too_many(request: HttpRequest, scope: str) -> bool:
    """Whether this address used a page form of ``scope`` more than its API rate allows."""
    limit = scope_limit(scope)
    if limit is None:
        return False
    return throttles.page_rate_limited(
        scope=scope, ip=client_ip(request), limit=limit[0], window_seconds=limit[1]
    )


def register_page(request: HttpRequest) -> HttpResponse:
    # A visitor reading the page in Ukrainian gets Ukrainian emails unless they choose otherwise.
    language = translation.get_language()
    initial_locale = language if language in Locale.values else Locale.EN
    # An invitation link sends newcomers here with their address filled in.
    initial = {"locale": initial_locale, "email": request.GET.get("email", "")}
    form = RegisterForm(request.POST or None, initial=initial)
    if request.method == "POST" and _too_many(request, "register"):
        form.add_error(None, _("Too many sign-ups from your address; try again later."))
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_register(
                email=data["email"],
                name=data["name"],
                password=data["password"],
                locale=data["locale"],
            )
        except ApplicationError as exc:
            # The service's details are English API text; the form's own check already
            # words the one error it raises (a duplicate address) in the reader's language.
            if "email" in exc.details:
                form.add_error("email", _("An account with this email address already exists."))
            else:
                form.add_error(None, exc.message)
        else:
            login(request, user, backend=MODEL_BACKEND)
            messages.success(
                request, _("Welcome to MakrX! We sent you a link to verify your email address.")
            )
            return redirect(_next_url(request))
    return render(request, "accounts/register.html", {"form": form, "next": _next_url(request)})


def verify_email_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = services.user_verify_email(token=token)
    except ApplicationError:
        return render(
            request,
            "accounts/verify_email.html",
            {"error": _("This verification link is invalid or has expired.")},
            status=400,
        )
    return render(request, "accounts/verify_email.html", {"verified_user": user})


@login_required
@require_POST
def resend_verification_page(request: HttpRequest) -> HttpResponse:
    services.user_request_email_verification(user=request.user)  # type: ignore[arg-type]
    messages.info(request, _("A new verification link is on its way."))
    return redirect("accounts:profile")


def password_reset_page(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and _too_many(request, "email"):
        form.add_error(None, _("Too many requests from your address; try again later."))
    elif request.method == "POST" and form.is_valid():
        services.password_reset_request(email=form.cleaned_data["email"])
        return render(request, "accounts/password_reset_sent.html")
    return render(request, "accounts/password_reset.html", {"form": form})


class PasswordResetConfirmPage(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")

    def form_valid(self, form: Any) -> HttpResponse:
        # The same service as the API's reset: it checks the link's token again on the
        # locked account, writes the password, ends every session of the account and
        # lifts the sign-in lock of earlier wrong guesses.
        try:
            services.password_reset_confirm(
                uid=self.kwargs["uidb64"],
                token=self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN],
                new_password=form.cleaned_data["new_password1"],
            )
        except ApplicationError as exc:
            if exc.code == "VALIDATION_ERROR":
                for message in exc.details.get("new_password", [exc.message]):
                    form.add_error("new_password2", message)
                return self.form_invalid(form)
            # The link was used in another tab a moment ago.
            self.validlink = False
            return self.render_to_response(self.get_context_data(form=form))
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        messages.success(
            self.request, _("Your password has been changed; sign in with the new one.")
        )
        return HttpResponseRedirect(self.get_success_url())


@login_required
def profile_page(request: HttpRequest) -> HttpResponse:
    # The form fills its instance with what was typed even when it is invalid; a copy
    # keeps the page header showing the saved name until the change is saved.
    form = ProfileForm(request.POST or None, instance=copy.copy(request.user))
    if request.method == "POST" and form.is_valid():
        user = services.user_update_profile(
            user=request.user,  # type: ignore[arg-type]
            acting_user=request.user,  # type: ignore[arg-type]
            changes={field: form.cleaned_data[field] for field in form.changed_data},
        )
        # The next page is shown in the language just chosen; so is the confirmation.
        with translation.override(user.locale):
            messages.success(request, _("Your profile is saved."))
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def password_change_page(request: HttpRequest) -> HttpResponse:
    member = request.user
    assert isinstance(member, User)  # login_required let only members through
    form = PasswordChangeForm(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_change_password(
                user=member,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                acting_user=member,
            )
        except ApplicationError as exc:
            # The form's own checks word these errors in the reader's language; the
            # service's repeat them only when the account changed in between.
            if "current_password" in exc.details:
                form.add_error("current_password", _("Your current password is wrong."))
            else:
                for message in exc.details.get("new_password", [exc.message]):
                    form.add_error("new_password", message)
        else:
            # This browser stays signed in; every other session of the member has ended.
            update_session_auth_hash(request, user)
            messages.success(
                request, _("Your password is changed; you are signed out everywhere else.")
            )
            return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


@require_POST
def set_language_page(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which for a signed-in member also changes their locale.

    A signed-in member's locale wins over the language cookie (UserLocaleMiddleware),
    so switching only the cookie would change nothing they can see.
    """
    response = i18n.set_language(request)
    language = request.POST.get(i18n.LANGUAGE_QUERY_PARAMETER, "")
    user = request.user
    if user.is_authenticated and language in Locale.values and language != user.locale:
        services.user_update_profile(
            user=user,
            acting_user=user,
            changes={"locale": language},
        )
    return response
