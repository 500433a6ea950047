"""Notification delivery throughput: messages per second through `flask notify worker`, 1 and 3 worker processes,
on PostgreSQL, against the console channel.

Run: `.venv/bin/python bench/notify.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
[--messages 20000] [--workers 1,3] [--batch 50] [--keep-db]`.

Setup, the same on every run: a fresh PostgreSQL database (`notify_bench_<pid>`, dropped afterwards unless
`--keep-db`) migrated with `flask db upgrade`. For each worker count:

- the outbox is emptied, then the workers are started (`flask --app wsgi notify worker --idle 0.2`, console
  channel appending one JSON line per message to a file, LOG_LEVEL=WARNING, quiet hours off, the per-phone
  limit on: its count query runs for every message), and the bench waits until each has connected;
- `--messages` due SMS are inserted in one transaction, each to its own phone number (a seeded sequence), so
  the workers see them all at once;
- the clock runs from that commit until no message is pending or sending (polled every 20 ms); the workers
  are then stopped with SIGTERM and must exit cleanly.

Printed per run: messages/s over the drain (wall clock from the commit) and over the span of `sent_at`
(first to last send), each worker's share and RSS, and the exactly-once check: every message id appears once
in the console file and every row is `sent` after one attempt.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, delete, func, insert, make_url, select, text  # noqa: E402

from bench.auth_reads import flask_cli, memory_line, temporary_directory  # noqa: E402
from bootstrap import create_app  # noqa: E402
from kernel.clock import utcnow  # noqa: E402
from kernel.config import normalize_database_url  # noqa: E402
from kernel.extensions import db  # noqa: E402
from notifications.outbox.models import DeliveryStatus, Medium, Notification  # noqa: E402

APP_NAME = "notify-bench"
SECRETS = {
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
    "JWT_SECRET_KEY": "bench-jwt-key-not-for-production-0123456789abc",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--workers", default="1,3", help="comma-separated worker counts")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    server = make_url(normalize_database_url(args.database_url))
    if not server.drivername.startswith("postgresql"):
        raise SystemExit("bench/notify.py measures PostgreSQL: give --database-url postgresql+psycopg://...")
    name = f"notify_bench_{os.getpid()}"
    url = server.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with temporary_directory() as directory:
            env = environment(url, args.batch)
            flask_cli(env, "db", "upgrade")
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, **SECRETS, "LOG_LEVEL": "WARNING"})
            print(f"PostgreSQL database {name}; {args.messages:,} messages per run, batch {args.batch}")
            print(f"{'workers':>7} {'msg/s (drain)':>14} {'msg/s (sent_at)':>16} {'drain s':>8}  shares, exactly once")
            for count in (int(part) for part in args.workers.split(",")):
                run(app, env, directory / f"sent-{count}.jsonl", workers=count, messages=args.messages)
            with app.app_context():
                db.engine.dispose()
    finally:
        if not args.keep_db:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def environment(url: str, batch: int) -> dict[str, str]:
    return {
        **os.environ,
        **SECRETS,
        "DATABASE_URL": url,
        "SMS_CHANNEL": "console",
        "NOTIFY_QUIET_HOURS": "",
        "NOTIFY_BATCH_SIZE": str(batch),
        "LOG_LEVEL": "WARNING",
        "PGAPPNAME": APP_NAME,  # libpq: lets the bench see when every worker has connected
    }


def run(app: Any, env: dict[str, str], sink: Path, *, workers: int, messages: int) -> None:
    with app.app_context():
        db.session.execute(delete(Notification))
        db.session.commit()
    processes = [
        subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "notify", "worker", "--idle", "0.2"],
            cwd=ROOT,
            env={**env, "SMS_CONSOLE_FILE": str(sink), "SMS_LOG_FILE": ""},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    try:
        with app.app_context():
            wait_for_connections(workers, [process.pid for process in processes])
            started = seed(messages)
            drained = wait_until_drained()
            first, last = db.session.execute(
                select(func.min(Notification.sent_at), func.max(Notification.sent_at))
            ).one()
            rows = Counter(
                (status, attempts)
                for status, attempts in db.session.execute(select(Notification.status, Notification.attempts))
            )
        memory = [memory_line(process.pid) for process in processes]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
    outputs = [process.communicate(timeout=30) for process in processes]
    failed = [
        (process.returncode, err[-500:])
        for process, (_, err) in zip(processes, outputs, strict=True)
        if process.returncode
    ]
    if failed:
        raise SystemExit(f"workers failed: {failed}")
    shares = [int(out.split("sent ")[1].split(",")[0]) for out, _ in outputs]
    delivered = Counter(json.loads(line)["message_id"] for line in sink.read_text().splitlines())
    once = (
        len(delivered) == messages
        and set(delivered.values()) == {1}
        and rows == Counter({(DeliveryStatus.SENT, 1): messages})
    )
    wall = drained - started
    span = (last - first).total_seconds()
    print(
        f"{workers:>7} {messages / wall:>14,.0f} {messages / span:>16,.0f} {wall:>8.2f}  "
        f"{'/'.join(str(share) for share in shares)}, {'yes' if once else 'NO'}"
    )
    for line in memory:
        print(f"{'':>9}{line}")


def wait_for_connections(count: int, pids: list[int]) -> None:
    deadline = time.monotonic() + 60
    query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name AND pid <> pg_backend_pid()")
    while time.monotonic() < deadline:
        if db.session.scalar(query, {"name": APP_NAME}) >= count:
            db.session.rollback()
            return
        db.session.rollback()
        time.sleep(0.1)
    raise SystemExit(f"workers {pids} did not connect within 60 s")


def seed(messages: int) -> float:
    """Insert the messages in one transaction; the time of its commit."""
    now = utcnow()
    rows = [
        {
            "message_id": str(uuid.UUID(int=index + 1)),
            "event": "ticket.created",
            "medium": Medium.SMS,
            "recipient_phone": f"139{index:08d}",
            "template": "sms_ticket_received",
            "params": {"no": f"20261123-{index:06d}", "status": "已受理"},
            "urgent": False,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for index in range(messages)
    ]
    db.session.execute(insert(Notification), rows)
    db.session.commit()
    return time.monotonic()


def wait_until_drained() -> float:
    waiting = select(func.count()).where(Notification.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        left = db.session.scalar(waiting)
        db.session.rollback()
        if left == 0:
            return time.monotonic()
        time.sleep(0.02)
    raise SystemExit("not drained within 10 minutes")


if __name__ == "__main__":
    main()
