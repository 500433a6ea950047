"""The demo loop of `make run`: the Procfile's web server, delivery worker and sweep run together under honcho,
an SMS owed by a resolution shows in the SMS log, the sweep marks an overdue ticket, and one Ctrl-C stops all three.

Also the console channel's readable log (`SMS_LOG_FILE`, `instance/sms.log` in a demo) on its own."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from kernel.clock import utcnow
from kernel.config import ROOT
from kernel.extensions import db
from notifications.channels import channel_slot
from notifications.outbox.models import DeliveryStatus, Notification
from tasks.tickets.models import Ticket, TicketEvent
from tests.support.notify import run_once

PROCFILE = ROOT / "Procfile"


def _procfile() -> dict[str, str]:
    lines = [line for line in PROCFILE.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split(": ", 1) for line in lines)  # type: ignore[misc]


def test_the_procfile_runs_the_web_server_one_delivery_worker_and_the_sweep_every_minute():
    processes = _procfile()
    assert set(processes) == {"web", "notify", "sweep"}
    assert processes["web"] == "exec deploy/web.sh"  # the one web command, which the unit and compose run too
    web = (ROOT / "deploy" / "web.sh").read_text()
    assert "bin/uwsgi" in web and "--ini uwsgi.ini" in web
    assert "${HOST:-127.0.0.1}:${PORT:-8000}" in web and "exec " in web
    assert all(command.startswith("exec ") for command in processes.values())  # signals reach the process itself
    assert processes["notify"].endswith("notify worker")
    assert processes["sweep"].endswith("tasks sweep --every 60")
    assert re.search(r"^honcho==\d", (ROOT / "requirements.txt").read_text(), re.MULTILINE)


def test_the_console_channel_writes_one_readable_line_per_sms(app, world, tmp_path, monkeypatch):
    log = tmp_path / "sms.log"
    monkeypatch.setitem(app.config, "SMS_CHANNEL", "console")
    monkeypatch.setitem(app.config, "SMS_LOG_FILE", str(log))
    monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "")
    with app.app_context():
        channel_slot().clear()
    world.resolved()
    run_once(app)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3  # received, taken, resolved
    moment, phone, text = lines[-1].split("  ", 2)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", moment)
    assert phone == "139****5678"
    assert text.startswith("【网格通】您的工单") and "处理情况：已清运完毕" in text
    assert "13912345678" not in log.read_text(encoding="utf-8")


def test_the_signature_is_configurable(app, world, tmp_path, monkeypatch):
    log = tmp_path / "sms.log"
    monkeypatch.setitem(app.config, "SMS_CHANNEL", "console")
    monkeypatch.setitem(app.config, "SMS_LOG_FILE", str(log))
    monkeypatch.setitem(app.config, "NOTIFY_QUIET_HOURS", "")
    monkeypatch.setitem(app.config, "SMS_SIGNATURE", "【宛城网格】")
    with app.app_context():
        channel_slot().clear()
    world.ticket()
    run_once(app)
    assert log.read_text(encoding="utf-8").split("  ", 2)[2].startswith("【宛城网格】您反映的问题已受理")


def test_the_resolved_sms_says_what_was_done_in_at_most_60_characters(app, world):
    ticket = world.in_progress()
    world.act("worker", ticket, "resolve", note="已" + "清" * 100)
    with app.app_context():
        row = db.session.scalars(select(Notification).where(Notification.template == "sms_ticket_resolved")).one()
        assert len(row.params["note"]) == 60 and row.params["note"].endswith("…")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_make_runs_processes_deliver_an_sms_sweep_and_stop_together_on_ctrl_c(app, world, tmp_path):
    log = tmp_path / "sms.log"
    world.resolved()  # owes the resident three SMS
    overdue = world.ticket()
    with app.app_context():
        db.session.execute(
            update(Ticket)
            .where(Ticket.id == int(overdue["id"]))
            .values(warn_at=utcnow() - timedelta(minutes=2), due_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "JWT_SECRET_KEY": app.config["JWT_SECRET_KEY"],
        "SMS_CHANNEL": "console",
        "SMS_LOG_FILE": str(log),
        "NOTIFY_QUIET_HOURS": "",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": "1",
        "LOG_LEVEL": "WARNING",
    }
    honcho = subprocess.Popen(  # noqa: S603 - our own honcho and Procfile
        [str(ROOT / ".venv" / "bin" / "honcho"), "start", "--procfile", str(PROCFILE), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert _wait(lambda: log.exists() and "请回复数字1-5评价" in log.read_text(encoding="utf-8"), 60)

        def healthy() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except OSError:
                return False

        assert _wait(healthy, 30)

        def swept() -> bool:
            with app.app_context():
                stmt = select(TicketEvent.id).where(
                    TicketEvent.ticket_id == int(overdue["id"]), TicketEvent.action == "overdue"
                )
                found = db.session.scalars(stmt).first() is not None
                db.session.remove()
                return found

        assert _wait(swept, 30)
        # A person's Ctrl-C comes a moment after the server is up, not in the instant its worker starts.
        time.sleep(2)
        os.killpg(honcho.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
        output, _ = honcho.communicate(timeout=30)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
    with pytest.raises(ProcessLookupError):  # nothing of the group is left running
        os.killpg(honcho.pid, 0)
    for name in ("web", "notify", "sweep"):
        assert re.search(rf"{name}\.1 stopped \(rc=0\)", output), output  # each stopped cleanly, not killed
    with app.app_context():
        statuses = db.session.scalars(select(Notification.status).where(Notification.recipient_phone.is_not(None)))
        assert set(statuses) == {DeliveryStatus.SENT}
