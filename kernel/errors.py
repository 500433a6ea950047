"""One error hierarchy and one JSON shape for every error, from every layer.

{"error": {"code": "validation_error", "message": "human text", "details": {...}}}
"""

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, jsonify
from marshmallow import Schema, fields
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from kernel.i18n import _, _l
from kernel.validation_messages import localize

log = logging.getLogger("grid.errors")


class AppError(Exception):
    """A failure a client can act on; the status and code come from the subclass."""

    status, code = 500, "internal_error"
    headers: Mapping[str, str] = {}

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message, self.details = message, dict(details or {})


class BadRequestError(AppError):
    status, code = 400, "bad_request"


class UnauthorizedError(AppError):
    status, code = 401, "unauthorized"


class ForbiddenError(AppError):
    status, code = 403, "forbidden"


class NotFoundError(AppError):
    status, code = 404, "not_found"


class ConflictError(AppError):
    status, code = 409, "conflict"


class InvalidTransitionError(ConflictError):
    code = "invalid_transition"


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"


class PreconditionFailedError(AppError):
    status, code = 412, "precondition_failed"


class ValidationError(AppError):
    status, code = 422, "validation_error"


class RateLimitedError(AppError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, {"retry_after": retry_after_seconds})
        self.headers = {"Retry-After": str(max(1, retry_after_seconds))}


class ServiceUnavailableError(AppError):
    status, code = 503, "service_unavailable"
    headers = {"Retry-After": "5"}


# Werkzeug's HTTP errors, by status, mapped onto the codes of API.md.
HTTP_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    503: "service_unavailable",
}


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    """The one error shape; documented on every operation of the OpenAPI document."""

    error = fields.Nested(ErrorBodySchema, required=True)


def error_response(
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    response = jsonify({"error": {"code": code, "message": str(message), "details": localize(dict(details or {}))}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def render_app_error(error: AppError) -> Response:
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def render_http_exception(error: HTTPException) -> Response:
    """Werkzeug and flask-smorest errors, including webargs' 422 keyed by location."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages") or {}
    if status == 422:
        return error_response(422, "validation_error", _("The request is not valid."), flatten_locations(messages))
    if status == 400 and messages:
        # webargs answers malformed JSON with 400 {"json": ["Invalid JSON body."]}
        return error_response(400, "bad_request", _("The request body is not valid JSON."), flatten_locations(messages))
    headers = {k: v for k, v in error.get_headers() if k.lower() in {"allow", "retry-after"}}
    headers.update(data.get("headers") or {})
    if status == 429:
        headers.setdefault("Retry-After", "60")
    return error_response(status, HTTP_CODES.get(status, "error"), _describe(error, status), {}, headers)


def flatten_locations(messages: Mapping[str, Any]) -> dict[str, Any]:
    """{"json": {"name": ["..."]}, "query": {"limit": ["..."]}} -> {"name": [...], "limit": [...]}."""
    details: dict[str, Any] = {}
    for location_messages in messages.values():
        if isinstance(location_messages, Mapping):
            details.update(location_messages)
        else:
            details.setdefault("_body", []).extend(
                location_messages if isinstance(location_messages, list) else [location_messages]
            )
    return details


# Werkzeug's own descriptions are long English paragraphs; these say the same in a sentence people can read.
HTTP_MESSAGES: Mapping[int, str] = {
    400: _l("The request is not valid."),
    401: _l("Log in first."),
    403: _l("You may not do this."),
    404: _l("There is nothing at this address."),
    405: _l("This address does not accept this method."),
    409: _l("The change conflicts with existing data."),
    412: _l("The resource has changed since you read it; fetch it again."),
    413: _l("The request body is too large."),
    414: _l("The request line (method, address and query) is over 8,190 bytes; send less in the query."),
    415: _l("The request body must be JSON (Content-Type: application/json)."),
    428: _l("This change needs an If-Match header with the ETag you last read."),
    429: _l("Too many requests; slow down and retry later."),
    503: _l("The service is unavailable; retry shortly."),
}


def _describe(error: HTTPException, status: int) -> str:
    """Ours for werkzeug's stock texts; a description someone wrote on purpose (already translated) as it is."""
    description = error.description
    if not isinstance(description, str) or description == type(error).description:
        return str(HTTP_MESSAGES.get(status, error.name))
    return description.strip()


def render_unexpected(error: Exception) -> Response:
    """Anything not foreseen: log it with the request id, tell the client nothing internal."""
    if isinstance(error, OperationalError):
        return _render_operational_error(error)
    if isinstance(error, IntegrityError):
        log.warning("integrity error reached the kernel", extra={"request_id": g.get("request_id")})
        return error_response(409, "conflict", _("The change conflicts with existing data."))
    if isinstance(error, StaleDataError):  # a version check lost to a concurrent change of the same row
        return error_response(409, "conflict", _("Someone else changed this at the same moment; fetch it again."))
    log.exception("unexpected error", extra={"request_id": g.get("request_id")})
    return error_response(500, "internal_error", _("An unexpected error occurred; it has been logged."))


def _render_operational_error(error: OperationalError) -> Response:
    pgcode = getattr(getattr(error, "orig", None), "sqlstate", None)
    if pgcode == "55P03":  # lock_not_available: someone else is changing the same rows
        return error_response(409, "conflict", _("The resource is being changed by another request; retry."))
    log.error("database unavailable: %s", type(error.orig).__name__, extra={"request_id": g.get("request_id")})
    return error_response(
        503, "service_unavailable", _("The database is unavailable; retry shortly."), headers={"Retry-After": "5"}
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(AppError, render_app_error)
    app.register_error_handler(HTTPException, render_http_exception)
    app.register_error_handler(Exception, render_unexpected)
