"""The kernel's per-request hooks skip work a request does not need (issue 27), and a request still gets what
the full work gave it: ETag and Date on a plain GET, 304 and 412 on conditional ones, no-store for a caller,
brakes that still count."""

import pytest
from werkzeug.http import parse_date

from kernel.extensions import limiter


def test_a_plain_get_still_carries_its_etag_a_date_and_no_store(client, make_account, auth, categories):
    response = client.get("/api/v1/categories/CITY.GARBAGE", headers=auth(make_account("admin")))

    assert response.status_code == 200
    assert len(response.headers["ETag"].strip('"')) == 32
    assert parse_date(response.headers["Date"]) is not None
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Length"] == str(len(response.get_data()))


def test_conditional_gets_still_get_304_and_412(client, make_account, auth, categories):
    headers = auth(make_account("admin"))
    etag = client.get("/api/v1/categories/CITY.GARBAGE", headers=headers).headers["ETag"]

    unchanged = client.get("/api/v1/categories/CITY.GARBAGE", headers={**headers, "If-None-Match": etag})
    other = client.get("/api/v1/categories/CITY.GARBAGE", headers={**headers, "If-None-Match": '"other"'})

    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert other.status_code == 200 and other.headers["ETag"] == etag


def test_healthz_answers_without_opening_a_database_session(client, app):
    from kernel.extensions import db

    with app.app_context():
        response = client.get("/healthz")
        opened = db.session.registry.has()

    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["X-Request-ID"]
    assert not opened


def test_a_route_limit_is_refused_rather_than_silently_ignored():
    with pytest.raises(TypeError, match="no request hooks"):
        limiter.limit("1/minute")


def test_flask_limiters_request_hooks_are_not_installed(app):
    hooks = [*app.before_request_funcs[None], *app.after_request_funcs[None], *app.teardown_request_funcs[None]]

    assert not any(limiter._owns(hook) for hook in hooks)
    assert limiter.limiter is not None  # the brakes' storage is there


# --- a read that changed nothing is not committed; one that wrote is ----------------------------------------------


def _commits_during(app, send):
    from sqlalchemy import event

    from kernel.extensions import db

    seen = []
    with app.app_context():
        session_class = db.session.session_factory.class_
        listener = lambda session: seen.append(session)  # noqa: E731
        event.listen(session_class, "after_commit", listener)
        try:
            response = send()
        finally:
            event.remove(session_class, "after_commit", listener)
    return response, len(seen)


def test_a_read_that_changed_nothing_is_not_committed_and_a_write_is(app, client, make_account, auth):
    headers = auth(make_account("admin"))
    subject = make_account("worker", username="reader")
    path = f"/api/v1/users/{subject.id}"

    read, read_commits = _commits_during(app, lambda: client.get(path, headers=headers))
    changed, write_commits = _commits_during(
        app, lambda: client.patch(path, json={"display_name": "新名字"}, headers=headers)
    )

    assert read.status_code == 200 and read.get_json()["username"] == "reader"
    assert read_commits == 0
    assert changed.status_code == 200 and write_commits == 1
    assert client.get(path, headers=headers).get_json()["display_name"] == "新名字"


def _own_account_recording_a_read(monkeypatch):
    """/auth/me made into a read that writes through the session, as an export records who saw full phones."""
    from auth import routes as auth_routes
    from kernel.extensions import db
    from tasks.tickets.models import PersonalDataRead

    real_own_account = auth_routes.own_account

    def own_account_recording_a_read(caller):
        db.session.add(PersonalDataRead(account_id=caller.id, subject="reporter_phone", reason="test"))
        db.session.flush()  # as a query's autoflush would, before the response is written
        return real_own_account(caller)

    monkeypatch.setattr(auth_routes, "own_account", own_account_recording_a_read)


