"""Keeping the rollups: what one ticket adds to them, applied as a delta in the transaction of every change.

Which unit a ticket counts under (README "Dashboards and ledgers"):
- `received` counts in the ticket's origin unit (`origin_grid_id`, where the problem arose) and its ancestors;
- everything about handling it (dispatched, accepted, resolved, closed, ratings, reopens, overdue, ...) counts
  in the unit that owns it now (`grid_id`) and its ancestors: an escalation moves that part one level up.
  The owner is always the origin or one of its ancestors, so in any subtree `resolved <= received`.
- both under the Beijing calendar day the ticket was received, its category, and the channel it came by:
  a ticket's figures stay on the day it arrived (a cohort), whenever it is handled.

Every figure is a function of the ticket row (plus its ratings and whether the sweep ever found it overdue),
so `recount()` from the raw tickets gives the same rows, and `rebuild()` restores them.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, lazyload

from dashboards.models import (
    DAILY_COUNTERS,
    DURATION_BOUNDS,
    HANDLING_COUNTERS,
    WORKER_COUNTERS,
    StatsDaily,
    StatsTicketFacts,
    StatsWorkerDaily,
)
from grid.models import GridUnit
from kernel.clock import BEIJING
from kernel.extensions import db
from tasks.models import OPEN_STATUSES, Feedback, Status, Ticket, TicketEvent

DONE = frozenset({Status.RESOLVED, Status.CLOSED})
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


def path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


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
        for unit in path_ids(self.origin_path):
            rows[(unit, self.day, self.category_code, self.channel)]["received"] = 1
        handling = {name: self.counters[name] for name in DAILY_COUNTERS if self.counters.get(name)}
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
    if overdue_seen or late:
        counts["overdue"] = 1
    for name, value in (("reopens", ticket.reopen_count), ("rated", rated), ("rated_good", rated_good)):
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


# --- in the transaction of every change -------------------------------------------------------------


# Events that change none of the fields a ticket is counted by: no read and no write for them (an urge is
# frequent, and reading the facts row made it half again as costly).
UNCOUNTED_EVENTS = frozenset({"urge", "photo", "warned", "sms_reply"})


def on_event(ticket: Ticket, event: TicketEvent) -> None:
    """Called by tasks.service.record_event: bring the ticket's rollup rows up to date with this change."""
    if event.action in UNCOUNTED_EVENTS:
        return
    stored = db.session.get(StatsTicketFacts, ticket.id)
    before = _facts_from_row(stored) if stored is not None else None
    counters = before.counters if before is not None else {}
    rating = (event.details or {}).get("rating")
    channel = before.channel if before is not None else str((event.details or {}).get("channel") or "app")
    after = facts_of(
        ticket,
        channel=channel,
        owner_path=_owner_path(ticket, before),
        origin_path=before.origin_path if before else _unit_path(ticket.origin_grid_id),
        overdue_seen=bool(counters.get("overdue_seen")) or event.action == "overdue",
        rated=counters.get("rated", 0) + (1 if rating is not None else 0),
        rated_good=counters.get("rated_good", 0) + (1 if rating is not None and int(rating) >= 4 else 0),
    )
    if before == after:
        return
    apply(before, after)
    if stored is None:
        db.session.add(StatsTicketFacts(ticket_id=ticket.id, **_facts_columns(after)))
    else:
        for name, value in _facts_columns(after).items():
            setattr(stored, name, value)


def _owner_path(ticket: Ticket, before: Facts | None) -> str:
    """The owning unit's path: as counted before unless the ticket moved (an escalation), then looked up."""
    if before is not None and path_ids(before.owner_path)[-1] == ticket.grid_id:
        return before.owner_path
    return _unit_path(ticket.grid_id)


def _unit_path(unit_id: int) -> str:
    unit = db.session.get(GridUnit, unit_id)
    return unit.path if unit is not None else f"/{unit_id}/"


def _facts_from_row(row: StatsTicketFacts) -> Facts:
    return Facts(
        day=row.day,
        category_code=row.category_code,
        channel=row.channel,
        origin_path=row.origin_path,
        owner_path=row.owner_path,
        worker_id=row.worker_id,
        counters=dict(row.counters or {}),
    )


def _facts_columns(facts: Facts) -> dict[str, Any]:
    return {
        "day": facts.day,
        "category_code": facts.category_code,
        "channel": facts.channel,
        "origin_path": facts.origin_path,
        "owner_path": facts.owner_path,
        "worker_id": facts.worker_id,
        "counters": dict(facts.counters),
    }


def apply(before: Facts | None, after: Facts | None) -> None:
    """Upsert `after - before` into both rollups (one statement each, only the rows that change)."""
    daily = _difference(before.daily() if before else {}, after.daily() if after else {})
    workers = _difference(before.worker() if before else {}, after.worker() if after else {})
    upsert_daily(daily)
    upsert_workers(workers)


def _difference(old: Mapping[Any, Counts], new: Mapping[Any, Counts]) -> dict[Any, Counts]:
    changes: dict[Any, Counts] = {}
    for key in old.keys() | new.keys():
        was, now = old.get(key, {}), new.get(key, {})
        delta = {name: now.get(name, 0) - was.get(name, 0) for name in was.keys() | now.keys()}
        delta = {name: value for name, value in delta.items() if value}
        if delta:
            changes[key] = delta
    return changes


