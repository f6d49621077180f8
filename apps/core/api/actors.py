"""Who is acting on a request, and ids that must belong to the space in the URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from apps.core.exceptions import validation_error

if TYPE_CHECKING:
    from apps.accounts.models import User

M = TypeVar("M", bound=models.Model)


def acting_user(request: Request | HttpRequest) -> User:
    """The signed-in caller, for a service's ``acting_user``: the API's and the pages'.

    Views that reach a service have already required authentication; a request that
    somehow arrives without it is refused rather than acted on anonymously.
    """
    user = request.user
    if user is None or not user.is_authenticated:
        if isinstance(request, Request):
            raise NotAuthenticated()
        raise PermissionDenied
    return user


def in_space_or_400(
    queryset: models.QuerySet[M],
    *,
    pk: Any,
    makerspace_id: Any,
    field: str,
    label: str,
    space_field: str = "makerspace_id",
) -> M:
    """The row ``pk`` of ``queryset`` if it belongs to the space, else 400 on ``field``.

    Unknown ids, malformed ids and rows of another space read alike, so the answer
    tells nothing about other tenants.
    """
    try:
        found = queryset.filter(pk=pk, **{space_field: makerspace_id}).first()
    except (DjangoValidationError, ValueError, TypeError):
        found = None
    if found is None:
        raise validation_error(field, f"No such {label} in this makerspace.")
    return found
