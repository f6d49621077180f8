"""Floors: what a request costs with no framework in the way.

F0 answers a fixed small JSON body and touches nothing. F1 replays the exact SQL a
scenario's page ran (captured once by ``bench/run.py`` through the real view) on a
plain psycopg connection of this worker, and dumps the rows with orjson: the
database work of the page and nothing else, so MakrX's throughput as a fraction of
F1 is what the framework, serializers and permissions cost.
"""

import os
import pickle
from pathlib import Path
from typing import Any

import orjson
import psycopg
from django.http import HttpRequest, HttpResponse

F0_BODY = orjson.dumps({"data": {"status": "ok", "floor": "f0"}})

# One connection per gunicorn worker (sync workers serve one request at a time),
# opened on first use after the fork, and the captured statements loaded once.
_connection: psycopg.Connection[Any] | None = None
_captured: dict[str, list[tuple[str, Any]]] | None = None


def f0(request: HttpRequest) -> HttpResponse:
    return HttpResponse(F0_BODY, content_type="application/json")


def _statements(scenario: str) -> list[tuple[str, Any]] | None:
    global _captured
    if _captured is None:
        path = Path(os.environ["BENCH_CAPTURE_FILE"])
        # Written by bench/run.py on this machine for this run: a trusted local file.
        _captured = pickle.loads(path.read_bytes())
    return _captured.get(scenario)


def _cursor() -> psycopg.ClientCursor[Any]:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    # Client-side binding, as Django's PostgreSQL backend does by default, so the
    # server sees the very same statements.
    return psycopg.ClientCursor(_connection)


def _default(value: Any) -> Any:
    return str(value)


def f1(request: HttpRequest, scenario: str) -> HttpResponse:
    statements = _statements(scenario)
    if statements is None:
        return HttpResponse(b'{"error":{"code":"NOT_FOUND"}}', status=404)
    results = []
    with _cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            if cursor.description is None:
                continue
            names = [column.name for column in cursor.description]
            results.append([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
    body = orjson.dumps({"data": results}, default=_default, option=orjson.OPT_NON_STR_KEYS)
    return HttpResponse(body, content_type="application/json")
