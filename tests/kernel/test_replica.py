"""DATABASE_REPLICA_URL: the dashboards and exports read the replica, writes and everything else the primary.

This module's app has two SQLite databases: the primary, and a replica that `replicate()` makes a copy of the
primary (what streaming replication does continuously), so a test can tell which one a read came from.
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from bootstrap import create_app
from kernel.extensions import db
from tasks.tickets.models import PersonalDataRead


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("replica")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'primary.db'}",
            "DATABASE_REPLICA_URL": f"sqlite:///{folder / 'replica.db'}",
            "SECRET_KEY": "test-secret-key-not-for-production-0123456789",
            "JWT_SECRET_KEY": "test-jwt-key-not-for-production-0123456789abc",
            "RATELIMIT_STORAGE_URI": "memory://",
            "ATTACHMENTS_DIR": str(folder / "attachments"),
            "SMS_LOG_FILE": str(folder / "sms.log"),
        }
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def replicate(app: Flask) -> None:
    """The replica catches up: it becomes a copy of the primary."""
    with app.app_context():
        primary, replica = (Path(engine.url.database) for engine in (db.engine, db.engines["replica"]))
    source, target = sqlite3.connect(primary), sqlite3.connect(replica)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def received(world, who: str = "supervisor") -> int:
    response = world.client.get("/api/v1/stats/summary", headers=world.headers[who])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["received"]


def test_the_dashboards_read_the_replica_while_a_ticket_goes_to_the_primary(app, world, client):
    world.ticket()
    replicate(app)
    world.ticket()  # written after the replica's copy

    assert received(world) == 1
    listed = client.get("/api/v1/tickets", headers=world.headers["supervisor"]).get_json()["items"]
    assert len(listed) == 2  # the ticket list is not a replica reader

    replicate(app)
    assert received(world) == 2


def test_an_export_reads_the_replica_and_logs_its_reveal_on_the_primary(app, world, client):
    world.ticket()
    replicate(app)
    world.ticket()

    response = client.get(
        "/api/v1/exports/tickets.csv?reveal_phones=true&reason=核实回访",
        headers=world.headers["supervisor"],
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    lines = [line for line in response.get_data(as_text=True).splitlines() if line.strip()]
    assert len(lines) == 1 + 1  # the heading and the one ticket the replica has
    count = select(func.count()).select_from(PersonalDataRead)
    with app.app_context():
        assert db.session.scalar(count) == 1  # on the primary
    replicate(app)
    response = client.get("/api/v1/exports/tickets.csv", headers=world.headers["supervisor"])
    assert len([line for line in response.get_data(as_text=True).splitlines() if line.strip()]) == 1 + 2


def test_a_login_made_after_the_replicas_copy_reads_the_dashboards(app, world, make_account, auth):
    replicate(app)
    newcomer = make_account("supervisor", unit=world.tree["S1"])  # on the primary only

    response = world.client.get("/api/v1/stats/summary", headers=auth(newcomer))

    assert response.status_code == 200, response.get_data(as_text=True)
