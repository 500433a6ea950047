"""Fixtures: one app per test process on a migrated database, emptied after every test.

`TEST_DATABASE_URL=postgresql+psycopg://...` runs the suite on PostgreSQL; each xdist worker gets
a database of its own, named after the given one.
"""

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import Connection, create_engine, make_url, text

from auth import tokens
from auth.models import Account
from auth.passwords import hash_password
from bootstrap import create_app
from grid import service as grid_service
from grid.models import GridLevel, GridUnit
from kernel import caches, clock
from kernel.config import normalize_database_url
from kernel.extensions import db, limiter
from kernel.principals import Role
from tests.support import contract
from tests.support.accounts import PASSWORD
from tests.support.catalogues import EnglishClient, compile_stale_catalogues
from tests.support.http import bearer

_HASHES: dict[str, str] = {}
compile_stale_catalogues()
# Every app a test makes (the session's, and those built for one test) answers the suite in English.
Flask.test_client_class = EnglishClient


def _database_url(worker: str, tmp_dir: Path) -> str:
    given = os.environ.get("TEST_DATABASE_URL")
    if not given:
        return f"sqlite:///{tmp_dir / f'test-{worker}.db'}"
    url = make_url(normalize_database_url(given))
    worker_db = f"{url.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{worker_db}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{worker_db}"'))
        # A test's commit need not wait for the disk (tests TRUNCATE and commit thousands of times).
        connection.execute(text(f'ALTER DATABASE "{worker_db}" SET synchronous_commit = off'))
    admin.dispose()
    return url.set(database=worker_db).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Flask]:
    url = _database_url(worker_id, tmp_path_factory.mktemp("db"))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "test-secret-key-not-for-production-0123456789",
            "JWT_SECRET_KEY": "test-jwt-key-not-for-production-0123456789abc",
            "RATELIMIT_STORAGE_URI": "memory://",
            "ATTACHMENTS_DIR": str(tmp_path_factory.mktemp("attachments")),
            "SMS_LOG_FILE": str(tmp_path_factory.mktemp("sms") / "sms.log"),
        }
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(app: Flask) -> Iterator[None]:
    """Every test starts with empty tables, empty caches, a fresh limiter and the real clock."""
    yield
    clock.travel(timedelta(0))
    with app.app_context():
        db.session.remove()
        _empty_tables()
        limiter.reset()
        # ids restart with the tables: nothing cached may outlive its rows. The emptied index-state row restarts
        # its version too: a cached cell index of deleted cells would look current.
        caches.clear_all(app)


