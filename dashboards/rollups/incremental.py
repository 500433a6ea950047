"""What a ticket change does to the stored rollups: the difference of its facts, upserted at commit.

`count_ticket_change` hears every `TicketChanged` (wired in bootstrap's `subscribe`), inside the change's
transaction. The ticket's last facts (stats_ticket_facts) are its 'before'; the rows that its new facts move are
summed per transaction and written once at commit (`kernel.records.total`), one statement per rollup, tables and
then keys in a fixed order, so two writers never deadlock on the counter rows they share; last of all, every such
transaction moves the dashboards' version (`stats_version`), which the map layer keeps its figures by.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from dashboards.rollups import models
from dashboards.rollups.facts import (
    Counts,
    DailyKey,
    Facts,
    WorkerKey,
    facts_of,
    monthly_of,
    nonzero,
    worker_months_of,
)
from grid.models import GridUnit
from kernel import records
from kernel.compiled import CompiledSelect, CompiledWrite
from kernel.extensions import db
from kernel.scope import path_ids
from tasks.tickets.events import TicketChanged
from tasks.tickets.models import Ticket

# Events that change none of the fields a ticket is counted by: no read and no write for them (an urge is
# frequent, and reading the facts row would add markedly to its cost: see docs/PERFORMANCE.md).
UNCOUNTED_EVENTS = frozenset({"urge", "photo", "warned", "sms_reply"})


def count_ticket_change(change: TicketChanged) -> None:
    """Subscriber of `TicketChanged`: the rollups follow the ticket, in the change's transaction."""
    on_event(change.ticket, change.action, change.details)


def on_event(ticket: Ticket, action: str, details: Mapping[str, Any]) -> None:
    """Bring the ticket's rollup rows up to date with this change (the event's action and details), as
    `count_ticket_change` does for every change that tasks.tickets.actions.record_event publishes."""
    if action in UNCOUNTED_EVENTS:
        return
    # Whatever the facts say, the change may move what the dashboards show now (an open ticket's deadline, its
    # unit): the transaction moves the version at commit, even with no rollup row to change.
    records.at_end(bump_version)
    waiting = records.total(_write_facts, _FactsToWrite)
    # A ticket's first event (its intake, or its routing out of triage) finds no facts stored: none are read.
    before = None if action == "create" else waiting.before(ticket.id)
    counters = before.counters if before is not None else {}
    rating = details.get("rating")
    channel = before.channel if before is not None else str(details.get("channel") or "app")
    after = facts_of(
        ticket,
        channel=channel,
        owner_path=_owner_path(ticket, before),
        origin_path=before.origin_path if before else _unit_path(ticket, "first_unit", ticket.origin_grid_id),
        overdue_seen=bool(counters.get("overdue_seen")) or action == "overdue",
        rated=counters.get("rated", 0) + (1 if rating is not None else 0),
        rated_good=counters.get("rated_good", 0) + (1 if rating is not None and int(rating) >= 4 else 0),
    )
    if before == after:
        return
    apply(before, after)
    waiting.facts[ticket.id] = after


def _owner_path(ticket: Ticket, before: Facts | None) -> str:
    """The owning unit's path: as counted before unless the ticket moved (an escalation), then looked up."""
    if before is not None and path_ids(before.owner_path)[-1] == ticket.grid_id:
        return before.owner_path
    return _unit_path(ticket, "grid", ticket.grid_id)


def _unit_path(ticket: Ticket, relation: str, unit_id: int) -> str:
    """The unit's path from the ticket's own loaded unit (`relation`) when that is the unit, else looked up."""
    unit = inspect(ticket).dict.get(relation)  # as loaded or set: a new ticket's is not looked up
    if unit is None or unit.id != unit_id:
        unit = db.session.get(GridUnit, unit_id)
    return unit.path if unit is not None else f"/{unit_id}/"


_facts = models.StatsTicketFacts.__table__
_FACTS_COLUMNS = ("day", "category_code", "channel", "origin_path", "owner_path", "worker_id", "counters")
_STORED_FACTS = CompiledSelect(
    select(*(_facts.c[name] for name in _FACTS_COLUMNS)).where(_facts.c.ticket_id == bindparam("ticket_id"))
)
_INSERT_FACTS = CompiledWrite(_facts.insert())
_UPDATE_FACTS = CompiledWrite(_facts.update().where(_facts.c.ticket_id == bindparam("where_ticket_id")))


