"""How fast a point is located among 10,000 cells: in process, and over HTTP against /healthz.

Run: `.venv/bin/python bench/grid_locate.py [--cells 10000] [--points 100000] [--duration 10]
[--connections 16] [--generator auto|wrk|python] [--profile]`

Setup, the same on every run: a temporary SQLite file migrated with `flask db upgrade`, holding the
synthetic map of `bench/grid_map.py` (imported in process with `import_collection`) and an admin
`bench` made with `flask create-user ... --password-stdin`; fixed SECRET_KEY / JWT_SECRET_KEY,
LOG_LEVEL=WARNING. Query points come from `grid_map.query_points` (fixed seed): about 80 % inside a
cell, 20 % in the gaps between communities and streets; every in-process answer is checked against
the cell the generator put the point in. Measures:

(a) in process, inside an app context:
    - `build_index` (read the cells, parse their GeoJSON, build the STRtree): best and median of 5;
    - `CellLocator.index().cells_at(lat, lng)` per point over `--points` points (target <= 50 µs
      per point at 10,000 cells), and one bulk `STRtree.query` of the same points for reference;
    - `CellLocator.locate(lat, lng)` per point, which includes its version-check SELECT, and that
      SELECT (`current_version()`) alone.
(b) over HTTP: gunicorn with 2 sync workers on 127.0.0.1, like `make run`; the admin logs in once.
    One after the other, each after a short warm-up of the same load: GET /healthz (the framework
    alone, the reference), GET /api/v1/auth/me (authentication: the token's account lookup) and
    GET /api/v1/grids/locate?lat=..&lng=.. (1,000 points inside cells, rotating). The load comes
    from `wrk -t2 -c<connections> --latency` when wrk is on PATH, else (or with `--generator
    python`) from one Python process per connection (http.client), which shares the 2 cores with
    the server. Prints req/s, p50, p99, the ratio to /healthz, SQL statements per request (counted
    in process with the Flask test client), the workers' CPU during each run (in cores, and in ms
    per request, which stays steady when other processes share the machine) and their RSS after.

`--profile` also runs 2,000 locate requests through the Flask test client under cProfile.
"""

import argparse
import cProfile
import http.client
import io
import json
import math
import multiprocessing
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.auth_reads import call, choose_generator, free_port, memory_line, percentile, stop  # noqa: E402
from bench.grid_import import flask_cli, migrated_database, temporary_directory, use_environment  # noqa: E402
from bench.grid_map import QueryPoint, feature_collection, query_points  # noqa: E402

TARGET_MICROSECONDS = 50.0
USERNAME, PASSWORD = "bench", "bench-password-2026"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
HOST = "127.0.0.1"
WORKERS = 2
HTTP_POINTS = 1000


# --- (a) in process -------------------------------------------------------------------------------


