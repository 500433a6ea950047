"""The city at scale, over HTTP: dashboards (a district, the whole city), the worker's queue and one ticket, intake
at a fixed rate while dashboards are read, and `stats rebuild` for one month.

Run (after `bench/seed_scale.py --districts 10 --workers 20000 --tickets 10000000 --days 1095` into the database):
`.venv/bin/python bench/city.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/scale10m [--port 8631]
[--only dashboards,ratios,intake,rebuild] [--endpoints heatmap]`.

- The app is served as `make run` and the deployment serve it (`--server uwsgi`: deploy/web.sh's uWSGI and
  `uwsgi.ini`; `bench/serve.py` has the other kinds) with `--workers` processes (4 by default: README's "about
  2 × cores") on `--port`.
- Dashboards: each `bench/stats.py` endpoint, `--requests` times after 3 warm-ups, one keep-alive connection, as
  `bench.district` (a supervisor of district 1: a tenth of the city) and as `bench.admin` (the whole city), over
  the seed's last month (November 2026; the seed ends on the 20th), then the heat map's cells (`level=grid`).
  p50 and p99 in ms.
- Ratios: `/healthz`, the queue of `bench.worker1` (`?assignee=me`) and one ticket, with `wrk` (as
  `bench/tickets.py`: `--rounds` rounds, each endpoint's rate over the same round's `/healthz`).
- Intake: `--intake-rate` POST /api/v1/requests a second for `--intake-seconds`, paced: request n is due at
  start + n / rate and its latency counts from then (a late send counts as waiting: no coordinated omission),
  from 16 threads, while 2 other threads read the district and city summaries and breakdowns back to back.
- Rebuild: `flask stats rebuild --month 2026-11` (the month's rows replaced; the rest untouched), timed.
Prints the load average beside every figure: the machine is shared.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from auth import tokens  # noqa: E402
from auth.models import Account  # noqa: E402
from bench.auth_reads import BIN, HOST, Endpoint, Server, measure  # noqa: E402
from bench.seed_scale import make_app  # noqa: E402
from bench.serve import KINDS, serving  # noqa: E402
from bench.stats import ENDPOINTS  # noqa: E402
from grid.models import GridLevel, GridUnit  # noqa: E402
from kernel.extensions import db  # noqa: E402
from tasks.categories.models import Category  # noqa: E402
from tasks.tickets.models import Ticket  # noqa: E402

MONTH = "from=2026-11-01&to=2026-11-30"  # the seed's last month
CALLERS = ("bench.district", "bench.admin")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def environment(url: str) -> dict[str, str]:
    inherited = {name: value for name, value in os.environ.items() if name != "GUNICORN_CMD_ARGS"}
    return {
        **inherited,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "JWT_SECRET_KEY": "bench-jwt-key-not-for-production-0123456789abc",
        "ACCESS_TOKEN_MINUTES": "240",
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOG_LEVEL": "WARNING",
    }


def arrange(url: str) -> SimpleNamespace:
    """Tokens for the callers, a ticket of the worker's, the cells and categories intake draws from."""
    app = make_app(url)
    with app.app_context():
        names = (*CALLERS, "bench.worker1")
        accounts = {a.username: a for a in db.session.scalars(select(Account).where(Account.username.in_(names)))}
        bearer = {name: tokens.open_session(account).access_token for name, account in accounts.items()}
        worker = accounts["bench.worker1"]
        ticket = db.session.scalar(select(Ticket.id).where(Ticket.assignee_id == worker.id).limit(1))
        cells = list(db.session.scalars(select(GridUnit.id).where(GridUnit.level == GridLevel.GRID)))
        categories = list(db.session.scalars(select(Category.code).where(Category.parent_code.is_not(None))))
        db.session.commit()
    return SimpleNamespace(bearer=bearer, ticket=ticket, cells=cells, categories=categories)


def get(connection: http.client.HTTPConnection, path: str, token: str, etag: str | None = None) -> tuple[int, Any]:
    """One GET; status -1 when the connection failed (it reconnects on the next request)."""
    headers = {"Authorization": f"Bearer {token}"}
    if etag:
        headers["If-None-Match"] = etag
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        connection.close()
        return -1, None
    return response.status, response.headers.get("ETag")


# The heat map's cells (issue 28: a district and the city are drawn by communities and streets by default).
CELL_LAYERS = ("/api/v1/stats/heatmap?level=grid", "/api/v1/stats/heatmap?level=grid (If-None-Match)")


def dashboards(port: int, arranged: SimpleNamespace, requests: int, only: str = "") -> None:
    print(f"\ndashboards over November 2026, {requests} requests each, load average {load()}")
    print(f"{'endpoint':44} {'caller':16} {'p50 ms':>8} {'p99 ms':>8} errors  load")
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    for endpoint in (*ENDPOINTS, *CELL_LAYERS):
        if only not in endpoint:
            continue
        path, _, variant = endpoint.partition(" ")
        if "overdue" not in path:  # the overdue list is of now
            path += ("&" if "?" in path else "?") + MONTH
        for caller in CALLERS:
            token = arranged.bearer[caller]
            etag = None
            for _ in range(3):
                status, etag = get(connection, path, token)
            times, errors = [], 0
            for _ in range(requests):
                began = time.perf_counter()
                status, _etag = get(connection, path, token, etag if variant else None)
                times.append((time.perf_counter() - began) * 1000)
                errors += status not in {200, 304}
            times.sort()
            p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
            print(
                f"{endpoint:44} {caller:16} {statistics.median(times):8.1f} {p99:8.1f} {errors:6}  {load()}", flush=True
            )


