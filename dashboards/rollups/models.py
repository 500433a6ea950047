"""Rollups for the dashboards: per unit, Beijing day, category and channel; per worker; and per ticket what it added.

A ticket is counted once in every unit on its path (its unit and each ancestor), so a subtree's total is the
rows of one unit, however deep the subtree: the dashboards read a few hundred rows, never the tickets table.
`stats_ticket_facts` remembers what each ticket last added, so a change subtracts exactly that and adds the
new contribution, in the transaction of the change (see dashboards.rollups.incremental).

The rollups name units and accounts without foreign keys (migration 0027): they are derived, written only from
existing units and accounts, and checking each row's unit was a fifth of a month's rebuild at 10M tickets.
"""

from datetime import date
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import BigId
from kernel.extensions import db
from tasks.tickets.models import Ticket

# Histogram bucket upper bounds (seconds) for time to accept and to resolve: p90 is read from them.
# 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 1 d, 2 d, 3 d, 7 d, 14 d, 30 d, then everything longer.
DURATION_BOUNDS: tuple[int, ...] = (300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 259200, 604800,
                                    1209600, 2592000)  # fmt: skip
BUCKETS = len(DURATION_BOUNDS) + 1
ACCEPT_BUCKETS = tuple(f"accept_h{i}" for i in range(BUCKETS))
RESOLVE_BUCKETS = tuple(f"resolve_h{i}" for i in range(BUCKETS))

# What a ticket adds to its handling units (and, `received`, to its origin's): the columns of stats_daily.
HANDLING_COUNTERS: tuple[str, ...] = (
    "open",
    "cancelled",
    "dispatched",
    "accepted",
    "accepted_on_time",
    "accept_seconds",
    "resolved",
    "resolved_on_time",
    "resolve_seconds",
    "closed",
    "escalated",
    "overdue",
    "reopens",
    "rated",
    "rated_good",
    "on_spot",
    "returns",  # 退单 that took effect (approved, or direct where returns are not reviewed)
    "returns_refused",  # 退单 requests a supervisor refused
    "return_review",  # awaiting a supervisor's review of the handler's return now (`return_requested`)
    "extended",  # 延期: its resolution deadline was extended (approved) at least once
    "suspended",  # 挂起 now (its clock stopped)
    "suspended_seconds",  # all the time it spent suspended, finished spells
)
# `escalated_out` counts in the units on a ticket's origin path that no longer hold it (passed up out of them).
DAILY_COUNTERS: tuple[str, ...] = (
    "received",
    *HANDLING_COUNTERS,
    "escalated_out",
    *ACCEPT_BUCKETS,
    *RESOLVE_BUCKETS,
)
# What a ticket adds to the worker who holds it (or resolved it last): one ticket, and its handling figures but
# `cancelled` (a cancelled ticket counts for no worker) and `escalated`, in the same order.
WORKER_COUNTERS: tuple[str, ...] = (
    "tickets",
    *(name for name in HANDLING_COUNTERS if name not in {"cancelled", "escalated"}),
)
BIG_COUNTERS = frozenset({"accept_seconds", "resolve_seconds", "suspended_seconds"})


def _counter_columns(names: tuple[str, ...]) -> dict[str, Any]:
    return {
        name: mapped_column(BigInteger if name in BIG_COUNTERS else Integer, default=0, nullable=False)
        for name in names
    }


class StatsDaily(db.Model):
    """Tickets received on one Beijing day, of one category and channel, counted in one unit of their path."""

    __tablename__ = "stats_daily"
    unit_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)

    # One integer column per counter, declared from the tuple the rollup code reads.
    locals().update(_counter_columns(DAILY_COUNTERS))


class StatsWorkerDaily(db.Model):
    """A worker's tickets received on one Beijing day, of one category, counted in one unit of their path."""

    __tablename__ = "stats_worker_daily"
    unit_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, primary_key=True)

    # One integer column per counter, declared from the tuple the rollup code reads.
    locals().update(_counter_columns(WORKER_COUNTERS))


class StatsMonthly(db.Model):
    """Tickets received in one Beijing calendar month whose origin is in a unit's subtree: stats_daily's
    `received` summed by month (kept with it), so a month-long map layer reads one row per cell, not thirty."""

    __tablename__ = "stats_monthly"
    __table_args__ = (
        # A month of every cell, read from the index alone (the map layer of a district).
        Index("ix_stats_monthly_month_unit_id_received", "month", "unit_id", "received"),
        {"sqlite_with_rowid": False},  # SQLite: the rows live in the key's b-tree, one seek a cell
    )
    unit_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the month's first day
    received: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class StatsWorkerMonthly(db.Model):
    """stats_worker_daily summed by Beijing calendar month (all categories; kept with it), so ranking a
    district's workers over whole months reads one row per worker and month, however many tickets."""

    __tablename__ = "stats_worker_monthly"
    __table_args__ = {"sqlite_with_rowid": False}
    unit_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the month's first day
    account_id: Mapped[int] = mapped_column(BigId, primary_key=True)

    locals().update(_counter_columns(WORKER_COUNTERS))


class StatsTicketFacts(db.Model):
    """What one ticket adds to the rollups now, and where: the change's 'before', so a change is one delta."""

    __tablename__ = "stats_ticket_facts"

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    category_code: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    # Paths as they were when counted, so the subtraction hits the rows the addition went to.
    origin_path: Mapped[str] = mapped_column(String(255))
    owner_path: Mapped[str] = mapped_column(String(255))
    worker_id: Mapped[int | None] = mapped_column(BigId)
    # HANDLING_COUNTERS plus the sticky inputs (`overdue_seen`); zero entries left out.
    counters: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


# "Now" figures (open, overdue, warned) read the tickets table: open tickets by owning unit, with the clock. Both
# deadlines are in the index, so counting a district's open work (and filtering the overdue list) reads no rows.
Index("ix_tickets_status_grid_id_due_at_warn_at", Ticket.status, Ticket.grid_id, Ticket.due_at, Ticket.warn_at)
# The overdue list of the whole territory, earliest deadline first: only tickets whose clock runs (open ones; a
# stopped clock clears warn_at), in the list's order, so a page reads its rows and stops. Partial: a few open
# tickets among millions closed. The list's `warn_at <= now` implies the index's condition on both engines.
RUNNING = Ticket.warn_at.is_not(None)
Index("ix_tickets_running_due_at_id", Ticket.due_at, Ticket.id, postgresql_where=RUNNING, sqlite_where=RUNNING)


class StatsVersion(db.Model):
    """One row: moved by every transaction that changes a counted ticket (dashboards.rollups.incremental, at
    commit, after the rollups) and by every rebuild. A reader that finds the same version finds the same open
    tickets and rollups, so the map layer kept with it (dashboards.map_layer) is still true."""

    __tablename__ = "stats_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
