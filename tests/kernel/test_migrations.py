"""The Alembic migrations and the models describe the same schema, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from kernel.extensions import db
from kernel.partitions import ROLLUPS, include_in_autogenerate, is_partitioned


def test_autogenerate_finds_no_difference_between_models_and_migrations(app):
    with app.app_context(), db.engine.connect() as connection:
        options = {"compare_type": True, "render_as_batch": True, "include_object": include_in_autogenerate}
        context = MigrationContext.configure(connection, opts=options)
        assert compare_metadata(context, db.metadata) == []


def test_migrations_go_down_to_nothing_and_back_up(app):
    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert {"accounts", "grid_units", "idempotency_keys"} <= set(inspect(db.engine).get_table_names())


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app):
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas")
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_the_readiness_probe_knows_the_head_alembic_knows():
    """`/readyz` reads the head from the migration files without importing alembic into the web worker."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from kernel.config import ROOT
    from kernel.health import migration_head

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    assert migration_head() == ScriptDirectory.from_config(config).get_current_head()


def test_0029_partitions_the_daily_rollups_on_postgresql_and_keeps_their_rows_both_ways(app, world):
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    summary = lambda: world.client.get("/api/v1/stats/summary", headers=world.headers["supervisor"]).get_json()  # noqa: E731
    shown = summary()
    assert (shown["received"], shown["response_rate"]["denominator"]) == (1, 1)
    postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")

    def rows_and_places() -> tuple[dict[str, int], set[str]]:
        """Each rollup's row count, and (PostgreSQL) the tables that hold the rows: partitions or the plain ones."""
        counts, places = {}, set()
        with db.engine.connect() as connection:
            for table in ROLLUPS:
                counts[table] = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()  # noqa: S608
                if postgres:
                    held = connection.exec_driver_sql(f"SELECT DISTINCT tableoid::regclass::text FROM {table}")  # noqa: S608
                    places |= set(held.scalars())
        return counts, places

    with app.app_context():
        counts, _places = rows_and_places()
        downgrade(revision="0028_grid_outlines")
        with db.engine.connect() as connection:
            assert not any(is_partitioned(connection, table) for table in ROLLUPS)
        assert rows_and_places() == (counts, set(ROLLUPS) if postgres else set())
        upgrade()
        with db.engine.connect() as connection:
            assert all(is_partitioned(connection, table) for table in ROLLUPS) == postgres
        kept, places = rows_and_places()
        assert kept == counts
        if postgres:
            assert len(places) == 2 and not any(place.endswith("_default") for place in places)
    assert summary() | {"now": None} == shown | {"now": None}
