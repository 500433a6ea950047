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

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, select

from auth.models import Account, Role
from auth.scope import scope_of
from dashboards.models import (
    DAILY_COUNTERS,
    DURATION_BOUNDS,
    WORKER_COUNTERS,
    StatsDaily,
    StatsWorkerDaily,
)
from grid import geometry
from grid import service as grid_service
from grid.models import GridLevel, GridUnit
from kernel.clock import BEIJING, utcnow
from kernel.errors import ForbiddenError, ValidationError
from kernel.extensions import db
from kernel.pagination import Page, paginate
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
    actor: Account,
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
        if actor.role is not Role.SUPERVISOR or actor.scope_grid is None:
            raise ForbiddenError("You have no part of the territory to report on.", {"scope": ["no grid scope"]})
        return Target((actor.scope_grid,), first, last, categories)
    unit = grid_service.get_visible_unit(actor, grid_id, ancestors_allowed=True)
    if not scope.covers(unit.path):
        raise ForbiddenError("That unit is above your scope.", {"grid_id": ["outside your grid scope"]})
    return Target((unit,), first, last, categories)


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


def _daily_sums(target: Target, *group_by: Any, unit_ids: Iterable[int] | None = None) -> list[Any]:
    columns = [func.sum(getattr(StatsDaily, name)).label(name) for name in DAILY_COUNTERS]
    stmt = select(*group_by, *columns).where(
        StatsDaily.unit_id.in_(list(unit_ids) if unit_ids is not None else target.unit_ids),
        StatsDaily.day.between(target.first, target.last),
    )
    if target.categories is not None:
        stmt = stmt.where(StatsDaily.category_code.in_(target.categories))
    if group_by:
        stmt = stmt.group_by(*group_by)
    return list(db.session.execute(stmt))


def _worker_sums(target: Target) -> list[Any]:
    columns = [func.sum(getattr(StatsWorkerDaily, name)).label(name) for name in WORKER_COUNTERS]
    stmt = (
        select(StatsWorkerDaily.account_id, *columns)
        .where(
            StatsWorkerDaily.unit_id.in_(target.unit_ids),
            StatsWorkerDaily.day.between(target.first, target.last),
        )
        .group_by(StatsWorkerDaily.account_id)
    )
    if target.categories is not None:
        stmt = stmt.where(StatsWorkerDaily.category_code.in_(target.categories))
    return list(db.session.execute(stmt))


def _open_tickets(target: Target) -> Select[Any]:
    """Open tickets owned in the subtree now (the index on status, grid_id, due_at serves it)."""
    stmt = select().select_from(Ticket).where(Ticket.status.in_(list(OPEN_STATUSES)))
    if not target.whole_territory:
        under = select(GridUnit.id).where(GridUnit.path.startswith(target.units[0].path, autoescape=True))
        stmt = stmt.where(Ticket.grid_id.in_(under))
    if target.categories is not None:
        stmt = stmt.where(Ticket.category_code.in_(target.categories))
    return stmt


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


def breakdown(target: Target, by: str) -> dict[str, Any]:
    """The same figures per child unit, category, worker or channel; 'now' where it has a meaning."""
    now = utcnow()
    items = {"child": _by_child, "category": _by_category, "worker": _by_worker, "channel": _by_channel}[by](
        target, now
    )
    return {**_describe(target), "by": by, "items": items}


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
    paths = {child.path: child.id for child in children}
    current: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    stmt = _open_tickets(target).join(GridUnit, GridUnit.id == Ticket.grid_id).add_columns(GridUnit.path)
    for row in db.session.execute(stmt.add_columns(*_now_columns(now)).group_by(GridUnit.path)):
        child_id = _child_of(row.path, paths)
        for name in ("open", "overdue", "warned"):
            current[child_id if child_id is not None else 0][name] += int(row._mapping[name])
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


def _child_of(path: str, children: Mapping[str, int]) -> int | None:
    for child_path, child_id in children.items():
        if path.startswith(child_path):
            return child_id
    return None


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
    stmt = _open_tickets(target).add_columns(Ticket.category_code, *_now_columns(now)).group_by(Ticket.category_code)
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


def _by_worker(target: Target, now: datetime) -> list[dict[str, Any]]:
    rows = _worker_sums(target)
    stmt = (
        _open_tickets(target)
        .where(Ticket.assignee_id.is_not(None))
        .add_columns(Ticket.assignee_id, *_now_columns(now))
        .group_by(Ticket.assignee_id)
    )
    current = {row.assignee_id: row for row in db.session.execute(stmt)}
    sums = {row.account_id: row._mapping for row in rows}
    ids = sorted(set(sums) | set(current))
    names = _account_names(ids)
    return [
        {
            "key": str(i),
            "name": names.get(i, str(i)),
            **figures(sums.get(i, {}), worker=True),
            "now": _now_figures(current.get(i), now),
        }
        for i in ids
    ]


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


def heatmap(target: Target) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the cells in the subtree, with received (range), open and overdue (now)."""
    now = utcnow()
    in_subtree = GridUnit.level == GridLevel.GRID
    if not target.whole_territory:
        in_subtree = and_(in_subtree, GridUnit.path.startswith(target.units[0].path, autoescape=True))
    cells = db.session.execute(
        select(GridUnit.id, GridUnit.code, GridUnit.name, GridUnit.boundary).where(in_subtree).order_by(GridUnit.id)
    ).all()
    received_stmt = (
        select(StatsDaily.unit_id, func.sum(StatsDaily.received))
        .join(GridUnit, GridUnit.id == StatsDaily.unit_id)
        .where(in_subtree, StatsDaily.day.between(target.first, target.last))
        .group_by(StatsDaily.unit_id)
    )
    if target.categories is not None:
        received_stmt = received_stmt.where(StatsDaily.category_code.in_(target.categories))
    received = {unit: int(count or 0) for unit, count in db.session.execute(received_stmt)}
    stmt = _open_tickets(target).add_columns(Ticket.grid_id, *_now_columns(now)).group_by(Ticket.grid_id)
    current = {row.grid_id: row for row in db.session.execute(stmt)}
    features = [
        {
            "type": "Feature",
            "id": str(cell.id),
            "geometry": geometry.load(cell.boundary),
            "properties": {
                "id": str(cell.id),
                "code": cell.code,
                "name": cell.name,
                "received": received.get(cell.id, 0),
                "open": int(current[cell.id].open) if cell.id in current else 0,
                "overdue": int(current[cell.id].overdue) if cell.id in current else 0,
            },
        }
        for cell in cells
    ]
    return {"type": "FeatureCollection", "features": features}


def score(sums: Mapping[str, Any]) -> int:
    get = lambda name: int(sums.get(name) or 0)  # noqa: E731
    return (
        SCORE_ON_TIME * get("resolved_on_time") + SCORE_GOOD_RATING * get("rated_good") - SCORE_REOPEN * get("reopens")
    )


def leaderboard(target: Target, of: str, limit: int) -> dict[str, Any]:
    """Workers (or child units) ranked by score; ties: more on time, fewer reopens, then the smaller id."""
    if of == "worker":
        rows = [(row.account_id, row._mapping) for row in _worker_sums(target)]
        names = _account_names([key for key, _ in rows])
    else:
        children = _children(target)
        by_id = {
            row.unit_id: row._mapping
            for row in _daily_sums(target, StatsDaily.unit_id, unit_ids=[c.id for c in children])
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
    )
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
        for position, (key, sums) in enumerate(ranked[:limit], start=1)
    ]
    return {**_describe(target), "of": of, "items": items}
