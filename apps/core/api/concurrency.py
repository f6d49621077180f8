"""Optimistic locking on the API: ETag on read, If-Match passed to the update service.

The service locks the row and compares versions in its own transaction
(``apps.core.concurrency.lock_at_version``); a view only reads the header.
"""

from rest_framework.request import Request

from apps.core.concurrency import etag_for

__all__ = ["etag_for", "if_match"]


def if_match(request: Request) -> str | None:
    """The version the caller last saw (``If-Match``), for an update service."""
    return request.headers.get("If-Match")
