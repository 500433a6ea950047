"""Dashboards CLI: `flask --app wsgi stats rebuild` recomputes every rollup from the raw tickets."""

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from dashboards import rollups
from kernel.extensions import db
from tasks.models import Ticket

stats_cli = AppGroup("stats", help="Dashboards: rollups.")


def register(app: Flask) -> None:
    app.cli.add_command(stats_cli)


@stats_cli.command("rebuild")
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(min=100), help="Tickets per read.")
def rebuild_command(batch: int) -> None:
    """Recompute every rollup from the raw tickets (after an import, a unit move, or to recover); one transaction."""
    total = db.session.scalar(select(func.count()).select_from(Ticket)) or 0
    with click.progressbar(length=total, label="recounting tickets") as bar:
        seen = rollups.rebuild(batch, progress=bar.update)
    db.session.commit()
    click.echo(f"rebuilt the rollups from {seen} tickets")
