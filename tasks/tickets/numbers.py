"""Human ticket numbers: the Beijing calendar day and a sequence within it, e.g. 20261123-000017."""

from datetime import datetime

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
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(TicketNumberDay)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": TicketNumberDay.last + 1})
        .returning(TicketNumberDay.last)
    )
    sequence = db.session.execute(statement).scalar_one()
    return f"{day}-{sequence:06d}"
