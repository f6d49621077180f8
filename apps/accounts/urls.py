from django.urls import path

from apps.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("register/", views.register_page, name="register"),
    path("profile/", views.profile_page, name="profile"),
    path("profile/password/", views.password_change_page, name="password-change"),
    path("language/", views.set_language_page, name="set-language"),
    path("verify-email/resend/", views.resend_verification_page, name="verify-email-resend"),
    path("verify-email/<str:token>/", views.verify_email_page, name="verify-email"),
    path("password-reset/", views.password_reset_page, name="password-reset"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmPage.as_view(),
        name="password-reset-confirm",
    ),
]
