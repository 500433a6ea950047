"""The hottest selects, compiled once per dialect and run on the DBAPI cursor of the session's connection.

Every authenticated request reads its caller (`auth.principal`), and most reads then fetch one or two rows by key.
SQLite answers such a query in a few microseconds; SQLAlchemy's execution of the already compiled statement
around it (an execution context, the parameters, a result object and its rows) took about 30 µs a statement here,
more than the query (docs/PERFORMANCE.md, "Sixth pass"). A `CompiledSelect` keeps what that execution does once
per dialect (the SQL text, the parameters' order, each column's result conversion) and runs the text itself:

- on the session's connection, so a read sees what the request's transaction sees, and the read replica routing
  and PostgreSQL's autocommit reads apply as to any other statement (`kernel.replica`);
- with the engine's `before_cursor_execute` and `after_cursor_execute` listeners told, so what watches statements
  still sees these;
- with a driver's error raised as SQLAlchemy raises it (`DBAPIError`), the connection invalidated when the
  server is gone, so the pool does not hand it out again and the error handlers answer as for any statement.

A `CompiledWrite` does the same for the writes every ticket change makes (its record, the rollups' upserts):
an INSERT, UPDATE or upsert compiled once per dialect and set of parameter names, run with `execute` or
`executemany` on the cursor. A statement whose compiled form needs SQLAlchemy's own work at execution (a column's
Python-side default to compute, a value to fetch back) runs through SQLAlchemy instead, as before.

Writes sent together (`writes_sent_together`): on PostgreSQL every statement is a round trip, about 200 µs here
and as much of the worker's CPU in the driver and the network stack as the statement itself (docs/PERFORMANCE.md,
"Eleventh pass"). The writes a commit makes (records, rollups, the dashboards' version) need no answer: inside
the block a `CompiledWrite` is queued, and the queue is sent in one round trip (psycopg's pipeline mode) when the
block ends, or before any other statement runs on the connection, so the order of statements never changes. An
error in a queued write is raised then, as SQLAlchemy raises it. A block `with_the_commit` keeps its writes queued
past its end, and they go with the transaction's COMMIT, in the same round trip, unless a statement comes first
(then before it, as above); a rollback drops them. SQLite has no round trip to save: there the block changes
nothing.

Rows are plain tuples, in the select's column order, values converted as SQLAlchemy would (a SQLite timestamp
becomes a `datetime`): for callers that unpack rows by position. Statements with expanding (`IN`) parameters are
refused; they render differently for each call.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Select, event, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import ReturnsRows
from sqlalchemy.types import TypeEngine

from kernel.extensions import db

Processor = Callable[[Any], Any]


@dataclass(slots=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # the parameters' order for a positional paramstyle; None: by name
    defaults: Mapping[str, Any]  # the values the select holds itself (its literals); the call gives the rest
    binds: tuple[tuple[str, Processor], ...]  # the parameters that need converting for the driver
    column_types: tuple[TypeEngine[Any], ...]
    # The columns that need converting from the driver; known at the first execution, as a column's conversion may
    # depend on the type the driver reports (PostgreSQL's numerics).
    results: tuple[tuple[int, Processor], ...] | None = None

    def parameters(self, given: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        values = {**self.defaults, **given}
        for name, process in self.binds:
            values[name] = process(values[name])
        return values if self.positions is None else [values[name] for name in self.positions]

    def learn_results(self, dialect: Dialect, description: Sequence[Sequence[Any]]) -> None:
        results = []
        for index, (column_type, described) in enumerate(zip(self.column_types, description, strict=True)):
            process = column_type.dialect_impl(dialect).result_processor(dialect, described[1])
            if process is not None:
                results.append((index, process))
        self.results = tuple(results)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if not self.results:
            return tuple(raw)
        values = list(raw)
        for index, process in self.results:
            values[index] = process(values[index])
        return tuple(values)


class CompiledSelect:
    """A select run as SQL text on the request's connection (see the module's docstring); or a write that returns
    rows (an upsert's RETURNING), run the same way."""

    def __init__(self, statement: Select[Any] | ReturnsRows) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def first(self, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = self._run(params, one=True)
        return rows[0] if rows else None

    def all(self, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self._run(params, one=False)

    def scalar(self, params: Mapping[str, Any]) -> Any:
        row = self.first(params)
        return None if row is None else row[0]

    def _run(self, params: Mapping[str, Any], *, one: bool) -> list[tuple[Any, ...]]:
        connection = db.session.connection()
        compiled = self._compiled_for(connection.dialect)
        parameters = compiled.parameters(params)
        cursor = connection.connection.cursor()
        try:
            _tell(connection, "before_cursor_execute", cursor, compiled.sql, parameters)
            cursor.execute(compiled.sql, parameters)
            _tell(connection, "after_cursor_execute", cursor, compiled.sql, parameters)
            if compiled.results is None:
                compiled.learn_results(connection.dialect, cursor.description)
            raw_rows = [cursor.fetchone()] if one else cursor.fetchall()
        except connection.dialect.loaded_dbapi.Error as error:
            raise _as_sqlalchemy_error(connection, cursor, compiled.sql, parameters, error) from error
        finally:
            cursor.close()
        return [compiled.row(raw) for raw in raw_rows if raw is not None]

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _compile(self.statement, dialect)
        return compiled


def _compile(statement: Select[Any] | ReturnsRows, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    return _compiled_parameters(
        compiled, dialect, column_types=tuple(column.type for column in statement.exported_columns)
    )


def _compiled_parameters(compiled: Any, dialect: Dialect, column_types: tuple[TypeEngine[Any], ...]) -> _Compiled:
    if any(bind.expanding for bind in compiled.bind_names):
        raise ValueError("a compiled statement here cannot hold expanding (IN) parameters")
    escaped = compiled.escaped_bind_names  # a parameter's name as the SQL text spells it, where it differs
    binds, defaults = [], {}
    for bind, name in compiled.bind_names.items():  # each parameter and its name in the SQL (literals get one)
        name = escaped.get(name, name)
        if not bind.required:  # a literal of the statement, or a parameter with a value of its own
            defaults[name] = bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((name, process))
    positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup is not None else None
    return _Compiled(
        sql=compiled.string, positions=positions, defaults=defaults, binds=tuple(binds), column_types=column_types
    )


class CompiledWrite:
    """An INSERT, UPDATE or upsert run as SQL text on the request's connection (see the module's docstring)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        # (dialect, parameter names) -> the compiled form, or None: SQLAlchemy runs it (see `_compile_write`)
        self._by_names: dict[tuple[str, tuple[str, ...]], _Compiled | None] = {}

    def execute(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Write `rows` (one execution, or executemany for several), each with the same parameter names; the
        rows matched, as the driver counts them, or -1 for a write queued by `writes_sent_together`."""
        connection = db.session.connection()
        names = tuple(rows[0])
        compiled = self._compiled_for(connection.dialect, names)
        if compiled is None or any(tuple(row) != names for row in rows[1:]):
            return connection.execute(self.statement, rows[0] if len(rows) == 1 else list(rows)).rowcount  # type: ignore[attr-defined,no-any-return]
        many = len(rows) > 1
        parameters = [compiled.parameters(row) for row in rows] if many else compiled.parameters(rows[0])
        queued = connection.info.get(_QUEUED)
        if queued is not None:
            queued.append((compiled.sql, parameters, many))
            return -1
        cursor = connection.connection.cursor()
        try:
            _tell(connection, "before_cursor_execute", cursor, compiled.sql, parameters, many=many)
            if many:
                cursor.executemany(compiled.sql, parameters)
            else:
                cursor.execute(compiled.sql, parameters)
            _tell(connection, "after_cursor_execute", cursor, compiled.sql, parameters, many=many)
            return cursor.rowcount  # type: ignore[no-any-return]
        except connection.dialect.loaded_dbapi.Error as error:
            raise _as_sqlalchemy_error(connection, cursor, compiled.sql, parameters, error) from error
        finally:
            cursor.close()

    def _compiled_for(self, dialect: Dialect, names: tuple[str, ...]) -> _Compiled | None:
        key = (dialect.name, names)
        if key not in self._by_names:
            self._by_names[key] = _compile_write(self.statement, dialect, names)
        return self._by_names[key]


def _compile_write(statement: Executable, dialect: Dialect, names: tuple[str, ...]) -> _Compiled | None:
    """Compiled as for executemany (no RETURNING of a generated key added); None when executing it takes
    SQLAlchemy's own work: Python-side defaults or `onupdate` values to compute, or values to fetch back."""
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(names), for_executemany=True)
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.effective_returning:
        return None
    return _compiled_parameters(compiled, dialect, column_types=())


_QUEUED = "compiled.queued_writes"  # in the connection's info while a block of writes_sent_together runs


@contextmanager
def writes_sent_together(*, with_the_commit: bool = False) -> Iterator[None]:
    """The `CompiledWrite`s executed in the block, on PostgreSQL, sent in one round trip when it ends, or
    `with_the_commit` (see the module's docstring); their `execute` returns -1. Only for writes whose count nobody
    reads."""
    connection = db.session.connection()
    if _QUEUED in connection.info or not _can_pipeline(connection.dialect):
        yield
        return
    queued: list[tuple[str, Any, bool]] = []
    connection.info[_QUEUED] = queued
    try:
        yield
        if not with_the_commit:
            _send(connection, queued)
            del connection.info[_QUEUED]
    except BaseException:  # the transaction is rolled back: what is still queued goes with it
        connection.info.pop(_QUEUED, None)
        raise


@cache
def _can_pipeline(dialect: Dialect) -> bool:
    """psycopg's pipeline mode, which needs libpq 14 or later (psycopg[binary] brings its own)."""
    if dialect.driver != "psycopg":
        return False
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def send_queued_writes(engine: Engine) -> None:
    """On `engine`'s connections (PostgreSQL's; `kernel.app` installs it) any other statement sends the queued
    writes before it, a commit sends those left queued for it with its COMMIT, a rollback drops them."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(connection: Connection, *_args: Any) -> None:
        queued = connection.info.get(_QUEUED)
        if queued:
            _send(connection, queued)

    @event.listens_for(engine, "commit")
    def _commit(connection: Connection) -> None:
        queued = connection.info.pop(_QUEUED, None)
        if queued:  # SQLAlchemy's commit then finds the transaction ended, and sends nothing
            _send(connection, queued, commit=True)

    @event.listens_for(engine, "rollback")
    def _rollback(connection: Connection) -> None:
        if not connection.invalidated:  # an invalidated connection's queue went with it
            connection.info.pop(_QUEUED, None)


def _send(connection: Connection, queued: list[tuple[str, Any, bool]], *, commit: bool = False) -> None:
    """The queued writes in one round trip, in order, and the queue emptied; with `commit`, the transaction's
    COMMIT after them."""
    writes = queued[:]
    queued.clear()
    if not writes:
        return
    dbapi_connection: Any = connection.connection.dbapi_connection
    cursors = []
    try:
        with dbapi_connection.pipeline():
            for sql, parameters, many in writes:
                cursors.append(cursor := dbapi_connection.cursor())
                _tell(connection, "before_cursor_execute", cursor, sql, parameters, many=many)
                if many:
                    cursor.executemany(sql, parameters)
                else:
                    cursor.execute(sql, parameters)
                _tell(connection, "after_cursor_execute", cursor, sql, parameters, many=many)
            if commit:  # as a statement: psycopg's commit() would wait for a second Sync of its own
                cursors.append(cursor := dbapi_connection.cursor())
                cursor.execute("COMMIT")
    except connection.dialect.loaded_dbapi.Error as error:  # the first write that failed (the rest did not run)
        statements = "; ".join(sql for sql, _, _ in writes)
        raise _as_sqlalchemy_error(connection, cursors[-1] if cursors else None, statements, None, error) from error
    finally:
        for cursor in cursors:
            cursor.close()


def _tell(connection: Connection, event: str, cursor: Any, sql: str, parameters: Any, *, many: bool = False) -> None:
    # As SQLAlchemy asks before it looks for listeners: whether the connection or its engine has any at all.
    if connection._has_events or connection.engine._has_events:
        listeners = getattr(connection.dispatch, event)
        if listeners:
            listeners(connection, cursor, sql, parameters, None, many)


def _as_sqlalchemy_error(
    connection: Connection, cursor: Any, sql: str, parameters: Any, error: Exception
) -> exc.DBAPIError:
    """What SQLAlchemy makes of a driver's error, and, when the server is gone, the connection dropped as it
    would drop it (the pool then connects afresh)."""
    dialect = connection.dialect
    gone = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
    if gone and not connection.invalidated:
        connection.invalidate(error)
    return exc.DBAPIError.instance(
        sql, parameters, error, dialect.loaded_dbapi.Error, connection_invalidated=gone, dialect=dialect
    )
