"""kernel.compiled: a select run as SQL text on the session's connection reads what SQLAlchemy reads, a write writes
what SQLAlchemy writes; both are seen by the engine's listeners, and fail as SQLAlchemy fails (a lost server
connection dropped from the pool)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, create_engine, event, exc, select, text, update
from sqlalchemy.pool import NullPool

from auth.models import Account, LoginSession
from auth.own import OWN_ACCOUNT
from auth.principal import PRINCIPAL_QUERY
from kernel.compiled import CompiledSelect, CompiledWrite
from kernel.extensions import db
from tasks.lifecycle import Status
from tasks.tickets.models import Ticket, TicketEvent, TicketNumberDay
from tasks.tickets.numbers import _next_on
from tasks.tickets.rows import TICKET_ROW


def test_ticket_rows_are_read_as_sqlalchemy_reads_them(app, hand):
    with app.app_context():
        ticket_ids = db.session.scalars(select(Ticket.id).order_by(Ticket.id)).all()
        # a position and a fraction, which each driver reports in a type of its own
        db.session.execute(update(Ticket).where(Ticket.id == ticket_ids[0]).values(lat=31.2304, lng=121.4737))
        db.session.commit()
        compiled = CompiledSelect(TICKET_ROW)
        assert len(ticket_ids) > 5
        for ticket_id in ticket_ids:
            expected = db.session.connection().execute(TICKET_ROW, {"ticket_id": ticket_id}).first()
            assert compiled.first({"ticket_id": ticket_id}) == tuple(expected)
        located = compiled.first({"ticket_id": ticket_ids[0]})
        assert located[list(TICKET_ROW.selected_columns.keys()).index("lat")] == pytest.approx(31.2304)
        assert compiled.first({"ticket_id": -1}) is None


def test_an_upsert_returning_its_row_counts_as_sqlalchemy_counts(app):
    """The SQLite ticket number's upsert runs compiled: the first of a day inserts 1, every next one adds one, and
    the row holds what the statement returned."""
    with app.app_context():
        upsert = _next_on(db.engine.dialect.name)
        compiled = CompiledSelect(upsert)
        given = [compiled.scalar({"day": "20990101"}) for _ in range(3)]
        given.append(db.session.execute(upsert, {"day": "20990101"}).scalar_one())
        given.append(compiled.scalar({"day": "20990101"}))
        assert given == [1, 2, 3, 4, 5]
        assert compiled.scalar({"day": "20990102"}) == 1
        db.session.commit()
        assert db.session.get(TicketNumberDay, "20990101").last == 5


def test_literals_in_the_select_are_bound_as_sqlalchemy_binds_them(app, tree, make_account, auth):
    # OWN_ACCOUNT joins a worker's cells only for role = 'worker', a literal of the statement (an enum)
    worker = make_account("worker", tree["G1a"], cells=[tree["G1a"], tree["G1b"]])
    supervisor = make_account("supervisor", tree["S1"])
    with app.app_context():
        compiled = CompiledSelect(OWN_ACCOUNT)
        for account in (worker, supervisor):
            expected = [tuple(row) for row in db.session.connection().execute(OWN_ACCOUNT, {"account_id": account.id})]
            assert compiled.all({"account_id": account.id}) == expected
        assert [row[-1] for row in compiled.all({"account_id": worker.id})] == [tree["G1a"].id, tree["G1b"].id]
        assert [row[-1] for row in compiled.all({"account_id": supervisor.id})] == [None]


def test_the_engines_listeners_see_the_statement(app, make_account, auth):
    account = make_account("admin")
    auth(account)  # a login session to find
    seen = []

    def note(_connection, _cursor, statement, parameters, *_args):
        seen.append((statement, parameters))

    with app.app_context():
        session_id = db.session.scalars(select(LoginSession.id).where(LoginSession.account_id == account.id)).first()
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            row = CompiledSelect(PRINCIPAL_QUERY).first({"session_id": session_id, "account_id": account.id})
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
    assert row is not None and row[0] == account.id
    assert len(seen) == 1 and "login_sessions" in seen[0][0]


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(app):
    missing = Table("no_such_table", MetaData(), Column("id", Integer, primary_key=True))
    with app.app_context():
        with pytest.raises(exc.DBAPIError) as raised:
            CompiledSelect(select(missing.c.id)).first({})
        assert "no_such_table" in str(raised.value)
        db.session.rollback()
        assert CompiledSelect(select(Account.id).limit(1)).all({}) == []  # the connection is still good


def test_expanding_parameters_are_refused(app):
    statement = select(Account.id).where(Account.id.in_(bindparam("ids", expanding=True)))
    with app.app_context(), pytest.raises(ValueError, match="expanding"):
        CompiledSelect(statement).all({"ids": [1, 2]})


def test_a_connection_the_server_closed_is_dropped_from_the_pool(app, make_account):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a server's connections only: a SQLite file cannot close on its own")
    account = make_account("admin")
    by_id = CompiledSelect(select(Account.id).where(Account.id == bindparam("account_id")))
    with app.app_context():
        backend = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        outside = create_engine(db.engine.url, poolclass=NullPool)
        with outside.begin() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        outside.dispose()
        with pytest.raises(exc.DBAPIError) as raised:
            by_id.first({"account_id": account.id})
        assert raised.value.connection_invalidated
        db.session.rollback()
        assert by_id.first({"account_id": account.id}) == (account.id,)  # a new connection


# --- writes -----------------------------------------------------------------------------------------


def _event_rows(ticket_id, actor_id):
    moment = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    return [
        {
            "ticket_id": ticket_id,
            "actor_id": actor_id,
            "action": "urge",
            "from_status": Status.ASSIGNED,
            "to_status": Status.ASSIGNED,
            "prior_grid_id": None,
            "prior_assignee_id": None,
            "note": f"第{n}次催办",
            "photo_ids": [n, n + 1],
            "lat": 31.2304,
            "lng": None,
            "details": {"urge_count": n, "名": "值"},
            "created_at": moment + timedelta(minutes=n),
        }
        for n in (1, 2)
    ]


def _events_of(ticket_id):
    columns = [column for column in TicketEvent.__table__.c if column.key != "id"]
    stmt = select(*columns).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    return [tuple(row) for row in db.session.execute(stmt)]


def test_rows_are_written_as_sqlalchemy_writes_them(app, hand):
    """The same rows, one at a time and by executemany, read back equal to the rows SQLAlchemy wrote: enums,
    JSON (non-ASCII too), a fraction and an aware timestamp converted for the driver as SQLAlchemy converts them."""
    with app.app_context():
        first, second = db.session.scalars(select(Ticket.id).order_by(Ticket.id).limit(2)).all()
        actor = db.session.scalars(select(Account.id).limit(1)).first()
        db.session.connection().execute(TicketEvent.__table__.insert(), _event_rows(first, actor))
        write = CompiledWrite(TicketEvent.__table__.insert())
        [one, two] = _event_rows(second, actor)
        assert write.execute([one]) == 1
        assert write.execute([two]) == 1
        write.execute(_event_rows(second, actor))  # executemany
        db.session.commit()
        expected = [row[1:] for row in _events_of(first)[-2:]]
        assert [row[1:] for row in _events_of(second)[-4:]] == expected * 2


def test_a_write_that_needs_sqlalchemys_defaults_is_left_to_sqlalchemy(app, hand):
    """Columns left out whose defaults are computed in Python (the event's photo_ids and details) are filled."""
    with app.app_context():
        ticket_id = db.session.scalars(select(Ticket.id).limit(1)).first()
        moment = datetime(2026, 12, 7, tzinfo=UTC)
        CompiledWrite(TicketEvent.__table__.insert()).execute(
            [{"ticket_id": ticket_id, "action": "photo", "to_status": Status.ASSIGNED, "created_at": moment}]
        )
        db.session.commit()
        stored = db.session.execute(
            select(TicketEvent.photo_ids, TicketEvent.details).where(TicketEvent.action == "photo")
        ).one()
        assert tuple(stored) == ([], {})


def test_a_matched_row_count_and_a_constraint_error_as_from_sqlalchemy(app, hand):
    with app.app_context():
        ticket = db.session.execute(select(Ticket.id, Ticket.version).limit(1)).one()
        table = Ticket.__table__
        guarded = CompiledWrite(
            table.update().where(table.c.id == bindparam("where_id"), table.c.version == bindparam("where_version"))
        )
        assert guarded.execute([{"urge_count": 7, "where_id": ticket.id, "where_version": ticket.version}]) == 1
        assert guarded.execute([{"urge_count": 8, "where_id": ticket.id, "where_version": ticket.version - 1}]) == 0
        with pytest.raises(exc.IntegrityError):
            CompiledWrite(table.update().where(table.c.id == bindparam("where_id"))).execute(
                [{"no": None, "where_id": ticket.id}]  # NOT NULL
            )
        db.session.rollback()


def test_the_engines_listeners_see_the_write(app, hand):
    seen = []

    def note(_connection, _cursor, statement, parameters, _context, executemany):
        seen.append((statement.split()[0], executemany))

    with app.app_context():
        ticket_id = db.session.scalars(select(Ticket.id).limit(1)).first()
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            CompiledWrite(TicketEvent.__table__.insert()).execute(_event_rows(ticket_id, None))
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        db.session.rollback()
    assert seen == [("INSERT", True)]
