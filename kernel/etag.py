"""ETags computed from the representation a client sees, so GET and If-Match agree by construction."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from kernel.errors import PreconditionFailedError


def etag_of(representation: Mapping[str, Any] | list[Any]) -> str:
    canonical = json.dumps(representation, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


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
        response.set_etag(etag_of(response.get_json()))
        return response.make_conditional(request) if request.method == "GET" else response
