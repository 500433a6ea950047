"""Alembic environment, run through Flask-Migrate (`flask --app wsgi db upgrade`).

The same migrations serve SQLite (batch mode, set on Migrate) and PostgreSQL.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from kernel.partitions import include_in_autogenerate

config = context.config
if config.config_file_name is not None:
    # Keep the application's own loggers (JSON access log) working after a migration.
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option("sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=target_db.metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_autogenerate(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    configure_args = dict(current_app.extensions["migrate"].configure_args)
    configure_args.setdefault("process_revision_directives", skip_empty_autogenerate)
    configure_args.setdefault("include_object", include_in_autogenerate)  # PostgreSQL's monthly partitions
    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename): with foreign keys enforced, dropping a table that
            # others reference fails. Off for the migrations (outside any transaction, where the pragma holds),
            # checked (logged) after them, and on again before the connection goes back to the pool.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # close the autobegun transaction: the migrations' own one follows
        try:
            context.configure(connection=connection, target_metadata=target_db.metadata, **configure_args)
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
        finally:
            if sqlite:
                connection.rollback()  # whatever a failed migration left open: the pragma holds only outside one
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _check_foreign_keys(connection) -> None:
    """Logs rows that reference what is not there (none, unless a migration or an earlier hand edit broke one)."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    connection.rollback()  # the pragma's read changed nothing; only its implicit transaction to close
    if broken:
        logger.error("rows referencing what is not there (table, rowid, parent, key): %s", broken[:10])


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
