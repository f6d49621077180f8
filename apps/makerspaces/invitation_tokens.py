"""Signed invitation links: made when an invitation is sent, read when it is opened."""

from datetime import timedelta

from django.core import signing

from apps.core.exceptions import ApplicationError
from apps.makerspaces.models import Invitation

INVITATION_VALID_FOR = timedelta(days=14)
_INVITATION_SALT = "makrx.makerspaces.invitation"


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(str(invitation.pk), salt=_INVITATION_SALT)


def invitation_from_token(token: str) -> Invitation:
    invalid = ApplicationError("INVALID_TOKEN", "This invitation link is invalid.")
    try:
        invitation_id = signing.loads(token, salt=_INVITATION_SALT, max_age=INVITATION_VALID_FOR)
    except signing.BadSignature:
        raise invalid from None
    invitation = Invitation.objects.select_related("makerspace").filter(pk=invitation_id).first()
    if invitation is None:
        raise invalid
    return invitation
