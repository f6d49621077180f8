"""Account writes: registration, email verification, password reset, profile changes."""

from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from apps.accounts import throttles
from apps.accounts.models import Locale, User
from apps.accounts.tokens import read_email_verification_token
from apps.core.exceptions import ApplicationError, validation_error

PROFILE_FIELDS = ("name", "phone", "address", "locale", "preferences")


def _duplicate_email() -> ApplicationError:
    return validation_error("email", "An account with this email address already exists.")


def user_register(
    *,
    email: str,
    name: str,
    password: str,
    locale: str = Locale.EN,
    phone: str = "",
) -> User:
    from apps.accounts.tasks import send_verification_email

    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise _duplicate_email()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, name=name.strip(), locale=locale, phone=phone
            )
            transaction.on_commit(lambda: send_verification_email.delay(str(user.pk)))
    except IntegrityError:
        # Two sign-ups with one address raced past the check; the unique index decided.
        raise _duplicate_email() from None
    return user


def user_login(*, email: str, password: str, ip: str) -> User:
    """Check credentials, counting failures per account and per address."""
    retry_after = throttles.login_retry_after(email=email, ip=ip)
    if retry_after is not None:
        raise ApplicationError(
            "RATE_LIMITED",
            "Too many failed sign-in attempts; try again later.",
            status_code=429,
            headers={"Retry-After": str(retry_after)},
        )
    user = authenticate(username=email, password=password)
    if user is None:
        throttles.record_login_failure(email=email, ip=ip)
        raise ApplicationError(
            "NOT_AUTHENTICATED",
            "The email address or password is wrong.",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    throttles.clear_login_failures(email=email)
    assert isinstance(user, User)
    return user


def user_update_profile(*, user: User, acting_user: User, changes: dict[str, Any]) -> User:
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ApplicationError(
            "VALIDATION_ERROR",
            "The request is not valid; see details.",
            details={field: ["This field cannot be changed here."] for field in sorted(unknown)},
        )
    with transaction.atomic():
        for field, value in changes.items():
            setattr(user, field, value)
        user.save(update_fields=[*changes, "updated_at"])
    return user


def user_request_email_verification(*, user: User) -> None:
    from apps.accounts.tasks import send_verification_email

    if user.email_verified:
        return
    transaction.on_commit(lambda: send_verification_email.delay(str(user.pk)))


def user_verify_email(*, token: str) -> User:
    invalid = ApplicationError("INVALID_TOKEN", "This verification link is invalid or has expired.")
    try:
        user_id, email = read_email_verification_token(token)
    except signing.BadSignature:
        raise invalid from None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id, email__iexact=email).first()
        if user is None:
            raise invalid
        if not user.email_verified:
            user.email_verified = True
            user.save(update_fields=["email_verified", "updated_at"])
    return user


def password_reset_request(*, email: str) -> None:
    """Send a reset link if the account exists; answer the same either way."""
    from apps.accounts.tasks import send_password_reset_email

    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return
    user_id = str(user.pk)
    transaction.on_commit(lambda: send_password_reset_email.delay(user_id))


def password_reset_user(*, uid: str, token: str) -> User:
    invalid = ApplicationError("INVALID_TOKEN", "This reset link is invalid or has expired.")
    try:
        user_id = force_str(urlsafe_base64_decode(uid))
        user = User.objects.get(pk=user_id, is_active=True)
    except (ValueError, TypeError, OverflowError, ValidationError, User.DoesNotExist):
        raise invalid from None
    if not default_token_generator.check_token(user, token):
        raise invalid
    return user


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    with transaction.atomic():
        user = password_reset_user(uid=uid, token=token)
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
    # The emailed link proves the account is theirs: earlier wrong guesses must not
    # keep them out with the password they just chose.
    throttles.clear_login_failures(email=user.email)
    return user


def user_from_oidc_claims(claims: dict[str, Any]) -> User:
    """Find or create the MakrX user an identity provider vouches for, by email."""
    email = str(claims.get("email", "")).strip().lower()
    if not email:
        raise ApplicationError(
            "NOT_AUTHENTICATED", "The identity token carries no email.", status_code=401
        )
    name = str(claims.get("name") or claims.get("preferred_username") or email.split("@")[0])
    verified = bool(claims.get("email_verified", False))
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        if verified and not user.email_verified:
            user.email_verified = True
            user.save(update_fields=["email_verified", "updated_at"])
        return user
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=None, name=name)
            user.email_verified = verified
            user.save(update_fields=["email_verified"])
    except IntegrityError:
        user = User.objects.get(email__iexact=email)
    return user
