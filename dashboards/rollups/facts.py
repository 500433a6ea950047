"""What one ticket adds to the rollups, and where: pure functions of the ticket row (no Flask, no database).

Which unit a ticket counts under (README "Dashboards and ledgers"):
- `received` counts in the ticket's origin unit (`origin_grid_id`, where the problem arose) and its ancestors;
- everything about handling it (dispatched, accepted, resolved, closed, ratings, reopens, overdue, ...) counts
  in the unit that owns it now (`grid_id`) and its ancestors: an escalation moves that part one level up.
  The owner is always the origin or one of its ancestors, so in any subtree `resolved <= received`.
- `escalated_out` counts in the units on the origin's path that are not on the owner's: the subtrees the ticket
  was passed up out of (the owner is an ancestor of the origin, so these are the units below it);
- `on_spot` (就地办结) counts a ticket resolved by its cell's own worker who took it there, never dispatched or
  escalated (`Ticket.handled_on_spot`);
- both under the Beijing calendar day the ticket was received, its category, and the channel it came by:
  a ticket's figures stay on the day it arrived (a cohort), whenever it is handled.

Every figure is a function of the ticket row (plus its ratings and whether the sweep ever found it overdue),
so a recount from the raw tickets (dashboards.rollups.rebuild) gives the rows the changes added up to.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dashboards.rollups.models import DAILY_COUNTERS, DURATION_BOUNDS, WORKER_COUNTERS
from kernel.clock import BEIJING
from kernel.scope import path_ids
from tasks.lifecycle import OPEN_STATUSES, Status
from tasks.tickets.models import Ticket

DONE = frozenset({Status.RESOLVED, Status.CLOSED})
# What counts in the owner's units: every daily counter but the two that count on the origin's path.
HANDLING_DAILY = tuple(name for name in DAILY_COUNTERS if name not in {"received", "escalated_out"})
DailyKey = tuple[int, date, str, str]  # unit, day, category, channel
WorkerKey = tuple[int, date, str, int]  # unit, day, category, account
Counts = dict[str, int]


def beijing_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def bucket_of(seconds: int) -> int:
    """The histogram bucket of a duration: the first bound it does not exceed."""
    for index, bound in enumerate(DURATION_BOUNDS):
        if seconds <= bound:
            return index
    return len(DURATION_BOUNDS)


# --- what one ticket adds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """One ticket's contribution: where, and how much."""

    day: date
    category_code: str
    channel: str
    origin_path: str
    owner_path: str
    worker_id: int | None
    counters: Counts = field(default_factory=dict)

    def daily(self) -> dict[DailyKey, Counts]:
        rows: dict[DailyKey, Counts] = defaultdict(dict)
        origin_units = path_ids(self.origin_path)
        for unit in origin_units:
            rows[(unit, self.day, self.category_code, self.channel)]["received"] = 1
        if self.counters.get("escalated"):
            owners = set(path_ids(self.owner_path))
            for unit in origin_units:
                if unit not in owners:
                    rows[(unit, self.day, self.category_code, self.channel)]["escalated_out"] = 1
        handling = {name: self.counters[name] for name in HANDLING_DAILY if self.counters.get(name)}
        if handling:
            for unit in path_ids(self.owner_path):
                rows[(unit, self.day, self.category_code, self.channel)].update(handling)
        return rows

    def worker(self) -> dict[WorkerKey, Counts]:
        if self.worker_id is None or self.counters.get("cancelled"):
            return {}
        counts = {name: self.counters[name] for name in WORKER_COUNTERS if self.counters.get(name)}
        counts["tickets"] = 1
        return {(unit, self.day, self.category_code, self.worker_id): counts for unit in path_ids(self.owner_path)}


