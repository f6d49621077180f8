"""Signed, expiring tokens for email verification."""

from django.conf import settings
from django.core import signing

_SALT = "makrx.accounts.verify-email"


def make_email_verification_token(*, user_id: str, email: str) -> str:
    return signing.dumps({"u": str(user_id), "e": email}, salt=_SALT, compress=True)


def read_email_verification_token(token: str) -> tuple[str, str]:
    """Return (user_id, email); raise signing.BadSignature (or SignatureExpired)."""
    payload = signing.loads(
        token,
        salt=_SALT,
        max_age=settings.EMAIL_VERIFICATION_MAX_AGE,
    )
    return payload["u"], payload["e"]
