"""One error shape for the whole API: ``{"error": {"code", "message", "details"}}``."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from apps.core.exceptions import ApplicationError

logger = logging.getLogger("makrx.api")

# PostgreSQL's lock_not_available: a row lock could not be taken in time.
LOCK_NOT_AVAILABLE = "55P03"
LOCK_RETRY_AFTER_SECONDS = 1


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "VALIDATION_ERROR"),
    (exceptions.ParseError, "MALFORMED_REQUEST"),
    (exceptions.NotAuthenticated, "NOT_AUTHENTICATED"),
    (exceptions.AuthenticationFailed, "NOT_AUTHENTICATED"),
    (exceptions.PermissionDenied, "PERMISSION_DENIED"),
    (exceptions.NotFound, "NOT_FOUND"),
    (exceptions.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (exceptions.NotAcceptable, "NOT_ACCEPTABLE"),
    (exceptions.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (exceptions.Throttled, "RATE_LIMITED"),
    (PayloadTooLarge, "PAYLOAD_TOO_LARGE"),
]


def _code_for(exc: exceptions.APIException) -> str:
    for exc_class, code in _CODES:
        if isinstance(exc, exc_class):
            return code
    return str(exc.default_code).upper()


def _message_for(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "The request is not valid; see details."
    if isinstance(exc, exceptions.Throttled):
        seconds = getattr(exc, "wait", None)
        wait = f" Try again in {int(seconds)} seconds." if seconds is not None else ""
        return f"Too many requests.{wait}"
    detail = exc.detail
    if isinstance(detail, list | dict):
        return "The request could not be processed."
    return str(detail)


def _api_exception_response(exc: exceptions.APIException) -> Response:
    details: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        details = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    elif isinstance(exc.detail, dict):
        details = exc.detail
    headers: dict[str, str] = {}
    seconds = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and seconds is not None:
        headers["Retry-After"] = str(max(1, int(seconds)))
    return Response(
        error_body(_code_for(exc), _message_for(exc), details),
        status=exc.status_code,
        headers=headers,
    )


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, ApplicationError):
        return Response(
            error_body(exc.code, exc.message, exc.details),
            status=exc.status_code,
            headers=exc.headers,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc))
    elif isinstance(exc, OperationalError) and _is_lock_timeout(exc):
        return Response(
            error_body("LOCK_TIMEOUT", "The object is busy; try again in a moment."),
            status=status.HTTP_409_CONFLICT,
            headers={"Retry-After": str(LOCK_RETRY_AFTER_SECONDS)},
        )

    if isinstance(exc, exceptions.APIException):
        response = _api_exception_response(exc)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            # DRF adds WWW-Authenticate itself when the view knows the scheme; make sure
            # every 401 carries it, as the contract says.
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            response.status_code = status.HTTP_401_UNAUTHORIZED
        return response

    request = context.get("request")
    logger.exception(
        "Unhandled error in %s %s",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
    )
    return Response(
        error_body("INTERNAL_ERROR", "Something went wrong on our side; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _is_lock_timeout(exc: OperationalError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == LOCK_NOT_AVAILABLE


# Exempt so that a write to a path that does not exist hears 404, not the pages' CSRF
# 403 (CsrfViewMiddleware runs on the resolved view, and this view is what every
# unrouted /api/ path resolves to). It changes nothing, so there is nothing to forge;
# real API routes are DRF views, which check CSRF themselves for session callers.
@csrf_exempt
def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body("NOT_FOUND", f"Nothing is found at {request.path}."),
        status=status.HTTP_404_NOT_FOUND,
    )


def api_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("INTERNAL_ERROR", "Something went wrong on our side; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
