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

Rows are plain tuples, in the select's column order, values converted as SQLAlchemy would (a SQLite timestamp
becomes a `datetime`): for callers that unpack rows by position. Statements with expanding (`IN`) parameters are
refused; they render differently for each call.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, exc
from sqlalchemy.engine import Dialect
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
    """A select run as SQL text on the request's connection (see the module's docstring)."""

    def __init__(self, statement: Select[Any]) -> None:
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


def _compile(statement: Select[Any], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    if any(bind.expanding for bind in compiled.bind_names):
        raise ValueError("a CompiledSelect cannot hold expanding (IN) parameters")
    escaped = compiled.escaped_bind_names  # a parameter's name as the SQL text spells it, where it differs
    binds, defaults = [], {}
    for bind, name in compiled.bind_names.items():  # each parameter and its name in the SQL (literals get one)
        name = escaped.get(name, name)
        if not bind.required:  # a literal of the select, or a parameter with a value of its own
            defaults[name] = bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((name, process))
    positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup is not None else None
    return _Compiled(
        sql=compiled.string,
        positions=positions,
        defaults=defaults,
        binds=tuple(binds),
        column_types=tuple(column.type for column in statement.selected_columns),
    )


def _tell(connection: Connection, event: str, cursor: Any, sql: str, parameters: Any) -> None:
    listeners = getattr(connection.dispatch, event)
    if listeners:
        listeners(connection, cursor, sql, parameters, None, False)


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
