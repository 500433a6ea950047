"""The hot endpoints against the real floor: a bare Flask app (`bench/reference.py`) served by the same server
with the same workers, in the same run, on SQLite and on PostgreSQL (issue 27). `make bench` runs it.

Run: `.venv/bin/python bench/matrix.py [--servers granian] [--databases sqlite,postgresql] [--rounds 3]
[--duration 3] [--warmup 1] [--tickets 20000] [--workers 2] [--connections 16] [--postgres-url URL]`;
`--servers all` compares gunicorn (sync), gunicorn (gthread), granian and uWSGI (`bench/serve.py`); `--floor` also
serves `bench/floor.py` (Flask and the driver alone: the token check's SQL, then the account, or an urge's SQL) and
measures its `/me` and urges beside the app's, to show how near the targets the least such an endpoint can do stands.

Per database: migrate and seed the territory, staff and tickets of `bench/tickets.py` (fixed seed, in process),
give the 100 cells square boundaries (for `/grids/locate`) and hand the tickets of the last street to one
worker (the pool the ticket actions work through). PostgreSQL runs in its own database (`--postgres-url`,
dropped and created afresh). Per server kind: the reference and the app, each with `--workers` workers on
its own port; then `--rounds` rounds, each measuring the reference's `/healthz` and then every endpoint (after
`--warmup` seconds of the same load) with `wrk -t2 -c<connections> --latency`. An endpoint's figures are those
of its median round by ratio to the reference's rate in that same round, so a machine that slows down during
the run weighs on both sides of each ratio alike. Before each round of `accept` and `resolve` the pool is put
back in the state the action needs (assigned, in progress) with one UPDATE; each request takes the next ticket.

Prints per database and server: req/s, p50, p99, the ratio to the reference with its target, errors (non-2xx and
socket errors), each round's ratio, then every worker's RSS (target: under 150 MB) and the 1-minute load average
before and after.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.auth_reads import (  # noqa: E402
    Endpoint,
    Result,
    bench_environment,
    call,
    memory_line,
    temporary_directory,
    wrk_load,
)
from bench.serve import KINDS, REFERENCE, free_port, serving  # noqa: E402
from bench.tickets import SUPERVISOR, URGE_BODY, WORKER, login, seeded_database  # noqa: E402

FLOOR = "bench.floor:app"
SERVER = "uwsgi"  # what `make run` serves with (docs/PERFORMANCE.md, "The server"); `--servers all` compares every kind
DATABASES = ("sqlite", "postgresql")
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/speed_bench"
HEALTH_TARGET, READ_TARGET, ACTION_TARGET = 0.8, 0.35, 0.2
RSS_LIMIT_MB = 150
SETTLE_SECONDS = 1.0  # longer than any request takes (p99 under 0.2 s), shorter than a round
CELL_DEGREES = 0.005  # the side of a cell's square boundary
ORIGIN_LAT, ORIGIN_LNG = 32.99, 112.53
INTAKE_BODY = {
    "channel": "app",
    "category_code": None,  # the first category a worker may file, looked up
    "description": "楼道灯坏了，晚上看不见",
    "address": "第1街道第1社区3号楼",
}


@dataclass(frozen=True)
class Case:
    """One measured endpoint: where it is served, and what to do before each round of it."""

    endpoint: Endpoint
    reference: bool = False
    floor: bool = False  # served by bench/floor.py (`--floor`): shown for comparison, no target of its own
    before_round: Callable[[], None] | None = None


# --- the database ---------------------------------------------------------------------------------


def sqlite_environment(directory: Path) -> dict[str, str]:
    return bench_environment(directory / "matrix.db")


def postgres_environment(directory: Path, url: str) -> dict[str, str]:
    """A fresh database of its own at `url` (dropped first if it is there)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in {"postgres", "test"}:
        raise SystemExit(f"--postgres-url must name a database of the benchmark's own, not {name!r}")
    admin = f"postgresql://{parts.netloc}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return {**bench_environment(directory / "unused.db"), "DATABASE_URL": url}


