"""OpenID Connect (Keycloak) sign-in.

Pages use mozilla-django-oidc's authorization-code flow with this backend. API
bearer tokens are verified locally against the provider's JWKS, kept parsed in each
process and shared between processes through the cache, so a request never waits on
the provider.
"""

import base64
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apps.accounts.models import User
from apps.accounts.services import user_from_oidc_claims

logger = logging.getLogger("makrx.oidc")

# The cached entry holds the key set and when it was fetched, so every worker ages it
# from the same moment.
_JWKS_CACHE_KEY = "oidc:jwks:v2:{url}"
_JWKS_REFETCH_KEY = "oidc:jwks-refetch:{url}"
# Anyone can send a token with a made-up key id; refetching the JWKS for each of them
# would let strangers make us hammer the provider. One refetch per window is enough
# to pick up a rotated key.
JWKS_REFETCH_COOLDOWN_SECONDS = 60
# How long a process trusts the keys it holds before comparing them with the shared
# cache again: keys another worker refetched (a rotation that dropped a key) reach
# every process within this time, for one cache round trip per process per window.
PROCESS_KEYS_RECHECK_SECONDS = 30
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


def users_with_email(email: str) -> QuerySet[User]:
    """Accounts whose email matches, ignoring case: at most one, by the unique index.

    Compared through LOWER(), as that index on the column is built, the lookup is one
    index probe; ``email__iexact`` (UPPER on PostgreSQL) scans every account.
    """
    return User.objects.alias(email_lower=Lower("email")).filter(email_lower=Lower(Value(email)))


def _known_user(email: str) -> User | None:
    # Accounts keep their email lowercased (UserManager, User.clean), so the exact
    # match on the unique column is the one query a known user costs; the
    # case-insensitive lookup after it finds a row stored otherwise.
    user = next(iter(User.objects.filter(email=email.lower()).order_by()[:1]), None)
    if user is None:
        user = next(iter(users_with_email(email).order_by()[:1]), None)
    return user


def user_for_claims(claims: dict[str, Any]) -> User:
    """The MakrX user the provider vouches for: found by email, or created.

    A known user costs one query; the row is written only when the provider newly
    vouches for the email address.
    """
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise InvalidOIDCToken("the token carries no email")
    verified = email_is_verified(claims)
    existing = _known_user(email.strip())
    if existing is None:
        return user_from_oidc_claims({**claims, "email_verified": verified})
    check_may_sign_in_as(existing, claims)
    if verified and not existing.email_verified:
        existing.email_verified = True
        existing.save(update_fields=["email_verified", "updated_at"])
    return existing


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
        return users_with_email(email)

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


@dataclass(frozen=True)
class _KeySet:
    """The provider's signing keys, parsed, and when they were fetched from it."""

    url: str
    fetched_at: float
    keys: tuple[tuple[str | None, Any], ...]
    # The shared cache's entry these keys were read from or written to.
    entry: str

    @classmethod
    def from_entry(cls, url: str, entry: str) -> "_KeySet | None":
        """The key set of a shared cache entry; None when the entry is unreadable."""
        try:
            stored = json.loads(entry)
            fetched_at = float(stored["fetched_at"])
            jwks = stored["jwks"]
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(jwks, dict):
            return None
        return cls.parse(url, fetched_at, jwks, entry)

    @classmethod
    def parse(cls, url: str, fetched_at: float, jwks: dict[str, Any], entry: str) -> "_KeySet":
        keys = []
        for jwk in jwks.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(jwk).key
            except (jwt.PyJWTError, ValueError, TypeError):
                # A key we cannot read verifies nothing; the others still do.
                continue
            keys.append((jwk.get("kid"), key))
        return cls(url=url, fetched_at=fetched_at, keys=tuple(keys), entry=entry)

    def fresh(self, now: float) -> bool:
        return now < self.fetched_at + settings.OIDC_JWKS_CACHE_SECONDS

    def find(self, kid: str | None) -> Any:
        for key_id, key in self.keys:
            if kid is None or key_id == kid:
                return key
        return None


# The key set this process last saw, and when it last compared it with the shared
# cache. A token signed with one of its keys is verified without asking the shared
# cache or the provider; the shared cache (one fetch for all workers) is read when
# these keys lack the token's key, have aged out, or are due for a recheck.
_process_keys: tuple[_KeySet, float] | None = None


def forget_signing_keys() -> None:
    """Drop this process's copy of the provider's keys (the shared cache keeps its own)."""
    global _process_keys
    _process_keys = None


def _remember(keys: _KeySet, now: float) -> _KeySet:
    global _process_keys
    _process_keys = (keys, now)
    return keys


def _shared_keys(url: str, known: _KeySet | None) -> _KeySet | None:
    """The key set in the shared cache, or None when there is none or it is unreadable."""
    entry = cache.get(_JWKS_CACHE_KEY.format(url=url))
    if not isinstance(entry, str) or not entry:
        return None
    if known is not None and known.entry == entry:
        # The same keys: no need to parse them again.
        return known
    return _KeySet.from_entry(url, entry)


def _fetch_keys(url: str) -> _KeySet:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    jwks = response.json()
    if not isinstance(jwks, dict):
        raise InvalidOIDCToken("the provider's key set is not a JSON object")
    fetched_at = time.time()
    entry = json.dumps({"fetched_at": fetched_at, "jwks": jwks})
    cache.set(_JWKS_CACHE_KEY.format(url=url), entry, timeout=settings.OIDC_JWKS_CACHE_SECONDS)
    return _KeySet.parse(url, fetched_at, jwks, entry)


def _signing_key(kid: str | None) -> Any:
    url = settings.OIDC_OP_JWKS_ENDPOINT
    now = time.time()
    known, checked_at = _process_keys or (None, 0.0)
    if known is not None and known.url != url:
        known = None
    if known is not None and known.fresh(now) and now < checked_at + PROCESS_KEYS_RECHECK_SECONDS:
        key = known.find(kid)
        if key is not None:
            return key
    # This process's keys lack the token's key, have aged out or are due for a
    # recheck: another worker may have fetched newer ones.
    shared = _shared_keys(url, known)
    if shared is not None and shared.fresh(now):
        key = _remember(shared, now).find(kid)
        if key is not None:
            return key
        # A key id we have not seen means the provider rotated its keys: fetch once
        # more, unless another request already did within the cooldown.
        refetch_key = _JWKS_REFETCH_KEY.format(url=url)
        if not cache.add(refetch_key, 1, timeout=JWKS_REFETCH_COOLDOWN_SECONDS):
            raise InvalidOIDCToken("no provider key matches the token")
    key = _remember(_fetch_keys(url), now).find(kid)
    if key is None:
        raise InvalidOIDCToken("no provider key matches the token")
    return key


def _unverified_issuer(token: str) -> Any:
    """The ``iss`` claim of a compact JWS, read without checking anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    return claims.get("iss") if isinstance(claims, dict) else None


def is_provider_token(token: str) -> bool:
    """Whether a bearer token was issued by the configured provider (signature unchecked)."""
    if not settings.OIDC_ENABLED or not settings.OIDC_OP_ISSUER:
        return False
    return bool(_unverified_issuer(token) == settings.OIDC_OP_ISSUER)


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
