"""One request, one transaction: commit once when the view succeeded, roll back otherwise."""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import UnsupportedMediaType

from kernel.errors import BadRequestError, render_unexpected
from kernel.extensions import db
from kernel.i18n import _

log = logging.getLogger("grid.transaction")
F = TypeVar("F", bound=Callable[..., Any])
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


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

    @app.after_request
    def commit_or_roll_back(response: Response) -> Response:
        if not db.session.registry.has():  # the request never opened a session: nothing to end
            return response
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            g.commit_failed = True
            return render_unexpected(error)
        return response


def _has_body() -> bool:
    return bool(request.content_length) or request.headers.get("Transfer-Encoding", "") == "chunked"