def measure_in_process(points: Sequence[QueryPoint], locate_points: int) -> None:
    import numpy as np
    import shapely
    from sqlalchemy import select

    from bootstrap import create_app
    from grid.locator import CellLocator, build_index, current_version
    from grid.models import GridLevel, GridUnit
    from kernel.extensions import db

    app = create_app()
    with app.app_context():
        version = current_version()
        builds = []
        for _ in range(5):
            start = time.perf_counter()
            index = build_index(version)
            builds.append(time.perf_counter() - start)
        cells = len(index.cell_ids)
        print(
            f"build_index ({cells} cells): best {min(builds) * 1e3:.1f} ms, "
            f"median {statistics.median(builds) * 1e3:.1f} ms"
        )

        rows = db.session.execute(select(GridUnit.id, GridUnit.code).where(GridUnit.level == GridLevel.GRID))
        code_of: dict[int | None, str] = {cell_id: code for cell_id, code in rows}
        locator = CellLocator()
        index = locator.index()
        cells_at = index.cells_at
        start = time.perf_counter()
        answers = [cells_at(point.lat, point.lng) for point in points]
        seconds = time.perf_counter() - start
        per_point = seconds / len(points) * 1e6
        wrong = sum(
            1
            for point, found in zip(points, answers, strict=True)
            if (code_of[found[0]] if found else None) != point.cell_code
        )
        verdict = "met" if per_point <= TARGET_MICROSECONDS else "NOT met"
        print(
            f"cells_at: {len(points)} points in {seconds:.2f} s = {per_point:.1f} µs/point "
            f"({1e6 / per_point:,.0f} points/s), wrong answers {wrong}; "
            f"target <= {TARGET_MICROSECONDS:.0f} µs/point: {verdict}"
        )

        lngs = np.fromiter((p.lng for p in points), float, len(points))
        lats = np.fromiter((p.lat for p in points), float, len(points))
        start = time.perf_counter()
        assert index.tree is not None
        index.tree.query(shapely.points(lngs, lats), predicate="intersects")
        bulk = time.perf_counter() - start
        print(f"  reference, one bulk STRtree.query of the same points: {bulk / len(points) * 1e6:.2f} µs/point")

        sample = points[:locate_points]
        start = time.perf_counter()
        located = [locator.locate(point.lat, point.lng) for point in sample]
        seconds = time.perf_counter() - start
        wrong = sum(1 for p, cell in zip(sample, located, strict=True) if code_of.get(cell) != p.cell_code)
        print(
            f"CellLocator.locate (with its version SELECT): {len(sample)} points, "
            f"{seconds / len(sample) * 1e6:.1f} µs/point, wrong answers {wrong}"
        )
        start = time.perf_counter()
        for _ in sample:
            current_version()
        print(f"  of which current_version() alone: {(time.perf_counter() - start) / len(sample) * 1e6:.1f} µs")
        db.session.remove()
        db.engine.dispose()


def statements_per_request(paths: dict[str, str], token: str) -> dict[str, int]:
    """SQL statements of one request to each path (after one warm request), through the test client."""
    from sqlalchemy import event

    from bootstrap import create_app
    from kernel.extensions import db

    app = create_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        engine = db.engine
    counts = {}
    for label, path in paths.items():
        client.get(path, headers=headers)
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any, into: list[str] = statements) -> None:
            into.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        response = client.get(path, headers=headers)
        event.remove(engine, "before_cursor_execute", record)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code} in process")
        counts[label] = len(statements)
    with app.app_context():
        db.engine.dispose()
    return counts


def profile_requests(paths: Sequence[str], token: str, requests: int, top: int) -> None:
    """Locate requests through the test client under cProfile (which roughly doubles their time)."""
    from bootstrap import create_app
    from kernel.extensions import db

    app = create_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for path in paths[:50]:  # warm: the index, caches
        client.get(path, headers=headers)
    start = time.perf_counter()
    for i in range(requests):
        client.get(paths[i % len(paths)], headers=headers)
    plain = (time.perf_counter() - start) / requests
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(requests):
        client.get(paths[i % len(paths)], headers=headers)
    profiler.disable()
    print(f"{requests} locate requests through the test client: {plain * 1e6:.0f} µs each without the profiler")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    print(out.getvalue())
    with app.app_context():
        db.engine.dispose()


# --- (b) over HTTP --------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    def worker_pids(self) -> list[int]:
        """The master's children, from /proc."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return sorted(int(pid) for pid in children.split())

    def worker_cpu_seconds(self) -> float:
        """User + system CPU the workers have used so far."""
        total = 0.0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[Server]:
    """gunicorn like `make run`, up once /healthz answers; stopped with SIGTERM (graceful) after."""
    port = free_port()
    command = [str(GUNICORN), "--workers", str(WORKERS), "--worker-class", "sync", "--bind", f"{HOST}:{port}"]
    with log.open("wb") as output:
        process = subprocess.Popen([*command, "wsgi:app"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        server = Server(process, port)
        try:
            wait_until_up(server, log)
            yield server
        finally:
            stop(process)


def wait_until_up(server: Server, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            if call(server.port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn did not come up:\n{log.read_text(errors='replace')[-4000:]}")


@dataclass(frozen=True)
class Endpoint:
    label: str
    paths: tuple[str, ...]
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class Result:
    endpoint: Endpoint
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cores: float  # the workers' CPU seconds per second of load
    client_cores: float = field(default=math.nan)  # the Python load generator's, likewise


# --- load generators ------------------------------------------------------------------------------


WRK_SCRIPT = """\
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def wrk_load(server: Server, endpoint: Endpoint, seconds: int, connections: int, directory: Path) -> Result:
    """`wrk -t2 -c<connections> --latency`, a Lua script rotating the endpoint's paths."""
    script = directory / "rotate.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(path) for path in endpoint.paths))
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in endpoint.headers.items():
        command += ["-H", f"{name}: {value}"]
    cpu_before = server.worker_cpu_seconds()
    done = subprocess.run(
        [*command, "-s", str(script), f"http://{HOST}:{server.port}"],
        capture_output=True,
        text=True,
        check=True,
    )
    cores = (server.worker_cpu_seconds() - cpu_before) / seconds
    text = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        errors += int(found.group(1))
    if found := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        errors += sum(int(n) for n in found.groups())
    return Result(endpoint, rate, wrk_ms(text, "50%"), wrk_ms(text, "99%"), errors, cores)


