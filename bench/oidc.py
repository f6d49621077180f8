"""The bench's OpenID Connect provider: the tests' loopback provider, run for the bench.

It starts before Django's settings are read, so that its issuer is in the OIDC_*
environment of both the process that drives the bench and gunicorn's workers, which
fetch the provider's keys from it on their first provider-token request. It serves
from a thread of the process that drives the bench, only on 127.0.0.1.
"""

from tests.oidc_provider import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OIDCProvider

HOST = "127.0.0.1"


def start(port: int = 0) -> OIDCProvider:
    """A running provider on ``port`` (0: any free port)."""
    try:
        return OIDCProvider(port=port).start()
    except OSError as exc:
        raise SystemExit(
            f"The bench's OpenID Connect provider cannot listen on {HOST}:{port} ({exc}); "
            "set BENCH_OIDC_PORT to a free port, or to 0 for any."
        ) from exc


def environment(provider: OIDCProvider) -> dict[str, str]:
    """The OIDC_* settings that point MakrX at ``provider``."""
    return {
        "OIDC_RP_CLIENT_ID": DEFAULT_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "OIDC_OP_ISSUER": provider.issuer,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": provider.authorization_endpoint,
        "OIDC_OP_TOKEN_ENDPOINT": provider.token_endpoint,
        "OIDC_OP_USER_ENDPOINT": provider.userinfo_endpoint,
        "OIDC_OP_JWKS_ENDPOINT": provider.jwks_uri,
        "OIDC_RP_SIGN_ALGO": "RS256",
    }


def access_token(provider: OIDCProvider, *, email: str, name: str, lifetime_seconds: int) -> str:
    """A provider access token for ``email``, shaped like Keycloak's, the email verified."""
    return provider.mint_access_token(
        email=email, name=name, email_verified=True, expires_in=lifetime_seconds
    )
