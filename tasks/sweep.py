"""The deadline sweep (DESIGN.md §3): record warned (预警) and overdue (超期) tickets once per running clock,
and close resolutions nobody rated within `TICKET_AUTO_CLOSE_DAYS`.

Safe to run from cron on several machines at once: each batch is claimed by one conditional UPDATE
(`kernel.claims`), and events are recorded only for the ids that UPDATE returned, in the same transaction.
A sweep that loses the race gets no rows; a row another sweep or a request holds is skipped, not waited
for. The claim bumps `version`, so a request that read the ticket before the sweep loses its version
check with a 409 instead of writing over the sweep.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.orm import InstrumentedAttribute

from kernel.claims import claimable
from kernel.clock import utcnow
from kernel.extensions import db
from tasks.lifecycle import OPEN_STATUSES, TRANSITIONS, Action, Status
from tasks.tickets import deadlines
from tasks.tickets.actions import APPLY, record_event, resume
from tasks.tickets.models import Feedback, Ticket

log = logging.getLogger("grid.tasks.sweep")


@dataclass(frozen=True)
class SweepReport:
    """How many tickets this run recorded; tickets another sweep got first are not counted."""

    warned: int = 0
    overdue: int = 0
    auto_closed: int = 0
    resumed: int = 0


@dataclass(frozen=True)
class Threshold:
    """A point on the running clock: when it is passed (`passed_at`) and when the sweep recorded it (`marker`)."""

    action: str
    passed_at: InstrumentedAttribute[datetime | None]
    marker: InstrumentedAttribute[datetime | None]
    # Overdue follows warned on the timeline: a ticket that passed both at once gets both, in that order.
    needs_marked: InstrumentedAttribute[datetime | None] | None = None


WARNED = Threshold("warned", Ticket.warn_at, Ticket.warned_marked_at)
OVERDUE = Threshold("overdue", Ticket.due_at, Ticket.overdue_marked_at, needs_marked=Ticket.warned_marked_at)


def sweep(now: datetime | None = None, *, batch: int = 500) -> SweepReport:
    """Record newly warned and overdue tickets and auto-close unrated resolutions; commits once per batch."""
    now = now or utcnow()
    report = SweepReport(
        warned=_drain(lambda: mark(WARNED, now, batch), batch),
        overdue=_drain(lambda: mark(OVERDUE, now, batch), batch),
        auto_closed=_drain(lambda: auto_close(now, batch), batch),
        resumed=_drain(lambda: auto_resume(now, batch), batch),
    )
    extra = {"warned": report.warned, "overdue": report.overdue, "auto_closed": report.auto_closed}
    log.info("sweep", extra={**extra, "resumed": report.resumed})
    return report


def _drain(step: Callable[[], int], batch: int) -> int:
    """Run batches, each its own transaction, until one comes back short: the due tickets it did not get
    are held by another sweep (which records them) or by a request (the next run looks again)."""
    total = 0
    while True:
        done = step()
        db.session.commit()
        total += done
        if done < batch:
            return total


def mark(threshold: Threshold, now: datetime, batch: int) -> int:
    """One batch of open tickets past `threshold` of their running clock and not yet recorded for it."""
    due = and_(
        Ticket.status.in_(list(OPEN_STATUSES)),
        threshold.passed_at <= now,
        threshold.marker.is_(None),
    )
    if threshold.needs_marked is not None:
        due = and_(due, threshold.needs_marked.is_not(None))
    tickets = _claim(due, {threshold.marker.key: now}, now=now, batch=batch)
    for ticket in tickets:
        details = {
            "deadline": deadlines.clock_name(ticket.status, ticket.returned_from),
            "due_at": _timestamp(ticket.due_at),
        }
        record_event(ticket, None, threshold.action, ticket.status, details=details)
        log_marked(ticket, threshold.action)
    return len(tickets)


def auto_close(now: datetime, batch: int) -> int:
    """One batch of resolutions older than `TICKET_AUTO_CLOSE_DAYS` without a rating for the current round."""
    cutoff = now - timedelta(days=current_app.config["TICKET_AUTO_CLOSE_DAYS"])
    rated = exists().where(Feedback.ticket_id == Ticket.id, Feedback.resolution_round == Ticket.resolution_round)
    due = and_(Ticket.status == Status.RESOLVED, Ticket.resolved_at <= cutoff, ~rated)
    closed = TRANSITIONS[Action.CLOSE].target
    tickets = _claim(due, {"status": closed}, now=now, batch=batch)
    for ticket in tickets:
        # The close's other effects (closed_at) come from the lifecycle, as for a supervisor's close; the row
        # is ours until commit, so the ORM's version check on this second write cannot lose.
        details = APPLY[Action.CLOSE](None, ticket, {}, now)
        record_event(ticket, None, Action.CLOSE, Status.RESOLVED, details={**details, "auto": True})
        log_marked(ticket, Action.CLOSE)
    return len(tickets)


def auto_resume(now: datetime, batch: int) -> int:
    """One batch of suspended tickets whose `until` has come: resumed as a handler's `resume` would be."""
    due = and_(Ticket.status == Status.SUSPENDED, Ticket.suspended_until <= now)
    resumed = TRANSITIONS[Action.RESUME].target
    tickets = _claim(due, {"status": resumed}, now=now, batch=batch)
    for ticket in tickets:
        details = resume(ticket, ticket.suspended_until or now)  # the clock ran again from `until`
        record_event(ticket, None, Action.RESUME, Status.SUSPENDED, details={**details, "auto": True})
        log_marked(ticket, Action.RESUME)
    return len(tickets)


def log_marked(ticket: Ticket, action: str) -> None:
    """What the sweep did to one ticket. Who must hear of it learns from the event `record_event` published,
    inside the batch's transaction, so what is owed commits with the event or not at all."""
    log.info("ticket %s", action, extra={"ticket_id": ticket.id, "action": action, "status": ticket.status.value})


def _claim(due: ColumnElement[bool], values: Mapping[str, Any], *, now: datetime, batch: int) -> list[Ticket]:
    """Take up to `batch` tickets that are `due` by changing them; the tickets this UPDATE changed are ours.

    The candidates skip rows locked by another sweep or a request in flight (PostgreSQL; SQLite has one
    writer and drops FOR UPDATE); the outer WHERE repeats `due`, so a row changed in between is not taken.
    """
    claim = (
        update(Ticket)
        .where(claimable(Ticket.id, due, order_by=[Ticket.id], batch=batch), due)
        # `version` makes a request holding the old row lose with a 409; `updated_at` puts the change
        # (a new event, warned/overdue) in delta syncs.
        .values(**values, version=Ticket.version + 1, updated_at=now)
        .returning(Ticket.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(db.session.scalars(claim))
    if not ids:
        return []
    mine = select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id).execution_options(populate_existing=True)
    return list(db.session.scalars(mine).unique())


def _timestamp(value: datetime | None) -> str | None:
    """As the API writes times: UTC with a `Z`."""
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")
