"""The leaderboard (积分考核): workers or child units ranked by score, paged by rank."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from dashboards import service
from kernel.extensions import db
from kernel.pagination import encode_cursor

# 积分: points per on-time resolution and per 4–5 rating, minus per reopen (README "Dashboards and ledgers").
SCORE_ON_TIME, SCORE_GOOD_RATING, SCORE_REOPEN = 10, 5, 10
SCORED = ("resolved_on_time", "rated_good", "reopens", "rated")  # what the leaderboard sums


def score(sums: Mapping[str, Any]) -> int:
    get = lambda name: int(sums.get(name) or 0)  # noqa: E731
    return (
        SCORE_ON_TIME * get("resolved_on_time") + SCORE_GOOD_RATING * get("rated_good") - SCORE_REOPEN * get("reopens")
    )


def leaderboard(target: service.Target, of: str, limit: int, cursor: str | None = None) -> dict[str, Any]:
    """Workers (or child units) ranked by score; ties: more on time, fewer reopens, then the smaller id.

    Paged by rank (`limit`, then `next_cursor`); the ranking is summed and sorted in the database.
    """
    binding = service.list_fingerprint(target, f"leaderboard-{of}")
    offset = int(service.paginate_after(cursor, binding) or 0)
    if of == "worker":
        ranked = _ranked_workers(target, offset, limit + 1)
        names = service.account_names([key for key, _ in ranked])
    else:
        children = service.child_units(target)
        by_id = {row.unit_id: row._mapping for row in service.unit_sums(target, [c.id for c in children], names=SCORED)}
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
    next_cursor = encode_cursor([offset + limit], service.binding_of(binding)) if len(ranked) > limit else None
    items = [
        {
            "rank": position,
            "key": str(key),
            "name": names.get(key, str(key)),
            "score": score(sums),
            "resolved_on_time": int(sums.get("resolved_on_time") or 0),
            "rated_good": int(sums.get("rated_good") or 0),
            "reopens": int(sums.get("reopens") or 0),
            "satisfaction_rate": service.rate(int(sums.get("rated_good") or 0), int(sums.get("rated") or 0)),
        }
        for position, (key, sums) in enumerate(ranked[:limit], start=offset + 1)
    ]
    return {**service.describe(target), "of": of, "items": items, "next_cursor": next_cursor}


def _ranked_workers(target: service.Target, offset: int, limit: int) -> list[tuple[int, Mapping[str, Any]]]:
    """Workers' score inputs summed, ranked and cut in SQL: one page of rows leaves the database."""
    rows = service.worker_rows(target)
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
