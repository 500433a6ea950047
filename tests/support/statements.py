"""The SQL a piece of a test sends: every statement the app's engine runs while the block is open."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from kernel.extensions import db


@contextmanager
def statements_sent(app: Flask) -> Iterator[list[str]]:
    """`with statements_sent(app) as seen:` — `seen` fills with the SQL text of each statement run inside."""
    seen: list[str] = []
    with _each_statement(app, lambda _cursor, statement: seen.append(statement)):
        yield seen


@contextmanager
def statements_and_pipelines(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """Each statement's SQL (on one line) and the psycopg pipeline it went in: None for a round trip of its own
    (and always on SQLite); statements sent together share one."""
    seen: list[tuple[str, Any]] = []

    def note(cursor: Any, statement: str) -> None:
        seen.append((" ".join(statement.split()), getattr(cursor.connection, "_pipeline", None)))

    with _each_statement(app, note):
        yield seen


@contextmanager
def _each_statement(app: Flask, note: Callable[[Any, str], None]) -> Iterator[None]:
    def listener(_connection, cursor, statement, *_args):  # type: ignore[no-untyped-def]
        note(cursor, statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", listener)
