"""OpenID Connect (Keycloak) sign-in.

Pages use mozilla-django-oidc's authorization-code flow with this backend. API
bearer tokens are verified locally against the provider's JWKS, which is cached,
so a request never waits on the provider.
"""

import json
import logging
import time
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.db.models import QuerySet
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apps.accounts.models import User
from apps.accounts.services import user_from_oidc_claims

logger = logging.getLogger("makrx.oidc")

_JWKS_CACHE_KEY = "oidc:jwks:{url}"
_JWKS_REFETCH_KEY = "oidc:jwks-refetch:{url}"
# Anyone can send a token with a made-up key id; refetching the JWKS for each of them
# would let strangers make us hammer the provider. One refetch per window is enough
# to pick up a rotated key.
JWKS_REFETCH_COOLDOWN_SECONDS = 60
CLOCK_LEEWAY_SECONDS = 30


class InvalidOIDCToken(Exception):
    pass


def email_is_verified(claims: dict[str, Any]) -> bool:
    # Some providers send the claim as the string "true"/"false"; bool("false") is True.
    verified = claims.get("email_verified", False)
    if isinstance(verified, str):
        return verified.strip().lower() == "true"
    return verified is True


def check_may_sign_in_as(user: User, claims: dict[str, Any]) -> None:
    """Refuse an unverified provider email for an account that signs in with a password.

    Whoever registers an address at the provider without proving they own it must not
    take over the MakrX account (perhaps a staff account) that already uses it.
    """
    if not email_is_verified(claims) and user.has_usable_password():
        raise InvalidOIDCToken(
            "the provider has not verified this email address, which belongs to an existing account"
        )


def _audiences(claims: dict[str, Any]) -> set[str]:
    audience = claims.get("aud")
    if isinstance(audience, str):
        return {audience}
    if isinstance(audience, list):
        return {item for item in audience if isinstance(item, str)}
    return set()


def user_for_claims(claims: dict[str, Any]) -> User:
    """The MakrX user the provider vouches for: found by email, or created."""
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise InvalidOIDCToken("the token carries no email")
    existing = User.objects.filter(email__iexact=email.strip()).first()
    if existing is not None:
        check_may_sign_in_as(existing, claims)
    return user_from_oidc_claims({**claims, "email_verified": email_is_verified(claims)})


class MakrXOIDCBackend(OIDCAuthenticationBackend):
    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        # The library checks only the signature and the nonce; OpenID Connect Core
        # (3.1.3.7) also requires the issuer, the audience and the expiry to match.
        issuer = settings.OIDC_OP_ISSUER
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation("The ID token comes from another issuer.")
        audiences = _audiences(payload)
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was issued for another client.")
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("The ID token was issued for another client.")
        expires_at = payload.get("exp")
        if not isinstance(expires_at, int | float) or (
            expires_at + CLOCK_LEEWAY_SECONDS < time.time()
        ):
            raise SuspiciousOperation("The ID token has expired.")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("email")) and super().verify_claims(claims)

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        email = claims.get("email")
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email__iexact=email)

    def create_user(self, claims: dict[str, Any]) -> User:
        try:
            return user_for_claims(claims)
        except InvalidOIDCToken as exc:
            raise SuspiciousOperation(str(exc)) from exc

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        try:
            check_may_sign_in_as(user, claims)
        except InvalidOIDCToken as exc:
            raise SuspiciousOperation(str(exc)) from exc
        changed = []
        name = claims.get("name")
        if name and name != user.name:
            user.name = name
            changed.append("name")
        if email_is_verified(claims) and not user.email_verified:
            user.email_verified = True
            changed.append("email_verified")
        if changed:
            user.save(update_fields=[*changed, "updated_at"])
        return user


def _fetch_jwks(*, refresh: bool = False) -> tuple[dict[str, Any], bool]:
    """The provider's key set and whether it was just fetched (rather than cached)."""
    url = settings.OIDC_OP_JWKS_ENDPOINT
    key = _JWKS_CACHE_KEY.format(url=url)
    if not refresh:
        cached = cache.get(key)
        if cached:
            return json.loads(cached), False
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    jwks = response.json()
    if not isinstance(jwks, dict):
        raise InvalidOIDCToken("the provider's key set is not a JSON object")
    cache.set(key, json.dumps(jwks), timeout=settings.OIDC_JWKS_CACHE_SECONDS)
    return jwks, True


def _matching_key(jwks: dict[str, Any], kid: str | None) -> Any:
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        if kid is None or jwk.get("kid") == kid:
            return jwt.PyJWK(jwk).key
    return None


def _signing_key(kid: str | None) -> Any:
    jwks, just_fetched = _fetch_jwks()
    key = _matching_key(jwks, kid)
    if key is None and not just_fetched:
        refetch_key = _JWKS_REFETCH_KEY.format(url=settings.OIDC_OP_JWKS_ENDPOINT)
        # A key id we have not seen means the provider rotated its keys: fetch once
        # more, unless another request already did within the cooldown.
        if cache.add(refetch_key, 1, timeout=JWKS_REFETCH_COOLDOWN_SECONDS):
            jwks, _ = _fetch_jwks(refresh=True)
            key = _matching_key(jwks, kid)
    if key is None:
        raise InvalidOIDCToken("no provider key matches the token")
    return key


def is_provider_token(token: str) -> bool:
    """Whether a bearer token was issued by the configured provider (signature unchecked)."""
    if not settings.OIDC_ENABLED or not settings.OIDC_OP_ISSUER:
        return False
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return claims.get("iss") == settings.OIDC_OP_ISSUER


def verify_provider_token(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
        key = _signing_key(header.get("kid"))
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[settings.OIDC_RP_SIGN_ALGO],
            issuer=settings.OIDC_OP_ISSUER,
            options={"verify_aud": False, "require": ["exp", "iss", "sub"]},
            leeway=CLOCK_LEEWAY_SECONDS,
        )
    except (jwt.PyJWTError, requests.RequestException, ValueError) as exc:
        raise InvalidOIDCToken(str(exc)) from exc
    allowed = set(settings.OIDC_API_AUDIENCES) | {settings.OIDC_RP_CLIENT_ID}
    if not (_audiences(claims) & allowed) and claims.get("azp") != settings.OIDC_RP_CLIENT_ID:
        raise InvalidOIDCToken("the token was issued for another client")
    return claims
