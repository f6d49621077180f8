from django.urls import path

from apps.accounts.api import views

urlpatterns = [
    path("users/register", views.RegisterView.as_view(), name="users-register"),
    path("users/login", views.LoginView.as_view(), name="users-login"),
    path("users/token/refresh", views.TokenRefreshView.as_view(), name="users-token-refresh"),
    path("users/logout", views.LogoutView.as_view(), name="users-logout"),
    path("users/me", views.MeView.as_view(), name="users-me"),
    path("users/me/password", views.PasswordChangeView.as_view(), name="users-me-password"),
    path("users/verify-email", views.EmailVerifyView.as_view(), name="users-verify-email"),
    path(
        "users/verify-email/resend",
        views.EmailVerifyResendView.as_view(),
        name="users-verify-email-resend",
    ),
    path(
        "users/password-reset",
        views.PasswordResetRequestView.as_view(),
        name="users-password-reset",
    ),
    path(
        "users/password-reset/confirm",
        views.PasswordResetConfirmView.as_view(),
        name="users-password-reset-confirm",
    ),
]
