"""What a ticket change does to the stored rollups: the difference of its facts, upserted at commit.

`count_ticket_change` hears every `TicketChanged` (wired in bootstrap's `subscribe`), inside the change's
transaction. The ticket's last facts (stats_ticket_facts) are its 'before'; the rows that its new facts move are
summed per transaction and written once at commit (`kernel.records.total`), one statement per rollup, tables and
then keys in a fixed order, so two writers never deadlock on the counter rows they share.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from dashboards.rollups.facts import (
    Counts,
    DailyKey,
    Facts,
    WorkerKey,
    facts_of,
    monthly_of,
    nonzero,
    path_ids,
    worker_months_of,
)
from dashboards.rollups.models import (
    DAILY_COUNTERS,
    WORKER_COUNTERS,
    StatsDaily,
    StatsMonthly,
    StatsTicketFacts,
    StatsWorkerDaily,
    StatsWorkerMonthly,
)
from grid.models import GridUnit
from kernel import records
from kernel.extensions import db
from tasks.events import TicketChanged
from tasks.models import Ticket

# Events that change none of the fields a ticket is counted by: no read and no write for them (an urge is
# frequent, and reading the facts row would add markedly to its cost: see docs/PERFORMANCE.md).
UNCOUNTED_EVENTS = frozenset({"urge", "photo", "warned", "sms_reply"})


def count_ticket_change(change: TicketChanged) -> None:
    """Subscriber of `TicketChanged`: the rollups follow the ticket, in the change's transaction."""
    on_event(change.ticket, change.action, change.details)


def on_event(ticket: Ticket, action: str, details: Mapping[str, Any]) -> None:
    """Bring the ticket's rollup rows up to date with this change (the event's action and details), as
    `count_ticket_change` does for every change that tasks.service.record_event publishes."""
    if action in UNCOUNTED_EVENTS:
        return
    stored = db.session.get(StatsTicketFacts, ticket.id)
    before = _facts_from_row(stored) if stored is not None else None
    counters = before.counters if before is not None else {}
    rating = details.get("rating")
    channel = before.channel if before is not None else str(details.get("channel") or "app")
    after = facts_of(
        ticket,
        channel=channel,
        owner_path=_owner_path(ticket, before),
        origin_path=before.origin_path if before else _unit_path(ticket.origin_grid_id),
        overdue_seen=bool(counters.get("overdue_seen")) or action == "overdue",
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


@dataclass
class _Changes:
    """What a transaction's ticket changes add to the rollups, summed by row."""

    daily: dict[DailyKey, Counts] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    workers: dict[WorkerKey, Counts] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))


def apply(before: Facts | None, after: Facts | None) -> None:
    """Add `after - before` to both rollups, at commit (`_write`)."""
    daily = _difference(before.daily() if before else {}, after.daily() if after else {})
    workers = _difference(before.worker() if before else {}, after.worker() if after else {})
    if not (daily or workers):
        return
    changes = records.total(_write, _Changes)
    for summed, more in ((changes.daily, daily), (changes.workers, workers)):
        for key, counts in more.items():
            for name, value in counts.items():
                summed[key][name] += value


def _difference(old: Mapping[Any, Counts], new: Mapping[Any, Counts]) -> dict[Any, Counts]:
    changes: dict[Any, Counts] = {}
    for key in old.keys() | new.keys():
        was, now = old.get(key, {}), new.get(key, {})
        delta = {name: now.get(name, 0) - was.get(name, 0) for name in was.keys() | now.keys()}
        delta = {name: value for name, value in delta.items() if value}
        if delta:
            changes[key] = delta
    return changes


def _write(changes: _Changes) -> None:
    """The transaction's changes, one statement per rollup (only the rows that change), rows in key order.

    At commit, after the tickets' version checks, so a request that lost one locks no counter row; and every
    writer locks the rows it shares with another in the same order (tables, then keys), so no two deadlock."""
    daily, workers = nonzero(changes.daily), nonzero(changes.workers)
    upsert_daily(daily)
    upsert_monthly(monthly_of(daily))
    upsert_workers(workers)
    upsert_worker_months(worker_months_of(workers))


def upsert_daily(rows: Mapping[DailyKey, Counts]) -> None:
    if not rows:
        return
    params = [
        {"unit_id": unit, "day": day, "category_code": category, "channel": channel}
        | {name: counts.get(name, 0) for name in DAILY_COUNTERS}
        for (unit, day, category, channel), counts in rows.items()
    ]
    _upsert(StatsDaily, ["unit_id", "day", "category_code", "channel"], DAILY_COUNTERS, params)


def upsert_monthly(rows: Mapping[tuple[int, date], int]) -> None:
    if rows:
        params = [{"unit_id": unit, "month": month, "received": n} for (unit, month), n in rows.items()]
        _upsert(StatsMonthly, ["unit_id", "month"], ("received",), params)


def upsert_workers(rows: Mapping[WorkerKey, Counts]) -> None:
    if not rows:
        return
    params = [
        {"unit_id": unit, "day": day, "category_code": category, "account_id": account}
        | {name: counts.get(name, 0) for name in WORKER_COUNTERS}
        for (unit, day, category, account), counts in rows.items()
    ]
    _upsert(StatsWorkerDaily, ["unit_id", "day", "category_code", "account_id"], WORKER_COUNTERS, params)


def upsert_worker_months(rows: Mapping[tuple[int, date, int], Counts]) -> None:
    if rows:
        params = [
            {"unit_id": unit, "month": month, "account_id": account}
            | {name: counts.get(name, 0) for name in WORKER_COUNTERS}
            for (unit, month, account), counts in rows.items()
        ]
        _upsert(StatsWorkerMonthly, ["unit_id", "month", "account_id"], WORKER_COUNTERS, params)


def _upsert(model: type[Any], keys: list[str], counters: Iterable[str], params: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n: atomic on both engines, no read first; rows in key
    order (see `_write`)."""
    table = model.__table__
    statement = _insert(model)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: table.c[name] + statement.excluded[name] for name in counters}
    )
    params.sort(key=itemgetter(*keys))
    # Core executemany: the ORM's bulk path costs more (see docs/PERFORMANCE.md).
    db.session.connection().execute(statement, params)


def _insert(model: type[Any]) -> Any:
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)