@dataclass
class Prepared:
    queue_ids: list[int]
    urge_ids: list[int]
    pool_worker: str
    pool_cell: int
    pool_ids: list[int]
    intake_category: str
    subject_id: int  # the account /users/{id} reads: the benchmark worker
    points: list[tuple[float, float]]  # inside cells of street 1, for /grids/locate
    seconds: float


def prepare(env: dict[str, str], tickets: int) -> Prepared:
    """Migrate and seed (bench/tickets.py), then the boundaries and the action pool; in this process."""
    started = time.perf_counter()
    seeded, _ = seeded_database(env, tickets)
    from sqlalchemy import select, update

    from auth.models import Account
    from bootstrap import create_app
    from grid.models import CellAssignment, GridUnit
    from kernel.extensions import db
    from tasks.categories.models import Category
    from tasks.tickets.models import Ticket

    app = create_app()
    with app.app_context():
        cells = db.session.execute(select(GridUnit.id, GridUnit.path).where(GridUnit.level == "grid")).all()
        cells.sort()
        points = []
        for index, (cell_id, _path) in enumerate(cells):
            lat, lng = ORIGIN_LAT + (index // 10) * CELL_DEGREES, ORIGIN_LNG + (index % 10) * CELL_DEGREES
            db.session.execute(update(GridUnit).where(GridUnit.id == cell_id).values(boundary=square(lat, lng)))
            if index < 25:  # street 1's cells come first
                points += [(lat + CELL_DEGREES * f, lng + CELL_DEGREES * (1 - f)) for f in (0.2, 0.5, 0.7)]
        last_street = cells[-25:]
        pool_cell = last_street[-1][0]
        pool_worker_id = db.session.scalars(
            select(CellAssignment.account_id).where(CellAssignment.grid_id == pool_cell)
        ).one()
        street_cells = [cell_id for cell_id, _ in last_street]
        db.session.execute(
            update(Ticket).where(Ticket.grid_id.in_(street_cells)).values(grid_id=pool_cell, assignee_id=pool_worker_id)
        )
        pool_ids = list(db.session.scalars(select(Ticket.id).where(Ticket.grid_id == pool_cell).order_by(Ticket.id)))
        pool_worker = db.session.scalars(select(Account.username).where(Account.id == pool_worker_id)).one()
        subject_id = db.session.scalars(select(Account.id).where(Account.username == WORKER)).one()
        category = db.session.scalars(
            select(Category.code).where(Category.parent_code.is_not(None)).order_by(Category.code)
        ).first()
        db.session.commit()
        db.engine.dispose()
    return Prepared(
        seeded.queue_ids,
        seeded.urge_ids,
        pool_worker,
        pool_cell,
        pool_ids,
        str(category),
        subject_id,
        points,
        time.perf_counter() - started,
    )


def square(lat: float, lng: float) -> str:
    ring = [[lng, lat], [lng + CELL_DEGREES, lat], [lng + CELL_DEGREES, lat + CELL_DEGREES], [lng, lat + CELL_DEGREES]]
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})


def pool_reset(env: dict[str, str], cell: int, status: str) -> Callable[[], None]:
    """Put every pool ticket back in `status` (assigned or in progress), its clocks running, nothing after."""

    def reset() -> None:
        from sqlalchemy import update

        from bootstrap import create_app
        from kernel.clock import utcnow
        from kernel.extensions import db
        from tasks.tickets.models import Ticket

        now = utcnow()
        values: dict[str, Any] = {
            "status": status,
            "dispatched_at": now - timedelta(hours=2),
            "accept_due_at": now + timedelta(days=1),
            "accepted_at": None if status == "assigned" else now - timedelta(hours=1),
            "resolve_due_at": now + timedelta(days=3),
            "warn_at": now + timedelta(hours=12),
            "due_at": now + timedelta(days=1 if status == "assigned" else 3),
            "warned_marked_at": None,
            "overdue_marked_at": None,
            "resolved_at": None,
            "closed_at": None,
            "cancelled_at": None,
            "handler_id": None,
            "returned_from": None,
            "return_requested_at": None,
            "extension_requested_until": None,
            "suspended_at": None,
            "suspend_reason": None,
            "merged_into_id": None,
        }
        app = cached_app(env, create_app)
        with app.app_context():
            db.session.execute(update(Ticket).where(Ticket.grid_id == cell).values(values))
            db.session.commit()
            db.session.remove()

    return reset


