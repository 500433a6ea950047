"""The dashboards' figures: read from the rollups (cohorts by received day) and, for "now", the open tickets.

Definitions (also in the OpenAPI descriptions and the README):
- received: tickets received in the range (Beijing calendar days, inclusive) whose origin unit is in the subtree.
- open / resolved / closed / cancelled / escalated / overdue / reopens / rated: of those tickets, counted where
  they are owned now (see dashboards.rollups); resolved means resolved or closed (办结).
- response rate: accepted within the acceptance deadline / dispatched (a ticket awaiting acceptance counts as
  not yet responded); resolution rate: resolved / (received - cancelled); on-time resolution rate: resolved by
  the resolution deadline / resolved; satisfaction rate: ratings of 4 or 5 / ratings. `rate` is null when the
  denominator is 0.
- now: open tickets owned in the subtree now, of them overdue (past the running deadline) and warned (past 80 %).
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, and_, case, func, select, union_all

from auth.models import Account, Role
from auth.principal import Caller
from auth.scope import scope_of
from dashboards.rollups.models import (
    DAILY_COUNTERS,
    DURATION_BOUNDS,
    WORKER_COUNTERS,
    StatsDaily,
    StatsMonthly,
    StatsWorkerDaily,
    StatsWorkerMonthly,
)
from grid import geometry
from grid import service as grid_service
from grid.models import GridIndexState, GridLevel, GridUnit
from kernel.clock import BEIJING, utcnow
from kernel.errors import ForbiddenError, ValidationError
from kernel.extensions import db
from kernel.pagination import Page, decode_cursor, encode_cursor, paginate
from tasks.categories import codes_under
from tasks.models import OPEN_STATUSES, Category, Ticket

MAX_RANGE_DAYS = 3 * 366
# 积分: points per on-time resolution and per 4–5 rating, minus per reopen (README "Dashboards and ledgers").
SCORE_ON_TIME, SCORE_GOOD_RATING, SCORE_REOPEN = 10, 5, 10


@dataclass(frozen=True)
class Target:
    """What a dashboard request counts: the subtree(s), the Beijing days, the categories."""

    units: tuple[GridUnit, ...]  # one unit; an admin without `grid_id`: every root of the territory
    first: date
    last: date
    categories: tuple[str, ...] | None
    whole_territory: bool = False

    @property
    def unit_ids(self) -> list[int]:
        return [unit.id for unit in self.units]

    @property
    def unit(self) -> GridUnit | None:
        return self.units[0] if len(self.units) == 1 and not self.whole_territory else None


def this_month(now: datetime | None = None) -> tuple[date, date]:
    """The Beijing calendar month holding `now`: first and last day."""
    today = (now or utcnow()).astimezone(BEIJING).date()
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def target_of(
    actor: Caller,
    *,
    grid_id: int | None = None,
    first: date | None = None,
    last: date | None = None,
    category: str | None = None,
) -> Target:
    """Resolve a dashboard request's scope: 404 for a unit the caller may not know, 403 for one above its scope."""
    default_first, default_last = this_month()
    first = first or (default_first if last is None else last.replace(day=1))
    last = last or (default_last if first == default_first else _month_end(first))
    if last < first:
        raise ValidationError("`to` is before `from`.", {"to": ["on or after `from`"]})
    if (last - first).days > MAX_RANGE_DAYS:
        raise ValidationError("The range is too long.", {"to": [f"at most {MAX_RANGE_DAYS} days after `from`"]})
    categories = None
    if category is not None:
        if db.session.get(Category, category) is None:
            raise ValidationError("No such category.", {"category": ["no such category"]})
        categories = tuple(codes_under(category))
    scope = scope_of(actor)
    if grid_id is None:
        if scope.unrestricted:
            roots = db.session.scalars(select(GridUnit).where(GridUnit.parent_id.is_(None)).order_by(GridUnit.id))
            return Target(tuple(roots), first, last, categories, whole_territory=True)
        if actor.role is not Role.SUPERVISOR or actor.scope_grid_id is None:
            raise ForbiddenError("You have no part of the territory to report on.", {"scope": ["no grid scope"]})
        return Target((db.session.get(GridUnit, actor.scope_grid_id),), first, last, categories)
    unit = grid_service.get_visible_unit(actor, grid_id, ancestors_allowed=True)
    if not scope.covers(unit.path):
        raise ForbiddenError("That unit is above your scope.", {"grid_id": ["outside your grid scope"]})
    return Target((unit,), first, last, categories)


