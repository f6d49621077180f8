"""Optimistic locking for the API: ETag on read, If-Match on write.

Two staff members editing the same row must not silently overwrite each other: the
second write, made against a version the first already changed, answers 412.
"""

import hashlib
from typing import Any

from django.db import models, transaction
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.exceptions import PreconditionFailed


def etag_for(instance: models.Model) -> str:
    version = getattr(instance, "updated_at", None)
    stamp = version.isoformat() if version is not None else ""
    digest = hashlib.sha256(f"{instance.pk}:{stamp}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def check_if_match(request: Request, instance: models.Model) -> None:
    """Raise 412 when the request's If-Match names a version that is not the current one."""
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return
    current = etag_for(instance)
    offered = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if current not in offered:
        raise PreconditionFailed(
            "PRECONDITION_FAILED",
            "The object was changed by someone else since you loaded it; reload and retry.",
            details={"current_etag": current},
        )


class OptimisticLockMixin:
    """For ModelViewSets: ETag on GET of one object; stale If-Match on PATCH/PUT → 412.

    The row is locked before the version is compared, so two writers holding the
    same ETag cannot both pass the check.
    """

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()  # type: ignore[attr-defined]
        serializer = self.get_serializer(instance)  # type: ignore[attr-defined]
        return Response(serializer.data, headers={"ETag": etag_for(instance)})

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            instance = self.get_object()  # type: ignore[attr-defined]
            instance = type(instance).objects.select_for_update(of=("self",)).get(pk=instance.pk)
            check_if_match(request, instance)
            serializer = self.get_serializer(  # type: ignore[attr-defined]
                instance, data=request.data, partial=partial
            )
            serializer.is_valid(raise_exception=True)
            self.perform_update(serializer)  # type: ignore[attr-defined]
            instance.refresh_from_db()
        return Response(serializer.data, headers={"ETag": etag_for(instance)})
