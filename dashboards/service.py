"""The dashboards' figures: read from the rollups (cohorts by received day) and, for "now", the open tickets.

Definitions (also in the OpenAPI descriptions and the README):
- received: tickets received in the range (Beijing calendar days, inclusive) whose origin unit is in the subtree.
- open / resolved / closed / cancelled / escalated / overdue / reopens / rated: of those tickets, counted where
  they are owned now (see dashboards.rollups.facts); resolved means resolved or closed (办结).
- escalated_out: of those tickets, the ones passed up out of the subtree (owned above it now).
- on-the-spot rate (就地解决率): tickets handled on the spot (resolved by their cell's own worker, who took them
  there, never dispatched or escalated) / received; workers: / tickets.
- response rate: accepted within the acceptance deadline / dispatched (a ticket awaiting acceptance counts as
  not yet responded); resolution rate: resolved / (received - cancelled); on-time resolution rate: resolved by
  the resolution deadline / resolved; satisfaction rate: ratings of 4 or 5 / ratings. `rate` is null when the
  denominator is 0.
- now: open tickets owned in the subtree now, of them overdue (past the running deadline) and warned (past 80 %).

Here: the request's target, the sums every view reads, the summary, the time series and the overdue list; the
breakdowns (dashboards.breakdowns), the map layer (dashboards.map_layer) and the leaderboard (dashboards.ranking)
build on them.
"""

import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, Select, and_, case, cast, func, select, union_all
from sqlalchemy.dialects import postgresql

from auth.models import Account
from dashboards.rollups.models import (
    DAILY_COUNTERS,
    DURATION_BOUNDS,
    WORKER_COUNTERS,
    StatsDaily,
    StatsWorkerDaily,
    StatsWorkerMonthly,
)
from grid import service as grid_service
from grid.models import GridUnit
from grid.scope import scope_of
from kernel.clock import BEIJING, utcnow
from kernel.errors import ForbiddenError, ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import Page, decode_cursor, paginate
from kernel.principals import Caller, Role
from tasks.categories.models import Category
from tasks.categories.service import codes_under
from tasks.lifecycle import OPEN_STATUSES
from tasks.tickets.models import Ticket

MAX_RANGE_DAYS = 3 * 366


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
        raise ValidationError(_("`to` is before `from`."), {"to": [_("on or after `from`")]})
    if (last - first).days > MAX_RANGE_DAYS:
        raise ValidationError(
            _("The range is too long."),
            {"to": [_("at most %(MAX_RANGE_DAYS)s days after `from`", MAX_RANGE_DAYS=MAX_RANGE_DAYS)]},
        )
    categories = None
    if category is not None:
        if db.session.get(Category, category) is None:
            raise ValidationError(_("No such category."), {"category": [_("no such category")]})
        categories = tuple(codes_under(category))
    scope = scope_of(actor)
    if grid_id is None:
        if scope.unrestricted:
            roots = db.session.scalars(select(GridUnit).where(GridUnit.parent_id.is_(None)).order_by(GridUnit.id))
            return Target(tuple(roots), first, last, categories, whole_territory=True)
        if actor.role is not Role.SUPERVISOR or actor.scope_grid_id is None:
            raise ForbiddenError(_("You have no part of the territory to report on."), {"scope": [_("no grid scope")]})
        return Target((db.session.get(GridUnit, actor.scope_grid_id),), first, last, categories)
    unit = grid_service.get_visible_unit(actor, grid_id, ancestors_allowed=True)
    if not scope.covers(unit.path):
        raise ForbiddenError(_("That unit is above your scope."), {"grid_id": [_("outside your grid scope")]})
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
        "escalated_out": None if worker else get("escalated_out"),
        "on_spot": get("on_spot"),
        "overdue": get("overdue"),
        "reopens": get("reopens"),
        "returns": get("returns"),
        "returns_refused": get("returns_refused"),
        "return_review": get("return_review"),
        "extended": get("extended"),
        "suspended": get("suspended"),
        "suspended_seconds": get("suspended_seconds"),
        "response_rate": rate(get("accepted_on_time"), get("dispatched")),
        "resolution_rate": rate(get("resolved"), base),
        "on_time_resolution_rate": rate(get("resolved_on_time"), get("resolved")),
        "satisfaction_rate": rate(get("rated_good"), get("rated")),
        "on_spot_rate": rate(get("on_spot"), get("tickets") if worker else get("received")),
        "extension_rate": rate(get("extended"), base),
        "time_to_accept": duration(
            get("accepted"), get("accept_seconds"), None if worker else [get(f"accept_h{i}") for i in range(14)]
        ),
        "time_to_resolve": duration(
            get("resolved"), get("resolve_seconds"), None if worker else [get(f"resolve_h{i}") for i in range(14)]
        ),
    }


