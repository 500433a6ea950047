"""A commit's writes sent together (`kernel.compiled.writes_sent_together`): on PostgreSQL the records, rollups and
the dashboards' version a ticket change writes at commit go to the server in one round trip (psycopg's pipeline
mode), after the ticket's own version-checked UPDATE; the order of statements is kept, an error in a queued write
is SQLAlchemy's error and leaves nothing written. On SQLite nothing changes."""

from contextlib import contextmanager

import pytest
from sqlalchemy import Integer, MetaData, String, event, exc, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel.compiled import CompiledWrite, writes_sent_together
from kernel.extensions import db
from tests.support.scratch import scratch_tables
from tests.support.statements import statements_and_pipelines


class _Scratch(DeclarativeBase):
    metadata = MetaData()  # not the app's: no migration knows this table


class Mark(_Scratch):
    __tablename__ = "scratch_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(20), unique=True)


_INSERT_MARK = CompiledWrite(insert(Mark))


@pytest.fixture
def marks(app):
    with scratch_tables(app, _Scratch.metadata):
        yield


def _on_postgresql(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def _labels() -> list[str]:
    return list(db.session.scalars(select(Mark.label).order_by(Mark.id)))


def test_queued_writes_are_written_in_order_when_the_block_ends(app, marks):
    with writes_sent_together():
        _INSERT_MARK.execute([{"id": 1, "label": "井盖"}])
        _INSERT_MARK.execute([{"id": 2, "label": "路灯"}, {"id": 3, "label": "积水"}])
    db.session.commit()
    assert _labels() == ["井盖", "路灯", "积水"]


def test_a_statement_in_the_block_sees_the_writes_queued_before_it(app, marks):
    with writes_sent_together():
        _INSERT_MARK.execute([{"id": 1, "label": "井盖"}])
        assert _labels() == ["井盖"]  # sent before the SELECT, not after
        _INSERT_MARK.execute([{"id": 2, "label": "路灯"}])
        db.session.execute(text("UPDATE scratch_marks SET label = 'x' || label"))
    db.session.commit()
    assert _labels() == ["x井盖", "x路灯"]


def test_an_error_in_a_queued_write_is_sqlalchemys_and_nothing_stays_written(app, marks):
    _INSERT_MARK.execute([{"id": 1, "label": "井盖"}])
    db.session.commit()
    with pytest.raises(exc.IntegrityError), writes_sent_together():
        _INSERT_MARK.execute([{"id": 2, "label": "路灯"}])
        _INSERT_MARK.execute([{"id": 3, "label": "井盖"}])  # the unique label again
        _INSERT_MARK.execute([{"id": 4, "label": "积水"}])
    db.session.rollback()
    assert _labels() == ["井盖"]
    with writes_sent_together():  # the connection is fit for the next transaction
        _INSERT_MARK.execute([{"id": 5, "label": "积水"}])
    db.session.commit()
    assert _labels() == ["井盖", "积水"]


def test_on_postgresql_the_queued_writes_share_one_round_trip(app, marks):
    with statements_and_pipelines(app) as sent, writes_sent_together():
        _INSERT_MARK.execute([{"id": 1, "label": "井盖"}])
        _INSERT_MARK.execute([{"id": 2, "label": "路灯"}])
    db.session.commit()
    pipelines = [pipeline for _sql, pipeline in sent]
    assert len(pipelines) == 2
    if _on_postgresql(app):
        assert pipelines[0] is not None and pipelines[0] is pipelines[1]
    else:
        assert pipelines == [None, None]


def test_an_accept_sends_its_commit_time_writes_in_one_round_trip_on_postgresql(app, world):
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    summary = world.client.get("/api/v1/stats/summary", headers=world.headers["supervisor"]).get_json()
    with statements_and_pipelines(app) as sent:
        accepted = world.act("worker", ticket, "accept")
    assert accepted["status"] == "in_progress"
    # what the supervisor's dashboard shows moved with it (the rollups and their version, written in the pipeline)
    after = world.client.get("/api/v1/stats/summary", headers=world.headers["supervisor"]).get_json()
    assert after["time_to_accept"]["count"] == summary["time_to_accept"]["count"] + 1, (summary, after)
    assert after["response_rate"]["numerator"] == summary["response_rate"]["numerator"] + 1
    sql = [statement for statement, _ in sent]
    update = next(i for i, statement in enumerate(sql) if statement.startswith("UPDATE tickets"))
    # the event and the rollups (records and totals); a resident's SMS is an ORM row, flushed before them
    records = [(s, pipeline) for s, pipeline in sent[update + 1 :] if "ticket_events" in s or " stats_" in s]
    written = {statement.split()[2] for statement, _ in records}  # INSERT INTO x / UPDATE x SET
    assert {"ticket_events", "stats_daily", "stats_version"} <= written, sql
    pipelines = {id(pipeline) for _, pipeline in records}
    if _on_postgresql(app):
        assert sent[update][1] is None  # the version check's count is read before anything else is sent
        assert len(pipelines) == 1 and records[0][1] is not None, sql
    else:
        assert all(pipeline is None for _, pipeline in records)
    history = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["worker"])
    assert [event["action"] for event in history.get_json()["items"]][-1] == "accept"


