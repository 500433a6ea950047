"""Kernel CLI commands (`flask --app wsgi ...`)."""

import click
from flask import Flask
from flask.cli import with_appcontext

from kernel.extensions import db
from kernel.idempotency import purge_expired


def register(app: Flask) -> None:
    app.cli.add_command(purge_idempotency_keys)


@click.command("purge-idempotency-keys")
@with_appcontext
def purge_idempotency_keys() -> None:
    """Delete Idempotency-Key records older than IDEMPOTENCY_KEY_HOURS (24 by default)."""
    removed = purge_expired()
    db.session.commit()
    click.echo(f"purged {removed} idempotency keys")
