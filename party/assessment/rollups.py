"""The needs' and wishes' counters of the assessment kept in `party_stats_daily` (issue 21 section 5).

`count_need_change` hears every `NeedChanged` (wired in bootstrap's `subscribe`) inside the change's transaction:
a need counts once in every unit on its path under the Beijing day it was raised and its kind (a cohort, as the
tickets' `stats_daily`), by where it stands now, so a status move takes its old status's counters away and adds
the new one's. The sums of a transaction are upserted once at commit (`kernel.records.total`), rows in key
order. `rebuild` recounts the table from the needs (`flask party stats rebuild`): after an import, or to recover.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import delete, func, insert, select

from dashboards.rollups.facts import Counts, beijing_day, nonzero, path_ids
from dashboards.rollups.incremental import upsert
from grid.models import GridUnit
from kernel import records
from kernel.extensions import db
from party.assessment import figures
from party.assessment.models import NEED_COUNTERS, PartyStatsDaily
from party.lists.events import NeedChanged
from party.lists.models import Need, NeedKind, NeedStatus

Key = tuple[int, date, str]  # unit, Beijing day raised, kind
KEYS = ("unit_id", "day", "kind")


def counters_of(need: Need, status: NeedStatus) -> Counts:
    """What the need adds to its rows while it stands at `status` (zero counters left out)."""
    counts = {"raised": 1}
    if status is NeedStatus.WITHDRAWN:
        counts["withdrawn"] = 1
    if status in figures.MATCHED:
        counts["matched"] = 1
    if status is NeedStatus.MET:
        counts["met"] = 1
        if need.due_on is None or (need.met_at is not None and beijing_day(need.met_at) <= need.due_on):
            counts["met_on_time"] = 1
    return counts


def count_need_change(change: NeedChanged) -> None:
    """Subscriber of `NeedChanged`: the need's rows follow its status, in the change's transaction."""
    if change.from_status == change.to_status:  # a rating: the status stays
        return
    need = db.session.get(Need, change.need_id)
    if need is None:
        return
    before = counters_of(need, NeedStatus(change.from_status)) if change.from_status is not None else {}
    after = counters_of(need, need.status)
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in NEED_COUNTERS}
    delta = {name: value for name, value in delta.items() if value}
    if not delta:
        return
    summed = records.total(_write, _sums)
    day = beijing_day(need.created_at)
    for unit in path_ids(need.grid_path):
        for name, value in delta.items():
            summed[(unit, day, need.kind.value)][name] += value


def _sums() -> dict[Key, Counts]:
    return defaultdict(lambda: defaultdict(int))


def _write(summed: Mapping[Key, Counts]) -> None:
    upsert(PartyStatsDaily, KEYS, NEED_COUNTERS, nonzero(summed))


def rebuild() -> int:
    """Recount every row from the needs (one grouped pass in SQL by unit, day and kind; spread over each unit's
    ancestors here); in the caller's transaction. Returns the number of needs counted."""
    day = figures.beijing_day(Need.created_at)
    grouped = db.session.execute(
        select(Need.grid_id, day, Need.kind, *figures.cohort_columns()).group_by(Need.grid_id, day, Need.kind)
    ).all()
    paths = dict(db.session.execute(select(GridUnit.id, GridUnit.path)).all())
    rows: dict[Key, Counts] = _sums()
    for grid_id, raised_on, kind, *counts in grouped:
        when = raised_on if isinstance(raised_on, date) else date.fromisoformat(raised_on)
        for unit in path_ids(paths.get(grid_id, f"/{grid_id}/")):
            for name, value in zip(NEED_COUNTERS, counts, strict=True):
                rows[(unit, when, NeedKind(kind).value)][name] += int(value)
    db.session.execute(delete(PartyStatsDaily))
    _insert(nonzero(rows))
    return sum(int(row[3]) for row in grouped)  # each group's `raised`


def _insert(rows: Mapping[Key, Counts]) -> None:
    if rows:
        params = [
            dict(zip(KEYS, key, strict=True)) | {n: c.get(n, 0) for n in NEED_COUNTERS} for key, c in rows.items()
        ]
        db.session.connection().execute(insert(PartyStatsDaily), params)


def need_cohorts(unit_ids: Iterable[int], first: date, last: date) -> dict[NeedKind, figures.NeedCohort]:
    """The needs and wishes raised from `first` to `last` (Beijing days) in the units' subtrees: their rows summed."""
    stmt = (
        select(PartyStatsDaily.kind, *(func.coalesce(func.sum(getattr(PartyStatsDaily, n)), 0) for n in NEED_COUNTERS))
        .where(PartyStatsDaily.unit_id.in_(list(unit_ids)), PartyStatsDaily.day >= first, PartyStatsDaily.day <= last)
        .group_by(PartyStatsDaily.kind)
    )
    found = {
        NeedKind(kind): figures.NeedCohort(*(int(n) for n in counts)) for kind, *counts in db.session.execute(stmt)
    }
    return {kind: found.get(kind, figures.NeedCohort(0, 0, 0, 0, 0)) for kind in NeedKind}
