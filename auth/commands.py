"""Account CLI: `flask --app wsgi create-user USERNAME --role admin --password-stdin`, and the daily
`flask --app wsgi purge-login-counts`."""

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from auth import service, throttle
from kernel.errors import AppError
from kernel.extensions import db
from kernel.principals import Role


def register(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(purge_login_counts)


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--display-name", default=None)
@click.option("--scope-grid-id", type=int, default=None, help="The grid unit (not for admins).")
def create_user(
    username: str, role: str, password_stdin: bool, display_name: str | None, scope_grid_id: int | None
) -> None:
    """Create an account (the first admin, typically)."""
    if not password_stdin:
        raise click.UsageError("pass --password-stdin and give the password on standard input")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        account = service.create_initial_account(username, password, Role(role), display_name, scope_grid_id)
    except AppError as error:
        db.session.rollback()
        details = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in error.details.items())
        raise click.ClickException(f"{error.message} {details}".strip()) from None
    db.session.commit()
    click.echo(f"created {account.role.value} {account.username} (id {account.id})")


@click.command("purge-login-counts")
@with_appcontext
def purge_login_counts() -> None:
    """Delete login failure counts whose window and lock have ended, and device tokens revoked or expired."""
    counts, device_tokens = throttle.purge_ended()
    db.session.commit()
    click.echo(f"purged {counts} login failure counts and {device_tokens} device tokens")
