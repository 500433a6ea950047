"""The SQL a piece of a test sends: every statement the app's engine runs while the block is open."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from kernel.extensions import db


@contextmanager
def statements_sent(app: Flask) -> Iterator[list[str]]:
    """`with statements_sent(app) as seen:` — `seen` fills with the SQL text of each statement run inside."""
    seen: list[str] = []

    def note(_connection, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