def path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def _month_end(day: date) -> date:
    return ((day.replace(day=1) + timedelta(days=32)).replace(day=1)) - timedelta(days=1)


# --- figures ------------------------------------------------------------------------------------------


def rate(numerator: int, denominator: int) -> dict[str, Any]:
    return {
        "numerator": numerator,
        "denominator": denominator,
        "rate": round(numerator / denominator, 4) if denominator else None,
    }


def duration(count: int, seconds: int, histogram: Sequence[int] | None) -> dict[str, Any]:
    """Average exactly; p90 as the upper bound of the histogram bucket holding the 90th percentile."""
    p90 = None
    if histogram is not None and count:
        needed, running = 0.9 * count, 0
        for index, in_bucket in enumerate(histogram):
            running += in_bucket
            if running >= needed:
                p90 = DURATION_BOUNDS[min(index, len(DURATION_BOUNDS) - 1)]
                break
    return {"count": count, "average_seconds": round(seconds / count) if count else None, "p90_seconds": p90}


def figures(sums: Mapping[str, int], *, worker: bool = False) -> dict[str, Any]:
    """Counts and rates from summed rollup counters."""
    get = lambda name: int(sums.get(name) or 0)  # noqa: E731
    base = get("tickets") if worker else get("received") - get("cancelled")
    return {
        "received": None if worker else get("received"),
        "tickets": get("tickets") if worker else None,
        "open": get("open"),
        "resolved": get("resolved"),
        "closed": get("closed"),
        "cancelled": None if worker else get("cancelled"),
        "escalated": None if worker else get("escalated"),
        "overdue": get("overdue"),
        "reopens": get("reopens"),
        "response_rate": rate(get("accepted_on_time"), get("dispatched")),
        "resolution_rate": rate(get("resolved"), base),
        "on_time_resolution_rate": rate(get("resolved_on_time"), get("resolved")),
        "satisfaction_rate": rate(get("rated_good"), get("rated")),
        "time_to_accept": duration(
            get("accepted"), get("accept_seconds"), None if worker else [get(f"accept_h{i}") for i in range(14)]
        ),
        "time_to_resolve": duration(
            get("resolved"), get("resolve_seconds"), None if worker else [get(f"resolve_h{i}") for i in range(14)]
        ),
    }


def _daily_sums(
    target: Target, *group_by: Any, unit_ids: Iterable[int] | None = None, names: Sequence[str] = DAILY_COUNTERS
) -> list[Any]:
    columns = [func.sum(getattr(StatsDaily, name)).label(name) for name in names]
    stmt = select(*group_by, *columns).where(
        StatsDaily.unit_id.in_(list(unit_ids) if unit_ids is not None else target.unit_ids),
        StatsDaily.day.between(target.first, target.last),
    )
    if target.categories is not None:
        stmt = stmt.where(StatsDaily.category_code.in_(target.categories))
    if group_by:
        stmt = stmt.group_by(*group_by)
    return list(db.session.execute(stmt))


