"""What authentication costs on a read: authenticated, database-backed GETs against /healthz.

Run: `.venv/bin/python bench/auth_reads.py [--duration 10] [--connections 16] [--rounds 1] [--generator auto]`
(or `make bench`).

Setup, the same on every run: a temporary SQLite file migrated with `flask db upgrade` and filled
with `flask seed-demo`, fixed SECRET_KEY / JWT_SECRET_KEY, served by gunicorn with 2 sync workers
on 127.0.0.1 with LOG_LEVEL=WARNING (no per-request access line). The admin logs in once; its bearer
token is sent on every authenticated request. Measured one after the other, each after a short
warm-up of the same load:

- GET /healthz: the framework alone, the reference rate;
- GET /api/v1/auth/me: the token's account lookup and the account's cell assignments;
- GET /api/v1/users/<id>: the token's account lookup and one account read (`li.worker`).

The load comes from `wrk -t2 -c<connections> --latency` when wrk is on PATH, else (or with
`--generator python`) from one Python process per connection (http.client, fixed duration), which
shares the CPU with the server. Sync workers close every connection after the response, so both
generators reconnect for each request. Prints req/s, p50, p99, the ratio to /healthz, SQL statements per
request (counted in process with the Flask test client), the CPU the workers got during each run (well
under 2 cores at saturation means something else on the machine took it: rerun), the workers' RSS
after the run, and whether each authenticated GET meets the target: at least 0.4 × the /healthz rate
of the same run.
"""

import argparse
import dataclasses
import http.client
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
WORKERS = 2
ADMIN = {"username": "admin", "password": "demo-pass-2026"}  # from demo/seed.py
SUBJECT = "li.worker"  # the account read by GET /api/v1/users/<id>
TARGET_RATIO = 0.4


@dataclass(frozen=True)
class Endpoint:
    path: str
    token: str | None = None
    method: str = "GET"
    body: str | None = None  # JSON text sent with every request
    paths: tuple[str, ...] = ()  # taken in turn instead of `path` (wrk then runs a Lua script)
    title: str | None = None  # the label, when `METHOD path` says too little
    target: float = TARGET_RATIO  # the least rate, as a share of /healthz, an authenticated endpoint must reach

    @property
    def label(self) -> str:
        return self.title or f"{self.method} {self.path}"

    @property
    def request_paths(self) -> tuple[str, ...]:
        return self.paths or (self.path,)

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return headers


@dataclass(frozen=True)
class Result:
    endpoint: Endpoint
    rate: float  # completed responses per second, errors included (as wrk counts them)
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx responses and socket errors
    server_cores: float = math.nan  # CPU the workers used during the run, in cores
    round_ratios: tuple[float, ...] = ()  # with --rounds: the rate over /healthz's in each round


# --- the database and the server ------------------------------------------------------------------


def bench_environment(database: Path) -> dict[str, str]:
    """A private SQLite file, fixed secrets, tokens that outlive any run, quiet logs."""
    inherited = {name: value for name, value in os.environ.items() if name != "GUNICORN_CMD_ARGS"}
    return {
        **inherited,
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "JWT_SECRET_KEY": "bench-jwt-key-not-for-production-0123456789abc",
        "ACCESS_TOKEN_MINUTES": "240",
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOG_LEVEL": "WARNING",
    }


def flask_cli(env: dict[str, str], *args: str) -> None:
    """Run `flask --app wsgi ARGS` from the repository root; SystemExit with its output on failure."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


@contextmanager
def temporary_directory() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="auth-bench-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    def worker_pids(self) -> list[int]:
        """The master's children, from /proc."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == self.process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def cpu_seconds(self) -> float:
        """User + system CPU the workers have used so far."""
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
        return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[Server]:
    """gunicorn like `make run`, up once /healthz answers; stopped with SIGTERM (graceful) after."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "--config", "bench/gunicorn.conf.py"]
    command += ["--workers", str(WORKERS), "--worker-class", "sync"]
    command += ["--bind", f"{HOST}:{port}", "wsgi:app"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
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
            pass
        time.sleep(0.1)
    raise SystemExit(f"gunicorn did not come up:\n{log.read_text(errors='replace')[-4000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def memory_line(pid: int) -> str:
    """`pid N: RSS x MB (peak y MB)` from /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0]) / 1024  # kB to MB
    return f"pid {pid}: RSS {fields['VmRSS']:.1f} MB (peak {fields['VmHWM']:.1f} MB)"


