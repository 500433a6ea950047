"""One WSGI server of a chosen kind, with N workers on a port: the app (`wsgi:app`) or the bare reference
(`bench.reference:app`), started the same way for both so a ratio between them compares like with like.

Run: `.venv/bin/python bench/serve.py KIND [--app wsgi:app] [--workers 2] [--port 8400]` (Ctrl-C stops it), or
`serving(kind, ...)` from a benchmark. Kinds:

- `gunicorn`: sync workers, `bench/gunicorn.conf.py` (production settings as they were, one request per connection);
- `gthread`: gunicorn's threaded workers (4 threads each), keep-alive connections;
- `granian`: granian's WSGI interface (a Rust HTTP server), access log off, keep-alive;
- `uwsgi`: what `make run` and the deployment serve with (deploy/web.sh): `uwsgi.ini`, uWSGI's own HTTP/1.1
  socket in each worker (no router process), request logging off.

Every kind starts from the repository root with the environment it is given; the server is up once `/healthz`
answers, and is stopped with SIGTERM (each kind shuts down gracefully on it).
"""

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.auth_reads import BIN, HOST, Server, stop, wait_until_up  # noqa: E402

KINDS = ("gunicorn", "gthread", "granian", "uwsgi")
APP, REFERENCE = "wsgi:app", "bench.reference:app"
GTHREAD_THREADS = 4
STARTUP_SECONDS = 120.0  # a loaded shared machine takes its time to import the app in each worker
PORTS = range(8400, 8500)  # this project's ports for live servers


def free_port() -> int:
    """A port in PORTS that nothing listens on."""
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def command_for(kind: str, app: str, workers: int, port: int) -> list[str]:
    """The command line that serves `app` (module:attribute) with `workers` processes on HOST:port."""
    if kind in ("gunicorn", "gthread"):
        command = [str(BIN / "gunicorn"), "--config", "bench/gunicorn.conf.py", "--workers", str(workers)]
        if kind == "gthread":
            command += ["--worker-class", "gthread", "--threads", str(GTHREAD_THREADS)]
        else:
            command += ["--worker-class", "sync"]
        command.append("--no-control-socket")  # its default path is one per user: two servers would share it
        return [*command, "--bind", f"{HOST}:{port}", app]
    if kind == "granian":
        command = [str(BIN / "granian"), "--interface", "wsgi", "--workers", str(workers)]
        return [*command, "--host", HOST, "--port", str(port), "--no-access-log", "--log-level", "warning", app]
    if kind == "uwsgi":
        command = [str(BIN / "uwsgi"), "--ini", "uwsgi.ini", "--processes", str(workers)]
        return [*command, "--http11-socket", f"{HOST}:{port}", "--module", app]
    raise ValueError(f"unknown server kind {kind!r}: one of {', '.join(KINDS)}")


@contextmanager
def serving(
    kind: str, env: dict[str, str], log: Path, port: int, *, app: str = APP, workers: int = 2
) -> Iterator[Server]:
    """The server, up once /healthz answers; stopped with SIGTERM after."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command_for(kind, app, workers, port), cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        server = Server(process, port)
        try:
            wait_until_up(server, log, timeout=STARTUP_SECONDS)
            yield server
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--app", default=APP, help=f"module:attribute to serve (default {APP}; {REFERENCE})")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8400)
    args = parser.parse_args()
    command = command_for(args.kind, args.app, args.workers, args.port)
    print(" ".join(command), flush=True)
    os.chdir(ROOT)
    os.execv(command[0], command)  # the server itself takes Ctrl-C and SIGTERM


if __name__ == "__main__":
    main()
