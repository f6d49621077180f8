"""Domain errors. Services raise these; the API handler turns them into the envelope."""

from typing import Any


class ApplicationError(Exception):
    """A business rule said no. ``code`` is the stable UPPER_SNAKE code clients match on."""

    status_code = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        if status_code is not None:
            self.status_code = status_code


class ConflictError(ApplicationError):
    status_code = 409


class PreconditionFailed(ApplicationError):
    status_code = 412


def validation_error(field: str, *messages: str) -> ApplicationError:
    """A 400 VALIDATION_ERROR naming one field, shaped like a serializer's."""
    return ApplicationError(
        "VALIDATION_ERROR",
        "The request is not valid; see details.",
        details={field: list(messages)},
    )


def permission_denied(message: str = "You may not do this in this makerspace.") -> ApplicationError:
    """The one 403 PERMISSION_DENIED that services raise."""
    return ApplicationError("PERMISSION_DENIED", message, status_code=403)
