"""Tasks CLI: `flask --app wsgi tasks seed-categories` (run by `make run` after migrating), and cron jobs."""

import signal
import threading
from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup

from kernel.clock import utcnow
from kernel.extensions import db
from tasks.categories.service import seed_defaults
from tasks.photos import service as photos
from tasks.sweep import sweep

tasks_cli = AppGroup("tasks", help="Tasks: categories and tickets.")


def register(app: Flask) -> None:
    app.cli.add_command(tasks_cli)


@tasks_cli.command("seed-categories")
def seed_categories_command() -> None:
    """Insert the default category tree when there are no categories yet; otherwise change nothing."""
    added = seed_defaults()
    db.session.commit()
    if added:
        click.echo(f"seeded {added} default categories")
    else:
        click.echo("categories present: nothing seeded")


@tasks_cli.command("purge-photos")
@click.option("--hours", default=48, show_default=True, help="Photos never attached for this long go.")
def purge_photos_command(hours: int) -> None:
    """Delete intake photos that were uploaded but never attached to a ticket (run daily from cron)."""
    removed = photos.purge_unlinked(utcnow() - timedelta(hours=hours))
    db.session.commit()
    click.echo(f"removed {removed} unattached photos")


@tasks_cli.command("sweep")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(min=1), help="Tickets per transaction.")
@click.option(
    "--every",
    type=click.FloatRange(min=1),
    default=None,
    help="Sweep again every this many seconds until SIGTERM or SIGINT (the Procfile's sweep); once without it.",
)
def sweep_command(batch: int, every: float | None) -> None:
    """Record warned and overdue tickets and auto-close unrated resolutions; safe on several machines at once."""
    stop = threading.Event()
    if every is not None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: stop.set())
    while True:
        report = sweep(batch=batch)
        click.echo(
            f"warned {report.warned}, overdue {report.overdue}, auto-closed {report.auto_closed}, "
            f"resumed {report.resumed}"
        )
        db.session.remove()  # each round its own session: nothing read is kept between rounds
        if every is None or stop.wait(every):
            return
