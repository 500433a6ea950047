"""What a request writes when it commits: append-only records (ticket events, outbox messages), each a Core
INSERT, running totals written once at commit (the dashboards' counters), and changes to versioned rows (tickets),
each one compare-and-set UPDATE.

Nothing may read a record back in the transaction that writes it (it is not there before the commit), and
the unit of work cost more than the statements themselves: an urge writes an event and an inbox message, and
costs fewer instructions appended here than as ORM objects; flushing its ticket costs more than the UPDATE here
(callgrind figures in docs/PERFORMANCE.md).

At commit, in the request's transaction and in this order: the versioned rows' changes (`SET changed columns,
version = <the mapper's next version> WHERE id = ? AND version = ?`; StaleDataError when no row matched, as
from the unit of work; written at an earlier flush instead if one comes first), then the session's own pending
changes (a flush), then the records and the totals in the order they were first asked for, then the writes asked
for last (`at_end`). So a record may refer to any row written before it, and a lost version check writes nothing.
The records, totals and last writes need no answer: on PostgreSQL they are sent together with the COMMIT, in one
round trip (`kernel.compiled.writes_sent_together`). Writing at the end keeps SQLite's single writer lock for the writes
alone, not for the reads and the rendering between a request's first write and its commit; on PostgreSQL, a
request that loses the version check has locked no row that others wait on, and one that changes a ticket locks it
before any other row. A rollback drops whatever still waits, with the rest of the transaction.
"""

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Column, Table, bindparam, event, inspect
from sqlalchemy.orm import Mapper, Session, SessionTransaction
from sqlalchemy.orm.exc import StaleDataError

from kernel import entities
from kernel.compiled import CompiledSelect, CompiledWrite, writes_sent_together
from kernel.db import Base
from kernel.extensions import db

_WAITING = "records.waiting"  # (write, what it writes), in order
_TOTALS = "records.totals"
_CHANGED = "records.changed"
_FLUSHED = "records.flushed"  # the session has written something in this transaction
_LAST = "records.last"  # writes after every other, each once
T = TypeVar("T")


def append(model: type[Base], *rows: Mapping[str, Any]) -> None:
    """Insert `rows` (column values; columns left out take their defaults) into `model`'s table at commit."""
    if rows:
        db.session.info.setdefault(_WAITING, []).append((_insert_rows, (model.__table__, rows)))


def total(write: Callable[[T], None], start: Callable[[], T]) -> T:
    """The transaction's running total for `write`: `start()` the first time, handed to `write` at commit.

    For changes that add up, such as counters: a transaction then writes each row once, in the order `write`
    chooses, however many changes it made."""
    totals = db.session.info.setdefault(_TOTALS, {})
    if write not in totals:
        totals[write] = start()
        db.session.info.setdefault(_WAITING, []).append((write, totals[write]))
    return totals[write]  # type: ignore[no-any-return]


def at_end(write: Callable[[], None]) -> None:
    """Call `write` at commit after every record and total, once however often this transaction asks.

    For a row every writer of a kind shares (the dashboards' version): each holds its lock only from there to the
    commit, and never waits for another row while it holds it."""
    db.session.info.setdefault(_LAST, {})[write] = None


def update_at_commit(instance: Base) -> None:
    """Write the changed columns of `instance` (loaded, its mapper has a `version_id_col`) at commit.

    It is written before the session's own pending changes, so its new values may not refer to a row inserted in
    the same transaction."""
    db.session.info.setdefault(_CHANGED, {})[id(instance)] = instance


def insert_now(instance: Base) -> None:
    """Insert a new (transient) entity's row now, by one compiled INSERT, and make it the session's as if loaded.

    For a row the request goes on to refer to (a new ticket's events, its request): the unit of work's flush of
    one new entity cost more than the statement (docs/PERFORMANCE.md, "Tenth pass"). Columns not given take their
    Python-side default, else NULL; the key and the columns left to a server default are read back. Its later
    changes are tracked as a loaded entity's. Relationships set on it are kept as they are, not written: set the
    foreign key columns too."""
    state = inspect(instance)
    if state.key is not None or state.session_id is not None:
        raise ValueError("insert_now takes a new entity that no session holds")
    mapper = state.mapper
    values = state.dict
    for key, column in _defaulted(mapper).items():
        if key not in values:
            values[key] = _default_of(column)
    if mapper.version_id_col is not None and mapper.version_id_generator:
        values[mapper.get_property_by_column(mapper.version_id_col).key] = mapper.version_id_generator(None)
    given = tuple(key for key in _columns_of(mapper) if key in values)
    fetched = _insert_returning(mapper, given).first({f"new_{key}": values[key] for key in given})
    values.update(zip(_fetched_keys(mapper, given), fetched, strict=True))  # type: ignore[arg-type]
    entities.adopt(instance)
    db.session.info[_FLUSHED] = True


def pending(session: Session) -> bool:
    """Whether the transaction has written through the session, or has records or versioned rows to write."""
    info = session.info
    return bool(info.get(_FLUSHED) or info.get(_WAITING) or info.get(_CHANGED) or info.get(_LAST))


