"""PostgreSQL connections: no pre-ping round trip, and still no error when the server closed a pooled one."""

import time

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from kernel.extensions import db


@pytest.fixture
def postgres(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a server's connections only: a SQLite file cannot close on its own")
    with app.app_context():
        return db.engine


def _statements_during(engine, send):
    seen = []

    def note(_connection, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        return send(), seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _pooled_backends(engine) -> set[int]:
    """The server process of every idle pooled connection (checking them all out at once, then back in)."""
    held = [engine.connect() for _ in range(engine.pool.checkedin())]
    try:
        return {connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for connection in held}
    finally:
        for connection in held:
            connection.rollback()
            connection.close()


def _wait_until_gone(admin, pids: set[int]) -> None:
    """pg_terminate_backend only signals: a backend says goodbye on its socket as it exits, a moment later (on a
    busy machine, after the next request may already have taken its connection from the pool)."""
    for _ in range(200):
        admin.execute(text("SELECT pg_stat_clear_snapshot()"))  # the view is otherwise read once per transaction
        alive = admin.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": list(pids)}
        ).scalar_one()
        if not alive:
            return
        time.sleep(0.025)
    raise AssertionError(f"backends {pids} still alive 5 s after pg_terminate_backend")


def test_a_read_sends_no_ping(postgres, client, make_account, auth):
    headers = auth(make_account("worker"))
    client.get("/api/v1/auth/me", headers=headers)

    response, statements = _statements_during(postgres, lambda: client.get("/api/v1/auth/me", headers=headers))

    assert response.status_code == 200
    assert statements and not any(statement.strip().upper() == "SELECT 1" for statement in statements)


def test_a_connection_the_server_closed_is_replaced_without_an_error(postgres, client, make_account, auth):
    headers = auth(make_account("worker"))
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    victims = _pooled_backends(postgres)
    assert victims
    outside = create_engine(postgres.url, poolclass=NullPool)  # not one of the pool's connections
    with outside.begin() as admin:
        for pid in victims:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        _wait_until_gone(admin, victims)
    outside.dispose()

    answers = [client.get("/api/v1/auth/me", headers=headers).status_code for _ in range(len(victims) + 2)]

    assert answers == [200] * len(answers)
    assert not victims & _pooled_backends(postgres)
