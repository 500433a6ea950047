"""Tickets at district scale: the worker's queue, one ticket and an urge over HTTP, against /healthz.

Run: `.venv/bin/python bench/tickets.py [--tickets 100000] [--duration 10] [--connections 16]
[--rounds 1] [--generator auto|wrk|python] [--keep-db] [--profile]` (or `make bench`).

Setup, the same on every run (fixed random seed): a temporary SQLite file migrated with `flask db
upgrade`, then filled in process with SQLAlchemy Core `insert()` executemany in chunks, in one
transaction (the time is printed):

- one district › 4 streets › 5 communities each › 5 cells each (100 cells), paths as the app writes them;
- the default categories (`tasks.categories.service.seed_defaults`);
- per cell a current worker (in the cell for the last 55 days) and a former one (inactive, who handled the
  older tickets); a supervisor per street; every account shares one precomputed argon2 hash;
- `--tickets` tickets over the last 365 days, ids in creation order, spread evenly over the cells, with
  valid numbers (`YYYYMMDD-NNNNNN` per Beijing day, and the day counters), deadlines from their category
  and version 1. Tickets of the last 30 days head for pending 8 %, assigned 12 %, in progress 20 %,
  resolved 15 %, closed 42 %, cancelled 3 %, older ones for closed 97 %, cancelled 3 %; each step
  (dispatch, acceptance, resolution, closing) comes minutes to days after the one before, and one that
  would fall after now has not happened yet: about 3 % of all tickets are open;
- one `create` event per ticket.

The benchmark worker (`bench.worker`, cell 1) holds about 150 tickets at 100,000 (its queue: `assignee=me`
lists them all, open or not); the benchmark supervisor (`bench.supervisor`) covers street 1.

Served by gunicorn with 2 sync workers on 127.0.0.1 (`bench.auth_reads.running_server`), LOG_LEVEL=WARNING.
Measured one after the other, each after a short warm-up of the same load:

- GET /healthz: the framework alone, the reference rate;
- GET /api/v1/tickets?assignee=me as the worker (default limit 20): target >= 0.35 x /healthz;
- GET /api/v1/tickets/<id> as the worker, taking the ids of their queue in turn: target >= 0.35 x;
- POST /api/v1/tickets/<id>/urge as the supervisor, taking the open tickets of street 1 in turn (the
  status does not change, so it repeats; each connection works on its own ticket, as a concurrent change
  to one ticket loses its version check with a 409): target >= 0.2 x, and no non-2xx response.

The load comes from `wrk -t2 -c<connections> --latency` (a Lua script takes the paths in turn) when wrk
is on PATH, else from one Python process per connection. The table is `bench.auth_reads.print_table`'s:
req/s, p50, p99, the ratio to /healthz, SQL statements per request (in process), errors, the workers'
CPU. `--profile` then runs each endpoint through the Flask test client under cProfile.
"""

import argparse
import bisect
import cProfile
import gc
import io
import itertools
import json
import os
import pstats
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.auth_reads import (  # noqa: E402
    HOST,
    WORKERS,
    Endpoint,
    add_load_options,
    bench_environment,
    call,
    check_answers,
    choose_generator,
    flask_cli,
    measure,
    print_table,
    print_worker_memory,
    ratio_of,
    running_server,
    statements_per_request,
    temporary_directory,
)

PASSWORD = "bench-pass-2026"
WORKER, SUPERVISOR = "bench.worker", "bench.supervisor"
READ_TARGET, ACTION_TARGET = 0.35, 0.2
STREETS, COMMUNITIES, CELLS = 4, 5, 5  # per district, per street, per community: 100 cells
HISTORY_DAYS = 365
TENURE_DAYS = 55  # the current workers' time in their cells: a queue of about 150 tickets at 100,000
RECENT_DAYS = 30
RECENT_STATUSES = {
    "pending": 8,
    "assigned": 12,
    "in_progress": 20,
    "resolved": 15,
    "closed": 42,
    "cancelled": 3,
}
OLD_STATUSES = {"closed": 97, "cancelled": 3}
OPEN = frozenset({"pending", "assigned", "in_progress"})
CHUNK = 10_000
SEED_CACHE_MB = 256
SEED = 20261123
BEIJING_OFFSET = timedelta(hours=8)
ORIGIN_LAT, ORIGIN_LNG = 32.99, 112.53  # 南阳市宛城区, WGS-84
DESCRIPTIONS = (
    "楼下垃圾三天没人清运",
    "路灯不亮，晚上出行不便",
    "小区电梯停运，老人上下楼困难",
    "人行道砖块松动",
    "邻居装修噪音扰民",
    "消防通道被私家车占用",
    "独居老人需要上门探访",
)
URGE_BODY = json.dumps({"note": "请尽快处理，居民多次反映"})


