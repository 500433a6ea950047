"""The rollups from scratch: every ticket's facts recounted in Python (to check the stored rows against), and
`rebuild()`, which throws the rollups away and recomputes them in set-based SQL on SQLite and PostgreSQL.

Both give the rows that the changes (dashboards.rollups.incremental) added up to; tests/dashboards/test_stats.py checks
that the three agree.
"""

from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import aliased, lazyload

from dashboards.rollups.facts import DONE, Counts, DailyKey, Facts, WorkerKey, beijing_day, facts_of, nonzero
from dashboards.rollups.incremental import bump_version
from dashboards.rollups.models import (
    DAILY_COUNTERS,
    DURATION_BOUNDS,
    HANDLING_COUNTERS,
    WORKER_COUNTERS,
    StatsDaily,
    StatsMonthly,
    StatsTicketFacts,
    StatsWorkerDaily,
    StatsWorkerMonthly,
)
from grid.models import GridUnit
from kernel.clock import BEIJING
from kernel.extensions import db
from kernel.scope import path_ids
from tasks.lifecycle import OPEN_STATUSES, Status
from tasks.tickets.models import Feedback, Ticket, TicketEvent


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
    return nonzero(daily), nonzero(workers)


def stored_worker_months() -> dict[tuple[int, date, int], Counts]:
    """stats_worker_monthly as stored (zero counters and rows left out)."""
    rows = {
        (row.unit_id, row.month, row.account_id): {n: getattr(row, n) for n in WORKER_COUNTERS}
        for row in db.session.scalars(select(StatsWorkerMonthly))
    }
    return nonzero(rows)


def stored_monthly() -> dict[tuple[int, date], int]:
    """stats_monthly as stored (zero rows left out), to compare with monthly_of(a recount's daily rows)."""
    rows = db.session.execute(select(StatsMonthly.unit_id, StatsMonthly.month, StatsMonthly.received))
    return {(unit, month): received for unit, month, received in rows if received}


# Scratch tables of one rebuild (temporary: one connection, gone with it; not part of the schema).
_scratch = MetaData()
_ANCESTRY = Table(
    "stats_rebuild_ancestry",
    _scratch,
    Column("unit_id", BigInteger, primary_key=True),
    Column("ancestor_id", BigInteger, primary_key=True),
    prefixes=["TEMPORARY"],
)
_FACT_COUNTERS = (
    "received", "open", "cancelled", "escalated", "dispatched", "accepted", "accepted_on_time", "accept_seconds",
    "accept_bucket", "resolved", "resolved_on_time", "resolve_seconds", "resolve_bucket", "closed", "overdue",
    "overdue_seen", "reopens", "rated", "rated_good", "on_spot", "returns", "returns_refused", "return_review",
    "extended", "suspended", "suspended_seconds",
)  # fmt: skip
_FACTS = Table(
    "stats_rebuild_facts",
    _scratch,
    Column("ticket_id", BigInteger, primary_key=True),
    Column("day", Date),
    Column("category_code", String(32)),
    Column("channel", String(32)),
    Column("origin_id", BigInteger),
    Column("owner_id", BigInteger),
    Column("origin_path", String(255)),
    Column("owner_path", String(255)),
    Column("worker_id", BigInteger),
    # int4 but the seconds: PostgreSQL sums int4 in an int8, bigint in a numeric (slower, and wider to sort).
    *(Column(name, BigInteger if name.endswith("_seconds") else Integer) for name in _FACT_COUNTERS),
    prefixes=["TEMPORARY"],
)


