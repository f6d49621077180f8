from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.core.forms import StorableJSONField


def _is_super_admin(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


class MakrXUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class MakrXUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = MakrXUserChangeForm
    add_form = MakrXUserCreationForm
    # Preferences are refused as a form error when the database could not store them.
    formfield_overrides = {models.JSONField: {"form_class": StorableJSONField}}
    ordering = ("email",)
    list_display = (
        "email",
        "name",
        "locale",
        "email_verified",
        "is_active",
        "is_staff",
        "created_at",
    )
    list_filter = ("is_active", "is_staff", "is_superuser", "email_verified", "locale")
    search_fields = ("email", "name", "phone")
    readonly_fields = ("id", "created_at", "updated_at", "last_login")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        (_("Profile"), {"fields": ("name", "phone", "address", "locale", "preferences")}),
        (_("Status"), {"fields": ("email_verified", "is_active")}),
        (
            _("Permissions"),
            {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")},
        ),
    )

    # Makerspace staff use the admin without Django permissions; accounts stay with
    # super admins whatever permissions a staff account was given.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_super_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return _is_super_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_super_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return _is_super_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return _is_super_admin(request)
