"""Human ticket numbers: the Beijing calendar day and a sequence within it, e.g. 20261123-000017."""

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite

from kernel.clock import BEIJING
from kernel.extensions import db
from tasks.tickets.models import TicketNumberDay


def next_ticket_no(now: datetime) -> str:
    """Unique. Clients must not count on numbers being dense: only on their being unique and growing.

    One upsert on the day's counter row: atomic on both engines; the row stays locked until the intake
    commits, which orders concurrent intakes without a race.
    """
    day = now.astimezone(BEIJING).strftime("%Y%m%d")
    sequence = db.session.execute(_next_on(db.engine.dialect.name), {"day": day}).scalar_one()
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
