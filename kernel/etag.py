"""ETags computed from the bytes a client receives, so GET and If-Match agree by construction; a GET whose body
is costly to write may instead give a digest of what it is written from (`json_text_response`), to answer 304
without writing it.

Flask's JSON provider sorts keys, so one representation always serializes to the same bytes.
"""

import hashlib
import time
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from werkzeug.http import http_date, quote_etag

from kernel.errors import PreconditionFailedError
from kernel.i18n import _

F = TypeVar("F", bound=Callable[..., Any])


def etag_of(representation: Mapping[str, Any] | list[Any]) -> str:
    """The ETag of a representation as it would be sent."""
    return _digest(current_app.json.response(representation).get_data())


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def quoted_etag_of_body(body: bytes) -> str:
    """The ETag header's value for these bytes, as `add_etag` would write it: for a body that never changes,
    computed once rather than on every response."""
    return quote_etag(_digest(body))


def check_if_match(current_representation: Mapping[str, Any]) -> None:
    """412 when the client's If-Match names another version than the current one; no header: go on."""
    if not request.if_match:
        return
    if request.if_match.star_tag:
        return
    if not request.if_match.contains(etag_of(current_representation)):
        raise PreconditionFailedError(
            _("The resource has changed since you read it; fetch it again and retry."),
            {"etag": etag_of(current_representation)},
        )


def checks_if_match(current: Callable[..., Mapping[str, Any]]) -> Callable[[F], F]:
    """A PATCH view that honours If-Match: `current(**path_args)` is the resource as a GET would send it, read
    only when the client sent If-Match. Put it below `@blp.arguments`, so a malformed body is 422 first."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.if_match:
                check_if_match(current(**kwargs))
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def json_text_response(etag: str, body: Callable[[], str]) -> Response:
    """A GET whose ETag is known before its body (a digest of what the body is written from): 304 without
    writing the body when the client holds it, else the JSON text `body()` with that ETag."""
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(body(), mimetype="application/json")
    response.set_etag(etag)
    response.headers["Date"] = _http_date_now()
    return response


def register_etags(app: Flask) -> None:
    @app.after_request
    def add_etag(response: Response) -> Response:
        method = request.method
        if method not in {"GET", "PATCH"} or response.status_code != 200 or not _is_json(response):
            return response
        # The names the response has (werkzeug would raise inside to say one is missing): an ETag unless the view
        # knew it (json_text_response), which also wrote a Date.
        names = {key for key, _value in response.headers}
        if "ETag" not in names:
            response.set_etag(_digest(response.get_data()))
        if method != "GET":
            return response
        environ = request.environ  # the headers that can make a GET 304 or 412 (`make_conditional`, without Range)
        if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ or "HTTP_IF_RANGE" in environ:
            return response.make_conditional(request)
        # What `make_conditional` does to a GET that asks nothing: a Date header (the body's length is set).
        if "Date" in names:
            response.headers["Date"] = _http_date_now()
        else:
            response.headers.add("Date", _http_date_now())
        return response


def _is_json(response: Response) -> bool:
    """`response.is_json`, without parsing the Content-Type the JSON provider wrote itself."""
    return response.content_type == "application/json" or response.is_json


_date_now: list[Any] = [0, ""]  # the second and its HTTP date


def _http_date_now() -> str:
    """The current HTTP date, written once a second (it names whole seconds)."""
    now = int(time.time())
    if _date_now[0] != now:
        _date_now[:] = [now, http_date(now)]
    return _date_now[1]
