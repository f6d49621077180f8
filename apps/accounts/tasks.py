"""Account emails, sent by Celery after the transaction that asked for them commits."""

from typing import TYPE_CHECKING

from celery import Task, shared_task
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

if TYPE_CHECKING:
    from apps.accounts.models import User


def _send(user: "User", template: str, context: dict[str, object]) -> None:
    with translation.override(user.locale):
        context = {"user": user, "site_url": settings.SITE_URL, **context}
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"accounts/email/{template}.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_verification_email(self: Task, user_id: str) -> bool:
    from apps.accounts.models import User
    from apps.accounts.tokens import make_email_verification_token

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.email_verified:
        return False
    token = make_email_verification_token(user_id=str(user.pk), email=user.email)
    link = settings.SITE_URL + reverse("accounts:verify-email", kwargs={"token": token})
    _send(
        user,
        "verify_email",
        {"link": link, "valid_days": settings.EMAIL_VERIFICATION_MAX_AGE.days},
    )
    return True


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_password_reset_email(self: Task, user_id: str) -> bool:
    from apps.accounts.models import User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.SITE_URL + reverse(
        "accounts:password-reset-confirm", kwargs={"uidb64": uid, "token": token}
    )
    _send(user, "password_reset", {"link": link, "uid": uid, "token": token})
    return True