_APPS: dict[str, Any] = {}


def cached_app(env: dict[str, str], create_app: Callable[[], Any]) -> Any:
    url = env["DATABASE_URL"]
    if url not in _APPS:
        os.environ["DATABASE_URL"] = url
        _APPS[url] = create_app()
    return _APPS[url]


# --- the cases ------------------------------------------------------------------------------------


def cases_for(env: dict[str, str], prepared: Prepared, tokens: dict[str, str]) -> list[Case]:
    worker, supervisor, pool = tokens[WORKER], tokens[SUPERVISOR], tokens[prepared.pool_worker]
    ticket_paths = tuple(f"/api/v1/tickets/{ticket_id}" for ticket_id in prepared.queue_ids)
    urge_paths = tuple(f"/api/v1/tickets/{ticket_id}/urge" for ticket_id in prepared.urge_ids)
    locate_paths = tuple(f"/api/v1/grids/locate?lat={lat:.6f}&lng={lng:.6f}" for lat, lng in prepared.points)
    accept_paths = tuple(f"/api/v1/tickets/{ticket_id}/accept" for ticket_id in prepared.pool_ids)
    resolve_paths = tuple(f"/api/v1/tickets/{ticket_id}/resolve" for ticket_id in prepared.pool_ids)
    intake = json.dumps({**INTAKE_BODY, "category_code": prepared.intake_category})  # into the worker's own cell
    note = json.dumps({"note": "已处理，居民满意"})
    return [
        Case(Endpoint("/healthz", title="reference: bare Flask /healthz"), reference=True),
        Case(Endpoint("/healthz", title="GET /healthz", target=HEALTH_TARGET)),
        Case(Endpoint("/api/v1/auth/me", worker, target=READ_TARGET)),
        Case(Endpoint(f"/api/v1/users/{prepared.subject_id}", supervisor, title="GET /users/{id}", target=READ_TARGET)),
        Case(Endpoint("/api/v1/tickets?assignee=me", worker, title="GET queue (assignee=me)", target=READ_TARGET)),
        Case(Endpoint(ticket_paths[0], worker, paths=ticket_paths, title="GET one ticket", target=READ_TARGET)),
        Case(Endpoint(locate_paths[0], worker, paths=locate_paths, title="GET /grids/locate", target=READ_TARGET)),
        Case(action(urge_paths, supervisor, URGE_BODY, "POST urge")),
        Case(
            action(accept_paths, pool, "{}", "POST accept"),
            before_round=pool_reset(env, prepared.pool_cell, "assigned"),
        ),
        Case(
            action(resolve_paths, pool, note, "POST resolve"),
            before_round=pool_reset(env, prepared.pool_cell, "in_progress"),
        ),
        Case(
            Endpoint("/api/v1/requests", worker, method="POST", body=intake, title="POST intake", target=ACTION_TARGET)
        ),
    ]


def floor_cases(kind: str, prepared: Prepared, tokens: dict[str, str]) -> list[Case]:
    """`bench/floor.py`'s endpoints, on the same rows and tokens as the app's `/auth/me` and urge."""
    worker, supervisor = tokens[WORKER], tokens[SUPERVISOR]
    urges = [("urge", "floor: POST urge (driver)")]
    if kind == "postgresql":
        urges.append(("urge-together", "floor: POST urge, 1 round trip"))
    return [
        Case(Endpoint("/me", worker, title="floor: GET /me (driver)"), floor=True),
        *(
            Case(action([f"/tickets/{i}/{path}" for i in prepared.urge_ids], supervisor, URGE_BODY, title), floor=True)
            for path, title in urges
        ),
    ]


def action(paths: Sequence[str], token: str, body: str, title: str) -> Endpoint:
    return Endpoint(paths[0], token, method="POST", body=body, paths=tuple(paths), title=title, target=ACTION_TARGET)