def daily_sums(
    target: Target, *group_by: Any, unit_ids: Iterable[int] | None = None, names: Sequence[str] = DAILY_COUNTERS
) -> list[Any]:
    stmt = select(*group_by, *_sums_of(tuple(names))).where(
        StatsDaily.unit_id.in_(list(unit_ids) if unit_ids is not None else target.unit_ids),
        StatsDaily.day.between(target.first, target.last),
    )
    if target.categories is not None:
        stmt = stmt.where(StatsDaily.category_code.in_(target.categories))
    if group_by:
        stmt = stmt.group_by(*group_by)
    return list(db.session.execute(stmt))


def unit_sums(target: Target, unit_ids: Sequence[int], names: Sequence[str] = DAILY_COUNTERS) -> list[Any]:
    """`daily_sums` per unit (`unit_id` and the sums) of these units. On PostgreSQL the units are an array the
    rows are joined to: the planner then expects as many groups as units and sums them in a hash table, where
    grouping by `stats_daily.unit_id` made it expect a group per row and sort them all first (a district's 11
    units: 13,000 rows of 47 counters sorted each time, a third of the statement at 10M tickets)."""
    if db.session.connection().dialect.name != "postgresql":
        return daily_sums(target, StatsDaily.unit_id, unit_ids=unit_ids, names=names)
    units = func.unnest(cast(list(unit_ids), postgresql.ARRAY(BigInteger))).table_valued("id").render_derived(name="u")
    stmt = (
        select(units.c.id.label("unit_id"), *_sums_of(tuple(names)))
        .select_from(units)
        .join(StatsDaily, StatsDaily.unit_id == units.c.id)
        .where(StatsDaily.day.between(target.first, target.last))
        .group_by(units.c.id)
    )
    if target.categories is not None:
        stmt = stmt.where(StatsDaily.category_code.in_(target.categories))
    return list(db.session.execute(stmt))


@functools.cache
def _sums_of(names: tuple[str, ...]) -> tuple[Any, ...]:
    """The labelled sums of these stats_daily counters, built once (47 of them took a few ms a request to build:
    SQL expressions are immutable, so every statement may share them)."""
    return tuple(func.sum(getattr(StatsDaily, name)).label(name) for name in names)


