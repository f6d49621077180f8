from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from apps.accounts.models import User
from apps.makerspaces.invitation_tokens import invitation_token
from apps.makerspaces.models import Invitation, InvitationStatus


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(invitation_id: str) -> bool:
    invitation = (
        Invitation.objects.select_related("makerspace", "invited_by")
        .filter(pk=invitation_id, status=InvitationStatus.PENDING)
        .first()
    )
    if invitation is None:
        return False
    invitee = User.objects.filter(email__iexact=invitation.email).first()
    link = settings.SITE_URL + reverse(
        "makerspaces:invitation", kwargs={"token": invitation_token(invitation)}
    )
    context = {
        "invitation": invitation,
        "link": link,
        "has_account": invitee is not None,
        "site_url": settings.SITE_URL,
    }
    with translation.override(invitee.locale if invitee else settings.LANGUAGE_CODE):
        subject = render_to_string("makerspaces/email/invitation_subject.txt", context).strip()
        body = render_to_string("makerspaces/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    return True