def month_split(first: date, last: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """[first, last] as the whole calendar months inside it (first days of the first and last month, or None)
    and the days before and after them: the monthly rollups answer the months, the daily ones the days."""
    first_month = first if first.day == 1 else _month_end(first) + timedelta(days=1)
    last_month = (last if _month_end(last) == last else last.replace(day=1) - timedelta(days=1)).replace(day=1)
    if first_month > last_month:
        return None, [(first, last)]
    edges = [(first, first_month - timedelta(days=1)), (_month_end(last_month) + timedelta(days=1), last)]
    return (first_month, last_month), [(start, end) for start, end in edges if start <= end]


def _worker_rows(target: Target) -> Any:
    """The target's worker rollup rows as one subquery (account_id and WORKER_COUNTERS): whole months from
    stats_worker_monthly, the other days (and any category filter) from stats_worker_daily, by index."""
    months, day_ranges = month_split(target.first, target.last)
    if target.categories is not None:
        months, day_ranges = None, [(target.first, target.last)]
    parts = []
    if months is not None:
        monthly = StatsWorkerMonthly
        parts.append(
            select(monthly.account_id, *(getattr(monthly, name) for name in WORKER_COUNTERS)).where(
                monthly.unit_id.in_(target.unit_ids), monthly.month.between(*months)
            )
        )
    for first, last in day_ranges:
        daily = StatsWorkerDaily
        stmt = select(daily.account_id, *(getattr(daily, name) for name in WORKER_COUNTERS)).where(
            daily.unit_id.in_(target.unit_ids), daily.day.between(first, last)
        )
        if target.categories is not None:
            stmt = stmt.where(daily.category_code.in_(target.categories))
        parts.append(stmt)
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("worker_rows")


def _worker_sums(rows: Any) -> list[Any]:
    return [func.sum(rows.c[name]).label(name) for name in WORKER_COUNTERS]


def _open_tickets(target: Target) -> Select[Any]:
    """Open tickets owned in the subtree now (the index on status, grid_id, due_at serves it)."""
    stmt = select().select_from(Ticket).where(Ticket.status.in_(list(OPEN_STATUSES)))
    if not target.whole_territory:
        under = select(GridUnit.id).where(GridUnit.path.startswith(target.units[0].path, autoescape=True))
        stmt = stmt.where(Ticket.grid_id.in_(under))
    if target.categories is not None:
        stmt = stmt.where(Ticket.category_code.in_(target.categories))
    return stmt


def _unindexed(column: Any) -> Any:
    """A grouping key SQLite cannot read from the column's own index: without it, grouping the open tickets by
    unit or category walks that index over all the tickets (1M rows) to skip a sort of the few open ones,
    because SQLite's statistics cannot see that open tickets are rare. The index on status is used instead."""
    key = column + 0 if isinstance(column.type, Integer) else column.concat("")
    return key.label(column.key)


def _now_columns(now: datetime) -> list[Any]:
    return [
        func.count().label("open"),
        func.coalesce(func.sum(case((Ticket.due_at <= now, 1), else_=0)), 0).label("overdue"),
        func.coalesce(func.sum(case((and_(Ticket.warn_at <= now, Ticket.due_at > now), 1), else_=0)), 0).label(
            "warned"
        ),
    ]


def _now_figures(row: Any, now: datetime) -> dict[str, Any]:
    return {
        "open": int(row.open if row else 0),
        "overdue": int(row.overdue if row else 0),
        "warned": int(row.warned if row else 0),
        "as_of": now,
    }


def _describe(target: Target) -> dict[str, Any]:
    return {
        "grid": target.unit,
        "from_": target.first,
        "to": target.last,
        "category": target.categories[0] if target.categories else None,
    }


def summary(target: Target) -> dict[str, Any]:
    """The subtree's figures over the range, and its open work now."""
    now = utcnow()
    (sums,) = _daily_sums(target)
    current = db.session.execute(_open_tickets(target).add_columns(*_now_columns(now))).one()
    return {**_describe(target), **figures(sums._mapping), "now": _now_figures(current, now)}


# --- breakdowns ---------------------------------------------------------------------------------------


WORKER_PAGE = 50  # by=worker: rows per page by default (a district has about 2,000 workers)


def breakdown(target: Target, by: str, *, limit: int = WORKER_PAGE, cursor: str | None = None) -> dict[str, Any]:
    """The same figures per child unit, category, worker or channel; 'now' where it has a meaning.

    Per worker is paged (`limit`, `cursor`; by account id); the others are short lists and come whole.
    """
    now = utcnow()
    next_cursor = None
    if by == "worker":
        items, next_cursor = _by_worker(target, now, limit, cursor)
    elif cursor is not None:
        raise ValidationError("Only the breakdown by worker is paged.", {"cursor": ["only with by=worker"]})
    else:
        items = {"child": _by_child, "category": _by_category, "channel": _by_channel}[by](target, now)
    return {**_describe(target), "by": by, "items": items, "next_cursor": next_cursor}


def breakdown_rows(target: Target, by: str) -> list[dict[str, Any]]:
    """Every row of a breakdown, all pages of it (for the workbook)."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = breakdown(target, by, limit=500, cursor=cursor)
        rows += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def _fingerprint(target: Target, list_name: str) -> dict[str, Any]:
    return {
        "list": list_name,
        "units": target.unit_ids,
        "from": target.first.isoformat(),
        "to": target.last.isoformat(),
        "categories": target.categories,
    }


def _children(target: Target) -> list[GridUnit]:
    if target.whole_territory:
        return list(target.units)
    stmt = select(GridUnit).where(GridUnit.parent_id == target.units[0].id).order_by(GridUnit.code, GridUnit.id)
    return list(db.session.scalars(stmt))


def _by_child(target: Target, now: datetime) -> list[dict[str, Any]]:
    children = _children(target)
    sums = {
        row.unit_id: row._mapping for row in _daily_sums(target, StatsDaily.unit_id, unit_ids=[c.id for c in children])
    }
    current = _now_by_child(target, children, now)
    items = [_unit_item(child, sums.get(child.id, {}), current.get(child.id), now, direct=False) for child in children]
    if target.unit is not None:  # tickets held by the unit itself (intake to it, or escalated to it)
        (total,) = _daily_sums(target)
        rest = {
            name: int(total._mapping[name] or 0) - sum(int(s[name] or 0) for s in sums.values())
            for name in DAILY_COUNTERS
        }
        if any(rest.values()) or current.get(0):
            items.append(_unit_item(target.unit, rest, current.get(0), now, direct=True))
    return items


def _now_by_child(target: Target, children: Sequence[GridUnit], now: datetime) -> dict[int, dict[str, int]]:
    """Open, overdue and warned now per child (key 0: held by the unit itself)."""
    if target.whole_territory and len(children) == 1:  # one root (a district): all the open work, by index
        row = db.session.execute(_open_tickets(target).add_columns(*_now_columns(now))).one()
        return {children[0].id: {"open": int(row.open), "overdue": int(row.overdue), "warned": int(row.warned)}}
    child_ids = {str(child.id): child.id for child in children}
    depth = 0 if target.whole_territory else len(path_ids(target.units[0].path))
    counted: dict[int, list[int]] = {}
    # Open tickets counted per owning unit first (by the status index), then each unit's path read once.
    unit = _unindexed(Ticket.grid_id)
    per_unit = _open_tickets(target).add_columns(unit, *_now_columns(now)).group_by(unit).subquery("per_unit")
    stmt = select(GridUnit.path, per_unit.c.open, per_unit.c.overdue, per_unit.c.warned).join(
        per_unit, GridUnit.id == per_unit.c.grid_id
    )
    for path, open_, overdue_, warned in db.session.execute(stmt):
        # "/1/2/15/300/" under "/1/2/" (depth 2): the child is the third id, 15; "" is the unit itself (0).
        child_id = child_ids.get(path.split("/", depth + 2)[depth + 1], 0)
        totals = counted.setdefault(child_id, [0, 0, 0])
        totals[0], totals[1], totals[2] = totals[0] + open_, totals[1] + int(overdue_), totals[2] + int(warned)
    return {key: dict(zip(("open", "overdue", "warned"), values, strict=True)) for key, values in counted.items()}


def _unit_item(
    unit: GridUnit, sums: Mapping[str, Any], current: Mapping[str, int] | None, now: datetime, *, direct: bool
) -> dict[str, Any]:
    return {
        "key": str(unit.id),
        "name": unit.name + ("（本级）" if direct else ""),
        "level": unit.level.value,
        "direct": direct,
        **figures(sums),
        "now": _now_figures(_Row(current), now),
    }


class _Row:
    def __init__(self, values: Mapping[str, int] | None) -> None:
        values = values or {}
        self.open, self.overdue, self.warned = values.get("open", 0), values.get("overdue", 0), values.get("warned", 0)


def _by_category(target: Target, now: datetime) -> list[dict[str, Any]]:
    rows = _daily_sums(target, StatsDaily.category_code)
    code = _unindexed(Ticket.category_code)
    stmt = _open_tickets(target).add_columns(code, *_now_columns(now)).group_by(code)
    current = {row.category_code: row for row in db.session.execute(stmt)}
    names = dict(db.session.execute(select(Category.code, Category.name)).all())
    keys = sorted({row.category_code for row in rows} | set(current))
    sums = {row.category_code: row._mapping for row in rows}
    return [
        {
            "key": code,
            "name": names.get(code, code),
            **figures(sums.get(code, {})),
            "now": _now_figures(current.get(code), now),
        }
        for code in keys
    ]


def _by_channel(target: Target, now: datetime) -> list[dict[str, Any]]:
    rows = sorted(_daily_sums(target, StatsDaily.channel), key=lambda row: row.channel)
    return [{"key": row.channel, "name": row.channel, **figures(row._mapping), "now": None} for row in rows]


def _by_worker(
    target: Target, now: datetime, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of workers, by account id: those with tickets received in the range, or open work now."""
    binding = _fingerprint(target, "breakdown-worker")
    after = paginate_after(cursor, binding)
    rows = _worker_rows(target)
    counted = select(rows.c.account_id, *_worker_sums(rows)).group_by(rows.c.account_id)
    holding = _open_tickets(target).add_columns(Ticket.assignee_id).where(Ticket.assignee_id.is_not(None)).distinct()
    if after is not None:
        counted = counted.where(rows.c.account_id > after)
        holding = holding.where(Ticket.assignee_id > after)
    # The first limit + 1 of each, in account order: their union's first limit + 1 are the page (and one more).
    counted = counted.order_by(rows.c.account_id).limit(limit + 1)
    sums = {row.account_id: row._mapping for row in db.session.execute(counted)}
    candidates = set(sums) | set(db.session.scalars(holding.order_by(Ticket.assignee_id).limit(limit + 1)))
    ids = sorted(candidates)[: limit + 1]
    next_cursor = encode_cursor([ids[limit - 1]], binding_of(binding)) if len(ids) > limit else None
    ids = ids[:limit]
    if not ids:
        return [], None
    stmt = (
        _open_tickets(target)
        .where(Ticket.assignee_id.in_(ids))
        .add_columns(Ticket.assignee_id, *_now_columns(now))
        .group_by(Ticket.assignee_id)
    )
    current = {row.assignee_id: row for row in db.session.execute(stmt)}
    names = _account_names(ids)
    items = [
        {
            "key": str(i),
            "name": names.get(i, str(i)),
            **figures(sums.get(i, {}), worker=True),
            "now": _now_figures(current.get(i), now),
        }
        for i in ids
    ]
    return items, next_cursor


def binding_of(fingerprint: Mapping[str, Any]) -> str:
    """What a cursor is bound to: the list and its filters, so it continues only the query that made it."""
    canonical = json.dumps(fingerprint, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def paginate_after(cursor: str | None, fingerprint: Mapping[str, Any]) -> Any:
    """The key a cursor of this list continues after (None: the first page); 400 for a cursor of another list."""
    return None if cursor is None else decode_cursor(cursor, binding_of(fingerprint), 1)[0]


def _account_names(ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Account.id, Account.display_name).where(Account.id.in_(list(ids)))).all())