# --- the data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    path: str


@dataclass
class Seeded:
    """What the seeding made, and what the load needs from it."""

    rows: dict[str, int] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    queue_ids: list[int] = field(default_factory=list)  # the benchmark worker's tickets
    urge_ids: list[int] = field(default_factory=list)  # open tickets in the benchmark supervisor's street
    seconds: float = 0.0


def territory() -> list[Unit]:
    """District › streets › communities › cells, ids from 1, materialized paths with a trailing `/`."""
    district = Unit(1, "411302", "宛城区", "district", None, "/1/")
    units = [district]
    for s in range(1, STREETS + 1):
        street = _child(units, district, f"{district.code}{s:03d}", f"第{s}街道", "street")
        for c in range(1, COMMUNITIES + 1):
            community = _child(units, street, f"{street.code}{c:03d}", f"{street.name}第{c}社区", "community")
            for g in range(1, CELLS + 1):
                _child(units, community, f"{community.code}-{g:02d}", f"{community.name}第{g}网格", "grid")
    return units


def _child(units: list[Unit], parent: Unit, code: str, name: str, level: str) -> Unit:
    unit_id = len(units) + 1
    unit = Unit(unit_id, code, name, level, parent.id, f"{parent.path}{unit_id}/")
    units.append(unit)
    return unit


@dataclass
class Staff:
    rows: list[dict[str, Any]]
    current: dict[int, int]  # cell id: its worker now
    former: dict[int, int]  # cell id: its worker before TENURE_DAYS

    @property
    def worker_id(self) -> int:
        return next(row["id"] for row in self.rows if row["username"] == WORKER)


def staff(units: Sequence[Unit], password_hash: str, now: datetime) -> Staff:
    rows: list[dict[str, Any]] = []

    def account(username: str, role: str, unit: Unit, *, active: bool = True) -> int:
        rows.append(
            {
                "id": len(rows) + 1,
                "username": username,
                "display_name": username,
                "role": role,
                "scope_grid_id": unit.id,
                "phone": f"138{len(rows) + 1:08d}",
                "password_hash": password_hash,
                "active": active,
                "failed_logins": 0,
                "failed_logins_since": None,
                "locked_until": None,
                "password_changed_at": now,
                "created_at": now - timedelta(days=HISTORY_DAYS + 30),
                "updated_at": now,
            }
        )
        return len(rows)

    streets = [unit for unit in units if unit.level == "street"]
    for n, street in enumerate(streets):
        account(SUPERVISOR if n == 0 else f"supervisor.{street.code}", "supervisor", street)
    by_id = {unit.id: unit for unit in units}
    cells = [unit for unit in units if unit.level == "grid"]
    current = {
        cell.id: account(WORKER if n == 0 else f"worker.{cell.code}", "worker", cell) for n, cell in enumerate(cells)
    }
    former = {cell.id: account(f"former.{cell.code}", "worker", cell, active=False) for cell in cells}
    for row in rows:  # workers belong to their cell's community
        if row["role"] == "worker":
            row["scope_grid_id"] = by_id[row["scope_grid_id"]].parent_id
    return Staff(rows, current, former)