def rebuild(days: int = 31, progress: Callable[[int], None] | None = None, month: date | None = None) -> int:
    """Throw the rollups away and recompute them from the raw tickets in SQL; the caller commits.

    Set-based (INSERT ... SELECT on both engines), `days` Beijing days of tickets at a time: each chunk's
    per-ticket facts go to a scratch table, then to stats_ticket_facts, and fan out over the unit ancestry into
    stats_daily and stats_worker_daily; the monthly rollups are summed from those at the end. `progress(n)` after
    each chunk with its ticket count. Returns tickets seen. Gives the rows `recount()` computes in Python
    (tests/dashboards/test_stats.py checks they agree).

    With `month` (its first day), only the tickets received in that Beijing month are recounted, and only its
    rows replaced: every rollup row is keyed by the day its ticket was received, so the other months' stay true.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL statement_timeout = 0"))  # a chunk at scale runs long (docs/PERFORMANCE.md)
        connection.execute(text("SET LOCAL jit = off"))  # compiling the 47 sums cost more than running them
        connection.execute(text("SET LOCAL work_mem = '128MB'"))  # a chunk's grouping in memory, not on disk
    if month is None:
        for model in (StatsDaily, StatsMonthly, StatsWorkerDaily, StatsWorkerMonthly, StatsTicketFacts):
            connection.execute(delete(model))
        bounds = connection.execute(select(func.min(Ticket.created_at), func.max(Ticket.created_at))).one()
        if bounds[0] is None:
            bump_version()
            return 0
        first, following = beijing_day(bounds[0]), beijing_day(bounds[1]) + timedelta(days=1)
    else:
        first, following = month, next_month(month)
        _forget_days(connection, first, following)
    _scratch.drop_all(connection, checkfirst=True)  # left by a rebuild that failed on this connection
    _scratch.create_all(connection)
    _fill_ancestry(connection)
    seen = 0
    while first < following:
        end = min(first + timedelta(days=days), following)
        connection.execute(delete(_FACTS))
        connection.execute(
            insert(_FACTS).from_select([c.name for c in _FACTS.columns], _facts_select(connection, first, end))
        )
        count = connection.execute(select(func.count()).select_from(_FACTS)).scalar_one()  # rowcount: -1 on PG
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"ANALYZE {_FACTS.name}"))  # a temporary table has no statistics
        if count:
            _insert_chunk(connection)
        seen += count
        if progress:
            progress(count)
        first = end
    _sum_months(connection, month)
    _scratch.drop_all(connection)
    bump_version()  # last: ticket writers wait on this row only until the rebuild commits
    return seen


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _forget_days(connection: Any, first: date, following: date) -> None:
    """Delete the rollup rows of the Beijing days [first, following) and of their month (a month's rebuild).

    On PostgreSQL the daily rollups are partitioned by month of `day` (migration 0029): the day range prunes these
    deletes, and `_sum_months`' reads, to the month's partition (they scanned the whole tables before, 22 GB at
    10M tickets). Rows are deleted, not the partition truncated: TRUNCATE would block the dashboards' reads of
    every month until the rebuild commits, where a delete lets them read the old rows."""
    for model in (StatsDaily, StatsWorkerDaily):
        connection.execute(delete(model).where(model.day >= first, model.day < following))
    for model in (StatsMonthly, StatsWorkerMonthly):
        connection.execute(delete(model).where(model.month == first))
    received = select(Ticket.id).where(Ticket.created_at >= midnight(first), Ticket.created_at < midnight(following))
    connection.execute(delete(StatsTicketFacts).where(StatsTicketFacts.ticket_id.in_(received)))


def _sum_months(connection: Any, month: date | None) -> None:
    """stats_monthly and stats_worker_monthly summed from the daily rows (of `month` only, when given)."""
    postgres = connection.dialect.name == "postgresql"
    for daily in (StatsDaily, StatsWorkerDaily):
        in_month = [] if month is None else [daily.day >= month, daily.day < next_month(month)]
        first_day = _month(postgres, daily.day)
        if daily is StatsDaily:
            target, columns, keys = StatsMonthly, ["unit_id", "month", "received"], (daily.unit_id, first_day)
            sums = [func.sum(daily.received)]
            query = select(*keys, *sums).where(*in_month).group_by(*keys).having(func.sum(daily.received) != 0)
        else:
            target, keys = StatsWorkerMonthly, (daily.unit_id, first_day, daily.account_id)
            columns = ["unit_id", "month", "account_id", *WORKER_COUNTERS]
            sums = [func.sum(daily.__table__.c[n]) for n in WORKER_COUNTERS]
            query = select(*keys, *sums).where(*in_month).group_by(*keys)
        connection.execute(insert(target).from_select(columns, query))


def _month(postgres: bool, day: Any) -> Any:
    """The first day of a date's month."""
    if postgres:
        return cast(func.date_trunc("month", day), Date)
    return func.strftime("%Y-%m-01", day)


def _fill_ancestry(connection: Any) -> None:
    """(unit, each unit on its path including itself): what a ticket counted in `unit` fans out to."""
    if connection.dialect.name == "postgresql":
        # In SQL: a city's 100,000 cells made 500,000 rows through Python, most of a month's rebuild. A path ends
        # with its own unit's id, so each pair comes once (no UNION to sort).
        fill = (
            "INSERT INTO stats_rebuild_ancestry (unit_id, ancestor_id) "
            "SELECT id, CAST(step AS bigint) FROM grid_units, unnest(string_to_array(btrim(path, '/'), '/')) AS step"
        )
        connection.execute(text(fill))
        connection.execute(text("ANALYZE stats_rebuild_ancestry"))  # a temporary table has no statistics
        return
    rows = [
        {"unit_id": unit_id, "ancestor_id": ancestor}
        for unit_id, path in connection.execute(select(GridUnit.id, GridUnit.path))
        for ancestor in set(path_ids(path)) | {unit_id}
    ]
    for start in range(0, len(rows), 10_000):
        connection.execute(insert(_ANCESTRY), rows[start : start + 10_000])


def midnight(day: date) -> datetime:
    """The Beijing midnight that starts `day`."""
    return datetime.combine(day, time(0), BEIJING)


def _facts_select(connection: Any, first: date, following: date) -> Any:
    """Per ticket received on Beijing days [first, following): counters_of() in SQL."""
    postgres = connection.dialect.name == "postgresql"
    origin, owner = aliased(GridUnit), aliased(GridUnit)
    t = Ticket.__table__.c
    status = t.status
    open_ = status.in_([s.value for s in OPEN_STATUSES])
    cancelled = status == Status.CANCELLED.value
    done = and_(status.in_([s.value for s in DONE]), t.resolved_at.is_not(None))
    accepted = and_(t.dispatched_at.is_not(None), t.accepted_at.is_not(None), t.accepted_at >= t.dispatched_at)
    late = t.resolved_at > t.resolve_due_at
    # A ticket's events are recorded at or after its receipt: on PostgreSQL the bound leaves out the monthly
    # partitions of ticket_events before the chunk, each of which every ticket's two lookups would probe.
    since = TicketEvent.created_at >= midnight(first)
    overdue_seen = (
        select(TicketEvent.id).where(TicketEvent.ticket_id == t.id, TicketEvent.action == "overdue", since).exists()
    )
    channel = (
        select(TicketEvent.details["channel"].as_string())
        .where(TicketEvent.ticket_id == t.id, TicketEvent.action == "create", since)
        .order_by(TicketEvent.id)
        .limit(1)
        .scalar_subquery()
    )
    rated = select(func.count()).where(Feedback.ticket_id == t.id).scalar_subquery()
    rated_good = select(func.count()).where(Feedback.ticket_id == t.id, Feedback.rating >= 4).scalar_subquery()
    live = lambda value: case((cancelled, 0), else_=value)  # noqa: E731  a cancelled ticket counts only that
    flag = lambda condition: case((condition, 1), else_=0)  # noqa: E731
    accept_seconds = _seconds(postgres, t.dispatched_at, t.accepted_at)
    resolve_seconds = _seconds(postgres, t.created_at, t.resolved_at)
    return (
        select(
            t.id,
            _beijing_day(postgres, t.created_at),
            t.category_code,
            func.coalesce(func.nullif(channel, ""), "app"),
            t.origin_grid_id,
            t.grid_id,
            origin.path,
            owner.path,
            func.coalesce(t.assignee_id, t.handler_id),
            literal(1),
            live(flag(open_)),
            flag(cancelled),
            live(flag(t.grid_id != t.origin_grid_id)),
            live(flag(t.dispatched_at.is_not(None))),
            live(flag(accepted)),
            live(flag(and_(accepted, or_(t.accept_due_at.is_(None), t.accepted_at <= t.accept_due_at)))),
            live(case((accepted, accept_seconds), else_=0)),
            case((and_(accepted, ~cancelled), _bucket(accept_seconds)), else_=None),
            live(flag(done)),
            live(flag(and_(done, ~late))),
            live(case((done, resolve_seconds), else_=0)),
            case((and_(done, ~cancelled), _bucket(resolve_seconds)), else_=None),
            live(flag(and_(done, status == Status.CLOSED.value))),
            live(flag(or_(overdue_seen, and_(done, late)))),
            flag(overdue_seen),
            live(t.reopen_count),
            live(rated),
            live(func.coalesce(rated_good, 0)),
            live(flag(and_(done, t.handled_on_spot.is_(True)))),
            live(t.return_count),
            live(t.returns_refused),
            live(flag(status == Status.RETURN_REQUESTED.value)),
            live(flag(t.extension_count > 0)),
            live(flag(status == Status.SUSPENDED.value)),
            live(t.suspended_seconds),
        )
        .join(origin, origin.id == t.origin_grid_id)
        .join(owner, owner.id == t.grid_id)
        .where(t.created_at >= midnight(first), t.created_at < midnight(following))
    )


def _beijing_day(postgres: bool, moment: Any) -> Any:
    if postgres:
        return cast(func.timezone("Asia/Shanghai", moment), Date)
    return func.date(moment, "+8 hours")  # stored as UTC 'YYYY-MM-DD HH:MM:SS.ffffff'; China keeps no DST


def _seconds(postgres: bool, start: Any, end: Any) -> Any:
    """Whole seconds from start to end, rounded (half up; Python's round() only differs on exact halves)."""
    if postgres:
        return cast(func.floor(extract("epoch", end - start) + 0.5), BigInteger)
    # Whole seconds from the text without its fraction ('%s' of the full text would round .9995 s up), then
    # the microseconds from the fraction: exact, as Python's datetime subtraction.
    whole = lambda moment: cast(func.strftime("%s", func.substr(moment, 1, 19)), Integer)  # noqa: E731
    micros = (whole(end) - whole(start)) * 1_000_000 + (
        cast(func.substr(end, 21, 6), Integer) - cast(func.substr(start, 21, 6), Integer)
    )
    return (micros + 500_000) // 1_000_000  # integer division in SQLite: the durations are never negative


def _bucket(seconds: Any) -> Any:
    return case(*((seconds <= bound, index) for index, bound in enumerate(DURATION_BOUNDS)), else_=len(DURATION_BOUNDS))


def _insert_chunk(connection: Any) -> None:
    """The scratch facts into stats_ticket_facts, and fanned out over the ancestry into the two rollups."""
    f = _FACTS.c
    postgres = connection.dialect.name == "postgresql"
    connection.execute(
        insert(StatsTicketFacts).from_select(
            ["ticket_id", "day", "category_code", "channel", "origin_path", "owner_path", "worker_id", "counters"],
            select(f.ticket_id, f.day, f.category_code, f.channel, f.origin_path, f.owner_path, f.worker_id,
                   _counters_json(postgres)),
        )
    )  # fmt: skip
    # What each ticket adds where: `received` to its origin unit, the handling figures to its owner.
    handling = [f[name] for name in HANDLING_COUNTERS]
    zero, none = literal(0), literal(None)
    # `escalated_out`: +1 over the origin's ancestry, -1 over the owner's (a part of it): what is left is the units
    # the ticket was passed up out of. The duration buckets travel as their index and are counted while summing:
    # two columns, not 28, through the fan-out's sort (a month of a city: 1.8 million rows).
    direct = union_all(
        select(f.origin_id.label("unit_id"), f.day, f.category_code, f.channel, f.received.label("received"),
               f.escalated.label("escalated_out"), *(zero.label(name) for name in HANDLING_COUNTERS),
               none.label("accept_bucket"), none.label("resolve_bucket")),
        select(f.owner_id, f.day, f.category_code, f.channel, zero, -f.escalated, *handling, f.accept_bucket,
               f.resolve_bucket),
    ).subquery("direct")  # fmt: skip
    sums = [func.sum(direct.c[name]) for name in ("received", *HANDLING_COUNTERS, "escalated_out")]
    for bucket in (direct.c.accept_bucket, direct.c.resolve_bucket):
        sums += [func.sum(case((bucket == index, 1), else_=0)) for index in range(len(DURATION_BOUNDS) + 1)]
    a = _ANCESTRY.c
    keys = (a.ancestor_id, direct.c.day, direct.c.category_code, direct.c.channel)
    connection.execute(
        insert(StatsDaily).from_select(
            ["unit_id", "day", "category_code", "channel", *DAILY_COUNTERS],
            select(*keys, *sums).join_from(direct, _ANCESTRY, a.unit_id == direct.c.unit_id).group_by(*keys),
        )
    )
    counted = [name for name in WORKER_COUNTERS if name != "tickets"]
    keys = (a.ancestor_id, f.day, f.category_code, f.worker_id)
    connection.execute(
        insert(StatsWorkerDaily).from_select(
            ["unit_id", "day", "category_code", "account_id", "tickets", *counted],
            select(*keys, func.count(), *(func.sum(f[name]) for name in counted))
            .join_from(_FACTS, _ANCESTRY, a.unit_id == f.owner_id)
            .where(f.worker_id.is_not(None), f.cancelled == 0)
            .group_by(*keys),
        )
    )


def _counters_json(postgres: bool) -> Any:
    """The facts' `counters`: HANDLING_COUNTERS and `overdue_seen`, zero entries left out (as counters_of)."""
    f = _FACTS.c
    pairs: list[Any] = []
    for name in (*HANDLING_COUNTERS, "overdue_seen"):
        pairs += [literal(name), func.nullif(f[name], 0)]
    for prefix, bucket in (("accept_h", f.accept_bucket), ("resolve_h", f.resolve_bucket)):
        label = literal(prefix) + cast(func.coalesce(bucket, 0), String)
        pairs += [label, case((bucket.is_not(None), 1), else_=None)]
    if postgres:
        return func.json_strip_nulls(func.json_build_object(*pairs), type_=JSON)
    return func.json_patch("{}", func.json_object(*pairs))  # a merge patch drops the null members
