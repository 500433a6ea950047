"""Kernel CLI commands (`flask --app wsgi ...`)."""

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from kernel import clock, partitions
from kernel.extensions import db
from kernel.idempotency import purge_expired

partitions_cli = AppGroup("partitions", help="Monthly partitions on PostgreSQL (SQLite has plain tables).")


def register(app: Flask) -> None:
    app.cli.add_command(purge_idempotency_keys)
    app.cli.add_command(partitions_cli)


@click.command("purge-idempotency-keys")
@with_appcontext
def purge_idempotency_keys() -> None:
    """Delete Idempotency-Key records older than IDEMPOTENCY_KEY_HOURS (24 by default)."""
    removed = purge_expired()
    db.session.commit()
    click.echo(f"purged {removed} idempotency keys")


@partitions_cli.command("ensure")
@click.option("--months-ahead", default=3, show_default=True, type=click.IntRange(min=0, max=120))
def ensure_partitions(months_ahead: int) -> None:
    """Create this month's partitions and those of the months ahead (idempotent; run daily from cron)."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        click.echo("nothing to do: SQLite keeps plain tables")
        return
    created = partitions.ensure(connection, clock.utcnow().date(), months_ahead)
    db.session.commit()
    click.echo(f"created {len(created)} partitions: {', '.join(p.name for p in created) or 'none needed'}")


@partitions_cli.command("drop-older-than")
@click.option("--months", required=True, type=click.IntRange(min=1), help="Keep this many whole months back.")
@click.option(
    "--table",
    "tables",
    multiple=True,
    type=click.Choice(sorted(partitions.PARTITIONED)),
    help="Only these tables (repeatable); all three by default.",
)
def drop_old_partitions(months: int, tables: tuple[str, ...]) -> None:
    """Drop the monthly partitions wholly older than --months months (retention); rows that old in the default
    partition are deleted."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        click.echo("nothing to do: SQLite keeps plain tables")
        return
    dropped = partitions.drop_older_than(
        connection, clock.utcnow().date(), months, list(tables or partitions.PARTITIONED)
    )
    db.session.commit()
    click.echo(f"dropped {len(dropped)} partitions: {', '.join(p.name for p in dropped) or 'none older'}")