def seed(tickets: int, now: datetime) -> Seeded:
    """Fill the migrated database of this process's app (see module docstring); one transaction."""
    from sqlalchemy import insert, select

    from auth.models import Account
    from auth.passwords import hash_password
    from grid.models import CellAssignment, GridUnit
    from kernel.extensions import db
    from tasks.categories.models import Category
    from tasks.categories.service import seed_defaults
    from tasks.tickets.models import Ticket, TicketEvent, TicketNumberDay

    started = time.perf_counter()
    seeded = Seeded()
    seed_defaults()
    db.session.commit()
    kinds = [Kind.of(c) for c in db.session.scalars(select(Category).order_by(Category.code)) if c.parent_code]
    units = territory()
    people = staff(units, hash_password(PASSWORD), now)
    cells = [unit for unit in units if unit.level == "grid"]
    assignments = [{"account_id": people.current[cell.id], "grid_id": cell.id, "created_at": now} for cell in cells]
    unit_rows = [{**unit.__dict__, "active": True, "created_at": now, "updated_at": now} for unit in units]
    generator = TicketGenerator(random.Random(SEED), now, cells, kinds, people)
    # The same in every row: written into the statement once instead of bound (and converted) per row.
    add_tickets = insert(Ticket.__table__).values(inline(TICKET_CONSTANTS))
    add_events = insert(TicketEvent.__table__).values(inline(EVENT_CONSTANTS))
    with db.engine.begin() as connection, without_gc():
        # Most of the 13 indexes on tickets and events take keys in random order: give SQLite a page cache
        # they fit in (its default is 2 MB).
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SEED_CACHE_MB * 1024}")
        for table, rows in ((GridUnit, unit_rows), (Account, people.rows), (CellAssignment, assignments)):
            connection.execute(insert(table.__table__), rows)
            seeded.rows[table.__tablename__] = len(rows)
        for chunk in generator.chunks(tickets):
            connection.execute(add_tickets, chunk)
            connection.execute(add_events, [create_event(row) for row in chunk])
        days = [{"day": day, "last": last} for day, last in generator.numbers.items()]
        connection.execute(insert(TicketNumberDay.__table__), days)
        if connection.dialect.name == "postgresql":  # the rows came with their ids: move the sequences past them
            for table in (GridUnit, Account, Ticket, TicketEvent):
                name = table.__tablename__
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"
                )
    seeded.rows.update({"tickets": tickets, "ticket_events": tickets, "ticket_number_days": len(days)})
    seeded.statuses = generator.statuses
    seeded.queue_ids = generator.by_assignee.get(people.worker_id, [])
    street_one = {cell.id for cell in cells if cell.path.startswith(units[1].path)}
    seeded.urge_ids = [ticket_id for ticket_id, cell_id in generator.open_tickets if cell_id in street_one]
    seeded.seconds = time.perf_counter() - started
    return seeded


