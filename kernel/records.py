"""Append-only records (ticket events, outbox messages), written with a Core INSERT when the transaction commits.

Nothing may read such a row back in the transaction that writes it (it is not there before the commit), and
the unit of work cost more than the INSERT itself: an urge writes an event and an inbox message, and took
9.3 M instructions with them as ORM objects, 8.0 M appended here (callgrind).

The rows wait on the session until it commits. Then the session's own changes are flushed first, so a record
may refer to the rows they insert and a lost version check writes no record; the records follow, in the
order they were appended, in the same transaction. Writing at the end keeps SQLite's single writer lock for
the writes alone, not for the reads and the rendering between a request's first write and its commit. A
rollback drops the waiting rows with the rest of the transaction.
"""

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, event
from sqlalchemy.orm import Session, SessionTransaction

from kernel.db import Base
from kernel.extensions import db

_WAITING = "records.waiting"


def append(model: type[Base], *rows: Mapping[str, Any]) -> None:
    """Insert `rows` (column values; columns left out take their defaults) into `model`'s table at commit."""
    if rows:
        db.session.info.setdefault(_WAITING, []).append((model.__table__, rows))


@event.listens_for(db.session, "before_commit")
def _write_waiting_records(session: Session) -> None:
    waiting = session.info.pop(_WAITING, None)
    if not waiting:
        return
    session.flush()
    connection = session.connection()
    for table, rows in waiting:
        connection.execute(_insert_into(table), rows[0] if len(rows) == 1 else list(rows))


@event.listens_for(db.session, "after_transaction_end")
def _drop_waiting_records(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WAITING, None)


@cache
def _insert_into(table: Table) -> Insert:
    return table.insert()  # built once: a statement memoizes its cache key
