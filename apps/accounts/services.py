"""Account writes: registration, email verification, sessions (refresh tokens),
password reset and change, profile changes."""

from typing import Any

from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import throttles
from apps.accounts.models import Locale, User
from apps.accounts.tokens import read_email_verification_token
from apps.core.audit import audit_record
from apps.core.concurrency import lock_at_version
from apps.core.exceptions import ApplicationError, permission_denied, validation_error
from apps.core.models import AuditLogEntry

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
    """Check credentials, counting failures per account and address (apps.accounts.throttles)."""
    # Counted before the password is checked, so parallel guesses cannot all slip
    # under the limit.
    retry_after = throttles.login_attempt_begin(email=email, ip=ip)
    if retry_after is not None:
        raise ApplicationError(
            "RATE_LIMITED",
            "Too many failed sign-in attempts; try again later.",
            status_code=429,
            headers={"Retry-After": str(retry_after)},
        )
    user = authenticate(username=email, password=password)
    if user is None:
        raise ApplicationError(
            "NOT_AUTHENTICATED",
            "The email address or password is wrong.",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    throttles.login_attempt_succeeded(email=email, ip=ip)
    assert isinstance(user, User)
    return user


def user_update_profile(
    *, user: User, acting_user: User, changes: dict[str, Any], expected_etag: str | None = None
) -> User:
    if acting_user.pk != user.pk:
        raise permission_denied("Only the account holder can change this profile.")
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ApplicationError(
            "VALIDATION_ERROR",
            "The request is not valid; see details.",
            details={field: ["This field cannot be changed here."] for field in sorted(unknown)},
        )
    with transaction.atomic():
        # Lock before comparing versions, so two tabs saving at once cannot both win.
        user = lock_at_version(user, expected_etag=expected_etag)
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


def _invalid_reset_link() -> ApplicationError:
    return ApplicationError("INVALID_TOKEN", "This reset link is invalid or has expired.")


def _lock_reset_user(*, uid: str, token: str) -> User:
    """The active account a reset link is for, its row locked (inside a transaction)."""
    try:
        user_id = force_str(urlsafe_base64_decode(uid))
        user = User.objects.select_for_update(of=("self",)).get(pk=user_id, is_active=True)
    except (ValueError, TypeError, OverflowError, ValidationError, User.DoesNotExist):
        raise _invalid_reset_link() from None
    if not default_token_generator.check_token(user, token):
        raise _invalid_reset_link()
    return user


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set the password a reset link was sent for, and end every session of the account.

    The API and the reset page both end here.
    """
    with transaction.atomic():
        # The token is checked on the locked row: a link used twice at the same moment
        # sets one password, since the first write changes the hash the token signs.
        user = _lock_reset_user(uid=uid, token=token)
        _password_write(user=user, new_password=new_password, acting_user=user)
    # The emailed link proves the account is theirs: earlier wrong guesses must not
    # keep them out with the password they just chose.
    throttles.clear_login_failures(email=user.email)
    return user


def user_change_password(
    *, user: User, current_password: str, new_password: str, acting_user: User
) -> User:
    """Change a member's own password, ending every other session of theirs.

    The caller issues new credentials for the device that asked (a token pair on the
    API, ``update_session_auth_hash`` on the pages); every earlier refresh token is
    revoked and every page session fails its session hash check.
    """
    if acting_user.pk != user.pk:
        raise permission_denied("Only the account holder can change this password.")
    with transaction.atomic():
        user = _lock_user(user_id=user.pk)
        if not user.check_password(current_password):
            raise validation_error("current_password", "The current password is wrong.")
        _password_write(user=user, new_password=new_password, acting_user=acting_user)
    return user


def _lock_user(*, user_id: Any) -> User:
    # Every path that issues, rotates or revokes a refresh token of a user locks the user
    # row first: ending all sessions then cannot miss a token a refresh is creating.
    return User.objects.select_for_update(of=("self",)).get(pk=user_id)


def _password_write(*, user: User, new_password: str, acting_user: User) -> None:
    """Write a new password on a locked user row and end all their sessions with it."""
    try:
        password_validation.validate_password(new_password, user=user)
    except ValidationError as exc:
        raise validation_error("new_password", *exc.messages) from None
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    ended = _revoke_refresh_tokens(user=user)
    # The new hash also changes the session auth hash, which ends page sessions.
    audit_record(
        actor=acting_user,
        instance=user,
        action=AuditLogEntry.Action.UPDATE,
        changes={"password": "changed", "sessions_ended": ended},
    )


def _revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every live refresh token of ``user``; the caller holds the user row lock."""
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(revoked)


# --- Sessions (refresh tokens) -----------------------------------------------------


def _invalid_refresh_token() -> ApplicationError:
    return ApplicationError(
        "NOT_AUTHENTICATED",
        "The refresh token is invalid, expired or revoked.",
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def _read_refresh_token(refresh_token: str) -> RefreshToken:
    """A refresh token with a valid signature, not expired and not yet revoked."""
    try:
        return RefreshToken(refresh_token)  # type: ignore[arg-type]
    except TokenError:
        raise _invalid_refresh_token() from None


def _lock_owner(token: RefreshToken) -> User | None:
    return (
        User.objects.select_for_update(of=("self",))
        .filter(pk=token.get(jwt_settings.USER_ID_CLAIM))
        .first()
    )


def session_refresh(*, refresh_token: str) -> RefreshToken:
    """Trade a refresh token for a new one. Each refresh token works once, even when
    several requests present it at the same moment."""
    given = _read_refresh_token(refresh_token)
    with transaction.atomic():
        user = _lock_owner(given)
        if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
            raise _invalid_refresh_token()
        # The blacklist check in reading the token ran unlocked, so requests presenting
        # one token at once all passed it; the token's row lock lets them on one at a
        # time, and every one after the first finds the token revoked.
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .filter(jti=given[jwt_settings.JTI_CLAIM], user=user)
            .first()
        )
        if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
            raise _invalid_refresh_token()
        BlacklistedToken.objects.create(token=outstanding)
        return RefreshToken.for_user(user)


def session_start(*, user: User) -> RefreshToken:
    """A new refresh token (with its access token) for one device of ``user``."""
    with transaction.atomic():
        _lock_user(user_id=user.pk)
        return RefreshToken.for_user(user)


def session_end(*, refresh_token: str, everywhere: bool = False) -> None:
    """Sign out the device holding ``refresh_token``, or with ``everywhere`` every
    device of the token's owner."""
    given = _read_refresh_token(refresh_token)
    if everywhere:
        owner = User.objects.filter(pk=given.get(jwt_settings.USER_ID_CLAIM)).first()
        if owner is None:
            raise _invalid_refresh_token()
        user_end_all_sessions(user=owner, acting_user=owner)
        return
    with transaction.atomic():
        # Same order as a refresh (user, then token), so the two cannot deadlock.
        _lock_owner(given)
        given.blacklist()


def user_end_all_sessions(*, user: User, acting_user: User) -> int:
    """Revoke every refresh token of ``user``; answers how many were live."""
    if acting_user.pk != user.pk:
        raise permission_denied("Only the account holder can end their sessions.")
    with transaction.atomic():
        user = _lock_user(user_id=user.pk)
        return _revoke_refresh_tokens(user=user)


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
