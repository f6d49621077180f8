"""A small stand-in for the Stripe API on loopback, for tests that run the real
``stripe`` library end to end.

It answers the calls MakrX makes (create and retrieve a PaymentIntent, create a
Refund) the way Stripe does: form-encoded requests, JSON answers, error bodies of
Stripe's shape, and the same answer again for a repeated ``Idempotency-Key``. A test
can slow every answer down (``delay``), make the next answers fail (``fail_next``),
and mark an intent paid (``succeed``) before sending its webhook.

The webhook helpers sign event bodies with Stripe's scheme (``t=<unix time>,
v1=<HMAC-SHA256 of "<t>.<body>" under the endpoint secret>``), computed here with
``hmac`` rather than by the library under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_makrx_stand_in"
WEBHOOK_SECRET = "whsec_makrx_stand_in"


@dataclass
class Failure:
    """An answer the stand-in gives instead of the real one, once."""

    path: str  # the path it applies to, e.g. "/v1/refunds"
    status: int  # 400 (a refusal), 500 (the outcome unknown)
    message: str = "Refused by the stand-in."
    error_type: str = "invalid_request_error"


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``metadata[payment_id]=x`` → ``{"metadata": {"payment_id": "x"}}``."""
    nested: dict[str, Any] = {}
    for key, value in pairs:
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            nested.setdefault(outer, {})[inner] = value
        else:
            nested[key] = value
    return nested


@dataclass
class StripeStandIn:
    url: str = ""
    delay: float = 0.0
    refund_status: str = "succeeded"
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_next: list[Failure] = field(default_factory=list)
    _answers: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what tests read and change --

    def calls(self, method: str, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def succeed(self, intent_id: str) -> dict[str, Any]:
        with self._lock:
            intent = self.intents[intent_id]
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            return dict(intent)

    # -- the API --

    def answer(
        self, method: str, path: str, params: dict[str, Any], key: str | None
    ) -> tuple[int, dict[str, Any]]:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.requests.append(RecordedRequest(method, path, params, key))
            if key is not None and (path, key) in self._answers:
                return self._answers[(path, key)]
            failure = next((f for f in self.fail_next if f.path == path), None)
            if failure is not None:
                self.fail_next.remove(failure)
                return failure.status, {
                    "error": {"type": failure.error_type, "message": failure.message}
                }
            status, body = self._route(method, path, params)
            if key is not None and method == "POST":
                self._answers[(path, key)] = (status, body)
            return status, body

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v1/payment_intents":
            return self._create_intent(params)
        if method == "GET" and path.startswith("/v1/payment_intents/"):
            intent = self.intents.get(path.rsplit("/", 1)[1])
            if intent is None:
                return _missing("payment_intent")
            return 200, dict(intent)
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund(params)
        return 404, {"error": {"type": "invalid_request_error", "message": f"No {path}."}}

    def _create_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            amount = int(params["amount"])
        except (KeyError, ValueError):
            return 400, {"error": {"type": "invalid_request_error", "message": "amount"}}
        intent_id = f"pi_{secrets.token_hex(12)}"
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": params.get("currency", ""),
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "metadata": params.get("metadata", {}),
            "livemode": False,
        }
        self.intents[intent_id] = intent
        return 200, dict(intent)

    def _create_refund(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None:
            return _missing("payment_intent")
        if intent["status"] != "succeeded":
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": "This PaymentIntent does not have a successful charge to refund.",
                }
            }
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        amount = int(params.get("amount", intent["amount"] - refunded))
        if refunded + amount > intent["amount"]:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "charge_already_refunded",
                    "message": "Refund amount is greater than the unrefunded amount.",
                }
            }
        refund_id = f"re_{secrets.token_hex(12)}"
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": self.refund_status,
            "metadata": params.get("metadata", {}),
        }
        self.refunds[refund_id] = refund
        return 200, dict(refund)

    def refunded_on(self, intent_id: str) -> int:
        with self._lock:
            return sum(
                r["amount"]
                for r in self.refunds.values()
                if r["payment_intent"] == intent_id and r["status"] != "failed"
            )


def _missing(what: str) -> tuple[int, dict[str, Any]]:
    return 404, {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"No such {what}.",
        }
    }


def _handler(stand_in: StripeStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            split = urlsplit(self.path)
            pairs = parse_qsl(raw or split.query, keep_blank_values=True)
            status, body = stand_in.answer(
                method, split.path, _nest(pairs), self.headers.get("Idempotency-Key")
            )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
            # The library would otherwise retry errors itself and slow the tests down.
            self.send_header("Stripe-Should-Retry", "false")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running(*, delay: float = 0.0) -> Iterator[StripeStandIn]:
    """The stand-in serving on 127.0.0.1 at a free port until the block ends."""
    stand_in = StripeStandIn(delay=delay)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stand_in))
    server.daemon_threads = True
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def stripe_on(settings: Any, *, delay: float = 0.0) -> Iterator[StripeStandIn]:
    """Stripe switched on in ``settings`` (pytest-django's fixture), talking to the
    stand-in."""
    with running(delay=delay) as stand_in:
        settings.STRIPE_SECRET_KEY = SECRET_KEY
        settings.STRIPE_PUBLISHABLE_KEY = "pk_test_makrx_stand_in"
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = stand_in.url
        yield stand_in


# --- webhooks -----------------------------------------------------------------------------


def signature_header(body: str, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send with ``body``."""
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def charge_refunded(
    intent: dict[str, Any], *, amount_refunded: int, refunds: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The Charge of ``intent`` as ``charge.refunded`` carries it."""
    charge: dict[str, Any] = {
        "id": f"ch_{secrets.token_hex(12)}",
        "object": "charge",
        "amount": intent["amount"],
        "amount_refunded": amount_refunded,
        "currency": intent["currency"],
        "payment_intent": intent["id"],
        "refunded": amount_refunded >= intent["amount"],
    }
    if refunds is not None:
        charge["refunds"] = {"object": "list", "data": refunds}
    return charge