# --- time series --------------------------------------------------------------------------------------


def period_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())  # weeks start on Monday
    if interval == "month":
        return day.replace(day=1)
    return day


def timeseries(target: Target, interval: str) -> dict[str, Any]:
    """Per day, week (from Monday) or month of receipt: every period of the range, empty ones included."""
    periods: dict[date, dict[str, int]] = {}
    day = target.first
    while day <= target.last:
        periods.setdefault(period_start(day, interval), defaultdict(int))
        day += timedelta(days=1)
    for row in _daily_sums(target, StatsDaily.day):
        bucket = periods[period_start(row.day, interval)]
        for name in ("received", "resolved", "resolved_on_time", "overdue", "rated", "rated_good", "cancelled"):
            bucket[name] += int(row._mapping[name] or 0)
    items = [
        {
            "start": start,
            "received": counts["received"],
            "resolved": counts["resolved"],
            "overdue": counts["overdue"],
            "resolution_rate": rate(counts["resolved"], counts["received"] - counts["cancelled"]),
            "satisfaction_rate": rate(counts["rated_good"], counts["rated"]),
        }
        for start, counts in periods.items()
    ]
    return {**_describe(target), "interval": interval, "items": items}


# --- overdue work, the map, the leaderboard -----------------------------------------------------------


