"""The one module that talks to Stripe (the ``stripe`` library).

Services call these functions outside their transactions and row locks: a call to
Stripe takes as long as the network does, and no lock should wait on it. Every
call that creates something sends an idempotency key (our own row's id), so a retry,
by the library or by us, never creates a second PaymentIntent or Refund.

``STRIPE_API_BASE`` points the library at another address (the tests' stand-in for
the Stripe API on loopback); unset, it talks to Stripe itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger("makrx.store.stripe")

# Webhooks older than this are refused, so a captured one cannot be replayed later.
WEBHOOK_TOLERANCE_SECONDS = 300
NETWORK_RETRIES = 2

# Stripe counts these currencies in whole units, and these in thousandths
# (docs.stripe.com/currencies#special-cases); every other one in hundredths.
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL_CURRENCIES = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


class ProviderError(Exception):
    """Stripe refused a request or could not be reached.

    ``definite`` says whether Stripe answered that it did not do it (a refusal: safe
    to give the reserved amount back) or the outcome is unknown (a network failure or
    a 5xx: it may have happened, so nothing may be assumed).
    """

    def __init__(self, message: str, *, definite: bool) -> None:
        super().__init__(message)
        self.message = message
        self.definite = definite


class WebhookRejected(Exception):
    """A webhook whose signature, age or body does not check out."""


@dataclass(frozen=True)
class Intent:
    id: str
    client_secret: str | None
    status: str


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    status: str


def is_enabled() -> bool:
    """Stripe is on when a secret key is set; otherwise the test-mode provider runs."""
    return bool(settings.STRIPE_SECRET_KEY)


def _exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor(amount: Decimal, currency: str) -> int:
    """``amount`` in the currency's smallest unit, as Stripe counts it.

    An amount finer than the currency allows (12.50 JPY) is a ValueError rather than
    a silent rounding of what the buyer pays.
    """
    scaled = amount.scaleb(_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is finer than the currency's smallest unit.")
    return int(scaled)


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-_exponent(currency)).quantize(Decimal("0.01"))


def _client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE or None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": base} if base else None,
        max_network_retries=NETWORK_RETRIES,
    )


def _provider_error(error: stripe.StripeError) -> ProviderError:
    status = error.http_status
    # An answer in 4xx (other than a rate limit) is Stripe saying no; anything else
    # (no answer, 429, 5xx) leaves the outcome open.
    definite = status is not None and 400 <= status < 500 and status != 429
    logger.warning("Stripe answered %s: %s", status, error.user_message or str(error))
    return ProviderError(error.user_message or str(error) or "Stripe refused.", definite=definite)


def create_payment_intent(*, amount: Decimal, currency: str, payment_id: str) -> Intent:
    """A PaymentIntent for one MakrX payment; the payment's id is the idempotency key,
    so asking again returns the same intent."""
    try:
        intent = _client().v1.payment_intents.create(
            params={
                "amount": to_minor(amount, currency),
                "currency": currency.lower(),
                "metadata": {"payment_id": payment_id},
                "automatic_payment_methods": {"enabled": True},
            },
            options={"idempotency_key": payment_id},
        )
    except stripe.StripeError as error:
        raise _provider_error(error) from error
    return Intent(id=intent.id, client_secret=intent.client_secret, status=intent.status)


def retrieve_payment_intent(intent_id: str) -> Intent:
    try:
        intent = _client().v1.payment_intents.retrieve(intent_id)
    except stripe.StripeError as error:
        raise _provider_error(error) from error
    return Intent(id=intent.id, client_secret=intent.client_secret, status=intent.status)


def create_refund(
    *, payment_intent: str, amount: Decimal, currency: str, refund_id: str, order_id: str
) -> ProviderRefund:
    """Give ``amount`` of a PaymentIntent back; the refund's id is the idempotency key
    and rides along in the metadata, so its ``charge.refunded`` event names it."""
    try:
        refund = _client().v1.refunds.create(
            params={
                "payment_intent": payment_intent,
                "amount": to_minor(amount, currency),
                "metadata": {"refund_id": refund_id, "order_id": order_id},
            },
            options={"idempotency_key": refund_id},
        )
    except stripe.StripeError as error:
        raise _provider_error(error) from error
    return ProviderRefund(id=refund.id, status=refund.status or "pending")


def construct_event(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event of a webhook, as plain JSON, once its signature and age check out."""
    try:
        stripe.Webhook.construct_event(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=WEBHOOK_TOLERANCE_SECONDS,
        )
        event = json.loads(payload)
    except stripe.SignatureVerificationError as error:
        raise WebhookRejected(f"The signature does not check out: {error}") from None
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
        # Signed, but not an event's JSON object (the library reads it as a mapping).
        raise WebhookRejected("The body is not a Stripe event.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookRejected("The body is not a Stripe event.")
    return event