def _empty_tables() -> None:
    tables = [table for table in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _delete_the_written_rows(connection, [table.name for table in tables])
        else:
            # Foreign keys in a cycle (an organisation's secretary is one of its members) are checked at commit,
            # when every table is empty.
            connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            for table in tables:
                connection.execute(table.delete())


def _delete_the_written_rows(connection: Connection, names: list[str]) -> None:
    """Empties only the tables holding rows (one statement finds them) with DELETE, and restarts every sequence.

    TRUNCATE of every table gave each table, partition and index a new file: 0.3–1 s a test on a busy 2-core
    machine, most of a PostgreSQL run, against a millisecond for deleting a test's few rows. Foreign keys are not
    checked while deleting (the replica role skips their triggers: everything goes, in any order, cycles included);
    the test database's user creates databases already, and so is a superuser."""
    holding = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT FROM \"{name}\")" for name in names)  # noqa: S608
    written = connection.execute(text(holding)).scalars().all()
    if written:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for name in written:
            connection.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608
    connection.execute(
        text(
            "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
            " FROM pg_sequences WHERE schemaname = current_schema()"
        )
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    if contract.RECORD_DIR is None:
        return app.test_client()
    return contract.RecordingClient(app, app.response_class, use_cookies=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """With CONTRACT_RECORD=DIR, each test process leaves the JSON responses it saw there, for
    `python -m tests.support.contract DIR` to hold the OpenAPI document's `required` to."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    contract.save(worker)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An app context for arranging data directly (committed, visible to the client)."""
    with app.app_context():
        yield


@pytest.fixture
def make_unit(app: Flask) -> Callable[..., GridUnit]:
    counter = iter(range(1, 10_000))

    def make(
        level: str = "grid", parent: GridUnit | None = None, code: str | None = None, name: str | None = None
    ) -> GridUnit:
        with app.app_context():
            parent_row = db.session.get(GridUnit, parent.id) if parent is not None else None
            unit = grid_service.create_unit(
                code=code or f"U{next(counter):04d}",
                name=name or f"单元{code or ''}",
                level=GridLevel(level),
                parent=parent_row,
            )
            db.session.commit()
            db.session.refresh(unit)
            db.session.expunge(unit)
            return unit

    return make


@pytest.fixture
def tree(make_unit: Callable[..., GridUnit]) -> dict[str, GridUnit]:
    """district D › streets S1, S2 › communities C1 (in S1), C2 (in S2) › cells G1a, G1b (C1), G2a (C2)."""
    units: dict[str, GridUnit] = {}
    units["D"] = make_unit("district", code="D")
    units["S1"] = make_unit("street", units["D"], code="S1")
    units["S2"] = make_unit("street", units["D"], code="S2")
    units["C1"] = make_unit("community", units["S1"], code="C1")
    units["C2"] = make_unit("community", units["S2"], code="C2")
    units["G1a"] = make_unit("grid", units["C1"], code="G1a")
    units["G1b"] = make_unit("grid", units["C1"], code="G1b")
    units["G2a"] = make_unit("grid", units["C2"], code="G2a")
    return units


@pytest.fixture
def make_account(app: Flask) -> Callable[..., Account]:
    counter = iter(range(1, 10_000))

    def make(
        role: str = "worker",
        unit: GridUnit | int | str | None = None,
        cells: list[GridUnit | int | str] | None = None,
        username: str | None = None,
        password: str = PASSWORD,
        **fields: Any,
    ) -> Account:
        if password not in _HASHES:
            _HASHES[password] = hash_password(password)
        with app.app_context():
            account = Account(
                username=username or f"{role}{next(counter)}",
                display_name=fields.pop("display_name", f"{role} 测试"),
                role=Role(role),
                scope_grid_id=_unit_id(unit) if unit is not None else None,
                password_hash=_HASHES[password],
                **fields,
            )
            db.session.add(account)
            db.session.flush()
            if cells:
                grid_service.assign_cells(account.id, [db.session.get(GridUnit, _unit_id(c)) for c in cells])
            db.session.commit()
            db.session.refresh(account)
            db.session.expunge(account)
            return account

    return make


def _unit_id(unit: "GridUnit | int | str") -> int:
    """Factories take a unit, or its id as the API returns it."""
    return int(unit) if isinstance(unit, int | str) else unit.id


@pytest.fixture
def tokens_for(app: Flask) -> Callable[[Account], dict[str, str]]:
    """A fresh login session for an account, without spending a password hash per test."""

    def issue(account: Account) -> dict[str, str]:
        with app.app_context():
            grant = tokens.open_session(db.session.get(Account, account.id))
            db.session.commit()
            return {"access": grant.access_token, "refresh": grant.refresh_token}

    return issue


@pytest.fixture
def auth(tokens_for: Callable[[Account], dict[str, str]]) -> Callable[[Account], dict[str, str]]:
    """Authorization headers for an account."""

    def headers(account: Account) -> dict[str, str]:
        return bearer(tokens_for(account)["access"])

    return headers


@pytest.fixture
def categories(app: Flask) -> None:
    """The default category tree, as a fresh deployment has it after its first run."""
    from tasks.categories.service import seed_defaults

    with app.app_context():
        seed_defaults()
        db.session.commit()


@pytest.fixture
def working_calendar(app: Flask) -> None:
    """The working-day calendar as the migration seeds it: every year the pinned chinesecalendar knows."""
    from tasks.calendar.service import seed_from_package

    with app.app_context():
        seed_from_package()
        db.session.commit()


@pytest.fixture
def world(client: FlaskClient, tree: dict[str, GridUnit], make_account: Any, auth: Any, categories: None) -> Any:
    """The tickets tests' people and places (tests/support/tasks.py), with the default categories."""
    from tests.support.tasks import build_world

    return build_world(client, tree, make_account, auth)


@pytest.fixture
def hand(world: Any) -> dict[str, dict[str, Any]]:
    """The dashboards' small world of hand-computed figures (tests/support/stats.py), on `world`."""
    from tests.support.stats import hand_world

    return hand_world(world)
