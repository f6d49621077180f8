"""Optimistic locking for the API: ETag on read, If-Match on write.

Two staff members editing the same row must not silently overwrite each other: the
second write, made against a version the first already changed, answers 412.
"""

import hashlib
from typing import TypeVar

from django.db import models
from rest_framework.request import Request

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


M = TypeVar("M", bound=models.Model)


def lock_if_match(request: Request, instance: M) -> M:
    """Lock the row, then compare versions: call inside the write's transaction.

    Locking first means two writers holding the same ETag cannot both pass the check;
    the second waits, then sees the new version and gets 412.
    """
    # ``__class__``, not ``type()``: a session-authenticated request.user is a lazy
    # proxy, whose type is the proxy's while ``__class__`` answers the model.
    model = instance.__class__
    locked = model._default_manager.select_for_update(of=("self",)).get(pk=instance.pk)
    check_if_match(request, locked)
    return locked
