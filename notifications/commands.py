"""Delivery CLI: `flask --app wsgi notify worker` (a long-running process; run several) and `notify run-once`
(drains what is due and exits: cron, tests)."""

import logging
import os
import signal
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from notifications import delivery
from notifications.channels import ChannelConfigError, sms_channel

notify_cli = AppGroup("notify", help="Notifications: deliver the outbox.")
log = logging.getLogger("grid.notifications.worker")
BATCH = click.IntRange(min=1, max=1000)


def register(app: Flask) -> None:
    app.cli.add_command(notify_cli)


@notify_cli.command("run-once")
@click.option("--batch", type=BATCH, default=None, help="Messages per claim [NOTIFY_BATCH_SIZE].")
def run_once_command(batch: int | None) -> None:
    """Deliver every message due now, then exit; safe to run alongside workers and other runs."""
    _check_settings()
    report = delivery.run_once(batch=batch)
    click.echo(report.summary())


@notify_cli.command("worker")
@click.option("--batch", type=BATCH, default=None, help="Messages per claim [NOTIFY_BATCH_SIZE].")
@click.option("--idle", type=click.FloatRange(min=0.01), default=None, help="Seconds to sleep when idle.")
def worker_command(batch: int | None, idle: float | None) -> None:
    """Deliver until SIGTERM or SIGINT: the message in flight is finished and recorded, the rest of its batch
    returned to the queue at once."""
    _check_settings()
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    log.info("worker started", extra={"pid": os.getpid(), "channel": sms_channel().name})
    report = delivery.work(stop, batch=batch, idle_seconds=idle)
    click.echo(f"stopped: {report.summary()}")


def _check_settings() -> None:
    """A misconfigured channel or quiet-hours setting stops the command at once, with what is wrong."""
    try:
        sms_channel()
        delivery.parse_quiet_hours(current_app.config["NOTIFY_QUIET_HOURS"])
    except (ChannelConfigError, ValueError) as error:
        raise click.ClickException(str(error)) from error