def _reads_recorded(app, account_id):
    from sqlalchemy import func, select

    from kernel.extensions import db
    from tasks.tickets.models import PersonalDataRead

    with app.app_context():
        count = select(func.count()).select_from(PersonalDataRead).where(PersonalDataRead.account_id == account_id)
        return db.session.scalar(count)


def test_a_read_in_transaction_that_writes_is_committed(app, client, make_account, auth, monkeypatch):
    account = make_account("worker")
    headers = auth(account)
    _own_account_recording_a_read(monkeypatch)
    monkeypatch.setattr(app.view_functions["auth.me"], "read_in_transaction", True, raising=False)

    response, commits = _commits_during(app, lambda: client.get("/api/v1/auth/me", headers=headers))

    assert response.status_code == 200 and commits == 1
    assert _reads_recorded(app, account.id) == 1


def test_under_test_a_read_that_writes_without_saying_so_is_refused(app, client, make_account, auth, monkeypatch):
    """On PostgreSQL such a read runs in autocommit: its statements would be committed one by one."""
    account = make_account("worker")
    _own_account_recording_a_read(monkeypatch)

    with pytest.raises(RuntimeError, match="GET /api/v1/auth/me wrote without @read_in_transaction"):
        client.get("/api/v1/auth/me", headers=auth(account))


def test_the_views_that_write_on_a_read_say_so(app):
    """The reads that record who saw a full phone number, and the ledger exports (they also stream)."""
    for endpoint in (
        "tickets.get_contact",
        "party_members.get_member_contact",
        "exports.tickets_csv",
        "exports.tickets_xlsx",
    ):
        assert getattr(app.view_functions[endpoint], "read_in_transaction", False), endpoint
    assert not getattr(app.view_functions["auth.me"], "read_in_transaction", False)


def test_on_postgresql_a_read_opens_no_transaction_and_a_write_one(app, client, make_account, auth):
    """A read's statements run in autocommit (no BEGIN, no ROLLBACK round trips); a write keeps its transaction."""
    from sqlalchemy import event

    from kernel.extensions import db

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite's driver opens no transaction for a SELECT anyway")
    headers = auth(make_account("admin"))
    subject = make_account("worker", username="autocommit-reader")
    path = f"/api/v1/users/{subject.id}"
    seen = []

    def note(connection, cursor, statement, parameters, context, executemany):
        seen.append((statement.split()[0].upper(), connection.connection.dbapi_connection.autocommit))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        read = client.get(path, headers=headers)
        read_statements, seen[:] = list(seen), []
        changed = client.patch(path, json={"display_name": "新名字"}, headers=headers)
        write_statements = list(seen)
    finally:
        event.remove(engine, "before_cursor_execute", note)

    assert read.status_code == 200 and changed.status_code == 200
    assert read_statements and all(autocommit for _, autocommit in read_statements)
    assert any(kind == "UPDATE" for kind, _ in write_statements)
    assert not any(autocommit for _, autocommit in write_statements)
    assert client.get(path, headers=headers).get_json()["display_name"] == "新名字"


def test_under_test_a_read_writing_past_the_session_is_refused(app, client, make_account, auth, monkeypatch):
    """On PostgreSQL such a write would be lost with the uncommitted transaction; SQLite tells the tests (which
    let the error through rather than answering 500)."""
    from sqlalchemy import update

    from auth import routes as auth_routes
    from auth.models import Account
    from kernel.extensions import db

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("only SQLite's driver says whether a statement opened a write transaction")
    account = make_account("worker")
    real_own_account = auth_routes.own_account

    def own_account_writing_past_the_session(caller):
        db.session.execute(update(Account).where(Account.id == caller.id).values(phone="13800000000"))
        return real_own_account(caller)

    monkeypatch.setattr(auth_routes, "own_account", own_account_writing_past_the_session)
    headers = auth(account)

    with pytest.raises(RuntimeError, match="GET /api/v1/auth/me wrote past the session"):
        client.get("/api/v1/auth/me", headers=headers)