# --- measuring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    case: Case
    result: Result  # of the median round
    ratio: float  # to the reference, in that round
    ratios: tuple[float, ...]


def measure(
    app_port: int, reference_port: int, cases: Sequence[Case], args: argparse.Namespace, floor_port: int | None = None
) -> list[Measured]:
    rounds = []
    for number in range(args.rounds):
        results = []
        for case in cases:
            if case.before_round is not None:
                case.before_round()
            port = reference_port if case.reference else floor_port if case.floor else app_port
            wrk_load(port, case.endpoint, args.warmup, args.connections)
            if case.before_round is not None:  # the warm-up used up part of the pool: start it afresh
                # once the warm-up's last requests have finished: one still running when the pool is reset
                # would take its ticket again after the reset, and the measured run's request for it got a 409
                time.sleep(SETTLE_SECONDS)
                case.before_round()
            results.append(wrk_load(port, case.endpoint, args.duration, args.connections))
        print(f"  round {number + 1}/{args.rounds}: reference {results[0].rate:,.0f} req/s", flush=True)
        rounds.append(results)
    measured = []
    for index, case in enumerate(cases):
        ratios = [results[index].rate / results[0].rate for results in rounds]
        median = sorted(range(len(rounds)), key=lambda n: ratios[n])[len(rounds) // 2]
        measured.append(Measured(case, rounds[median][index], ratios[median], tuple(ratios)))
    return measured


def print_table(measured: Sequence[Measured]) -> bool:
    """The table; whether every target is met."""
    width = max(len(m.case.endpoint.label) for m in measured)
    print(
        f"  {'endpoint':<{width}} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'errors':>6}  target  rounds"
    )
    all_met = True
    for m in measured:
        if m.case.reference:
            verdict = "floor"
        elif m.case.floor:
            verdict = "(driver)"
        else:
            met = m.ratio >= m.case.endpoint.target and m.result.errors == 0
            all_met &= met
            verdict = f"{m.case.endpoint.target:.2f} {'met' if met else 'NOT'}"
        rounds = " ".join(f"{r:.2f}" for r in m.ratios)
        r = m.result
        print(
            f"  {m.case.endpoint.label:<{width}} {r.rate:7.0f} {r.p50_ms:7.2f} {r.p99_ms:7.2f} {m.ratio:6.3f} "
            f"{r.errors:6d}  {verdict:<8} {rounds}"
        )
    return all_met


def print_memory(label: str, pids: Sequence[int]) -> bool:
    """Each worker's RSS; whether all are under RSS_LIMIT_MB."""
    under = True
    for pid in pids:
        line = memory_line(pid)
        rss = float(line.split("RSS ")[1].split(" MB")[0])
        under &= rss < RSS_LIMIT_MB
        print(f"  {label} worker {line}{'' if rss < RSS_LIMIT_MB else f'  over {RSS_LIMIT_MB} MB'}")
    return under


# --- the run --------------------------------------------------------------------------------------


@contextmanager
def database(kind: str, directory: Path, args: argparse.Namespace) -> Iterator[dict[str, str]]:
    if kind == "sqlite":
        yield sqlite_environment(directory)
    else:
        yield postgres_environment(directory, args.postgres_url)


def run_database(kind: str, args: argparse.Namespace) -> bool:
    """Seed one database, then measure every server kind on it; whether every target was met."""
    all_met = True
    with temporary_directory() as directory, database(kind, directory, args) as env:
        prepared = prepare(env, args.tickets)
        print(
            f"\n== {kind}: {args.tickets:,} tickets, queue of {len(prepared.queue_ids)}, {len(prepared.pool_ids)} "
            f"pool tickets for accept/resolve; ready in {prepared.seconds:.0f} s",
            flush=True,
        )
        for server_kind in args.servers:
            with ExitStack() as stack:
                app_port = free_port()
                app_server = stack.enter_context(
                    serving(server_kind, env, directory / f"{server_kind}-app.log", app_port, workers=args.workers)
                )
                reference_port = free_port()
                reference = stack.enter_context(
                    serving(
                        server_kind,
                        env,
                        directory / f"{server_kind}-reference.log",
                        reference_port,
                        app=REFERENCE,
                        workers=args.workers,
                    )
                )
                users = (WORKER, SUPERVISOR, prepared.pool_worker)
                tokens = {username: login(app_port, username) for username in users}
                cases = cases_for(env, prepared, tokens)
                floor_port = None
                if args.floor:
                    floor_port = free_port()
                    stack.enter_context(
                        serving(
                            server_kind,
                            env,
                            directory / f"{server_kind}-floor.log",
                            floor_port,
                            app=FLOOR,
                            workers=args.workers,
                        )
                    )
                    cases += floor_cases(kind, prepared, tokens)
                check(app_port, reference_port, cases, floor_port)
                load_before = os.getloadavg()[0]
                print(f"\n-- {kind}, {server_kind}, {args.workers} workers; load average {load_before:.2f}", flush=True)
                measured = measure(app_port, reference_port, cases, args, floor_port)
                all_met &= print_table(measured)
                all_met &= print_memory("app", app_server.worker_pids())
                print_memory("reference", reference.worker_pids())
                print(f"  load average after: {os.getloadavg()[0]:.2f}", flush=True)
    return all_met


def check(app_port: int, reference_port: int, cases: Sequence[Case], floor_port: int | None = None) -> None:
    """Every endpoint answers 2xx before it is measured (a fast 4xx would be a false success)."""
    if call(reference_port, "GET", "/healthz")[0] != 200:
        raise SystemExit("the reference app does not answer /healthz")
    for case in cases:
        if case.reference:
            continue
        if case.before_round is not None:
            case.before_round()
        endpoint = case.endpoint
        sent = json.loads(endpoint.body) if endpoint.body is not None else None
        port = floor_port if case.floor else app_port
        status, body = call(port, endpoint.method, endpoint.request_paths[0], token=endpoint.token, body=sent)
        if not 200 <= status < 300:
            raise SystemExit(f"{endpoint.label} answered {status}: {body}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default=SERVER, help=f"comma-separated of {', '.join(KINDS)}, or all")
    parser.add_argument("--databases", default=",".join(DATABASES), help="comma-separated of sqlite, postgresql")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each endpoint's median round is shown")
    parser.add_argument("--duration", type=int, default=3, help="seconds of load per endpoint and round")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of the same load before each")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tickets", type=int, default=20_000, help="tickets to seed (default 20,000)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="a database of the benchmark's own")
    parser.add_argument("--floor", action="store_true", help="also measure bench/floor.py's /me and urges")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # one database, in a child process
    args = parser.parse_args()
    args.servers = list(KINDS) if args.servers == "all" else args.servers.split(",")
    args.databases = args.databases.split(",")
    if set(args.servers) - set(KINDS) or set(args.databases) - set(DATABASES):
        parser.error(f"--servers: {', '.join(KINDS)} or all; --databases: {', '.join(DATABASES)}")
    if min(args.rounds, args.duration, args.warmup, args.connections, args.workers) < 1 or args.tickets < 5000:
        parser.error("--tickets at least 5,000; every other count and duration at least 1")
    return args


def main() -> None:
    args = parse_args()
    if args.only:
        raise SystemExit(0 if run_database(args.only, args) else 1)
    started = time.perf_counter()
    print(
        f"machine: {os.cpu_count()} cores, 1-min load average {os.getloadavg()[0]:.2f}; "
        f"servers {', '.join(args.servers)}; "
        f"wrk -t2 -c{args.connections}, {args.warmup} s warm-up + {args.duration} s per endpoint, {args.rounds} rounds",
        flush=True,
    )
    verdicts = {}
    for kind in args.databases:  # each database in its own process: one app, one set of module caches
        done = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--only", kind], check=False)
        verdicts[kind] = done.returncode == 0
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{kind} {'met' if met else 'NOT met'}" for kind, met in verdicts.items())
    print(f"\ntargets: {summary} ({elapsed / 60:.1f} min)")


if __name__ == "__main__":
    main()
