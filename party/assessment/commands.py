"""Party CLI: `flask --app wsgi party stats rebuild` recounts the assessment's rollups from the needs, projects,
ratings and points entries."""

import click
from flask import Flask
from flask.cli import AppGroup

from kernel.extensions import db
from party.assessment import figure_rollups, rollups

party_cli = AppGroup("party", help="Party layer.")
stats_cli = AppGroup("stats", help="The assessment's (考评) rollups.")
party_cli.add_command(stats_cli)


def register(app: Flask) -> None:
    app.cli.add_command(party_cli)


@stats_cli.command("rebuild")
def rebuild_command() -> None:
    """Recount `party_stats_daily` from the needs and `party_stats_figures` from the projects, ratings and points
    entries (after an import, or to recover); one transaction."""
    counted = rollups.rebuild()
    more = figure_rollups.rebuild()
    db.session.commit()
    others = ", ".join(f"{n} {what}" for what, n in more.items())
    click.echo(f"rebuilt the party rollups from {counted} needs, {others}")
