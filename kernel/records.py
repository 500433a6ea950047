"""Append-only records (ticket events, outbox messages) written with a Core INSERT instead of the unit of work.

Nothing reads such a row back in the request that writes it, and the unit of work cost more than the INSERT
itself: an urge writes an event and an inbox message, and took 9.3 M instructions with them as ORM objects,
8.0 M appended here (callgrind). The row goes to the database at once, on the session's connection and in
its transaction, so it rolls back with the request. Rows the session holds to insert are flushed first, so a
record may refer to them and comes after them, as it would have in one flush; an action's urge has none.
"""

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Insert, Table

from kernel.db import Base
from kernel.extensions import db


def append(model: type[Base], *rows: Mapping[str, Any]) -> None:
    """Insert `rows` (column values; columns left out take their defaults) into `model`'s table."""
    if not rows:
        return
    if db.session.new:
        db.session.flush()
    statement = _insert_into(model.__table__)  # type: ignore[arg-type]
    db.session.connection().execute(statement, rows[0] if len(rows) == 1 else list(rows))


@cache
def _insert_into(table: Table) -> Insert:
    return table.insert()  # built once: a statement memoizes its cache key
