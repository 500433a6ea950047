"""gunicorn with the repository's settings (`gunicorn.conf.py`, as `make run` starts it): a request line the app
can answer in its JSON shape reaches the app; only one over gunicorn's maximum gets the declared HTML 414."""

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'grid.db'}",
        "SECRET_KEY": "test-secret-key-not-for-production-0123456789",
        "JWT_SECRET_KEY": "test-jwt-key-not-for-production-0123456789abc",
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "LOG_LEVEL": "WARNING",
    }
    command = [str(GUNICORN), "--config", "gunicorn.conf.py", "--workers", "1", "--worker-class", "sync"]
    command += ["--bind", f"127.0.0.1:{port}", "wsgi:app"]
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text(errors="replace")
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def get(port: int, target: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def long_target(request_line_bytes: int) -> str:
    """A target making the request line `GET <target> HTTP/1.1` exactly this long."""
    prefix = "/api/v1/grids?cursor="
    return prefix + "A" * (request_line_bytes - len("GET  HTTP/1.1") - len(prefix))


@pytest.mark.slow
def test_a_5000_byte_request_line_reaches_the_app_and_a_longer_one_gets_the_servers_414(server):
    status, content_type, body = get(server, long_target(5000))
    assert (status, content_type) == (401, "application/json")  # the app's answer, in its error shape
    assert b'"code":"unauthorized"' in body.replace(b" ", b"")
    status, content_type, _ = get(server, long_target(9000))
    assert status == 414 and content_type.startswith("text/html")
