"""Delivery across real processes sharing one database: three workers drain 2,000 messages and each message
reaches the channel exactly once; `flask notify worker` delivers and stops cleanly on SIGTERM.

The workers use the console channel writing one JSON line per message to a shared file (one appending
`write` each), which is what is counted. Run on PostgreSQL with `TEST_DATABASE_URL=postgresql+psycopg://...`.
"""

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

import pytest
from flask import Flask
from sqlalchemy import func, insert, select

from kernel.clock import utcnow
from kernel.config import ROOT
from kernel.extensions import db
from notifications.outbox.models import DeliveryStatus, Medium, Notification

pytestmark = pytest.mark.slow

MESSAGES = 2_000
WORKERS = 3
TIMEOUT = 120  # seconds for the whole drain: a hang is a failure, not a stuck suite

# One worker process: wait for the starting gun (so all three really overlap), drain once, report.
WORKER_SCRIPT = """
import json, pathlib, sys, time
from bootstrap import create_app
from notifications import delivery

app = create_app()
go = pathlib.Path(sys.argv[1])
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
with app.app_context():
    report = delivery.run_once()
print(json.dumps({"claimed": report.claimed, "sent": report.sent, "lost": report.lost_lease}))
"""


def worker_environment(app: Flask, sink: Path, **settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "JWT_SECRET_KEY": app.config["JWT_SECRET_KEY"],
        "SMS_CHANNEL": "console",
        "SMS_CONSOLE_FILE": str(sink),
        "SMS_LOG_FILE": str(sink.with_name("sms.log")),
        "NOTIFY_QUIET_HOURS": "",  # the workers run on the real clock, whatever the hour
        "LOG_LEVEL": "WARNING",
        **settings,
    }


def seed(app: Flask, count: int) -> set[str]:
    """`count` due SMS, each to its own number (the per-phone limit stays on and is checked each time)."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "message_id": str(uuid.uuid4()),
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
        for index in range(count)
    ]
    with app.app_context():
        db.session.execute(insert(Notification), rows)
        db.session.commit()
    return {row["message_id"] for row in rows}


def statuses(app: Flask) -> Counter[tuple[DeliveryStatus, int]]:
    with app.app_context():
        stmt = select(Notification.status, Notification.attempts, func.count()).group_by(
            Notification.status, Notification.attempts
        )
        return Counter({(status, attempts): count for status, attempts, count in db.session.execute(stmt)})


def delivered(sink: Path) -> Counter[str]:
    if not sink.exists():
        return Counter()
    return Counter(json.loads(line)["message_id"] for line in sink.read_text().splitlines())


def test_three_worker_processes_deliver_2000_messages_exactly_once(app, tmp_path):
    sink, go = tmp_path / "sent.jsonl", tmp_path / "go"
    wanted = seed(app, MESSAGES)
    env = worker_environment(app, sink, NOTIFY_BATCH_SIZE="25")
    workers = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", WORKER_SCRIPT, str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    time.sleep(1.0)  # let them import and connect, then start them together
    go.touch()
    outputs = [worker.communicate(timeout=TIMEOUT) for worker in workers]

    for worker, (_stdout, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr
    reports = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
    counts = delivered(sink)
    assert set(counts) == wanted
    assert set(counts.values()) == {1}, [id_ for id_, n in counts.items() if n > 1][:5]
    assert sum(report["sent"] for report in reports) == MESSAGES
    assert sum(report["lost"] for report in reports) == 0
    assert sum(1 for report in reports if report["sent"]) >= 2, reports  # they really shared the work
    assert statuses(app) == Counter({(DeliveryStatus.SENT, 1): MESSAGES})


def test_the_worker_command_delivers_and_stops_cleanly_on_sigterm(app, tmp_path):
    sink = tmp_path / "sent.jsonl"
    wanted = seed(app, 30)
    worker = subprocess.Popen(  # noqa: S603 - our own flask
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "notify", "worker", "--idle", "0.1"],
        cwd=ROOT,
        env=worker_environment(app, sink),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(delivered(sink)) < len(wanted) and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)  # idle now: sleeping between polls
        worker.send_signal(signal.SIGTERM)
        stdout, stderr = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()

    assert worker.returncode == 0, stderr
    assert stdout.startswith("stopped: claimed 30, sent 30"), stdout + stderr
    assert set(delivered(sink)) == wanted
    assert statuses(app) == Counter({(DeliveryStatus.SENT, 1): 30})
