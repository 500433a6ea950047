"""ETags computed from the bytes a client receives, so GET and If-Match agree by construction.

Flask's JSON provider sorts keys, so one representation always serializes to the same bytes.
"""

import hashlib
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, request

from kernel.errors import PreconditionFailedError


def etag_of(representation: Mapping[str, Any] | list[Any]) -> str:
    """The ETag of a representation as it would be sent."""
    return _digest(current_app.json.response(representation).get_data())


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def check_if_match(current_representation: Mapping[str, Any]) -> None:
    """412 when the client's If-Match names another version than the current one; no header: go on."""
    if not request.if_match:
        return
    if request.if_match.star_tag:
        return
    if not request.if_match.contains(etag_of(current_representation)):
        raise PreconditionFailedError(
            "The resource has changed since you read it; fetch it again and retry.",
            {"etag": etag_of(current_representation)},
        )


def register_etags(app: Flask) -> None:
    @app.after_request
    def add_etag(response: Response) -> Response:
        if request.method not in {"GET", "PATCH"} or response.status_code != 200 or not response.is_json:
            return response
        response.set_etag(_digest(response.get_data()))
        return response.make_conditional(request) if request.method == "GET" else response
