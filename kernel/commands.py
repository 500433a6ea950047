"""Kernel CLI commands (`flask --app wsgi ...`)."""

import click
from flask import Flask

from kernel.extensions import db
from kernel.idempotency import purge_expired


def register(app: Flask) -> None:
    app.cli.add_command(purge_idempotency_keys)


@click.command("purge-idempotency-keys")
def purge_idempotency_keys() -> None:
    """Delete Idempotency-Key records older than IDEMPOTENCY_KEY_HOURS (24 by default)."""
    removed = purge_expired()
    db.session.commit()
    click.echo(f"purged {removed} idempotency keys")
