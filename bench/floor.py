"""What the driver and Flask alone cost for an authenticated read and an urge: a floor under issue 27's targets.

`bench/reference.py` is the floor the targets are ratios to: Flask answering a constant. This app adds the least an
authenticated endpoint of this service must do, on the same database and tokens as the app, with nothing of the
app's own: the bearer token verified once per token (PyJWT, kept as the app keeps it), the token check's query
(account, session, scope unit) by hand-written SQL on the driver, then

- `GET /me`: the caller's account row, as JSON;
- `POST /tickets/<id>/urge`: in one transaction, the ticket read, its compare-and-set UPDATE and its event's
  INSERT, then COMMIT: each statement a round trip on PostgreSQL, as a plain use of the driver sends them;
- `POST /tickets/<id>/urge-together` (PostgreSQL): the same writes in one round trip after the token check's
  (psycopg's pipeline: BEGIN, an UPDATE that counts in place and returns the row, the event's INSERT from it, COMMIT),
  the fewest round trips an urge can take.

No ORM, no schemas, no request hooks (no request id or log line, no metrics, ETag, idempotency or language), no
records, rollups, webhooks or messages, no error shapes. Its ratio to the reference, measured in the same run, is
the most any implementation on Flask and this driver could reach for such an endpoint on this machine
(docs/PERFORMANCE.md, "Thirteenth pass"). Serve it as the app and the reference are served, with the app's
environment (`DATABASE_URL`, `JWT_SECRET_KEY`) and a database the app has seeded:
`.venv/bin/python bench/serve.py uwsgi --app bench.floor:app --port 8402`.
"""

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import jwt
from flask import Flask, abort, request

app = Flask(__name__)
_SECRET = os.environ.get("JWT_SECRET_KEY", "")
_URL = os.environ.get("DATABASE_URL", "")
_verified: dict[str, dict[str, Any]] = {}
_connections: dict[int, Any] = {}  # by process: each worker opens its own after the fork

# The columns the app's token check reads (auth/principal.py), so the floor's query does the same work.
PRINCIPAL = (
    "SELECT a.id, a.role, a.scope_grid_id, u.path, a.updated_at, a.active, s.revoked_at FROM accounts a "
    "JOIN login_sessions s ON s.account_id = a.id LEFT JOIN grid_units u ON u.id = a.scope_grid_id "
    "WHERE s.id = {p} AND a.id = {p}"
)
ACCOUNT = "SELECT id, username, display_name, role, scope_grid_id, phone, active FROM accounts WHERE id = {p}"
TICKET = "SELECT status, version, urge_count FROM tickets WHERE id = {p}"
URGE = (
    "UPDATE tickets SET urge_count = {p}, last_urged_at = {p}, updated_at = {p}, version = {p} "
    "WHERE id = {p} AND version = {p}"
)
URGE_IN_PLACE = (
    "WITH urged AS (UPDATE tickets SET urge_count = urge_count + 1, last_urged_at = {p}, updated_at = {p}, "
    "version = version + 1 WHERE id = {p} RETURNING id, status, version, urge_count) "
    "INSERT INTO ticket_events (ticket_id, actor_id, action, from_status, to_status, note, photo_ids, details, "
    "created_at) SELECT id, {p}, 'urge', status, status, {p}, '[]', '{{}}', {p} FROM urged "
    "RETURNING ticket_id, from_status, (SELECT version FROM urged), (SELECT urge_count FROM urged)"
)
EVENT = (
    "INSERT INTO ticket_events (ticket_id, actor_id, action, from_status, to_status, note, photo_ids, details, "
    "created_at) VALUES ({p}, {p}, 'urge', {p}, {p}, {p}, '[]', '{{}}', {p})"
)


class Database:
    """One connection of this process, on SQLite (sqlite3) or PostgreSQL (psycopg), reads in autocommit."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            import sqlite3

            self.connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON"):
                self.connection.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            self.connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        placeholder = "?" if self.sqlite else "%s"
        self.sql: Callable[[str], str] = lambda text: text.format(p=placeholder)

    def one(self, text: str, parameters: Sequence[Any]) -> Any:
        return self.connection.execute(self.sql(text), parameters).fetchone()

    def run(self, text: str, parameters: Sequence[Any]) -> Any:
        return self.connection.execute(self.sql(text), parameters)


def database() -> Database:
    found = _connections.get(os.getpid())
    if found is None:
        found = _connections[os.getpid()] = Database(_URL)
    return found


def caller() -> int:
    """The caller's account id, from a verified bearer token whose session is live and account active; else 401."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        abort(401)
    token = header.removeprefix("Bearer ")
    claims = _verified.get(token)
    if claims is None:
        try:
            claims = _verified[token] = jwt.decode(token, _SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            abort(401)
    session_id, subject = claims.get("sid"), claims.get("sub")
    if not isinstance(session_id, str) or not (isinstance(subject, str) and subject.isdigit() and len(subject) <= 18):
        abort(401)
    row = database().one(PRINCIPAL, (session_id, int(subject)))
    if row is None or not row[5] or row[6] is not None:  # no such session, the account inactive, or revoked
        abort(401)
    return int(row[0])


@app.get("/healthz")
def healthz() -> dict[str, str]:  # what bench/serve.py waits for
    return {"status": "ok"}


@app.get("/me")
def me() -> dict[str, Any]:
    row = database().one(ACCOUNT, (caller(),))
    return dict(zip(("id", "username", "display_name", "role", "scope_grid_id", "phone", "active"), row, strict=True))


@app.post("/tickets/<int:ticket_id>/urge")
def urge(ticket_id: int) -> dict[str, Any]:
    actor, note = caller(), (request.get_json(silent=True) or {}).get("note")
    now = datetime.now(UTC).replace(tzinfo=None)
    db = database()
    db.run("BEGIN IMMEDIATE" if db.sqlite else "BEGIN", ())  # SQLite: the writer's lock first, waited for
    try:
        found = db.one(TICKET, (ticket_id,))
        if found is None:
            abort(404)
        status, version, urges = found
        db.run(URGE, (urges + 1, now, now, version + 1, ticket_id, version))
        db.run(EVENT, (ticket_id, actor, status, status, note, now))
        db.run("COMMIT", ())
    except BaseException:
        db.run("ROLLBACK", ())
        raise
    return {"id": ticket_id, "status": status, "urge_count": urges + 1, "version": version + 1}


@app.post("/tickets/<int:ticket_id>/urge-together")
def urge_together(ticket_id: int) -> dict[str, Any]:
    actor, note = caller(), (request.get_json(silent=True) or {}).get("note")
    now = datetime.now(UTC).replace(tzinfo=None)
    db = database()
    if db.sqlite:
        abort(404)
    with db.connection.pipeline():
        db.run("BEGIN", ())
        urged = db.run(URGE_IN_PLACE, (now, now, ticket_id, actor, note, now))
        db.run("COMMIT", ())
    found = urged.fetchone()
    if found is None:
        abort(404)
    _id, status, version, urges = found
    return {"id": ticket_id, "status": status, "urge_count": urges, "version": version}
