import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from apps.core.api.exceptions import PayloadTooLarge


class BoundedJSONParser(JSONParser):
    """JSON parser that refuses bodies over ``API_MAX_BODY_BYTES``.

    DRF streams the body to the parser, bypassing DATA_UPLOAD_MAX_MEMORY_SIZE, so
    the limit is enforced here by reading one byte past it.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if not raw.strip():
            return {}
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except ParseError as exc:
            raise ParseError(f"The body is not valid JSON: {exc.detail}") from exc