def counters_of(ticket: Ticket, *, overdue_seen: bool, rated: int, rated_good: int) -> Counts:
    """The handling figures of a ticket as it is now (zero entries left out)."""
    counts: Counts = {}
    if overdue_seen:
        counts["overdue_seen"] = 1
    if ticket.status is Status.CANCELLED:  # withdrawn or merged: nothing to handle, nothing to rate
        counts["cancelled"] = 1
        return counts
    if ticket.status in OPEN_STATUSES:
        counts["open"] = 1
    if ticket.grid_id != ticket.origin_grid_id:
        counts["escalated"] = 1
    if ticket.dispatched_at is not None:
        counts["dispatched"] = 1
        accepted_at = ticket.accepted_at
        if accepted_at is not None and accepted_at >= ticket.dispatched_at:
            seconds = round((accepted_at - ticket.dispatched_at).total_seconds())
            counts["accepted"] = 1
            counts["accept_seconds"] = seconds
            counts[f"accept_h{bucket_of(seconds)}"] = 1
            if ticket.accept_due_at is None or accepted_at <= ticket.accept_due_at:
                counts["accepted_on_time"] = 1
    late = False
    if ticket.status in DONE and ticket.resolved_at is not None:
        seconds = round((ticket.resolved_at - ticket.created_at).total_seconds())
        counts["resolved"] = 1
        counts["resolve_seconds"] = seconds
        counts[f"resolve_h{bucket_of(seconds)}"] = 1
        late = ticket.resolved_at > ticket.resolve_due_at
        if not late:
            counts["resolved_on_time"] = 1
        if ticket.status is Status.CLOSED:
            counts["closed"] = 1
        if ticket.handled_on_spot:
            counts["on_spot"] = 1
    if overdue_seen or late:
        counts["overdue"] = 1
    if ticket.status is Status.RETURN_REQUESTED:
        counts["return_review"] = 1
    if ticket.extension_count:
        counts["extended"] = 1
    if ticket.status is Status.SUSPENDED:
        counts["suspended"] = 1
    if ticket.suspended_seconds:
        counts["suspended_seconds"] = ticket.suspended_seconds
    for name, value in (
        ("reopens", ticket.reopen_count),
        ("rated", rated),
        ("rated_good", rated_good),
        ("returns", ticket.return_count),
        ("returns_refused", ticket.returns_refused),
    ):
        if value:
            counts[name] = value
    return counts


def facts_of(
    ticket: Ticket,
    *,
    channel: str,
    owner_path: str,
    origin_path: str,
    overdue_seen: bool,
    rated: int,
    rated_good: int,
) -> Facts:
    counters = counters_of(ticket, overdue_seen=overdue_seen, rated=rated, rated_good=rated_good)
    return Facts(
        day=beijing_day(ticket.created_at),
        category_code=ticket.category_code,
        channel=channel,
        origin_path=origin_path,
        owner_path=owner_path,
        worker_id=ticket.assignee_id or ticket.handler_id,
        counters=counters,
    )


# --- summed over tickets and rows ----------------------------------------------------------------


def totals(facts: Iterable[Facts]) -> tuple[dict[DailyKey, Counts], dict[WorkerKey, Counts]]:
    """The rollup rows that these tickets' facts add up to (zero counters left out)."""
    daily: dict[DailyKey, Counts] = defaultdict(lambda: defaultdict(int))
    workers: dict[WorkerKey, Counts] = defaultdict(lambda: defaultdict(int))
    for one in facts:
        for key, counts in one.daily().items():
            for name, value in counts.items():
                daily[key][name] += value
        for key, counts in one.worker().items():
            for name, value in counts.items():
                workers[key][name] += value
    return nonzero(daily), nonzero(workers)


def nonzero(rows: Mapping[Any, Mapping[str, int]]) -> dict[Any, Counts]:
    kept = {key: {n: v for n, v in counts.items() if v} for key, counts in rows.items()}
    return {key: counts for key, counts in kept.items() if counts}


def monthly_of(daily: Mapping[DailyKey, Counts]) -> dict[tuple[int, date], int]:
    """stats_monthly's rows for these stats_daily rows (or deltas): `received` by unit and month."""
    months: dict[tuple[int, date], int] = defaultdict(int)
    for (unit, day, _category, _channel), counts in daily.items():
        if counts.get("received"):
            months[(unit, day.replace(day=1))] += counts["received"]
    return {key: value for key, value in months.items() if value}


def worker_months_of(workers: Mapping[WorkerKey, Counts]) -> dict[tuple[int, date, int], Counts]:
    """stats_worker_monthly's rows for these stats_worker_daily rows (or deltas): by unit, month and account."""
    months: dict[tuple[int, date, int], Counts] = defaultdict(lambda: defaultdict(int))
    for (unit, day, _category, account), counts in workers.items():
        for name, value in counts.items():
            months[(unit, day.replace(day=1), account)][name] += value
    return nonzero(months)
