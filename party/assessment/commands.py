"""Party CLI: `flask --app wsgi party stats rebuild` recounts the assessment's rollup from the needs."""

import click
from flask import Flask
from flask.cli import AppGroup

from kernel.extensions import db
from party.assessment.rollups import rebuild

party_cli = AppGroup("party", help="Party layer.")
stats_cli = AppGroup("stats", help="The assessment's (考评) rollup.")
party_cli.add_command(stats_cli)


def register(app: Flask) -> None:
    app.cli.add_command(party_cli)


@stats_cli.command("rebuild")
def rebuild_command() -> None:
    """Recount `party_stats_daily` from the needs (after an import, or to recover); one transaction."""
    counted = rebuild()
    db.session.commit()
    click.echo(f"rebuilt the party rollup from {counted} needs")