# --- talking to the API ---------------------------------------------------------------------------


def call(port: int, method: str, path: str, *, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    """One request on a fresh connection; the status and the decoded JSON body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return response.status, json.loads(data) if data else None


def admin_token(port: int) -> str:
    status, grant = call(port, "POST", "/api/v1/auth/login", body=ADMIN)
    if status != 200:
        raise SystemExit(f"login as {ADMIN['username']} failed: {status} {grant}")
    return str(grant["access_token"])


def account_id(port: int, token: str, username: str) -> str:
    status, page = call(port, "GET", f"/api/v1/users?q={username}", token=token)
    matches = [user["id"] for user in (page or {}).get("items", []) if user["username"] == username]
    if status != 200 or len(matches) != 1:
        raise SystemExit(f"looking up {username} failed: {status} {page}")
    return str(matches[0])


def check_answers(port: int, endpoints: Sequence[Endpoint]) -> None:
    """Every endpoint answers 200 before it is measured (a fast 401 would be a false success)."""
    for endpoint in endpoints:
        sent = json.loads(endpoint.body) if endpoint.body is not None else None
        status, body = call(port, endpoint.method, endpoint.request_paths[0], token=endpoint.token, body=sent)
        if status != 200:
            raise SystemExit(f"{endpoint.label} answered {status}: {body}")


def statements_per_request(env: dict[str, str], endpoints: Sequence[Endpoint]) -> dict[Endpoint, int]:
    """SQL statements each endpoint runs (second request, caches warm), with the Flask test client.

    The connection pool's pre-ping `SELECT 1` on checkout bypasses engine events and is not counted.
    """
    os.environ.update({key: env[key] for key in ("DATABASE_URL", "SECRET_KEY", "JWT_SECRET_KEY", "LOG_LEVEL")})
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import event

    from bootstrap import create_app
    from kernel.extensions import db

    app = create_app()
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    counts = {}
    for endpoint in endpoints:
        request = {"method": endpoint.method, "headers": endpoint.headers, "data": endpoint.body}
        client.open(endpoint.request_paths[0], **request)
        event.listen(engine, "before_cursor_execute", record)
        client.open(endpoint.request_paths[0], **request)
        event.remove(engine, "before_cursor_execute", record)
        counts[endpoint] = len(statements)
        statements.clear()
    engine.dispose()
    return counts


# --- load generators ------------------------------------------------------------------------------


# Each wrk thread starts at its own share of the paths, so no two connections send the same path at once
# (two concurrent changes to one ticket would make one of them a 409).
WRK_SCRIPT = """\
local paths = {%(paths)s}
local method, body, stride = %(method)s, %(body)s, %(stride)d
local threads = 0
function setup(thread)
  thread:set("first", threads * stride)
  threads = threads + 1
end
local i = nil
function request()
  i = (i or first) %% #paths + 1
  return wrk.format(method, paths[i], nil, body)
end
"""


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def wrk_script(endpoint: Endpoint, threads: int) -> Iterator[list[str]]:
    """wrk's `-s script` arguments when the endpoint needs more than one fixed GET, else none."""
    if endpoint.method == "GET" and endpoint.body is None and not endpoint.paths:
        yield []
        return
    paths = endpoint.request_paths
    script = WRK_SCRIPT % {
        "paths": ", ".join(lua_string(path) for path in paths),
        "method": lua_string(endpoint.method),
        "body": "nil" if endpoint.body is None else lua_string(endpoint.body),
        "stride": len(paths) // threads,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-") as file:
        file.write(script)
        file.flush()
        yield ["-s", file.name]


def wrk_load(port: int, endpoint: Endpoint, seconds: int, connections: int) -> Result:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in endpoint.headers.items():
        command += ["-H", f"{name}: {value}"]
    with wrk_script(endpoint, threads) as script:
        command += [*script, f"http://{HOST}:{port}{endpoint.path}"]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(endpoint, done.stdout)


def parse_wrk(endpoint: Endpoint, text: str) -> Result:
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    if rate is None:
        raise SystemExit(f"could not read wrk's output:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return Result(endpoint, float(rate.group(1)), wrk_ms(text, "50%"), wrk_ms(text, "99%"), errors)


def wrk_ms(text: str, percentile: str) -> float:
    found = re.search(rf"^\s*{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if found is None:
        return math.nan
    return float(found.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[found.group(2)]


def python_load(port: int, endpoint: Endpoint, seconds: int, connections: int) -> Result:
    """One process per connection, all starting and stopping at the same wall-clock instants."""
    context = multiprocessing.get_context("fork")
    results: Any = context.Queue()  # of (latencies, errors) per client
    start_at = time.time() + 0.3
    shares = [n * len(endpoint.request_paths) // connections for n in range(connections)]  # as WRK_SCRIPT
    args = [(port, endpoint, first, start_at, start_at + seconds, results) for first in shares]
    clients = [context.Process(target=python_client, args=client_args) for client_args in args]
    for client in clients:
        client.start()
    collected = [results.get() for _ in clients]
    for client in clients:
        client.join()
    latencies = sorted(latency for client_latencies, _ in collected for latency in client_latencies)
    errors = sum(client_errors for _, client_errors in collected)
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    return Result(endpoint, len(latencies) / seconds, p50 * 1e3, p99 * 1e3, errors)


def python_client(port: int, endpoint: Endpoint, first: int, start_at: float, stop_at: float, results: Any) -> None:
    """Send the endpoint's request back to back until `stop_at`, its paths in turn from `first`;
    http.client reconnects when the server closes."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    paths, headers, body = endpoint.request_paths, endpoint.headers, endpoint.body
    latencies: list[float] = []
    errors = 0
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        path = paths[(first + len(latencies)) % len(paths)]
        began = time.perf_counter()
        try:
            connection.request(endpoint.method, path, body.encode() if body is not None else None, headers)
            response = connection.getresponse()
            response.read()
            errors += not 200 <= response.status < 300
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
        latencies.append(time.perf_counter() - began)
    connection.close()
    results.put((latencies, errors))


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest rank."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


# --- the run --------------------------------------------------------------------------------------


def measure(server: Server, endpoints: Sequence[Endpoint], generator: str, args: argparse.Namespace) -> list[Result]:
    """Each endpoint in turn, /healthz (the first) included, `--rounds` times over. With several rounds each
    endpoint's result is its median round by ratio to the same round's /healthz, so that a machine whose speed
    drifts during the run (a shared host) weighs on both sides of each ratio alike."""
    rounds = [_measure_round(server, endpoints, generator, args) for _ in range(args.rounds)]
    results = []
    for index in range(len(endpoints)):
        ratios = [round_results[index].rate / round_results[0].rate for round_results in rounds]
        median = sorted(range(len(rounds)), key=lambda n: ratios[n])[len(rounds) // 2]
        results.append(dataclasses.replace(rounds[median][index], round_ratios=tuple(ratios)))
    return results


def ratio_of(result: Result) -> float:
    """A measured endpoint's rate over /healthz's: that of its median round."""
    return sorted(result.round_ratios)[len(result.round_ratios) // 2]


def _measure_round(
    server: Server, endpoints: Sequence[Endpoint], generator: str, args: argparse.Namespace
) -> list[Result]:
    load = wrk_load if generator == "wrk" else python_load
    results = []
    for endpoint in endpoints:
        load(server.port, endpoint, args.warmup, args.connections)
        cpu_before = server.cpu_seconds()
        result = load(server.port, endpoint, args.duration, args.connections)
        cores = (server.cpu_seconds() - cpu_before) / args.duration
        results.append(dataclasses.replace(result, server_cores=cores))
    return results


def print_table(results: Sequence[Result], statements: dict[Endpoint, int]) -> None:
    width = max(30, *(len(result.endpoint.label) for result in results))
    columns = f"{'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'/healthz':>8} {'SQL':>4} {'errors':>6} {'server CPU':>10}"
    print(f"{'endpoint':<{width}} {columns}  target")
    for result in results:
        ratio = ratio_of(result)
        target = result.endpoint.target
        if result.endpoint.token is None:
            verdict = "(reference)"
        else:
            met = ratio >= target and result.errors == 0
            verdict = f">= {target} x /healthz: {'met' if met else 'NOT met'}"
        sql, cpu = statements[result.endpoint], result.server_cores
        print(
            f"{result.endpoint.label:<{width}} {result.rate:8.0f} {result.p50_ms:7.2f} {result.p99_ms:7.2f} "
            f"{ratio:8.3f} {sql:4d} {result.errors:6d} {cpu:5.2f} cores  {verdict}"
        )
    if len(results[0].round_ratios) > 1:
        print("\nratio to /healthz in each round (the table shows each endpoint's median round):")
        for result in results[1:]:
            print(f"  {result.endpoint.label:<{width}} " + " ".join(f"{r:.3f}" for r in result.round_ratios))


def choose_generator(asked: str) -> str:
    if asked == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if asked == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--generator wrk: wrk is not on PATH")
    return asked


def describe_setup(generator: str, args: argparse.Namespace, port: int) -> None:
    how = (
        f"wrk -t{min(2, args.connections)} -c{args.connections} -d{args.duration}s --latency"
        if generator == "wrk"
        else f"Python, {args.connections} client processes with one http.client connection each (reopened "
        f"after every response), {args.duration} s; they share the CPU with the server"
    )
    load_1min, python = os.getloadavg()[0], sys.version.split()[0]
    print(f"machine: {os.cpu_count()} cores, 1-min load average {load_1min:.2f} before the run, Python {python}")
    print(
        f"server: gunicorn --workers {WORKERS} --worker-class sync on {HOST}:{port}, LOG_LEVEL=WARNING "
        "(no access log line per request), SQLite in a temp dir, migrated and seeded with seed-demo"
    )
    print(f"load: {how}; {args.warmup} s warm-up per endpoint, endpoints one after the other")


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """--duration, --connections, --warmup and --generator, as `measure` reads them."""
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per endpoint (default 2)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure every endpoint this many times in turn; median ratio (default 1)"
    )
    parser.add_argument(
        "--generator", choices=("auto", "wrk", "python"), default="auto", help="auto: wrk if on PATH, else python"
    )


def print_worker_memory(server: Server) -> None:
    print("\ngunicorn workers after the run:")
    for pid in server.worker_pids():
        print(f"  {memory_line(pid)}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_load_options(parser)
    args = parser.parse_args()
    if min(args.duration, args.warmup, args.connections, args.rounds) < 1:
        parser.error("--duration, --warmup, --connections and --rounds must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    generator = choose_generator(args.generator)
    with temporary_directory() as directory:
        env = bench_environment(directory / "bench.db")
        flask_cli(env, "db", "upgrade")
        flask_cli(env, "seed-demo")
        with running_server(env, directory / "gunicorn.log") as server:
            describe_setup(generator, args, server.port)
            token = admin_token(server.port)
            subject = account_id(server.port, token, SUBJECT)
            endpoints = [
                Endpoint("/healthz"),
                Endpoint("/api/v1/auth/me", token),
                Endpoint(f"/api/v1/users/{subject}", token),
            ]
            check_answers(server.port, endpoints)
            statements = statements_per_request(env, endpoints)
            print(f"token: admin's; /api/v1/users/{subject} is {SUBJECT}\n")
            results = measure(server, endpoints, generator, args)
            print_table(results, statements)
            if generator == "python":
                print(
                    "note: the Python clients take CPU from the server, most on the fastest endpoint (/healthz), "
                    "so these ratios read high; judge the target with wrk"
                )
            print_worker_memory(server)


if __name__ == "__main__":
    main()
