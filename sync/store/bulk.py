"""Many rows through one statement: a Core statement compiled once, run by the driver's executemany.

SQLAlchemy's own executemany builds a parameter dictionary for every row from the compiled
statement and then looks up and runs each column's bind processor: for a page of bookings
(some thirty columns) that was most of the time a first sync spent writing, far more than
the database's own work. :class:`BulkStatement` compiles its statement once per dialect,
resolves each parameter's processor once, and hands the driver the rows as plain tuples
(or mappings, for drivers with named parameters) through
:meth:`sqlalchemy.engine.Connection.exec_driver_sql`, in the session's transaction; values
the same for every row of a call (a page's "now") are processed once per call.

The statement, its rendering (``ON CONFLICT``, PostgreSQL's casts) and the processors are
SQLAlchemy's own, so what reaches the database is what ``session.execute(statement, rows)``
would send; errors are wrapped as SQLAlchemy wraps them. Two things it does not do: flush
the session first (callers read through the session before they write, which flushes) and
apply a ``schema_translate_map`` (the store uses none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Date, Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session

__all__ = ["BulkStatement"]

_Processor = Callable[[Any], Any] | None


class BulkStatement:
    """A statement run once per row: each row gives ``columns`` in order, ``shared`` the rest.

    ``build`` makes the statement for a dialect; its parameters are named after the
    columns (and the ``shared`` names), and any other parameter keeps the value it was
    built with.
    """

    def __init__(
        self,
        build: Callable[[Dialect], Executable],
        columns: Sequence[str],
        shared: Sequence[str] = (),
    ) -> None:
        self._build = build
        self._columns = tuple(columns)
        self._shared = tuple(shared)
        self._plans: dict[tuple[object, ...], _Plan] = {}

    def execute(
        self,
        session: Session,
        rows: Iterable[Sequence[Any]],
        shared: Mapping[str, Any] | None = None,
    ) -> None:
        """Run the statement for each of ``rows``, with ``shared`` the same for all."""
        connection = session.connection()
        plan = self._plan(connection.dialect)
        fixed = plan.shared(shared or {})
        parameters = [plan.parameters(row, fixed) for row in rows]
        if parameters:
            connection.exec_driver_sql(plan.sql, parameters)

    def _plan(self, dialect: Dialect) -> _Plan:
        # What the compiled text depends on: the backend, its driver's parameter style and
        # the server's version (which features a dialect renders).
        key = (dialect.name, dialect.driver, dialect.paramstyle, dialect.server_version_info)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _compile(
                self._build(dialect), dialect, self._columns, self._shared
            )
        return plan


@dataclass(frozen=True, slots=True)
class _Plan:
    """A compiled statement: its SQL and, per driver parameter, where its value comes from."""

    sql: str
    names: tuple[str, ...]
    """The driver's parameter names, in the statement's order."""
    processors: tuple[_Processor, ...]
    constants: Mapping[str, Any]
    """Values fixed when the statement was built, already processed."""
    plain: tuple[tuple[int, int], ...]
    """(parameter, column in a row) for the values the driver takes as they are."""
    processed: tuple[tuple[int, int, Callable[[Any], Any]], ...]
    """(parameter, column in a row, processor) for the others."""
    positional: bool

    def shared(self, given: Mapping[str, Any]) -> list[Any]:
        """Every parameter's value that is the same for all rows of one call, processed once;
        the rows' own places are left to :meth:`parameters`."""
        values: list[Any] = []
        for name, process in zip(self.names, self.processors, strict=True):
            if name in given:
                values.append(process(given[name]) if process else given[name])
            else:
                values.append(self.constants.get(name))
        return values

    def parameters(self, row: Sequence[Any], shared: list[Any]) -> Any:
        values = shared.copy()
        for place, column in self.plain:
            values[place] = row[column]
        for place, column, process in self.processed:
            values[place] = process(row[column])
        return tuple(values) if self.positional else dict(zip(self.names, values, strict=True))


def _compile(
    statement: Executable, dialect: Dialect, columns: Sequence[str], shared: Sequence[str]
) -> _Plan:
    keys = [*columns, *shared]
    compiled = statement.compile(  # type: ignore[attr-defined]
        dialect=dialect, column_keys=keys, for_executemany=True
    )
    names = tuple(compiled.positiontup if compiled.positional else _rendered(compiled))
    index = {name: number for number, name in enumerate(columns)}
    processors: list[_Processor] = []
    constants: dict[str, Any] = {}
    plain: list[tuple[int, int]] = []
    processed: list[tuple[int, int, Callable[[Any], Any]]] = []
    for place, name in enumerate(names):
        bind = compiled.binds[name]
        process = _processor(bind.type.dialect_impl(dialect), dialect)
        processors.append(process)
        if name in index:
            if process is None:
                plain.append((place, index[name]))
            else:
                processed.append((place, index[name], process))
        elif name not in shared:
            value = bind.effective_value
            constants[name] = process(value) if process else value
    return _Plan(
        sql=str(compiled),
        names=names,
        processors=tuple(processors),
        constants=constants,
        plain=tuple(plain),
        processed=tuple(processed),
        positional=bool(compiled.positional),
    )


def _processor(impl: Any, dialect: Dialect) -> _Processor:
    """The column type's own bind processor, remembering the values a page repeats: the
    empty document (most of a booking's lists and mappings) and the day (a clinic's
    bookings fall on a few hundred days). The text is the processor's, made once."""
    process: _Processor = impl.bind_processor(dialect)
    if process is None:
        return None
    if isinstance(impl, JSON):
        return _empty_documents_once(process)
    if isinstance(impl, Date):
        return lru_cache(maxsize=_DAYS_REMEMBERED)(process)
    return process


_DAYS_REMEMBERED = 4096


def _empty_documents_once(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    empty: dict[type, Any] = {list: process([]), dict: process({})}
    if not all(isinstance(text, str) for text in empty.values()):
        return process  # a driver's wrapper object, which rows should not share

    def processed(value: Any) -> Any:
        if not value:
            text = empty.get(type(value))
            if text is not None:
                return text
        return process(value)

    return processed


def _rendered(compiled: Any) -> list[str]:
    """The names of the parameters a compiled statement renders (``binds`` also holds
    anonymous ones under their unresolved labels)."""
    rendered = set(compiled.bind_names.values())
    return [name for name in compiled.binds if name in rendered]


def insert_if_absent(dialect: Dialect, table: Any) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` into ``table`` (a model or a table), in ``dialect``."""
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
