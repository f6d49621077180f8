from typing import Any

from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from apps.accounts import oidc

BEARER_CHALLENGE = 'Bearer realm="api"'


class OIDCBearerAuthentication(authentication.BaseAuthentication):
    """Accept access tokens of the configured OIDC provider (checked locally via JWKS).

    Tokens from any other issuer are left to the next authenticator (our own JWT).
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        if not settings.OIDC_ENABLED:
            return None
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != b"bearer":
            return None
        token = header[1].decode("latin-1")
        if not oidc.is_provider_token(token):
            return None
        try:
            claims = oidc.verify_provider_token(token)
            user = oidc.user_for_claims(claims)
        except oidc.InvalidOIDCToken as exc:
            raise exceptions.AuthenticationFailed(f"The access token is not valid: {exc}") from exc
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This account is disabled.")
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return BEARER_CHALLENGE


class JWTBearerAuthentication(JWTAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return BEARER_CHALLENGE


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """The pages' session also works on the API, with CSRF checks."""
