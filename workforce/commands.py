"""Workforce CLI: `flask --app wsgi purge-positions` deletes position data past its retention period."""

import click
from flask import Flask
from flask.cli import with_appcontext

from kernel.extensions import db
from workforce import positions


def register(app: Flask) -> None:
    app.cli.add_command(purge_positions)


@click.command("purge-positions")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(min=1), help="rows per commit")
@with_appcontext
def purge_positions(batch_size: int) -> None:
    """Delete position pings and patrol points older than WORKFORCE_POSITION_RETENTION_DAYS (90 by default)."""
    cutoff = positions.position_cutoff()
    # Batches, each committed, so a large purge never holds long locks or one huge transaction.
    counts = {}
    for patrol_points in (False, True):
        total = 0
        while removed := positions.purge_positions_batch(cutoff, patrol_points=patrol_points, limit=batch_size):
            db.session.commit()
            total += removed
        counts[patrol_points] = total
    forgotten = positions.forget_last_positions(cutoff)
    db.session.commit()
    click.echo(
        f"purged {counts[False]} position pings and {counts[True]} patrol points recorded before "
        f"{cutoff:%Y-%m-%d %H:%M} UTC; cleared {forgotten} last positions"
    )
