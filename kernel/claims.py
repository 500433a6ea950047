"""Claiming a batch of rows by changing them, safe with several workers at once (the sweep, the outbox).

A claim is one `UPDATE ... WHERE id IN (<up to n due ids>) AND <still due> RETURNING ...`: the rows that
UPDATE changed are the caller's. On PostgreSQL the candidates skip rows another worker holds instead of
waiting for them; SQLite has one writer and no row locks, so FOR UPDATE is dropped there.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select

from kernel.extensions import db


def claimable(id_column: Any, due: ColumnElement[bool], *, order_by: Sequence[Any], batch: int) -> ColumnElement[bool]:
    """`id_column IN (up to batch ids of due rows, in order_by, skipping locked ones)`, for a claiming UPDATE."""
    candidates = select(id_column).where(due).order_by(*order_by).limit(batch).with_for_update(skip_locked=True)
    if db.engine.dialect.name == "postgresql":
        # MATERIALIZED: as `id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` PostgreSQL may plan a semi-join
        # that rescans the subquery per row, each rescan locking n more rows, and claim far more than n.
        cte = candidates.cte("claimable").prefix_with("MATERIALIZED")
        return id_column.in_(select(cte.c[id_column.key]))
    # Not a CTE on SQLite: Python's sqlite3 opens a transaction only before a statement that starts with
    # INSERT, UPDATE or DELETE, so `WITH ... UPDATE` would commit on its own, apart from what the caller
    # writes with the claim (the sweep's events), and another worker could act on the row in between.
    return id_column.in_(candidates)