@contextmanager
def without_gc() -> Iterator[None]:
    """Hundreds of thousands of row dicts alive at once make every collection walk them all, for nothing."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def inline(values: dict[str, str]) -> dict[str, Any]:
    from sqlalchemy import literal_column

    return {column: literal_column(sql) for column, sql in values.items()}


# SQL literals, as the types would store them (enums by value, JSON as text).
TICKET_CONSTANTS = {
    "reporter_name": "'张女士'",
    "warned_marked_at": "NULL",
    "overdue_marked_at": "NULL",
    "urge_count": "0",
    "last_urged_at": "NULL",
    "reopen_count": "0",
    "merged_into_id": "NULL",
    "version": "1",
}
EVENT_CONSTANTS = {
    "action": "'create'",
    "from_status": "NULL",
    "to_status": "'pending'",
    "prior_assignee_id": "NULL",
    "note": "NULL",
    "photo_ids": "'[]'",
    "lat": "NULL",
    "lng": "NULL",
    "details": """'{"channel": "app"}'""",
}


@dataclass(frozen=True)
class Kind:
    """A category with what its tickets need, worked out once."""

    code: str
    priority: Any  # tasks.categories.models.Priority
    claimable: bool
    accept: timedelta  # the acceptance window at the category's priority
    resolve: timedelta  # the resolution window, likewise

    @classmethod
    def of(cls, category: Any) -> "Kind":
        from tasks.categories.models import Priority
        from tasks.tickets.deadlines import acceptance_window, resolution_window

        priority = Priority(category.default_priority)
        accept, resolve = acceptance_window(category, priority), resolution_window(category, priority)
        return cls(category.code, priority, category.volunteer_claimable, accept, resolve)


class TicketGenerator:
    """Ticket rows in creation order, as the lifecycle would have left them."""

    def __init__(self, rng: random.Random, now: datetime, cells: Sequence[Unit], kinds: Sequence[Kind], people: Staff):
        from tasks.tickets.deadlines import WARN_FRACTION

        self.rng, self.now, self.cells, self.kinds, self.people = rng, now, cells, kinds, people
        self.warn_fraction = WARN_FRACTION
        self.recent_since = now - timedelta(days=RECENT_DAYS)
        self.tenure_began = now - timedelta(days=TENURE_DAYS)
        self.recent, self.old = _cumulative(RECENT_STATUSES), _cumulative(OLD_STATUSES)
        self.numbers: dict[str, int] = {}  # Beijing day: the last sequence handed out
        self.days: dict[date, str] = {}
        self.statuses: Counter[str] = Counter()
        self.by_assignee: dict[int, list[int]] = {}
        self.open_tickets: list[tuple[int, int]] = []  # (ticket id, cell id)

    def chunks(self, count: int) -> Iterator[list[dict[str, Any]]]:
        ages = sorted((self.rng.uniform(0, HISTORY_DAYS) for _ in range(count)), reverse=True)
        for start in range(0, count, CHUNK):
            batch = enumerate(ages[start : start + CHUNK], start + 1)
            yield [self.row(ticket_id, self.now - timedelta(days=age)) for ticket_id, age in batch]

    def row(self, ticket_id: int, created: datetime) -> dict[str, Any]:
        rng = self.rng
        cell = self.cells[rng.randrange(len(self.cells))]
        kind = self.kinds[rng.randrange(len(self.kinds))]
        statuses, cumulative = self.recent if created >= self.recent_since else self.old
        status = statuses[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
        worker = (self.people.current if created >= self.tenure_began else self.people.former)[cell.id]
        row = {
            **TICKET_DEFAULTS,
            "id": ticket_id,
            "no": self.number(created),
            "status": status,
            "priority": kind.priority,
            "category_code": kind.code,
            "grid_id": cell.id,
            "origin_grid_id": cell.id,
            "description": DESCRIPTIONS[ticket_id % len(DESCRIPTIONS)],
            "address": f"{cell.name}{ticket_id % 200 + 1}号",
            "lat": ORIGIN_LAT + rng.random() * 0.05,
            "lng": ORIGIN_LNG + rng.random() * 0.05,
            "reporter_phone": f"139{ticket_id:08d}",
            "volunteer_claimable": kind.claimable,
            "resolve_started_at": created,
            "resolve_due_at": created + kind.resolve,
            "created_by_id": worker,
            "created_at": created,
        }
        self.live(row, kind, worker)
        row["updated_at"] = max(row[key] for key in MILESTONES if row[key] is not None)
        self.statuses[row["status"]] += 1
        if row["assignee_id"] is not None:
            self.by_assignee.setdefault(row["assignee_id"], []).append(ticket_id)
        if row["status"] in OPEN:
            self.open_tickets.append((ticket_id, cell.id))
        return row

    def live(self, row: dict[str, Any], kind: Kind, worker: int) -> None:
        """The milestones on the way to the row's status, each some time after the one before; one that would
        fall after now has not happened yet, and the ticket stays where it got to. Then the clock that runs."""
        created, rng = row["created_at"], self.rng
        if row["status"] == "cancelled":
            row["cancelled_at"] = min(created + timedelta(hours=1), self.now)
            return
        delays = (
            lambda: timedelta(minutes=rng.uniform(5, 60)),  # dispatched
            lambda: timedelta(minutes=rng.uniform(5, 30)),  # accepted
            lambda: kind.resolve * rng.uniform(0.2, 1.1),  # resolved
            lambda: timedelta(hours=rng.uniform(2, 72)),  # closed
        )
        reached, moment = 0, created
        for stage in range(1, STAGES.index(row["status"]) + 1):
            moment += delays[stage - 1]()
            if moment > self.now:
                break
            row[STAGE_TIMES[stage]], reached = moment, stage
        row["status"] = status = STAGES[reached]
        if status != "pending":
            row["assignee_id"] = worker
            row["accept_due_at"] = row["dispatched_at"] + kind.accept
        if status in ("resolved", "closed"):
            row["handler_id"], row["resolution_round"] = worker, 1
        elif status == "assigned":
            self.clock(row, row["dispatched_at"], row["accept_due_at"])
        else:  # pending, in progress: the resolution clock
            self.clock(row, created, row["resolve_due_at"])

    def clock(self, row: dict[str, Any], start: datetime, due: datetime) -> None:
        row["warn_at"], row["due_at"] = start + (due - start) * self.warn_fraction, due

    def number(self, created: datetime) -> str:
        beijing_date = (created + BEIJING_OFFSET).date()  # China keeps UTC+8 all year
        day = self.days.get(beijing_date) or self.days.setdefault(beijing_date, beijing_date.strftime("%Y%m%d"))
        self.numbers[day] = sequence = self.numbers.get(day, 0) + 1
        return f"{day}-{sequence:06d}"


def _cumulative(weights: dict[str, int]) -> tuple[tuple[str, ...], list[int]]:
    return tuple(weights), list(itertools.accumulate(weights.values()))


# The way through the lifecycle (cancellation aside), and the column each step sets.
STAGES = ("pending", "assigned", "in_progress", "resolved", "closed")
STAGE_TIMES = (None, "dispatched_at", "accepted_at", "resolved_at", "closed_at")
MILESTONES = ("created_at", "dispatched_at", "accepted_at", "resolved_at", "closed_at", "cancelled_at")
TICKET_DEFAULTS: dict[str, Any] = {
    "assignee_id": None,
    "handler_id": None,
    "accept_due_at": None,
    "warn_at": None,
    "due_at": None,
    "resolution_round": 0,
    "dispatched_at": None,
    "accepted_at": None,
    "resolved_at": None,
    "closed_at": None,
    "cancelled_at": None,
}


def create_event(ticket: dict[str, Any]) -> dict[str, Any]:
    return {
        "ticket_id": ticket["id"],
        "actor_id": ticket["created_by_id"],
        "prior_grid_id": ticket["grid_id"],
        "created_at": ticket["created_at"],
    }


def seeded_database(env: dict[str, str], tickets: int) -> tuple[Seeded, float]:
    """Migrate, then seed in this process; the seeding and the migration time."""
    started = time.perf_counter()
    flask_cli(env, "db", "upgrade")
    migrated = time.perf_counter() - started
    os.environ.update({key: env[key] for key in ("DATABASE_URL", "SECRET_KEY", "JWT_SECRET_KEY", "LOG_LEVEL")})
    from bootstrap import create_app
    from kernel.clock import utcnow
    from kernel.extensions import db

    app = create_app()
    with app.app_context():
        seeded = seed(tickets, utcnow())
        db.session.remove()
        db.engine.dispose()
    return seeded, migrated


# --- profiling in process -------------------------------------------------------------------------


def profile(endpoints: Sequence[Endpoint], requests: int, top: int) -> None:
    """Each endpoint's requests through the Flask test client, timed, then under cProfile."""
    from bootstrap import create_app
    from kernel.extensions import db

    app = create_app()
    client = app.test_client()
    for endpoint in endpoints:
        paths = endpoint.request_paths

        def send(n: int, endpoint: Endpoint = endpoint, paths: Sequence[str] = paths) -> None:
            response = client.open(
                paths[n % len(paths)], method=endpoint.method, headers=endpoint.headers, data=endpoint.body
            )
            if response.status_code != 200:
                raise SystemExit(f"{endpoint.label} answered {response.status_code} in process: {response.text[:300]}")

        for n in range(50):
            send(n)
        started = time.perf_counter()
        for n in range(requests):
            send(n)
        plain = (time.perf_counter() - started) / requests
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [send(n) for n in range(requests)])
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top // 2)
        print(f"\n--- {endpoint.label}: {requests} requests, {plain * 1e3:.2f} ms each without the profiler ---")
        print(out.getvalue())
    with app.app_context():
        db.engine.dispose()


