"""A small OpenID Connect provider for tests and the bench, served on loopback from a
background thread.

It speaks just enough of the protocol for MakrX's sign-in: discovery, JWKS, the
authorization-code flow (authorize, token, userinfo) with RS256-signed tokens. A test
chooses who "types their password" at the provider with ``sign_in_as``, mints access
tokens with any claims, rotates the signing key, and reads per-endpoint request counts.
"""

import base64
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

DEFAULT_CLIENT_ID = "makrx-web"
DEFAULT_CLIENT_SECRET = "makrx-web-secret"
TOKEN_LIFETIME_SECONDS = 300


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, kid: str | None = None) -> "SigningKey":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid=kid or f"key-{uuid.uuid4().hex[:8]}", private_key=private_key)

    def public_jwk(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    scope: str
    identity: dict[str, Any]


@dataclass
class OIDCProvider:
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    request_counts: Counter[str] = field(default_factory=Counter)
    # Claims merged into the next id tokens, to play a provider that gets them wrong.
    id_token_overrides: dict[str, Any] = field(default_factory=dict)
    # Published in the JWKS after the provider's own keys, to play one that lists keys
    # MakrX cannot use.
    extra_jwks: list[dict[str, Any]] = field(default_factory=list)
    # The loopback port to listen on; 0 takes any free one.
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._signing_key = SigningKey.generate()
        self._published_keys = [self._signing_key]
        self._grants: dict[str, _Grant] = {}
        self._access_tokens: dict[str, dict[str, Any]] = {}
        self._identity: dict[str, Any] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.sign_in_as(email="ada@example.org", name="Ada Lovelace", email_verified=True)

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> "OIDCProvider":
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        # A short poll interval keeps shutdown quick at the end of every test.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="oidc-provider"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> "OIDCProvider":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- addresses ---------------------------------------------------------------

    @property
    def issuer(self) -> str:
        assert self._server is not None, "the provider is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def userinfo_endpoint(self) -> str:
        return f"{self.issuer}/userinfo"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": self.userinfo_endpoint,
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }

    # --- what tests control --------------------------------------------------------

    def sign_in_as(self, **identity: Any) -> dict[str, Any]:
        """Who signs in at the next /authorize; ``sub`` defaults to one stable per email."""
        email = str(identity.get("email", ""))
        identity.setdefault("sub", str(uuid.uuid5(uuid.NAMESPACE_URL, email.lower())))
        with self._lock:
            self._identity = identity
        return identity

    @property
    def signing_key(self) -> SigningKey:
        return self._signing_key

    def rotate_key(self, *, keep_old: bool = True) -> SigningKey:
        """Sign with a new key from now on; publish the old one too unless ``keep_old`` is off."""
        new_key = SigningKey.generate()
        with self._lock:
            self._published_keys = [*self._published_keys, new_key] if keep_old else [new_key]
            self._signing_key = new_key
        return new_key

    def mint_access_token(
        self,
        *,
        signing_key: SigningKey | None = None,
        kid: str | None = None,
        expires_in: int = TOKEN_LIFETIME_SECONDS,
        omit: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        """An access token shaped like Keycloak's: ``aud`` "account", the client in ``azp``.

        Any claim can be overridden by keyword; names in ``omit`` are left out.
        """
        now = int(time.time())
        email = claims.get("email", self._identity.get("email"))
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, str(email).lower())),
            "aud": "account",
            "azp": self.client_id,
            "typ": "Bearer",
            "iat": now,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
            "scope": "openid email profile",
            "email": email,
            "email_verified": self._identity.get("email_verified", True),
            "name": self._identity.get("name"),
        }
        body.update(claims)
        for name in omit:
            body.pop(name, None)
        key = signing_key or self._signing_key
        token = key.sign(body, kid=kid)
        with self._lock:
            self._access_tokens[token] = body
        return token

    # --- protocol ----------------------------------------------------------------

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if query.get("client_id") != self.client_id:
            return 400, {}, {"error": "unauthorized_client"}
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri or query.get("response_type") != "code":
            return 400, {}, {"error": "invalid_request"}
        if "openid" not in query.get("scope", "").split():
            return 400, {}, {"error": "invalid_scope"}
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = _Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                nonce=query.get("nonce"),
                scope=query.get("scope", ""),
                identity=dict(self._identity),
            )
        back = {"code": code}
        if "state" in query:
            back["state"] = query["state"]
        separator = "&" if urlsplit(redirect_uri).query else "?"
        return 302, {"Location": f"{redirect_uri}{separator}{urlencode(back)}"}, None

    def _token(
        self, form: dict[str, str], basic_auth: tuple[str, str] | None
    ) -> tuple[int, dict[str, str], Any]:
        client_id, client_secret = basic_auth or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        if client_id != self.client_id or client_secret != self.client_secret:
            return 401, {}, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {}, {"error": "unsupported_grant_type"}
        with self._lock:
            # A code is good for one exchange only.
            grant = self._grants.pop(form.get("code", ""), None)
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return 400, {}, {"error": "invalid_grant"}
        now = int(time.time())
        identity = grant.identity
        id_claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": identity["sub"],
            "aud": grant.client_id,
            "azp": grant.client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            **({"nonce": grant.nonce} if grant.nonce else {}),
            **{k: v for k, v in identity.items() if k != "sub"},
            **self.id_token_overrides,
        }
        id_token = self._signing_key.sign(id_claims)
        access_token = self.mint_access_token(**identity)
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "id_token": id_token,
            "scope": grant.scope,
        }
        return 200, {"Cache-Control": "no-store"}, body

    def _userinfo(self, authorization: str) -> tuple[int, dict[str, str], Any]:
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            claims = self._access_tokens.get(token) if scheme.lower() == "bearer" else None
        if claims is None or claims["exp"] < time.time():
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, None
        names = ("sub", "email", "email_verified", "name", "preferred_username")
        return 200, {}, {name: claims[name] for name in names if name in claims}

    def _jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [*(key.public_jwk() for key in self._published_keys), *self.extra_jwks]}


def _handler_for(provider: OIDCProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _count(self) -> str:
            path = urlsplit(self.path).path
            with provider._lock:
                provider.request_counts[path] += 1
            return path

        def _reply(self, status: int, headers: dict[str, str], body: Any) -> None:
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            path = self._count()
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if path == "/.well-known/openid-configuration":
                self._reply(200, {}, provider.discovery())
            elif path == "/jwks":
                self._reply(200, {}, provider._jwks())
            elif path == "/authorize":
                self._reply(*provider._authorize(query))
            elif path == "/userinfo":
                self._reply(*provider._userinfo(self.headers.get("Authorization", "")))
            else:
                self._reply(404, {}, {"error": "not_found"})

        def do_POST(self) -> None:
            path = self._count()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            if path == "/token":
                self._reply(*provider._token(form, _basic_auth(self.headers.get("Authorization"))))
            elif path == "/userinfo":
                self._reply(*provider._userinfo(self.headers.get("Authorization", "")))
            else:
                self._reply(404, {}, {"error": "not_found"})

    return Handler


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    decoded = base64.b64decode(header[6:]).decode()
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)
