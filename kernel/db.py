"""Database plumbing: the declarative base, UTC times, string enums, SQLite pragmas, PostgreSQL connections."""

import enum
import select
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, String, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

# Named constraints, so Alembic migrations (batch mode on SQLite) can refer to them on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# 64-bit ids on PostgreSQL (position pings and events outgrow 2^31); SQLite's rowid is 64-bit already
# and only a column typed exactly INTEGER becomes it.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no time zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_class: type[enum.Enum], length: int = 32) -> "StrEnumType":
    """An enum stored as its string value: one migration for SQLite and PostgreSQL, easy to extend."""
    return StrEnumType(enum_class, length)


class StrEnumType(TypeDecorator[enum.Enum]):
    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[enum.Enum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> enum.Enum | None:
        return None if value is None else self.enum_class(value)


def install_connection_settings(engine: Engine, busy_timeout_ms: int) -> None:
    """Per-connection settings: SQLite pragmas, or PostgreSQL timeouts so no request hangs on a lock."""
    if engine.dialect.name == "sqlite":
        _install_sqlite_pragmas(engine, busy_timeout_ms)
    elif engine.dialect.name == "postgresql":
        _install_postgres_settings(engine)


# libpq's TCP keepalives: a server gone without closing the connection (a host down, a firewall that forgot it)
# is noticed by the kernel after about 90 idle seconds, and the socket then reads as ready: see _checkout_alive.
POSTGRES_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10, "keepalives_count": 3}


def _install_postgres_settings(engine: Engine) -> None:
    """Replace a pooled connection the server closed (without a round trip), and set timeouts on each new one."""

    @event.listens_for(engine, "checkout")
    def _checkout_alive(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
        if _closed_by_server(dbapi_connection):  # on DisconnectionError the pool opens a fresh connection
            raise DisconnectionError("the server closed this connection while it sat in the pool")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET lock_timeout = '5s'")  # a lock wait past this is 409 (pgcode 55P03)
        cursor.execute("SET statement_timeout = '30s'")
        cursor.close()
        dbapi_connection.commit()  # a SET inside a rolled-back transaction would be undone


def _closed_by_server(dbapi_connection: Any) -> bool:
    """Whether an idle connection is gone, without a round trip (in place of SQLAlchemy's pre-ping `SELECT 1`).

    Between transactions the server sends nothing unasked; a socket that reads as ready holds the server's
    goodbye (a restart, `pg_terminate_backend`, an idle-session timeout: an error, then end of file) or the
    kernel's report of a dead peer (keepalives above)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    return bool(readable)


def _install_sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL for concurrent readers, enforced foreign keys, and waiting for the writer lock."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
