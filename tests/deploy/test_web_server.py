"""The web server as `make run` and the deployment start it (deploy/web.sh: uWSGI with uwsgi.ini): a request line
the app can read reaches it, a longer one gets the API's JSON 414 rather than the server's silence or a page, and
SIGTERM stops it cleanly after the requests in flight."""

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60  # both workers import the app; a shared machine under load takes its time

pytestmark = pytest.mark.slow


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, target: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'grid.db'}",
        "SECRET_KEY": "test-secret-key-not-for-production-0123456789",
        "JWT_SECRET_KEY": "test-jwt-key-not-for-production-0123456789abc",
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "LOG_LEVEL": "WARNING",
        "PORT": str(port),
        "WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log = tmp_path / "web.log"
    (tmp_path / "metrics").mkdir()
    upgrade = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "db", "upgrade"]
    subprocess.run(upgrade, cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603  # as make run does
    with log.open("wb") as output:
        command = [str(ROOT / "deploy" / "web.sh")]
        # A process group of its own, as honcho and systemd start it: a test can signal the whole group.
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True
        )
    running = Server(process, port, log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            # Up once the master built the app and forked both workers.
            if "spawned uWSGI worker 2" in log.read_text(errors="replace") and get(port, "/healthz")[0] == 200:
                break
            assert time.monotonic() < deadline, "the web server did not come up"
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # uWSGI's immediate stop: nothing is in flight
            process.wait(timeout=30)


def long_target(request_line_bytes: int) -> str:
    """A target making the request line `GET <target> HTTP/1.1` exactly this long."""
    prefix = "/api/v1/grids?cursor="
    return prefix + "A" * (request_line_bytes - len("GET  HTTP/1.1") - len(prefix))


def test_request_lines_up_to_8190_bytes_reach_the_routes_and_longer_ones_get_the_apis_json_414(server):
    status, content_type, body = get(server.port, long_target(5000))
    assert (status, content_type) == (401, "application/json")  # the route's answer, in the error shape
    assert b'"code":"unauthorized"' in body.replace(b" ", b"")
    status, content_type, body = get(server.port, long_target(8190))
    assert status == 401
    for length in (8191, 40_000):  # 40,000: the query string no longer fits uWSGI's variables; the line does
        status, content_type, body = get(server.port, long_target(length))
        assert (status, content_type) == (414, "application/json"), length
        assert b'"code":"uri_too_long"' in body.replace(b" ", b"")


def test_both_workers_read_the_database_each_on_connections_of_its_own(server):
    """The app is built before the fork (kernel/forking.py empties each worker's pools after it): many readiness
    checks, each a query, spread over both workers at once, all answer."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _n: get(server.port, "/readyz")[0], range(64)))
    assert statuses == [200] * 64


def test_clients_that_keep_their_connections_open_hold_up_no_one(server):
    """More keep-alive clients than workers (a browser opens six, nginx keeps its own): each answer closes its
    connection, so a worker never waits on an idle one (uWSGI's HTTP/1.1 keep-alive held a worker on it for
    socket-timeout, 4 s, while the other connections' requests queued)."""
    idle = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(2)]
    try:
        for connection in idle:  # one request each, then the connection is left open and silent
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            assert response.getheader("Connection") == "close"
        started = time.perf_counter()
        statuses = [get(server.port, "/healthz")[0] for _ in range(4)]
        waited = time.perf_counter() - started
    finally:
        for connection in idle:
            connection.close()
    assert statuses == [200] * 4
    assert waited < 2, f"four requests took {waited:.1f} s beside two idle connections"


def test_sigterm_stops_the_workers_gracefully_and_the_server_exits(server):
    assert get(server.port, "/healthz")[0] == 200
    pid = server.process.pid
    workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(workers) == 2
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=40) == 0
    log = server.log.read_text(errors="replace")
    assert "graceful shutdown" in log and "goodbye to uWSGI" in log
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_a_sigterm_to_the_whole_group_stops_the_workers_through_the_master_only(server):
    """honcho (Ctrl-C in `make run`) and systemd signal the server's whole process group, so each worker gets the
    SIGTERM its master gets. A worker leaves stopping to its master (kernel/forking.py): uWSGI's own handler
    would exit at once, and the master's graceful stop arriving during that exit hung the worker until honcho
    killed it 5 s later (seen in CI; reproduced with a SIGHUP 20 ms after a worker's SIGTERM)."""
    pid = server.process.pid
    workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    os.kill(int(workers[0]), signal.SIGTERM)  # the worker's share of a group's SIGTERM, on its own
    time.sleep(1)
    assert Path(f"/proc/{workers[0]}").exists()  # still there, and still serving
    assert Path(f"/proc/{pid}/task/{pid}/children").read_text().split() == workers
    assert [get(server.port, "/healthz")[0] for _ in range(4)] == [200] * 4
    os.killpg(pid, signal.SIGTERM)
    assert server.process.wait(timeout=40) == 0
    log = server.log.read_text(errors="replace")
    assert "graceful shutdown" in log and "goodbye to uWSGI" in log
    assert "respawned" not in log and "did not die" not in log
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
