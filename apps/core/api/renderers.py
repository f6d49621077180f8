"""The API's JSON renderer: orjson (through drf-orjson-renderer) with DRF's output.

orjson writes the common types in C, several times faster than ``json``. Two of its
choices differ from DRF's encoder, so they go through DRF's own rules instead:
datetimes (DRF answers ``Z`` for UTC and milliseconds) and every type orjson does not
know (Decimal, timedelta, lazy translations, UUID subclasses ...), for which
drf-orjson-renderer's default would quietly write ``null``. The bytes are therefore
what DRF's JSONRenderer gives, only sooner. The one value orjson cannot write at all,
an integer beyond 64 bits (a client may store one in a JSON field), goes through DRF's
renderer whole.
"""

from typing import Any

import orjson
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_DRF = JSONEncoder()


def _drf_default(value: Any) -> Any:
    # DRF's encoder knows datetimes, Decimal, timedelta, UUID, lazy strings, querysets
    # and iterables; anything else raises TypeError, which orjson turns into an error.
    return _DRF.default(value)


class JSONRenderer(ORJSONRenderer):
    options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    def render(
        self,
        data: Any,
        media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        if data is None:
            return b""
        try:
            return orjson.dumps(data, default=_drf_default, option=self.options)
        except orjson.JSONEncodeError as error:
            if "64-bit" not in str(error):
                raise
            return DRFJSONRenderer().render(data, media_type, renderer_context)