@dataclass
class _FactsToWrite:
    """The transaction's tickets' latest facts, written at commit (`_write_facts`), and which of them have a row."""

    facts: dict[int, Facts] = field(default_factory=dict)
    stored: set[int] = field(default_factory=set)

    def before(self, ticket_id: int) -> Facts | None:
        """The ticket's facts as this transaction last left them, else as stored; None: not counted yet."""
        if ticket_id in self.facts:
            return self.facts[ticket_id]
        row = _STORED_FACTS.first({"ticket_id": ticket_id})
        if row is None:
            return None
        self.stored.add(ticket_id)
        day, category_code, channel, origin_path, owner_path, worker_id, counters = row
        return Facts(day, category_code, channel, origin_path, owner_path, worker_id, dict(counters or {}))


def _write_facts(waiting: _FactsToWrite) -> None:
    """At commit, before the rollups' rows (asked for first): one INSERT for the tickets counted for the first
    time, one UPDATE for the others, in ticket order. Core statements, not the ORM's flush of loaded rows: an
    action's facts row was a quarter of its rollups' cost (docs/PERFORMANCE.md, "Seventh pass")."""
    new, changed = [], []
    for ticket_id, facts in sorted(waiting.facts.items()):
        if ticket_id in waiting.stored:
            changed.append({"where_ticket_id": ticket_id, **_facts_columns(facts)})
        else:
            new.append({"ticket_id": ticket_id, **_facts_columns(facts)})
    for statement, rows in ((_INSERT_FACTS, new), (_UPDATE_FACTS, changed)):
        if rows:
            statement.execute(rows)


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
    records.at_end(bump_version)
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
    monthly = {key: {"received": received} for key, received in monthly_of(daily).items()}
    upsert(models.StatsDaily, ("unit_id", "day", "category_code", "channel"), models.DAILY_COUNTERS, daily)
    upsert(models.StatsMonthly, ("unit_id", "month"), ("received",), monthly)
    upsert(models.StatsWorkerDaily, ("unit_id", "day", "category_code", "account_id"), models.WORKER_COUNTERS, workers)
    months = worker_months_of(workers)
    upsert(models.StatsWorkerMonthly, ("unit_id", "month", "account_id"), models.WORKER_COUNTERS, months)


VERSION_ROW = 1
_version = models.StatsVersion.__table__
VERSION = select(_version.c.version).where(_version.c.id == VERSION_ROW)


def bump_version() -> None:
    """Move the dashboards' version, in the transaction that changes what they count (a ticket, the rollups).
    Every such transaction writes this one row, so a reader sees a version only with the changes it counts. An
    upsert like the rollups' (the migration writes the row; two first writers of a database without it would
    otherwise both insert it). A ticket's change moves it as the transaction's last write (`records.at_end`): each
    writer holds the row only from there to its commit, and never waits for another row while holding it."""
    upsert(models.StatsVersion, ("id",), ("version",), {(VERSION_ROW,): {"version": 1}})


def upsert(model: type[Any], keys: tuple[str, ...], counters: tuple[str, ...], rows: Mapping[Any, Counts]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n for `rows` (by their key, the values of `keys`):
    atomic on both engines, no read first; rows in key order (see `_write`). No rows: no statement."""
    if not rows:
        return
    params = [
        dict(zip(keys, key, strict=True)) | {name: counts.get(name, 0) for name in counters}
        for key, counts in rows.items()
    ]
    statement = _upsert_statement(db.session.get_bind().dialect.name, model, keys, counters)
    params.sort(key=itemgetter(*keys))
    # One execution, or executemany: the ORM's bulk path costs more (see docs/PERFORMANCE.md).
    statement.execute(params)


@cache
def _upsert_statement(dialect_name: str, model: type[Any], keys: tuple[str, ...], counters: tuple[str, ...]) -> Any:
    """One statement per rollup and dialect, built once: building it (the `excluded` columns above all) was
    more than half of a ticket action's time (docs/PERFORMANCE.md); statements are immutable, so sharing is safe."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(model)
    table = model.__table__
    return CompiledWrite(
        statement.on_conflict_do_update(
            index_elements=list(keys), set_={name: table.c[name] + statement.excluded[name] for name in counters}
        )
    )