def month_split(first: date, last: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """[first, last] as the whole calendar months inside it (first days of the first and last month, or None)
    and the days before and after them: the monthly rollups answer the months, the daily ones the days."""
    first_month = first if first.day == 1 else _month_end(first) + timedelta(days=1)
    last_month = (last if _month_end(last) == last else last.replace(day=1) - timedelta(days=1)).replace(day=1)
    if first_month > last_month:
        return None, [(first, last)]
    edges = [(first, first_month - timedelta(days=1)), (_month_end(last_month) + timedelta(days=1), last)]
    return (first_month, last_month), [(start, end) for start, end in edges if start <= end]


def worker_rows(target: Target) -> Any:
    """The target's worker rollup rows as one subquery (account_id and WORKER_COUNTERS): whole months from
    stats_worker_monthly, the other days (and any category filter) from stats_worker_daily, by index."""
    months, day_ranges = month_split(target.first, target.last)
    if target.categories is not None:
        months, day_ranges = None, [(target.first, target.last)]
    parts = []
    if months is not None:
        monthly = StatsWorkerMonthly
        # One month as an equality: the key (unit_id, month, account_id) then gives its rows in account order, so a
        # page by account reads its own rows and stops (the city's first page 34 -> 0.7 ms); a range was sorted.
        in_months = monthly.month == months[0] if months[0] == months[1] else monthly.month.between(*months)
        parts.append(
            select(monthly.account_id, *(getattr(monthly, name) for name in WORKER_COUNTERS)).where(
                monthly.unit_id.in_(target.unit_ids), in_months
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


def open_tickets(target: Target, *, joined: bool = False) -> Select[Any]:
    """Open tickets owned in the subtree now (the index on status, grid_id, due_at serves it); `joined`: with
    their owning units joined (GridUnit's columns to select), the subtree then filtered on them."""
    stmt = select().select_from(Ticket).where(Ticket.status.in_(list(OPEN_STATUSES)))
    if joined:
        stmt = stmt.join(GridUnit, GridUnit.id == Ticket.grid_id)
    if not target.whole_territory:
        in_subtree = GridUnit.path.startswith(target.units[0].path, autoescape=True)
        stmt = stmt.where(in_subtree if joined else Ticket.grid_id.in_(select(GridUnit.id).where(in_subtree)))
    if target.categories is not None:
        stmt = stmt.where(Ticket.category_code.in_(target.categories))
    return stmt


def unindexed(column: Any) -> Any:
    """A grouping key SQLite cannot read from the column's own index: without it, grouping the open tickets by
    unit or category walks that index over all the tickets to skip a sort of the few open ones,
    because SQLite's statistics cannot see that open tickets are rare. The index on status is used instead."""
    key = column + 0 if isinstance(column.type, Integer) else column.concat("")
    return key.label(column.key)


def now_columns(now: datetime) -> list[Any]:
    return [
        func.count().label("open"),
        func.coalesce(func.sum(case((Ticket.due_at <= now, 1), else_=0)), 0).label("overdue"),
        func.coalesce(func.sum(case((and_(Ticket.warn_at <= now, Ticket.due_at > now), 1), else_=0)), 0).label(
            "warned"
        ),
    ]


def now_figures(row: Any, now: datetime) -> dict[str, Any]:
    return {
        "open": int(row.open if row else 0),
        "overdue": int(row.overdue if row else 0),
        "warned": int(row.warned if row else 0),
        "as_of": now,
    }


def describe(target: Target) -> dict[str, Any]:
    return {
        "grid": target.unit,
        "from_": target.first,
        "to": target.last,
        "category": target.categories[0] if target.categories else None,
    }


def summary(target: Target) -> dict[str, Any]:
    """The subtree's figures over the range, and its open work now."""
    now = utcnow()
    (sums,) = daily_sums(target)
    current = db.session.execute(open_tickets(target).add_columns(*now_columns(now))).one()
    return {**describe(target), **figures(sums._mapping), "now": now_figures(current, now)}


# --- paged lists --------------------------------------------------------------------------------------


def list_fingerprint(target: Target, list_name: str) -> dict[str, Any]:
    return {
        "list": list_name,
        "units": target.unit_ids,
        "from": target.first.isoformat(),
        "to": target.last.isoformat(),
        "categories": target.categories,
    }


def binding_of(fingerprint: Mapping[str, Any]) -> str:
    """What a cursor is bound to: the list and its filters, so it continues only the query that made it."""
    canonical = json.dumps(fingerprint, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def paginate_after(cursor: str | None, fingerprint: Mapping[str, Any]) -> Any:
    """The key a cursor of this list continues after (None: the first page); 400 for a cursor of another list."""
    return None if cursor is None else decode_cursor(cursor, binding_of(fingerprint), 1)[0]


def child_units(target: Target) -> list[GridUnit]:
    if target.whole_territory:
        return list(target.units)
    stmt = select(GridUnit).where(GridUnit.parent_id == target.units[0].id).order_by(GridUnit.code, GridUnit.id)
    return list(db.session.scalars(stmt))


def account_names(ids: Sequence[int]) -> dict[int, str]:
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
    for row in daily_sums(target, StatsDaily.day):
        bucket = periods[period_start(row.day, interval)]
        for name in (
            "received",
            "resolved",
            "resolved_on_time",
            "overdue",
            "rated",
            "rated_good",
            "cancelled",
            "on_spot",
        ):
            bucket[name] += int(row._mapping[name] or 0)
    items = [
        {
            "start": start,
            "received": counts["received"],
            "resolved": counts["resolved"],
            "overdue": counts["overdue"],
            "resolution_rate": rate(counts["resolved"], counts["received"] - counts["cancelled"]),
            "satisfaction_rate": rate(counts["rated_good"], counts["rated"]),
            "on_spot": counts["on_spot"],
            "on_spot_rate": rate(counts["on_spot"], counts["received"]),
        }
        for start, counts in periods.items()
    ]
    return {**describe(target), "interval": interval, "items": items}


# --- overdue work -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueFilters:
    """The overdue list's filters: whose subtree (default: the caller's scope) and which category."""

    grid_id: int | None = None
    category: str | None = None


def overdue(target: Target, *, limit: int, cursor: str | None) -> Page[Ticket]:
    """Open tickets past their running deadline or its 80 % mark, the oldest deadline first."""
    now = utcnow()
    # A clock runs (warn_at set) only while a ticket is open: resolving, cancelling, merging and suspending stop
    # it (tasks.tickets.deadlines.stop_clock). So no status filter: with one, PostgreSQL multiplied the two
    # rarities, expected a hundred rows of a city's 13,000 open ones, and sorted them all instead of reading
    # the partial index on running clocks in the list's order (docs/PERFORMANCE.md, "A city at scale").
    stmt = select(Ticket).where(Ticket.warn_at <= now)
    if not target.whole_territory:
        under = select(GridUnit.id).where(GridUnit.path.startswith(target.units[0].path, autoescape=True))
        stmt = stmt.where(Ticket.grid_id.in_(under))
    if target.categories is not None:
        stmt = stmt.where(Ticket.category_code.in_(target.categories))
    fingerprint = {"units": target.unit_ids, "categories": target.categories}
    return paginate(
        stmt, order_by=[Ticket.due_at, Ticket.id], limit=limit, cursor=cursor, query_fingerprint=fingerprint
    )
