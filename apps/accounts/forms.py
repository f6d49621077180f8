from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.accounts import services
from apps.accounts.models import Locale, User
from apps.core.exceptions import ApplicationError
from apps.core.net import client_address


def client_ip(request: HttpRequest) -> str:
    return client_address(request)


class LoginForm(forms.Form):
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True}))
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user: User | None = None
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            self.user = services.user_login(
                email=cleaned["email"], password=cleaned["password"], ip=client_ip(self.request)
            )
        except ApplicationError as exc:
            if exc.code == "RATE_LIMITED":
                raise forms.ValidationError(
                    _("Too many failed sign-in attempts; try again later.")
                ) from exc
            raise forms.ValidationError(_("The email address or password is wrong.")) from exc
        return cleaned


class RegisterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    email = forms.EmailField(label=_("Email"), max_length=254)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)
    confirm_password = forms.CharField(
        label=_("Confirm password"), strip=False, widget=forms.PasswordInput
    )
    locale = forms.ChoiceField(label=_("Language"), choices=Locale.choices, initial=Locale.EN)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email address already exists."))
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password and password != cleaned.get("confirm_password"):
            self.add_error("confirm_password", _("The passwords do not match."))
        elif password:
            candidate = User(email=cleaned.get("email", ""), name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password, user=candidate)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name", "phone", "address", "locale"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    confirm_password = forms.CharField(
        label=_("Confirm the new password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        current = self.cleaned_data["current_password"]
        if not self.user.check_password(current):
            raise forms.ValidationError(_("Your current password is wrong."))
        return current

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        new_password = cleaned.get("new_password")
        if new_password and new_password != cleaned.get("confirm_password"):
            self.add_error("confirm_password", _("The passwords do not match."))
        elif new_password:
            try:
                password_validation.validate_password(new_password, user=self.user)
            except forms.ValidationError as exc:
                self.add_error("new_password", exc)
        return cleaned


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
