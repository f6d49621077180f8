"""Optimistic locking: every row that can be edited has a version (its ETag), and an
update service that is given the version its caller saw refuses to write over a newer
one (412), so two staff members editing the same row cannot silently overwrite each
other.
"""

import hashlib
from typing import TypeVar

from django.db import models

from apps.core.exceptions import PreconditionFailed

M = TypeVar("M", bound=models.Model)


def etag_for(instance: models.Model) -> str:
    version = getattr(instance, "updated_at", None)
    stamp = version.isoformat() if version is not None else ""
    digest = hashlib.sha256(f"{instance.pk}:{stamp}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def check_version(instance: models.Model, expected_etag: str | None) -> None:
    """Raise 412 when ``expected_etag`` (an If-Match value) is not the row's version.

    ``None``, empty and ``*`` expect nothing. A list of tags matches any of them.
    """
    if not expected_etag or expected_etag.strip() == "*":
        return
    current = etag_for(instance)
    offered = {tag.strip().removeprefix("W/") for tag in expected_etag.split(",")}
    if current not in offered:
        raise PreconditionFailed(
            "PRECONDITION_FAILED",
            "The object was changed by someone else since you loaded it; reload and retry.",
            details={"current_etag": current},
        )


def lock_at_version(instance: M, *, expected_etag: str | None) -> M:
    """Lock the row, then compare versions: call inside the service's transaction.

    Locking first means two writers holding the same ETag cannot both pass the check;
    the second waits, then sees the new version and gets 412.
    """
    # ``__class__``, not ``type()``: a session-authenticated request.user is a lazy
    # proxy, whose type is the proxy's while ``__class__`` answers the model.
    model = instance.__class__
    locked = model._default_manager.select_for_update(of=("self",)).get(pk=instance.pk)
    check_version(locked, expected_etag)
    return locked
