"""Human ticket numbers: the Beijing calendar day and a sequence within it, e.g. 20261123-000017."""

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects import postgresql, sqlite

from kernel.clock import BEIJING
from kernel.compiled import CompiledSelect
from kernel.extensions import db
from tasks.tickets.models import TicketNumberDay


def next_ticket_no(now: datetime) -> str:
    """Unique. Clients must not count on numbers being dense: only on their being unique and growing.

    One upsert on the day's counter row: atomic on both engines. On PostgreSQL it is committed at once in a
    transaction of its own, so the row is locked for that upsert only: taken in the intake's transaction, it
    stayed locked until the intake committed, and every intake of the day waited for the one before it to finish
    (routing, the ticket, its events, dispatch, the rollups: at 10M tickets on a loaded 2-core machine, 50 intakes
    a second then ran at 39-43 a second, queueing for seconds; docs/PERFORMANCE.md, "A city at scale", sixth
    session). An intake that fails after it leaves a gap, which numbers may have. SQLite has one writer at a time
    anyway: there the number stays in the intake's transaction.
    """
    day = now.astimezone(BEIJING).strftime("%Y%m%d")
    if db.engine.dialect.name == "postgresql":
        statement = _next_on("postgresql")
        with db.engine.connect() as connection:  # the primary: the counter is written, never read from a replica
            # Nor does it wait for the disk while it holds the row: a ticket's own commit flushes the log up to
            # and past this one, so a number given to a ticket that was kept is never given again after a crash.
            connection.execute(text("SET LOCAL synchronous_commit = off"))
            sequence = connection.execute(statement, {"day": day}).scalar_one()
            connection.commit()
    else:  # as SQL text on the session's connection (kernel.compiled): SQLAlchemy's execution cost more than the upsert
        sequence = _next_on_the_session().scalar({"day": day})
    return f"{day}-{sequence:06d}"


@cache
def _next_on(dialect_name: str) -> Any:
    """The upsert, built once per dialect: building its ON CONFLICT clause cost more than running it."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(TicketNumberDay)
        .values(day=bindparam("day"), last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": TicketNumberDay.last + 1})
        .returning(TicketNumberDay.last)
    )


@cache
def _next_on_the_session() -> CompiledSelect:
    return CompiledSelect(_next_on("sqlite"))
