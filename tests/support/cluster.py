"""Two app instances as an operator runs them: separate web servers (deploy/web.sh, uWSGI) on two ports, one
PostgreSQL database made for the run and dropped after it, one Redis; and the delivery worker and the sweep as
the CLI processes they are in production. Used by tests/deploy/."""

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from kernel.config import normalize_database_url

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(ROOT / ".venv" / "bin" / "flask")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
PORTS = range(8500, 8600)


def postgres_url() -> str | None:
    """TEST_DATABASE_URL when it names PostgreSQL, else None (the test is then skipped)."""
    given = os.environ.get("TEST_DATABASE_URL", "")
    return normalize_database_url(given) if given.startswith(("postgres", "postgresql")) else None


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@contextmanager
def fresh_database(base_url: str, label: str) -> Iterator[str]:
    """A database of its own on the server of `base_url`, dropped afterwards whatever happened."""
    url = make_url(base_url)
    name = f"{url.database}_{label}_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port(taken: set[int]) -> int:
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8500-8599")


@dataclass
class Response:
    status: int
    body: Any
    headers: Mapping[str, str]


@dataclass
class Instance:
    """One web server; `call` speaks HTTP to it as a client would."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def call(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Response:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers=dict(headers or {})
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return Response(answer.status, _decoded(answer.read()), dict(answer.headers))
        except urllib.error.HTTPError as error:
            return Response(error.code, _decoded(error.read()), dict(error.headers))


def _decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@dataclass
class Cluster:
    database_url: str
    environment: dict[str, str]
    folder: Path
    instances: list[Instance] = field(default_factory=list)

    def start_instances(self, *names: str) -> list[Instance]:
        """Web servers on free ports, started together; each answered /readyz before this returns."""
        started = [self._start(name) for name in names]
        for instance in started:
            _wait_until_ready(instance)
        return started

    def _start(self, name: str) -> Instance:
        port = free_port(taken={instance.port for instance in self.instances})
        log = self.folder / f"web-{name}.log"
        metrics = self.folder / f"metrics-{name}"
        metrics.mkdir()
        env = {**self.environment, "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 (the repository's own script)
                [str(ROOT / "deploy" / "web.sh")], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        instance = Instance(name, port, process, log)
        self.instances.append(instance)
        return instance

    def run(self, *arguments: str, extra: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """A `flask --app wsgi ...` process with the instances' settings, started now."""
        return subprocess.Popen(  # noqa: S603
            [FLASK, "--app", "wsgi", *arguments],
            cwd=ROOT,
            env={**self.environment, **(extra or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        for instance in self.instances:
            stop_process(instance.process, signal.SIGINT)  # uWSGI's immediate stop: nothing is in flight


def stop_process(process: subprocess.Popen[bytes], stop: signal.Signals = signal.SIGTERM, timeout: float = 15) -> None:
    if process.poll() is None:
        process.send_signal(stop)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(instance: Instance, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            raise RuntimeError(f"{instance.name} exited: {instance.log.read_text()[-3000:]}")
        try:
            if instance.call("GET", "/readyz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{instance.name} not ready in {timeout} s: {instance.log.read_text()[-3000:]}")


def instance_environment(database_url: str, folder: Path) -> dict[str, str]:
    """What every process of the cluster shares, as grid.env would give it (the same secrets on every machine)."""
    keep = {name: value for name, value in os.environ.items() if name in {"PATH", "LANG", "LC_ALL", "HOME", "TZ"}}
    return {
        **keep,
        "VENV": str(ROOT / ".venv"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "JWT_SECRET_KEY": secrets.token_urlsafe(32),
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "TRUSTED_PROXIES": "1",
        "HOST": "127.0.0.1",
        "WORKERS": "1",  # two instances are the point; more workers only slow the start
        "LOG_LEVEL": "WARNING",
        "ATTACHMENTS_DIR": str(folder / "attachments"),
        "SMS_CHANNEL": "console",
        "SMS_LOG_FILE": "",
        "NOTIFY_QUIET_HOURS": "",
        "NOTIFY_SMS_PER_PHONE_PER_HOUR": "0",
        "NOTIFY_IDLE_SECONDS": "0.2",
    }
