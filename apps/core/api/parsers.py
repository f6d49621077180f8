import io
import json
import math
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser, DataAndFiles, JSONParser

from apps.core.api.exceptions import PayloadTooLarge

# Deeper than any document of ours; past it a body is an attack on the recursion of
# whatever walks it next (serializers, json.dumps, the jsonb input function).
MAX_JSON_DEPTH = 64

# Lone UTF-16 surrogates survive json.loads ("\ud800") but cannot be encoded to UTF-8,
# so PostgreSQL never receives them: the driver fails mid-query.
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONTooDeep(ValueError):
    """A decoded JSON document nests more than ``MAX_JSON_DEPTH`` containers."""


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        # PostgreSQL stores neither text nor jsonb with a NUL character in it.
        return "Text may not contain the NUL character (\\u0000)."
    if _SURROGATE.search(text):
        return "Text may not contain a lone UTF-16 surrogate (\\ud800 to \\udfff)."
    return None


def _child_path(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def json_problems(document: Any, *, max_depth: int = MAX_JSON_DEPTH) -> dict[str, list[str]]:
    """Every value of a decoded JSON document that cannot be stored, by path (``a.b[2]``).

    Walks with a stack rather than recursion, so a deep document cannot exhaust the
    interpreter's stack here. Raises ``JSONTooDeep`` past ``max_depth`` containers.
    """
    problems: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= max_depth:
                raise JSONTooDeep(f"JSON may not be nested more than {max_depth} levels deep.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                child_path = _child_path(path, key)
                if isinstance(key, str):
                    problem = _text_problem(key)
                    if problem is not None:
                        # The key is named escaped, as JSON would write it, since its
                        # raw form cannot be sent back either.
                        escaped = json.dumps(key)[1:-1]
                        problems.setdefault(_child_path(path, escaped), []).append(
                            f"This key is not allowed. {problem}"
                        )
                        continue
                stack.append((child, child_path, depth + 1))
        elif isinstance(value, str):
            problem = _text_problem(value)
            if problem is not None:
                problems.setdefault(path or "body", []).append(problem)
        elif isinstance(value, float) and not math.isfinite(value):
            problems.setdefault(path or "body", []).append(
                "Numbers must be finite; this one is out of range."
            )
    return problems


class BoundedJSONParser(JSONParser):
    """JSON parser that refuses bodies it could not safely hand on.

    Refused: bodies over ``API_MAX_BODY_BYTES`` (DRF streams the body to the parser,
    bypassing DATA_UPLOAD_MAX_MEMORY_SIZE, so the limit is enforced here by reading
    one byte past it), nesting past ``MAX_JSON_DEPTH``, and strings or keys that
    PostgreSQL cannot store. Checking here covers every API body, including the
    free-form JSON fields (preferences, settings, specifications).
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
        if not raw:
            # No body at all is an empty object; whitespace alone is not JSON.
            return {}
        try:
            document = super().parse(io.BytesIO(raw), media_type, parser_context)
        except ParseError as exc:
            raise ParseError(f"The body is not valid JSON: {exc.detail}") from exc
        except RecursionError:
            raise ParseError(
                f"JSON may not be nested more than {MAX_JSON_DEPTH} levels deep."
            ) from None
        try:
            problems = json_problems(document)
        except JSONTooDeep as exc:
            raise ParseError(str(exc)) from None
        if problems:
            raise ValidationError(problems)
        return document


class CSVFileParser(BaseParser):
    """A ``text/csv`` body taken as the uploaded file ``file``, as a multipart form
    would carry it, so a view reads either from ``request.FILES``.

    Reads one byte past ``CSV_IMPORT_MAX_BYTES``: the view's own size check then
    refuses a larger file without the rest of it being read.
    """

    media_type = "text/csv"

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> DataAndFiles:
        limit = settings.CSV_IMPORT_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        upload = SimpleUploadedFile("upload.csv", raw, content_type=self.media_type)
        return DataAndFiles({}, {"file": upload})