def wrk_ms(text: str, percentile: str) -> float:
    found = re.search(rf"^\s*{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if not found:
        return math.nan
    return float(found.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[found.group(2)]


def python_load(server: Server, endpoint: Endpoint, seconds: int, connections: int, _directory: Path) -> Result:
    """One process per connection, all starting and stopping at the same wall-clock instants."""
    context = multiprocessing.get_context("fork")
    results: Any = context.Queue()  # of (latencies, errors, CPU seconds) per client
    start_at = time.time() + 0.3
    clients = [
        context.Process(
            target=python_client,
            args=(server.port, endpoint, n * len(endpoint.paths) // connections, start_at, start_at + seconds, results),
        )
        for n in range(connections)
    ]
    for client in clients:
        client.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = server.worker_cpu_seconds()
    collected = [results.get() for _ in clients]
    cores = (server.worker_cpu_seconds() - cpu_before) / seconds
    for client in clients:
        client.join()
    latencies = sorted(latency for client_latencies, _, _ in collected for latency in client_latencies)
    errors = sum(client_errors for _, client_errors, _ in collected)
    client_cores = sum(cpu for _, _, cpu in collected) / seconds
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    return Result(endpoint, (len(latencies) - errors) / seconds, p50 * 1e3, p99 * 1e3, errors, cores, client_cores)


def python_client(port: int, endpoint: Endpoint, first: int, start_at: float, stop_at: float, results: Any) -> None:
    """GET the endpoint's paths in turn until `stop_at`; http.client reconnects when the server closes."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    paths, headers = endpoint.paths, endpoint.headers
    latencies: list[float] = []
    errors = 0
    i = first
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        began = time.perf_counter()
        try:
            connection.request("GET", paths[i % len(paths)], headers=headers)
            response = connection.getresponse()
            response.read()
            errors += not 200 <= response.status < 300
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
        latencies.append(time.perf_counter() - began)
        i += 1
    connection.close()
    usage = os.times()
    results.put((latencies, errors, usage.user + usage.system))


# --- the HTTP run ---------------------------------------------------------------------------------


def locate_path(point: QueryPoint) -> str:
    return "/api/v1/grids/locate?" + urllib.parse.urlencode({"lat": f"{point.lat:.7f}", "lng": f"{point.lng:.7f}"})


def check_answers(port: int, token: str, points: Sequence[QueryPoint]) -> None:
    for point in points:
        status, body = call(port, "GET", locate_path(point), token=token)
        if status != 200 or body["cell"]["code"] != point.cell_code:
            raise SystemExit(f"{locate_path(point)}: {status} {body}, expected {point.cell_code}")


def measure_http(env: dict[str, str], points: Sequence[QueryPoint], args: argparse.Namespace, directory: Path) -> None:
    generator = choose_generator(args.generator)
    inside = [point for point in points if point.cell_code is not None][:HTTP_POINTS]
    load = wrk_load if generator == "wrk" else python_load
    with running_server(env, directory / "gunicorn.log") as server:
        status, grant = call(
            server.port, "POST", "/api/v1/auth/login", body={"username": USERNAME, "password": PASSWORD}
        )
        if status != 200:
            raise SystemExit(f"login failed: {status} {grant}")
        token = grant["access_token"]
        check_answers(server.port, token, inside[:20])
        endpoints = [
            Endpoint("GET /healthz", ("/healthz",)),
            Endpoint("GET /api/v1/auth/me", ("/api/v1/auth/me",), token),
            Endpoint("GET /api/v1/grids/locate", tuple(locate_path(point) for point in inside), token),
        ]
        statements = statements_per_request({e.label: e.paths[0] for e in endpoints}, token)
        how = (
            f"wrk -t{min(2, args.connections)} -c{args.connections} -d{args.duration}s --latency"
            if generator == "wrk"
            else f"Python, {args.connections} client processes with one http.client connection each "
            "(they share the CPU with the server)"
        )
        print(
            f"server: gunicorn --workers {WORKERS} --worker-class sync on {HOST}:{server.port}, "
            "LOG_LEVEL=WARNING, the SQLite file above"
        )
        print(f"load: {how}; {args.warmup} s warm-up per endpoint, endpoints one after the other")
        print(f"locate: {len(inside)} points inside cells, rotating; answers checked on 20 of them\n")
        results = []
        for endpoint in endpoints:
            load(server, endpoint, args.warmup, args.connections, directory)
            results.append(load(server, endpoint, args.duration, args.connections, directory))
        print_table(results, statements)
        healthz, _, locate = results
        print(f"\nlocate/healthz: {locate.rate / healthz.rate:.2f}")
        print("gunicorn workers after the run:")
        for pid in server.worker_pids():
            print(f"  {memory_line(pid)}")
        if args.profile:
            print("\n--- profile of locate requests through the Flask test client ---")
            profile_requests(endpoints[2].paths, token, 2000, args.top)


def print_table(results: Sequence[Result], statements: dict[str, int]) -> None:
    reference = results[0].rate
    print(
        f"{'endpoint':<26} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'/healthz':>8} {'SQL':>4} {'errors':>6}"
        f"  {'server CPU':>10} {'CPU ms/req':>10}  {'client CPU':>10}"
    )
    for result in results:
        client = "" if math.isnan(result.client_cores) else f"{result.client_cores:5.2f} cores"
        print(
            f"{result.endpoint.label:<26} {result.rate:7.0f} {result.p50_ms:7.2f} {result.p99_ms:7.2f} "
            f"{result.rate / reference:8.2f} {statements[result.endpoint.label]:4d} {result.errors:6d}  "
            f"{result.server_cores:5.2f} cores {result.server_cores / result.rate * 1e3:10.2f}  {client:>10}"
        )


# --- main -----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=10_000, help="cells in the map (default 10,000)")
    parser.add_argument("--points", type=int, default=100_000, help="points for cells_at (default 100,000)")
    parser.add_argument("--locate-points", type=int, default=20_000, help="points for CellLocator.locate")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per endpoint (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument(
        "--generator", choices=("auto", "wrk", "python"), default="auto", help="auto: wrk if on PATH, else python"
    )
    parser.add_argument("--profile", action="store_true", help="also profile locate requests in process")
    parser.add_argument("--top", type=int, default=30, help="rows of the profile to print")
    args = parser.parse_args()
    if min(args.cells, args.points, args.locate_points, args.duration, args.warmup, args.connections) < 1:
        parser.error("every count and duration must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with temporary_directory() as directory:
        env = migrated_database(directory, "locate")
        use_environment(env)
        from bootstrap import create_app
        from grid.importer import import_collection
        from kernel.extensions import db

        app = create_app()
        with app.app_context():
            summary = import_collection(feature_collection(args.cells))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        flask_cli(env, "create-user", USERNAME, "--role", "admin", "--password-stdin", stdin=f"{PASSWORD}\n")
        points = list(query_points(args.points, cells=args.cells))
        outside = sum(1 for point in points if point.cell_code is None)
        print(
            f"database: {summary.created} units ({args.cells} cells) in SQLite under {directory}; "
            f"{len(points)} query points, {outside} outside every cell"
        )
        print("\n(a) in process")
        measure_in_process(points, min(args.locate_points, len(points)))
        print("\n(b) over HTTP")
        measure_http(env, points, args, directory)


if __name__ == "__main__":
    main()
