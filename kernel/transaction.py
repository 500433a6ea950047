"""One request, one transaction: commit once when the view succeeded, roll back otherwise.

Reads (GET, HEAD) are the exception, for speed (docs/PERFORMANCE.md, "Fifth pass"):
- On PostgreSQL a read runs each statement on its own (autocommit): no BEGIN, no ROLLBACK, two round trips fewer
  per request. Under READ COMMITTED each statement of a transaction sees its own snapshot anyway, so a read sees
  what it saw before. A read view that writes (an export recording who saw full phone numbers) or streams rows
  through a server-side cursor says so with `@read_in_transaction` and keeps one transaction.
- A read that changed nothing is not committed: the teardown's close ends its transaction, and the commit would
  only have cost its bookkeeping (about 4 % of an authenticated read). "Changed nothing" is what the session saw:
  no pending object, nothing flushed, no record or versioned row waiting for the commit (`kernel.records`).

Under test a read that wrote without `@read_in_transaction` is a 500 naming the route: through the session on
either database, or past it (`session.execute(update(...))`) as far as SQLite's driver can tell.
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import UnsupportedMediaType

from kernel import records, replica
from kernel.errors import BadRequestError, render_unexpected
from kernel.extensions import db
from kernel.i18n import _

log = logging.getLogger("grid.transaction")
F = TypeVar("F", bound=Callable[..., Any])
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
READ_METHODS = frozenset({"GET", "HEAD"})


def accepts(*mimetypes: str) -> Callable[[F], F]:
    """Let a view take bodies other than JSON (e.g. multipart uploads)."""

    def decorator(view: F) -> F:
        view.accepted_mimetypes = frozenset(mimetypes)  # type: ignore[attr-defined]
        return view

    return decorator


def read_in_transaction(view: F) -> F:
    """Run this read view (GET, HEAD) in one transaction, as writes are: for a read that writes, or that streams
    rows through a server-side cursor (`yield_per`). Put it next to the function."""
    view.read_in_transaction = True  # type: ignore[attr-defined]
    return view


def register_transaction_boundary(app: Flask) -> None:
    @app.before_request
    def refuse_nameless_query_parameters() -> None:
        # werkzeug silently drops "?=x"; refuse it like any other malformed parameter.
        if any(pair.partition(b"=")[0] == b"" for pair in request.query_string.split(b"&") if pair):
            raise BadRequestError(_("A query parameter has no name."), {"query": [_("parameter without a name")]})

    @app.before_request
    def refuse_unsupported_bodies() -> None:
        if request.method not in BODY_METHODS or not _has_body():
            return
        view = current_app.view_functions.get(request.endpoint or "")
        allowed = getattr(view, "accepted_mimetypes", frozenset({"application/json"}))
        if request.mimetype not in allowed and not (
            "application/json" in allowed and request.mimetype.endswith("+json")
        ):
            raise UnsupportedMediaType(f"Send the body as {' or '.join(sorted(allowed))}.")

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):

        @app.before_request
        def read_statement_by_statement() -> None:
            if request.method in READ_METHODS and not _view_reads_in_transaction():
                replica.run_reads_in_autocommit()

    guard_reads = app.testing

    @app.after_request
    def commit_or_roll_back(response: Response) -> Response:
        if not db.session.registry.has():  # the request never opened a session: nothing to end
            return response
        if response.status_code >= 400:
            db.session.rollback()
            return response
        if request.method in READ_METHODS:
            if guard_reads and not _view_reads_in_transaction():
                _refuse_writes(db.session())
            if _changed_nothing(db.session()):
                return response
        try:
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            g.commit_failed = True
            return render_unexpected(error)
        return response


def _changed_nothing(session: Session) -> bool:
    return not (records.pending(session) or session.new or session.dirty or session.deleted)


def _view_reads_in_transaction() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "read_in_transaction", False)


def _refuse_writes(session: Session) -> None:
    """Under test: a read that wrote must say so (`@read_in_transaction`), or on PostgreSQL its statements would
    each be committed alone; one that wrote past the session would not be committed at all (SQLite tells)."""
    where = f"{request.method} {request.path}"
    if not _changed_nothing(session):
        raise RuntimeError(f"{where} wrote without @read_in_transaction: its statements would be committed one by one")
    if not session.in_transaction():
        return
    dbapi_connection = session.connection().connection.dbapi_connection
    if getattr(dbapi_connection, "in_transaction", False):  # sqlite3's flag: a statement other than SELECT ran
        raise RuntimeError(f"{where} wrote past the session: its write would not be committed")


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "") == "chunked"
