"""``Idempotency-Key``: a client that retries a write (a checkout, a payment) after a
lost answer gets the first answer again instead of a second order.

How a request with the header is handled (per user, per scope such as
``store.checkout``):

1. The key is claimed first, in its own short transaction, by inserting an
   ``IdempotencyRecord`` with no answer yet. The row's unique constraint on
   (user, scope, key) decides between two requests sent at the same moment: exactly
   one inserts it.
2. A request that finds the key already claimed compares its fingerprint (method, path
   and body) with the claim's: another request under the same key answers 409
   ``IDEMPOTENCY_KEY_REUSED``. The same request while the first is still running
   answers 409 ``IDEMPOTENCY_IN_PROGRESS`` with ``Retry-After: 1`` rather than waiting:
   a worker held for the length of someone else's checkout (and its payment provider
   call) is a worker taken from everyone else. Once the first has answered, the same
   request gets that answer again, status and body, marked ``Idempotent-Replayed``.
3. Only successful answers (2xx) are kept. An error answer, or an exception, gives the
   key back: nothing was done, so a client that fixes its cart (or waits out a busy
   row) may retry with the same key and be served, instead of hearing the old error
   forever. The exception is an error a view names in ``keep_errors``, raised after
   the work was done (a checkout whose orders are placed but whose payment did not
   start): it is the key's answer, heard again on a retry, which does nothing twice.

A claim whose request died without answering (the process was killed) is taken over
after ``STALE_CLAIM_AFTER``, far beyond any request's timeout. Records are kept for
``KEPT_FOR`` (a day, as Stripe keeps its keys): ``purge_expired`` (an hourly job)
deletes older ones, after which the same key is a new request.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.exceptions import error_body
from apps.core.exceptions import ApplicationError, ConflictError, validation_error
from apps.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# Visible ASCII, as the header's own draft standard and Stripe's keys allow.
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADER = "Idempotent-Replayed"
RETRY_AFTER_SECONDS = 1
STALE_CLAIM_AFTER = timedelta(minutes=10)
KEPT_FOR = timedelta(hours=24)
# A claim found gone (its request failed) is tried again this many times.
CLAIM_ATTEMPTS = 3

V = TypeVar("V")


def idempotency_key(request: Request) -> str | None:
    """The request's key, or None without the header; a malformed key answers 400."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not KEY_PATTERN.match(raw):
        raise validation_error(
            HEADER, "Use 1 to 255 visible ASCII characters (a UUID is a good key)."
        )
    return raw


def request_fingerprint(request: Request) -> str:
    """What makes two requests the same: method, path (with or without its trailing
    slash) and the parsed body, keys in any order."""
    body = json.dumps(
        {
            "method": request.method,
            "path": request.path.rstrip("/"),
            "body": request.data,
        },
        sort_keys=True,
        cls=DjangoJSONEncoder,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _reused() -> ConflictError:
    return ConflictError(
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was used for another request; use a new key for a new request.",
    )


def _in_progress() -> ConflictError:
    return ConflictError(
        "IDEMPOTENCY_IN_PROGRESS",
        "A request with this Idempotency-Key is still being processed; retry in a moment.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _claim(*, user: Any, scope: str, key: str, fingerprint: str) -> IdempotencyRecord | Response:
    """The new claim on the key (run the request), or the answer to replay."""
    for _attempt in range(CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=user, scope=scope, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(user=user, scope=scope, key=key).first()
        if existing is None:
            continue  # the holder failed and gave the key back: claim it again
        if existing.request_hash != fingerprint:
            raise _reused()
        if existing.status_code is not None:
            return Response(
                existing.response_body,
                status=existing.status_code,
                headers={REPLAYED_HEADER: "true"},
            )
        now = timezone.now()
        if existing.created_at < now - STALE_CLAIM_AFTER:
            # A conditional update, so that of two takers only one gets the stale claim.
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, status_code__isnull=True, created_at=existing.created_at
            ).update(created_at=now)
            if taken:
                existing.created_at = now
                return existing
        raise _in_progress()
    raise _in_progress()


def _json_body(data: Any) -> Any:
    """The answer's body as JSON values (decimals and times as the API writes them)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def idempotent_response(
    request: Request,
    *,
    scope: str,
    respond: Callable[[], Response],
    keep_errors: Collection[str] = (),
) -> Response:
    """``respond()`` run at most once per ``Idempotency-Key`` of the caller in ``scope``
    (see the module's docstring); without the header, or for an anonymous caller, it
    simply runs. ``keep_errors``: codes of the ``ApplicationError``s kept as the key's
    answer, as a success is."""
    key = idempotency_key(request)
    user = request.user
    if key is None or user is None or not user.is_authenticated:
        return respond()
    claimed = _claim(user=user, scope=scope, key=key, fingerprint=request_fingerprint(request))
    if isinstance(claimed, Response):
        return claimed
    record = claimed
    try:
        response = respond()
    except ApplicationError as error:
        if error.code in keep_errors:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=error.status_code,
                response_body=_json_body(error_body(error.code, error.message, error.details)),
            )
        else:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
        raise
    except BaseException:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        raise
    if 200 <= response.status_code < 300:
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=response.status_code, response_body=_json_body(response.data)
        )
    else:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
    return response


def idempotent(
    scope: str, *, keep_errors: Collection[str] = ()
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """A view method (``def post(self, request, ...)``, a viewset action) made
    idempotent per ``Idempotency-Key`` in ``scope`` (``keep_errors`` as
    ``idempotent_response`` takes them)."""

    def decorate(method: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(method)
        def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            return idempotent_response(
                request,
                scope=scope,
                respond=lambda: method(view, request, *args, **kwargs),
                keep_errors=keep_errors,
            )

        return wrapper

    return decorate


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete the records older than ``KEPT_FOR``; how many went."""
    before = (now or timezone.now()) - KEPT_FOR
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=before).delete()
    return deleted