def test_an_accepts_commit_goes_with_its_writes_on_postgresql(app, world):
    """When SQLAlchemy commits, the server has already committed: the COMMIT went in the writes' round trip."""
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    with _transaction_status_at_commit(app) as statuses:
        world.act("worker", ticket, "accept")
    if _on_postgresql(app):
        from psycopg.pq import TransactionStatus

        assert statuses == [TransactionStatus.IDLE]  # nothing left to commit
    else:
        assert len(statuses) == 1
    shown = world.client.get(f"/api/v1/tickets/{ticket['id']}", headers=world.headers["supervisor"]).get_json()
    assert shown["status"] == "in_progress"


def test_a_row_the_commit_flushes_after_the_records_is_committed_with_them(app, marks):
    """A row the commit's own flush writes after the records (added by a later `before_commit` listener): the
    queued writes go before it and the COMMIT after it, one transaction."""
    with app.app_context(), _a_mark_added_late("路灯"), _transaction_status_at_commit(app) as statuses:
        db.session.commit()
    with app.app_context():
        assert _labels() == ["井盖", "路灯"]
    if _on_postgresql(app):
        from psycopg.pq import TransactionStatus

        assert statuses == [TransactionStatus.INTRANS]  # the COMMIT was SQLAlchemy's own


def test_when_that_late_row_fails_nothing_of_the_commit_is_written(app, marks):
    with app.app_context(), _a_mark_added_late("井盖"):  # the label the record takes
        with pytest.raises(exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert _labels() == []


@contextmanager
def _a_mark_added_late(label: str):  # type: ignore[no-untyped-def]
    """Inside an app context: a record (mark 1, 井盖) waiting for the commit, and mark 2 with `label` added by a
    `before_commit` listener registered after the records' one, so the commit flushes it after them."""
    from kernel import records

    def add_a_row_late(session):  # type: ignore[no-untyped-def]
        session.add(Mark(id=2, label=label))

    records.at_end(lambda: _INSERT_MARK.execute([{"id": 1, "label": "井盖"}]))
    event.listen(db.session, "before_commit", add_a_row_late)
    try:
        yield
    finally:
        event.remove(db.session, "before_commit", add_a_row_late)


def test_a_rollback_drops_the_writes_left_for_the_commit(app, marks):
    with app.app_context():
        with writes_sent_together(with_the_commit=True):
            _INSERT_MARK.execute([{"id": 1, "label": "井盖"}])
        db.session.rollback()
        _INSERT_MARK.execute([{"id": 2, "label": "路灯"}])
        db.session.commit()
        assert _labels() == ["路灯"]


@contextmanager
def _transaction_status_at_commit(app):  # type: ignore[no-untyped-def]
    """The driver's transaction status each time SQLAlchemy is about to commit (PostgreSQL; None on SQLite)."""
    statuses = []

    def note(connection):  # type: ignore[no-untyped-def]
        info = getattr(connection.connection.dbapi_connection, "info", None)
        statuses.append(getattr(info, "transaction_status", None))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", note)
    try:
        yield statuses
    finally:
        event.remove(engine, "commit", note)


def test_without_pipeline_mode_the_writes_are_sent_one_by_one(app, marks, monkeypatch):
    from kernel import compiled

    monkeypatch.setattr(compiled, "_can_pipeline", lambda _dialect: False)  # a libpq older than 14
    with statements_and_pipelines(app) as sent, writes_sent_together():
        _INSERT_MARK.execute([{"id": 1, "label": "井盖"}])
        _INSERT_MARK.execute([{"id": 2, "label": "路灯"}])
    db.session.commit()
    assert _labels() == ["井盖", "路灯"]
    assert [pipeline for _sql, pipeline in sent] == [None, None]
