"""`flask --app wsgi seed-demo`: the demo district, only into an empty database."""

import click
from flask import Flask
from flask.cli import with_appcontext

from demo.party import PARTY_STAFF_LOGIN
from demo.seed import DEMO_PASSWORD, LOGINS, database_is_empty, seed_demo
from kernel.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Seed the demo district when the database holds no units and no accounts."""
    if not database_is_empty():
        click.echo("database not empty: demo seed skipped")
        return
    seed_demo()
    db.session.commit()
    names = ", ".join([*(login.username for login in LOGINS), PARTY_STAFF_LOGIN[0]])
    click.echo(f"demo district seeded; logins {names}, password {DEMO_PASSWORD}")