def ratios(server: Server, arranged: SimpleNamespace, rounds: int) -> None:
    worker = arranged.bearer["bench.worker1"]
    endpoints = [
        Endpoint("/healthz"),
        Endpoint("/api/v1/tickets?assignee=me", worker, title="queue (?assignee=me)"),
        Endpoint(f"/api/v1/tickets/{arranged.ticket}", worker, title="one ticket"),
    ]
    print(f"\nratios to /healthz, wrk -t2 -c16, {rounds} rounds of 5 s, load average {load()}")
    options = SimpleNamespace(rounds=rounds, warmup=1, duration=5, connections=16)
    for result in measure(server, endpoints, "wrk", options):
        ratio = sorted(result.round_ratios)[len(result.round_ratios) // 2]
        print(f"{result.endpoint.label:28} {result.rate:8.0f} req/s  ratio {ratio:.3f}  "
              f"p50 {result.p50_ms:.1f} ms  p99 {result.p99_ms:.1f} ms  errors {result.errors}")  # fmt: skip
    print(f"load average after: {load()}")


def intake(port: int, arranged: SimpleNamespace, rate: float, seconds: int) -> None:
    total = int(rate * seconds)
    rng = random.Random(11)
    bodies = [
        json.dumps({
            "channel": "hotline", "category_code": rng.choice(arranged.categories), "description": "基准诉求",
            "grid_id": str(rng.choice(arranged.cells)), "reporter": {"name": "居民", "phone": "13900000000"},
        })
        for _ in range(total)
    ]  # fmt: skip
    token = arranged.bearer["bench.admin"]
    latencies: list[float] = [0.0] * total
    statuses: list[int] = [0] * total
    counter = iter(range(total))
    lock = threading.Lock()
    stop_reading = threading.Event()
    reads: list[float] = []
    start = time.perf_counter() + 0.5

    def sender() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            due = start + n / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            try:
                connection.request("POST", "/api/v1/requests", bodies[n], headers)
                response = connection.getresponse()
                response.read()
                statuses[n] = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                statuses[n] = -1
            latencies[n] = (time.perf_counter() - due) * 1000

    def reader(caller: str) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=120)
        paths = [f"/api/v1/stats/summary?{MONTH}", f"/api/v1/stats/breakdown?by=child&{MONTH}"]
        while not stop_reading.is_set():
            for path in paths:
                began = time.perf_counter()
                get(connection, path, arranged.bearer[caller])
                reads.append((time.perf_counter() - began) * 1000)

    print(f"\nintake: {total} requests at {rate:g}/s for {seconds} s, with 2 dashboard readers; load average {load()}")
    readers = [threading.Thread(target=reader, args=(caller,)) for caller in CALLERS]
    senders = [threading.Thread(target=sender) for _ in range(16)]
    for thread in readers + senders:
        thread.start()
    for thread in senders:
        thread.join()
    stop_reading.set()
    for thread in readers:
        thread.join()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    errors = sum(1 for status in statuses if status != 201)
    p99 = ordered[min(total - 1, round(0.99 * (total - 1)))]
    print(f"intake latency from due time: p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, "
          f"max {ordered[-1]:.1f} ms; {total / elapsed:.1f}/s achieved; non-201: {errors}")  # fmt: skip
    reads.sort()
    if reads:
        p99_reads = reads[min(len(reads) - 1, round(0.99 * (len(reads) - 1)))]
        print(f"dashboard reads meanwhile: {len(reads)}, p50 {statistics.median(reads):.1f} ms, p99 {p99_reads:.1f} ms")
    print(f"load average after: {load()}")


def rebuild_month(env: dict[str, str], month: str) -> None:
    print(f"\nstats rebuild --month {month}, load average {load()}")
    began = time.perf_counter()
    command = [str(BIN / "flask"), "--app", "wsgi", "stats", "rebuild", "--month", month]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    print(f"{done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]}")
    print(f"took {time.perf_counter() - began:.1f} s (process start included); load average after: {load()}")


def sizes(url: str) -> None:
    app = make_app(url)
    with app.app_context():
        total = db.session.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
        rows = db.session.execute(
            text(
                "SELECT c.relname, pg_size_pretty(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
                "AND NOT c.relispartition ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 8"
            )
        ).all()
        in_partitions = (
            "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits "
            "WHERE inhparent = CAST(:t AS regclass)"
        )
        partitioned = {
            table: db.session.scalar(text(in_partitions), {"t": table})
            for table in ("ticket_events", "position_pings", "notifications", "stats_daily", "stats_worker_daily")
        }
    print(f"\ndatabase size {total}; largest tables: {', '.join(f'{name} {size}' for name, size in rows)}")
    print(f"partitioned tables (all partitions): {', '.join(f'{k} {v}' for k, v in partitioned.items())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, default=8631)
    parser.add_argument("--server", choices=KINDS, default="uwsgi")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--intake-rate", type=float, default=50)
    parser.add_argument("--intake-seconds", type=int, default=60)
    parser.add_argument("--only", default="dashboards,ratios,intake,rebuild,sizes")
    parser.add_argument("--endpoints", default="", help="dashboards: the endpoints whose path contains this text")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    env = environment(args.database_url)
    arranged = arrange(args.database_url)
    print(f"{len(arranged.cells)} cells; {args.server} with {args.workers} workers on {HOST}:{args.port}")
    log = Path(f"/tmp/city-bench-{args.port}.log")
    with serving(args.server, env, log, args.port, workers=args.workers) as server:
        if "dashboards" in parts:
            dashboards(args.port, arranged, args.requests, args.endpoints)
        if "ratios" in parts:
            ratios(server, arranged, args.rounds)
        if "intake" in parts:
            intake(args.port, arranged, args.intake_rate, args.intake_seconds)
    if "rebuild" in parts:
        rebuild_month(env, "2026-11")
    if "sizes" in parts:
        sizes(args.database_url)


if __name__ == "__main__":
    main()