def _insert(model: type[Any]) -> Any:
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def upsert_daily(rows: Mapping[DailyKey, Counts]) -> None:
    if not rows:
        return
    params = [
        {"unit_id": unit, "day": day, "category_code": category, "channel": channel}
        | {name: counts.get(name, 0) for name in DAILY_COUNTERS}
        for (unit, day, category, channel), counts in rows.items()
    ]
    _upsert(StatsDaily, ["unit_id", "day", "category_code", "channel"], DAILY_COUNTERS, params)


def upsert_workers(rows: Mapping[WorkerKey, Counts]) -> None:
    if not rows:
        return
    params = [
        {"unit_id": unit, "day": day, "category_code": category, "account_id": account}
        | {name: counts.get(name, 0) for name in WORKER_COUNTERS}
        for (unit, day, category, account), counts in rows.items()
    ]
    _upsert(StatsWorkerDaily, ["unit_id", "day", "category_code", "account_id"], WORKER_COUNTERS, params)


def _upsert(model: type[Any], keys: list[str], counters: Iterable[str], params: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n: atomic on both engines, no read first."""
    table = model.__table__
    statement = _insert(model)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: table.c[name] + statement.excluded[name] for name in counters}
    )
    db.session.connection().execute(statement, params)  # Core executemany: the ORM's bulk path costs 3x


# --- from the raw tickets ---------------------------------------------------------------------------


def recount(batch: int = 5000, progress: Callable[[int], None] | None = None) -> Iterator[list[tuple[int, Facts]]]:
    """Every ticket's facts computed from the raw tables, in batches of (ticket id, facts), oldest first."""
    origin = aliased(GridUnit)
    owner = aliased(GridUnit)
    created = (
        select(TicketEvent.ticket_id, TicketEvent.details).where(TicketEvent.action == "create").subquery("created")
    )
    ratings = (
        select(
            Feedback.ticket_id,
            func.count().label("rated"),
            func.sum((Feedback.rating >= 4).cast(db.Integer)).label("rated_good"),
        )
        .group_by(Feedback.ticket_id)
        .subquery("ratings")
    )
    overdue = (
        select(TicketEvent.ticket_id).where(TicketEvent.action == "overdue").group_by(TicketEvent.ticket_id)
    ).subquery("overdue")
    stmt = (
        select(
            Ticket,
            origin.path,
            owner.path,
            created.c.details,
            ratings.c.rated,
            ratings.c.rated_good,
            overdue.c.ticket_id,
        )
        .join(origin, origin.id == Ticket.origin_grid_id)
        .join(owner, owner.id == Ticket.grid_id)
        .outerjoin(created, created.c.ticket_id == Ticket.id)
        .outerjoin(ratings, ratings.c.ticket_id == Ticket.id)
        .outerjoin(overdue, overdue.c.ticket_id == Ticket.id)
        .options(lazyload("*"))
        .order_by(Ticket.id)
        .execution_options(yield_per=batch)
    )
    chunk: list[tuple[int, Facts]] = []
    for ticket, origin_path, owner_path, details, rated, rated_good, overdue_id in db.session.execute(stmt):
        facts = facts_of(
            ticket,
            channel=str((details or {}).get("channel") or "app"),
            owner_path=owner_path,
            origin_path=origin_path,
            overdue_seen=overdue_id is not None,
            rated=int(rated or 0),
            rated_good=int(rated_good or 0),
        )
        chunk.append((ticket.id, facts))
        if len(chunk) >= batch:
            yield chunk
            if progress:
                progress(len(chunk))
            chunk = []
    if chunk:
        yield chunk
        if progress:
            progress(len(chunk))


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
    return _nonzero(daily), _nonzero(workers)


def _nonzero(rows: Mapping[Any, Mapping[str, int]]) -> dict[Any, Counts]:
    kept = {key: {n: v for n, v in counts.items() if v} for key, counts in rows.items()}
    return {key: counts for key, counts in kept.items() if counts}


def stored() -> tuple[dict[DailyKey, Counts], dict[WorkerKey, Counts]]:
    """The rollup rows as stored (zero counters and all-zero rows left out), to compare with a recount."""
    daily = {
        (row.unit_id, row.day, row.category_code, row.channel): {n: getattr(row, n) for n in DAILY_COUNTERS}
        for row in db.session.scalars(select(StatsDaily))
    }
    workers = {
        (row.unit_id, row.day, row.category_code, row.account_id): {n: getattr(row, n) for n in WORKER_COUNTERS}
        for row in db.session.scalars(select(StatsWorkerDaily))
    }
    return _nonzero(daily), _nonzero(workers)


def rebuild(batch: int = 5000, progress: Callable[[int], None] | None = None) -> int:
    """Throw the rollups away and recompute them from the raw tickets; the caller commits. Returns tickets seen."""
    for model in (StatsDaily, StatsWorkerDaily, StatsTicketFacts):
        db.session.execute(delete(model))
    seen = 0
    for chunk in recount(batch, progress):
        daily, workers = totals(facts for _, facts in chunk)
        upsert_daily(daily)
        upsert_workers(workers)
        db.session.connection().execute(
            StatsTicketFacts.__table__.insert(),
            [{"ticket_id": ticket_id, **_facts_columns(facts)} for ticket_id, facts in chunk],
        )
        seen += len(chunk)
    return seen


__all__ = ["HANDLING_COUNTERS", "on_event", "rebuild", "recount", "stored", "totals"]