# --- the run --------------------------------------------------------------------------------------


@contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    if not keep:
        with temporary_directory() as directory:
            yield directory
        return
    directory = Path(tempfile.mkdtemp(prefix="tickets-bench-"))
    yield directory
    print(f"\nkept: {directory / 'tickets.db'}")


def login(port: int, username: str) -> str:
    status, grant = call(port, "POST", "/api/v1/auth/login", body={"username": username, "password": PASSWORD})
    if status != 200:
        raise SystemExit(f"login as {username} failed: {status} {grant}")
    return str(grant["access_token"])


def endpoints_for(seeded: Seeded, worker: str, supervisor: str) -> list[Endpoint]:
    ticket_paths = tuple(f"/api/v1/tickets/{ticket_id}" for ticket_id in seeded.queue_ids)
    urge_paths = tuple(f"/api/v1/tickets/{ticket_id}/urge" for ticket_id in seeded.urge_ids)
    return [
        Endpoint("/healthz"),
        Endpoint("/api/v1/tickets?assignee=me", worker, target=READ_TARGET),
        Endpoint(ticket_paths[0], worker, paths=ticket_paths, title="GET /api/v1/tickets/<id>", target=READ_TARGET),
        Endpoint(
            urge_paths[0],
            supervisor,
            method="POST",
            body=URGE_BODY,
            paths=urge_paths,
            title="POST /api/v1/tickets/<id>/urge",
            target=ACTION_TARGET,
        ),
    ]


