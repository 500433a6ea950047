"""One request, one transaction: commit once when the view succeeded, roll back otherwise.

A read (GET, HEAD) that changed nothing is not committed: the teardown's close ends its transaction, and the commit
would only have cost its bookkeeping (about 4 % of an authenticated read, docs/PERFORMANCE.md). "Changed nothing"
is what the session saw: no pending object, nothing flushed, no record or versioned row waiting for the commit
(`kernel.records`). A read that writes, such as an export recording who saw full phone numbers, is committed as
before. A statement run past the session (`session.execute(update(...))`) is invisible to that check, so a read
must write through the session or `kernel.records`; under test, on SQLite, a read that opened a write
transaction anyway is a 500 that names the route.
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import UnsupportedMediaType

from kernel import records
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

    guard_reads = app.testing

    @app.after_request
    def commit_or_roll_back(response: Response) -> Response:
        if not db.session.registry.has():  # the request never opened a session: nothing to end
            return response
        if response.status_code >= 400:
            db.session.rollback()
            return response
        if request.method in READ_METHODS and _changed_nothing(db.session()):
            if guard_reads:
                _refuse_unseen_writes(db.session())
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


def _refuse_unseen_writes(session: Session) -> None:
    """Under test: a read that wrote past the session would lose the write on PostgreSQL (SQLite says so)."""
    if not session.in_transaction():
        return
    dbapi_connection = session.connection().connection.dbapi_connection
    if getattr(dbapi_connection, "in_transaction", False):  # sqlite3's flag: a statement other than SELECT ran
        raise RuntimeError(f"{request.method} {request.path} wrote past the session: its write would not be committed")


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "") == "chunked"
