"""OpenID Connect (Keycloak) sign-in.

Pages use mozilla-django-oidc's authorization-code flow with this backend. API
bearer tokens are verified locally against the provider's JWKS, which is cached,
so a request never waits on the provider.
"""

import json
import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apps.accounts.models import User
from apps.accounts.services import user_from_oidc_claims

logger = logging.getLogger("makrx.oidc")

_JWKS_CACHE_KEY = "oidc:jwks:{url}"


class InvalidOIDCToken(Exception):
    pass


class MakrXOIDCBackend(OIDCAuthenticationBackend):
    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("email")) and super().verify_claims(claims)

    def filter_users_by_claims(self, claims: dict[str, Any]):  # type: ignore[no-untyped-def]
        email = claims.get("email")
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email__iexact=email)

    def create_user(self, claims: dict[str, Any]) -> User:
        return user_from_oidc_claims(claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        name = claims.get("name")
        if name and name != user.name:
            user.name = name
            user.save(update_fields=["name", "updated_at"])
        return user


def _fetch_jwks(*, refresh: bool = False) -> dict[str, Any]:
    url = settings.OIDC_OP_JWKS_ENDPOINT
    key = _JWKS_CACHE_KEY.format(url=url)
    if not refresh:
        cached = cache.get(key)
        if cached:
            return json.loads(cached)
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    jwks = response.json()
    cache.set(key, json.dumps(jwks), timeout=settings.OIDC_JWKS_CACHE_SECONDS)
    return jwks


def _signing_key(kid: str | None) -> Any:
    for refresh in (False, True):
        # A key id we have not seen means the provider rotated its keys: fetch once more.
        jwks = _fetch_jwks(refresh=refresh)
        for jwk in jwks.get("keys", []):
            if kid is None or jwk.get("kid") == kid:
                return jwt.PyJWK(jwk).key
    raise InvalidOIDCToken("no provider key matches the token")


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
            leeway=30,
        )
    except (jwt.PyJWTError, requests.RequestException) as exc:
        raise InvalidOIDCToken(str(exc)) from exc
    allowed = set(settings.OIDC_API_AUDIENCES) | {settings.OIDC_RP_CLIENT_ID}
    audience = claims.get("aud", [])
    audiences = {audience} if isinstance(audience, str) else set(audience)
    if not (audiences & allowed) and claims.get("azp") != settings.OIDC_RP_CLIENT_ID:
        raise InvalidOIDCToken("the token was issued for another client")
    return claims