@event.listens_for(db.session, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    session.info[_FLUSHED] = True


@event.listens_for(db.session, "before_commit")
def _write_waiting_records(session: Session) -> None:
    _write_changed_rows(session)
    session.info.pop(_TOTALS, None)
    waiting = session.info.pop(_WAITING, None) or ()
    last = session.info.pop(_LAST, None) or {}
    if not (waiting or last):
        return
    session.flush()
    with writes_sent_together(with_the_commit=True):
        for write, what in waiting:
            write(what)
        for write_last in last:
            write_last()


@event.listens_for(db.session, "before_flush")
def _write_changed_rows_first(session: Session, _context: Any, _instances: Any) -> None:
    """A flush before the commit (a query's autoflush while the response is rendered) writes the versioned rows
    first too. So every transaction that changes a ticket locks the ticket's row before any other row it writes
    (its rollup facts, its messages), and two changes to one ticket cannot each hold a row the other waits for
    (a PostgreSQL deadlock, seen between a resolve and an escalation)."""
    _write_changed_rows(session)


def _write_changed_rows(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        for instance in changed.values():
            _compare_and_set(session, instance)


@event.listens_for(db.session, "after_transaction_end")
def _drop_waiting_records(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WAITING, None)
        session.info.pop(_TOTALS, None)
        session.info.pop(_CHANGED, None)
        session.info.pop(_LAST, None)
        session.info.pop(_FLUSHED, None)


def _compare_and_set(session: Session, instance: Base) -> None:
    state = inspect(instance)
    if state.deleted or state.detached or state.key is None:  # only a loaded, still persistent row
        return
    mapper = state.mapper
    columns = _column_names(mapper)
    values = {columns[key]: state.dict[key] for key in columns.keys() - state.unmodified if key in state.dict}
    if not values:  # unchanged, or the unit of work has already written it (an autoflush)
        return
    version = mapper.version_id_col
    version_key = mapper.get_property_by_column(version).key
    # Left to the unit of work: an expired version, or one the database generates.
    if version_key not in state.dict or not mapper.version_id_generator:
        return
    current = state.dict[version_key]
    values[version.key] = following = mapper.version_id_generator(current)
    written = _update_of(mapper).execute([{**values, "where_id": state.key[1][0], "where_version": current}])
    if written != 1:
        raise StaleDataError(f"{mapper.class_.__name__} {state.key[1][0]} changed since it was read.")
    state.dict[version_key] = following
    # What the unit of work does to a row it has written: its values are now the committed ones, and the session
    # has nothing left to flush. (Session.expire would do too, at a third of the UPDATE's cost.)
    state._commit_all(state.dict, session.identity_map)


def _insert_rows(batch: tuple[Table, tuple[Mapping[str, Any], ...]]) -> None:
    table, rows = batch
    _insert_into(table).execute(rows)


@cache
def _insert_into(table: Table) -> CompiledWrite:
    return CompiledWrite(table.insert())  # built once, compiled once per set of columns given


@cache
def _update_of(mapper: Mapper[Any]) -> CompiledWrite:
    """SET takes the columns named in the parameters; the WHERE compares the key and the version."""
    table = mapper.local_table
    [key] = mapper.primary_key
    version = mapper.version_id_col
    return CompiledWrite(table.update().where(key == bindparam("where_id"), version == bindparam("where_version")))


@cache
def _column_names(mapper: Mapper[Any]) -> dict[str, str]:
    """Attribute key to column name, for the mapper's own columns but the version."""
    return {key: column.key for key, column in _columns_of(mapper).items() if column is not mapper.version_id_col}


@cache
def _columns_of(mapper: Mapper[Any]) -> dict[str, Column[Any]]:
    """Attribute key to column, for the mapper's own columns (the version's included)."""
    return {
        prop.key: column
        for prop in mapper.column_attrs
        if isinstance(column := prop.columns[0], Column) and column.table is mapper.local_table
    }


@cache
def _defaulted(mapper: Mapper[Any]) -> dict[str, Column[Any]]:
    """The columns `insert_now` fills when not given: all but the key, the version and those left to a server
    default."""
    return {
        key: column
        for key, column in _columns_of(mapper).items()
        if not column.primary_key
        and column is not mapper.version_id_col
        and not (column.server_default is not None and column.default is None)
    }


def _default_of(column: Column[Any]) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy's wrapper of a function that takes no context
    raise ValueError(f"insert_now cannot work out {column}'s default")


@cache
def _fetched_keys(mapper: Mapper[Any], given: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(key for key in _columns_of(mapper) if key not in given)


@cache
def _insert_returning(mapper: Mapper[Any], given: tuple[str, ...]) -> CompiledSelect:
    """INSERT of the `given` attributes' columns (parameters `new_<key>`), returning the rest: the key and the
    columns left to a server default."""
    columns = _columns_of(mapper)
    fetched = [columns[key] for key in _fetched_keys(mapper, given)]
    values = {columns[key]: bindparam(f"new_{key}") for key in given}
    return CompiledSelect(mapper.local_table.insert().values(values).returning(*fetched))
