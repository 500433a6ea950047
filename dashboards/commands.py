"""Dashboards CLI: `flask --app wsgi stats rebuild` recomputes every rollup from the raw tickets."""

from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from dashboards.rollups.rebuild import midnight, next_month, rebuild
from kernel.extensions import db
from tasks.tickets.models import Ticket

stats_cli = AppGroup("stats", help="Dashboards: rollups.")


def register(app: Flask) -> None:
    app.cli.add_command(stats_cli)


@stats_cli.command("rebuild")
@click.option(
    "--days", default=31, show_default=True, type=click.IntRange(min=1), help="Beijing days of tickets per chunk."
)
@click.option(
    "--month",
    type=click.DateTime(formats=["%Y-%m"]),
    help="Only the tickets received in this Beijing month (YYYY-MM), and only its rows.",
)
def rebuild_command(days: int, month: datetime | None) -> None:
    """Recompute every rollup from the raw tickets (after an import, a unit move, or to recover); one transaction.

    Set-based SQL (INSERT ... SELECT), a chunk of days at a time: a million tickets take minutes; one month of
    a city's ten million, seconds (docs/PERFORMANCE.md)."""
    first = month.date() if month else None
    counted = select(func.count()).select_from(Ticket)
    if first:
        counted = counted.where(Ticket.created_at >= midnight(first), Ticket.created_at < midnight(next_month(first)))
    total = db.session.scalar(counted) or 0
    with click.progressbar(length=total, label="recounting tickets") as bar:
        seen = rebuild(days, progress=bar.update, month=first)
    db.session.commit()
    click.echo(f"rebuilt the rollups from {seen} tickets")
