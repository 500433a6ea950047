"""Dashboards CLI: `flask --app wsgi stats rebuild` recomputes every rollup from the raw tickets."""

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from dashboards.rollups.rebuild import rebuild
from kernel.extensions import db
from tasks.tickets.models import Ticket

stats_cli = AppGroup("stats", help="Dashboards: rollups.")


def register(app: Flask) -> None:
    app.cli.add_command(stats_cli)


@stats_cli.command("rebuild")
@click.option(
    "--days", default=31, show_default=True, type=click.IntRange(min=1), help="Beijing days of tickets per chunk."
)
def rebuild_command(days: int) -> None:
    """Recompute every rollup from the raw tickets (after an import, a unit move, or to recover); one transaction.

    Set-based SQL (INSERT ... SELECT), a chunk of days at a time: a million tickets take minutes."""
    total = db.session.scalar(select(func.count()).select_from(Ticket)) or 0
    with click.progressbar(length=total, label="recounting tickets") as bar:
        seen = rebuild(days, progress=bar.update)
    db.session.commit()
    click.echo(f"rebuilt the rollups from {seen} tickets")
