"""Breakdowns: the summary's figures per child unit, category, worker (paged) or channel."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from dashboards.rollups.models import DAILY_COUNTERS, WORKER_COUNTERS, StatsDaily
from dashboards.service import (
    Target,
    account_names,
    binding_of,
    child_units,
    daily_sums,
    describe,
    figures,
    list_fingerprint,
    now_columns,
    now_figures,
    open_tickets,
    paginate_after,
    unindexed,
    unit_sums,
    worker_rows,
)
from grid.models import GridUnit
from kernel.clock import utcnow
from kernel.errors import ValidationError
from kernel.extensions import db
from kernel.i18n import _
from kernel.pagination import encode_cursor
from kernel.scope import path_ids
from tasks.categories.models import Category
from tasks.tickets.models import Ticket

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
        raise ValidationError(_("Only the breakdown by worker is paged."), {"cursor": [_("only with by=worker")]})
    else:
        items = {"child": _by_child, "category": _by_category, "channel": _by_channel}[by](target, now)
    return {**describe(target), "by": by, "items": items, "next_cursor": next_cursor}


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


def _by_child(target: Target, now: datetime) -> list[dict[str, Any]]:
    children = child_units(target)
    # The children's rows and, for a unit, its own (every ticket in its subtree): one statement.
    own = [target.unit.id] if target.unit is not None else []
    sums = {row.unit_id: row._mapping for row in unit_sums(target, [c.id for c in children] + own)}
    total = sums.pop(target.unit.id, {}) if target.unit is not None else {}
    current = _now_by_child(target, children, now)
    items = [_unit_item(child, sums.get(child.id, {}), current.get(child.id), now, direct=False) for child in children]
    if target.unit is not None:  # tickets held by the unit itself (intake to it, or escalated to it)
        rest = {
            name: int(total.get(name) or 0) - sum(int(s[name] or 0) for s in sums.values()) for name in DAILY_COUNTERS
        }
        if any(rest.values()) or current.get(0):
            items.append(_unit_item(target.unit, rest, current.get(0), now, direct=True))
    return items


def _now_by_child(target: Target, children: Sequence[GridUnit], now: datetime) -> dict[int, dict[str, int]]:
    """Open, overdue and warned now per child (key 0: held by the unit itself)."""
    if target.whole_territory and len(children) == 1:  # one root (a district): all the open work, by index
        row = db.session.execute(open_tickets(target).add_columns(*now_columns(now))).one()
        return {children[0].id: {"open": int(row.open), "overdue": int(row.overdue), "warned": int(row.warned)}}
    child_ids = {str(child.id): child.id for child in children}
    depth = 0 if target.whole_territory else len(path_ids(target.units[0].path))
    counted: dict[int, list[int]] = {}
    # Open tickets counted per owning unit's path: the owners joined once (a subtree's open tickets are already
    # joined to its units). Counting per owner id first and then reading each owner's path joined the owners to
    # all of grid_units again, a sequential scan of the city's 101,111 units (docs/PERFORMANCE.md, "A city at
    # scale", sixth session).
    stmt = open_tickets(target, joined=True).add_columns(GridUnit.path, *now_columns(now))
    stmt = stmt.group_by(GridUnit.path)
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
        "now": now_figures(_Row(current), now),
    }


class _Row:
    def __init__(self, values: Mapping[str, int] | None) -> None:
        values = values or {}
        self.open, self.overdue, self.warned = values.get("open", 0), values.get("overdue", 0), values.get("warned", 0)


def _by_category(target: Target, now: datetime) -> list[dict[str, Any]]:
    rows = daily_sums(target, StatsDaily.category_code)
    code = unindexed(Ticket.category_code)
    stmt = open_tickets(target).add_columns(code, *now_columns(now)).group_by(code)
    current = {row.category_code: row for row in db.session.execute(stmt)}
    names = dict(db.session.execute(select(Category.code, Category.name)).all())
    keys = sorted({row.category_code for row in rows} | set(current))
    sums = {row.category_code: row._mapping for row in rows}
    return [
        {
            "key": code,
            "name": names.get(code, code),
            **figures(sums.get(code, {})),
            "now": now_figures(current.get(code), now),
        }
        for code in keys
    ]


def _by_channel(target: Target, now: datetime) -> list[dict[str, Any]]:
    rows = sorted(daily_sums(target, StatsDaily.channel), key=lambda row: row.channel)
    return [{"key": row.channel, "name": row.channel, **figures(row._mapping), "now": None} for row in rows]


def _by_worker(
    target: Target, now: datetime, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of workers, by account id: those with tickets received in the range, or open work now."""
    binding = list_fingerprint(target, "breakdown-worker")
    after = paginate_after(cursor, binding)
    rows = worker_rows(target)
    counted = select(rows.c.account_id, *_worker_sums(rows)).group_by(rows.c.account_id)
    holding = open_tickets(target).add_columns(Ticket.assignee_id).where(Ticket.assignee_id.is_not(None)).distinct()
    if after is not None:
        counted = counted.where(rows.c.account_id > after)
        holding = holding.where(Ticket.assignee_id > after)
    # The first limit + 1 of each, in account order: their union's first limit + 1 are the page (and one more).
    counted = counted.order_by(rows.c.account_id).limit(limit + 1)
    sums = {row.account_id: row._mapping for row in db.session.execute(counted)}
    if len(sums) > limit:  # the page's limit + 1 are among the counted ones up to the last: no holder beyond it
        holding = holding.where(Ticket.assignee_id <= max(sums))
    candidates = set(sums) | set(db.session.scalars(holding.order_by(Ticket.assignee_id).limit(limit + 1)))
    ids = sorted(candidates)[: limit + 1]
    next_cursor = encode_cursor([ids[limit - 1]], binding_of(binding)) if len(ids) > limit else None
    ids = ids[:limit]
    if not ids:
        return [], None
    stmt = (
        open_tickets(target)
        .where(Ticket.assignee_id.in_(ids))
        .add_columns(Ticket.assignee_id, *now_columns(now))
        .group_by(Ticket.assignee_id)
    )
    current = {row.assignee_id: row for row in db.session.execute(stmt)}
    names = account_names(ids)
    items = [
        {
            "key": str(i),
            "name": names.get(i, str(i)),
            **figures(sums.get(i, {}), worker=True),
            "now": now_figures(current.get(i), now),
        }
        for i in ids
    ]
    return items, next_cursor


def _worker_sums(rows: Any) -> list[Any]:
    return [func.sum(rows.c[name]).label(name) for name in WORKER_COUNTERS]
