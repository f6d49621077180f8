"""The check every lean read function answers to: the same JSON as its serializer."""

import json
from collections.abc import Callable, Iterable
from typing import Any

from rest_framework.serializers import BaseSerializer
from rest_framework.utils.encoders import JSONEncoder


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=JSONEncoder))


def assert_lean_matches(
    lean: Callable[[Any], dict[str, Any]],
    serializer_class: type[BaseSerializer],
    instances: Iterable[Any],
    context: dict[str, Any] | None = None,
) -> int:
    """Each instance through ``lean`` and through ``serializer_class`` gives the same
    JSON, key order included; returns how many were compared (a caller asserts it is
    not zero, so an empty fixture cannot pass unnoticed)."""
    compared = 0
    for instance in instances:
        expected = _as_json(serializer_class(instance, context=context or {}).data)
        got = _as_json(lean(instance))
        assert list(got) == list(expected), (list(got), list(expected))
        differing = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
        assert got == expected, differing
        compared += 1
    return compared
