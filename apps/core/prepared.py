"""Queries compiled once and run many times with new values.

A hot read runs a query of the same shape on every request; only its values change
(the space, the moment, the window asked for). Building and compiling such a queryset
through the ORM, with its subqueries, costs several times the SQL's own time in
Python. A ``PreparedQuery`` builds its queryset once per database with ``Param``
placeholders where those values go, keeps the SQL the ORM wrote for that database,
and binds each run's values to it, converting the rows as the ORM would.

The queryset is still written with the ORM, so the SQL stays the ORM's on every
backend; only the work of writing it is not repeated.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Expression, Field, Func, IntegerField, QuerySet
from django.db.models.expressions import Star

T = TypeVar("T")


class Param(Expression):
    """A value bound when a prepared query runs, adapted for the database as a value
    of ``output_field`` would be."""

    def __init__(self, name: str, output_field: Field) -> None:
        super().__init__(output_field=output_field)
        self.name = name

    def __repr__(self) -> str:
        return f"Param({self.name!r})"

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        # The placeholder stands in the parameters until a run replaces it.
        return "%s", [self]

    def get_group_by_cols(self) -> list[Any]:
        return []


def count_of_rows() -> Func:
    """COUNT(*) as a plain function, not an aggregate: a query annotated with it has no
    GROUP BY and answers one row, the count (also as a subquery)."""
    return Func(Star(), function="COUNT", output_field=IntegerField())


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Each parameter: a constant of the query, or the Param a run binds.
    params: tuple[Any, ...]
    # Position in the row -> (converters, expression), as the ORM's compiler keeps them.
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]
    # Position in the row of each name the query was asked for.
    order: tuple[int, ...]


class PreparedQuery:
    """``build()`` returns a ``values_list()`` queryset whose variable values are
    ``Param``s; ``rows(values)`` runs it with these values (by Param name) and returns
    its rows as tuples in the order of the names given to ``values_list``."""

    def __init__(self, build: Callable[[], QuerySet[Any]], *, using: str = DEFAULT_DB_ALIAS):
        self._build = build
        self._using = using
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, connection: BaseDatabaseWrapper) -> _Compiled:
        queryset = self._build()
        query = queryset.query
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        expressions = [expression for expression, _sql, _alias in compiler.select]
        converters = compiler.get_converters(expressions)
        # The columns as the SELECT names them, and as values_list() was asked for them.
        selected = [alias for _expression, _sql, alias in compiler.select]
        asked = list(getattr(queryset, "_fields", None) or ())
        if not asked or sorted(asked) != sorted(selected):
            raise ValueError("A prepared query must be a values_list() of named columns.")
        return _Compiled(
            sql=sql,
            params=tuple(params),
            converters=tuple(
                (position, tuple(functions), expression)
                for position, (functions, expression) in converters.items()
            ),
            order=tuple(selected.index(name) for name in asked),
        )

    def compiled(self, connection: BaseDatabaseWrapper) -> _Compiled:
        found = self._compiled.get(connection.vendor)
        if found is None:
            found = self._compiled[connection.vendor] = self._compile(connection)
        return found

    def rows(
        self, values: Mapping[str, Any], *, offset: int = 0, limit: int | None = None
    ) -> list[tuple[Any, ...]]:
        connection = connections[self._using]
        compiled = self.compiled(connection)
        params = [
            parameter.output_field.get_db_prep_value(values[parameter.name], connection)
            if isinstance(parameter, Param)
            else parameter
            for parameter in compiled.params
        ]
        sql = compiled.sql
        if limit is not None or offset:
            high = None if limit is None else offset + limit
            sql = f"{sql} {connection.ops.limit_offset_sql(offset, high)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        if compiled.converters:
            fetched = [self._convert(row, compiled, connection) for row in fetched]
        order = compiled.order
        if order != tuple(range(len(order))):
            fetched = [tuple(row[position] for position in order) for row in fetched]
        return fetched

    @staticmethod
    def _convert(
        row: Sequence[Any], compiled: _Compiled, connection: BaseDatabaseWrapper
    ) -> tuple[Any, ...]:
        values = list(row)
        for position, functions, expression in compiled.converters:
            value = values[position]
            for convert in functions:
                value = convert(value, expression, connection)
            values[position] = value
        return tuple(values)

    def value(self, values: Mapping[str, Any]) -> Any:
        """The first column of the first row (a count, a flag), None without rows."""
        found = self.rows(values)
        return found[0][0] if found else None


Page = tuple[list[T], int | None]


class Listing(Sequence[T]):
    """A list endpoint's rows for the paginator, which takes its length, then a slice.

    ``page(offset, limit)`` reads one page in one query and may count every row in the
    same query (a window function; None when it does not, or read no row to count
    on). Told the page to come (``expect``), the length reads that page and its count
    at once; otherwise, or past the last page, ``count()`` counts in a query of its own.
    """

    def __init__(
        self, *, count: Callable[[], int], page: Callable[[int, int | None], Page[T]]
    ) -> None:
        self._count = count
        self._page = page
        self._total: int | None = None
        self._expected: tuple[int, int] | None = None
        self._read: dict[tuple[int, int | None], list[T]] = {}

    def expect(self, offset: int, limit: int) -> None:
        """The slice the paginator is going to ask for."""
        self._expected = (offset, limit)

    def __len__(self) -> int:
        if self._total is None and self._expected is not None:
            found, self._total = self._page(*self._expected)
            self._read[self._expected] = found
        if self._total is None:
            self._total = self._count()
        return self._total

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, int):
            found = self[index : index + 1] if index >= 0 else []
            if not found:
                raise IndexError(index)
            return found[0]
        if index.step not in (None, 1) or (index.start or 0) < 0 or (index.stop or 0) < 0:
            raise ValueError("Only forward slices of a listing are supported.")
        offset = index.start or 0
        limit = None if index.stop is None else max(0, index.stop - offset)
        if limit == 0:
            return []
        read = self._read.get((offset, limit))
        return read if read is not None else self._page(offset, limit)[0]

    def __iter__(self) -> Iterator[T]:
        return iter(self[0:None])


def prepared_listing(
    *,
    rows: PreparedQuery,
    count: PreparedQuery,
    row: Callable[[tuple[Any, ...]], T],
    values: dict[str, Any],
    counted: bool = False,
) -> Listing[T]:
    """The rows of prepared query ``rows``, each made by ``row``, counted by ``count``.
    With ``counted``, the last column of ``rows`` counts every row (a
    ``Window(Count("*"))``) and ``row`` gets the others."""

    def page(offset: int, limit: int | None) -> Page[T]:
        found = rows.rows(values, offset=offset, limit=limit)
        if not counted:
            return [row(columns) for columns in found], None
        total = found[0][-1] if found else None
        return [row(columns[:-1]) for columns in found], total

    return Listing(count=lambda: int(count.value(values) or 0), page=page)