def overdue(target: Target, *, limit: int, cursor: str | None) -> Page[Ticket]:
    """Open tickets past their running deadline or its 80 % mark, the oldest deadline first."""
    now = utcnow()
    stmt = select(Ticket).where(Ticket.status.in_(list(OPEN_STATUSES)), Ticket.warn_at <= now)
    if not target.whole_territory:
        under = select(GridUnit.id).where(GridUnit.path.startswith(target.units[0].path, autoescape=True))
        stmt = stmt.where(Ticket.grid_id.in_(under))
    if target.categories is not None:
        stmt = stmt.where(Ticket.category_code.in_(target.categories))
    fingerprint = {"units": target.unit_ids, "categories": target.categories}
    return paginate(
        stmt, order_by=[Ticket.due_at, Ticket.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint
    )


@dataclass(frozen=True)
class HeatLayer:
    """The map layer: each cell's id and Feature head (its fixed part as JSON text, '{"type":"Feature","id":...,
    "geometry":...,"properties":{"id":...,"code":...,"name":...,'), by id, and the counts by cell id (cells
    without tickets are absent). Kept as the cache's list and two dicts: 10,000 cells make no new objects."""

    cells: list[tuple[int, str]]
    received: dict[int, int]
    current: dict[int, tuple[int, int]]  # open, overdue


# Cells change rarely. Per process: each cell's Feature head, parsed and written once and kept while the unit's
# updated_at (moved by every change of its boundary, code, name or place) stays the same; and per subtree the
# list of its cells' heads, kept while the subtree's cell count, latest updated_at and the grid index version
# (bumped by every boundary change) stay the same, so a request reads one row to know its cells are current.
_FEATURE_HEADS: dict[int, tuple[datetime, str]] = {}
_LAYERS: dict[tuple[str, ...], tuple[tuple[Any, ...], list[tuple[int, str]]]] = {}


def heatmap(target: Target) -> HeatLayer:
    """The cells in the subtree, by id, with received (range), open and overdue (now): a GeoJSON layer."""
    now = utcnow()
    in_subtree = GridUnit.level == GridLevel.GRID
    if not target.whole_territory:
        in_subtree = and_(in_subtree, GridUnit.path.startswith(target.units[0].path, autoescape=True))
    cells = _layer_cells(target, in_subtree)
    received = _received_by_cell(target, in_subtree)
    cell = _unindexed(Ticket.grid_id)
    stmt = _open_tickets(target).add_columns(cell, *_now_columns(now)).group_by(cell)
    current = {row[0]: (int(row[1]), int(row[2])) for row in db.session.execute(stmt)}
    return HeatLayer(cells, received, current)


def _received_by_cell(target: Target, in_subtree: Any) -> dict[int, int]:
    """Tickets received per cell: whole months of the range from stats_monthly (one row per cell and month),
    the days before and after them (and any category filter) from stats_daily."""
    months, day_ranges = month_split(target.first, target.last)
    counts: dict[int, int] = defaultdict(int)
    if target.categories is not None:
        months, day_ranges = None, [(target.first, target.last)]
    if months is not None:
        stmt = (
            select(StatsMonthly.unit_id, func.sum(StatsMonthly.received))
            .join(GridUnit, GridUnit.id == StatsMonthly.unit_id)
            .where(in_subtree, StatsMonthly.month.between(*months))
            .group_by(StatsMonthly.unit_id)
        )
        for unit_id, received in db.session.execute(stmt):
            counts[unit_id] += int(received or 0)
    for first, last in day_ranges:
        stmt = (
            select(StatsDaily.unit_id, func.sum(StatsDaily.received))
            .join(GridUnit, GridUnit.id == StatsDaily.unit_id)
            .where(in_subtree, StatsDaily.day.between(first, last))
            .group_by(StatsDaily.unit_id)
        )
        if target.categories is not None:
            stmt = stmt.where(StatsDaily.category_code.in_(target.categories))
        for unit_id, received in db.session.execute(stmt):
            counts[unit_id] += int(received or 0)
    return counts


def _layer_cells(target: Target, in_subtree: Any) -> list[tuple[int, str]]:
    """The subtree's cells by id with their Feature heads, from the process cache while it is current."""
    key = ("*",) if target.whole_territory else (target.units[0].path,)
    version = (
        *db.session.execute(select(func.count(), func.max(GridUnit.updated_at)).where(in_subtree)).one(),
        db.session.scalar(select(func.max(GridIndexState.version))),
    )
    cached = _LAYERS.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    cells = db.session.execute(select(GridUnit.id, GridUnit.updated_at).where(in_subtree).order_by(GridUnit.id)).all()
    stale = [cell.id for cell in cells if _FEATURE_HEADS.get(cell.id, (None,))[0] != cell.updated_at]
    for start in range(0, len(stale), 500):
        stmt = select(GridUnit.id, GridUnit.code, GridUnit.name, GridUnit.boundary, GridUnit.updated_at)
        for row in db.session.execute(stmt.where(GridUnit.id.in_(stale[start : start + 500]))):
            _FEATURE_HEADS[row.id] = (row.updated_at, _feature_head(row))
    layer = [(cell.id, _FEATURE_HEADS[cell.id][1]) for cell in cells]
    _LAYERS[key] = (tuple(version), layer)
    return layer


def _feature_head(row: Any) -> str:
    geometry_json = "null" if row.boundary is None else json.dumps(geometry.load(row.boundary), separators=(",", ":"))
    key = json.dumps(str(row.id))
    return (
        f'{{"type":"Feature","id":{key},"geometry":{geometry_json},"properties":{{"id":{key},'
        f'"code":{json.dumps(row.code)},"name":{json.dumps(row.name)},'
    )


SCORED = ("resolved_on_time", "rated_good", "reopens", "rated")  # what the leaderboard sums


def score(sums: Mapping[str, Any]) -> int:
    get = lambda name: int(sums.get(name) or 0)  # noqa: E731
    return (
        SCORE_ON_TIME * get("resolved_on_time") + SCORE_GOOD_RATING * get("rated_good") - SCORE_REOPEN * get("reopens")
    )


def leaderboard(target: Target, of: str, limit: int, cursor: str | None = None) -> dict[str, Any]:
    """Workers (or child units) ranked by score; ties: more on time, fewer reopens, then the smaller id.

    Paged by rank (`limit`, then `next_cursor`); the ranking is summed and sorted in the database.
    """
    binding = _fingerprint(target, f"leaderboard-{of}")
    offset = int(paginate_after(cursor, binding) or 0)
    if of == "worker":
        ranked = _ranked_workers(target, offset, limit + 1)
        names = _account_names([key for key, _ in ranked])
    else:
        children = _children(target)
        by_id = {
            row.unit_id: row._mapping
            for row in _daily_sums(target, StatsDaily.unit_id, unit_ids=[c.id for c in children], names=SCORED)
        }
        rows = [(child.id, by_id.get(child.id, {})) for child in children]
        names = {child.id: child.name for child in children}
        ranked = sorted(
            rows,
            key=lambda item: (
                -score(item[1]),
                -int(item[1].get("resolved_on_time") or 0),
                int(item[1].get("reopens") or 0),
                item[0],
            ),
        )[offset : offset + limit + 1]
    next_cursor = encode_cursor([offset + limit], binding_of(binding)) if len(ranked) > limit else None
    items = [
        {
            "rank": position,
            "key": str(key),
            "name": names.get(key, str(key)),
            "score": score(sums),
            "resolved_on_time": int(sums.get("resolved_on_time") or 0),
            "rated_good": int(sums.get("rated_good") or 0),
            "reopens": int(sums.get("reopens") or 0),
            "satisfaction_rate": rate(int(sums.get("rated_good") or 0), int(sums.get("rated") or 0)),
        }
        for position, (key, sums) in enumerate(ranked[:limit], start=offset + 1)
    ]
    return {**_describe(target), "of": of, "items": items, "next_cursor": next_cursor}


def _ranked_workers(target: Target, offset: int, limit: int) -> list[tuple[int, Mapping[str, Any]]]:
    """Workers' score inputs summed, ranked and cut in SQL: one page of rows leaves the database."""
    rows = _worker_rows(target)
    sums = {name: func.sum(rows.c[name]) for name in SCORED}
    points = SCORE_ON_TIME * sums["resolved_on_time"] + SCORE_GOOD_RATING * sums["rated_good"]
    points = points - SCORE_REOPEN * sums["reopens"]
    stmt = (
        select(rows.c.account_id, *(column.label(name) for name, column in sums.items()))
        .group_by(rows.c.account_id)
        .order_by(points.desc(), sums["resolved_on_time"].desc(), sums["reopens"].asc(), rows.c.account_id.asc())
        .offset(offset)
        .limit(limit)
    )
    return [(row.account_id, row._mapping) for row in db.session.execute(stmt)]
