"""The Alembic migrations and the models describe the same schema, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from kernel.extensions import db
from kernel.partitions import include_in_autogenerate


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