def describe(seeded: Seeded, migrated: float, generator: str, args: argparse.Namespace, database: Path) -> None:
    total = sum(seeded.statuses.values())
    shares = ", ".join(f"{status} {count / total:.1%}" for status, count in seeded.statuses.most_common())
    rows = ", ".join(f"{table} {count:,}" for table, count in seeded.rows.items())
    open_count = sum(seeded.statuses[status] for status in OPEN)
    load_1min, python = os.getloadavg()[0], sys.version.split()[0]
    how = (
        f"wrk -t{min(2, args.connections)} -c{args.connections} -d{args.duration}s --latency, paths in turn (Lua)"
        if generator == "wrk"
        else f"Python, {args.connections} client processes sharing the CPU with the server, {args.duration} s"
    )
    print(f"machine: {os.cpu_count()} cores, 1-min load average {load_1min:.2f} before the run, Python {python}")
    print(f"database: SQLite {database}; `flask db upgrade` {migrated:.1f} s, seeding {seeded.seconds:.1f} s")
    print(f"seeded: {rows}")
    print(f"tickets: {shares}; open {open_count:,} ({open_count / total:.1%})")
    print(f"queue: {WORKER} holds {len(seeded.queue_ids)} tickets; {SUPERVISOR} urges {len(seeded.urge_ids)} open ones")
    print(f"server: gunicorn --workers {WORKERS} --worker-class sync on {HOST}, LOG_LEVEL=WARNING")
    print(f"load: {how}; {args.warmup} s warm-up per endpoint, endpoints one after the other\n")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets to seed (default 100,000)")
    add_load_options(parser)
    parser.add_argument("--keep-db", action="store_true", help="keep the SQLite file (its path is printed)")
    parser.add_argument("--profile", action="store_true", help="also profile each endpoint in process (cProfile)")
    parser.add_argument("--profile-requests", type=int, default=500, help="requests per endpoint to profile")
    parser.add_argument("--top", type=int, default=30, help="rows of each profile to print")
    args = parser.parse_args()
    if min(args.duration, args.warmup, args.connections, args.rounds, args.profile_requests) < 1 or args.tickets < 1000:
        parser.error("--tickets must be at least 1,000, every other count and duration at least 1")
    return args


def main() -> None:
    args = parse_args()
    generator = choose_generator(args.generator)
    with workspace(args.keep_db) as directory:
        env = bench_environment(directory / "tickets.db")
        seeded, migrated = seeded_database(env, args.tickets)
        if not seeded.queue_ids or not seeded.urge_ids:
            raise SystemExit("too few tickets for a queue and open tickets to urge: raise --tickets")
        with running_server(env, directory / "gunicorn.log") as server:
            describe(seeded, migrated, generator, args, directory / "tickets.db")
            endpoints = endpoints_for(seeded, login(server.port, WORKER), login(server.port, SUPERVISOR))
            check_answers(server.port, endpoints)
            statements = statements_per_request(env, endpoints)
            results = measure(server, endpoints, generator, args)
            print_table(results, statements)
            print("\n" + ", ".join(f"{r.endpoint.label}: {ratio_of(r):.2f} x" for r in results[1:]))
            print_worker_memory(server)
        if args.profile:
            profile(endpoints[1:], args.profile_requests, args.top)


if __name__ == "__main__":
    main()
