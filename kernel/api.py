"""flask-smorest, adapted to the house conventions: one error shape, pagination in the body."""

import http
import json
import re
from collections.abc import Callable, Mapping
from copy import deepcopy
from datetime import UTC, date, datetime
from typing import Any, NoReturn, TypeVar

import flask_smorest
from apispec import BasePlugin
from flask import Flask, Request, Response, send_from_directory
from marshmallow import RAISE, Schema, fields, pre_load, validate
from marshmallow import ValidationError as MarshmallowValidationError
from swagger_ui_bundle import swagger_ui_path
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from kernel.contract import OPERATION_ID_PREFIXES, OperationIdPlugin, finish_document
from kernel.errors import HTTP_CODES, AppError, ErrorSchema, render_http_exception
from kernel.i18n import _
from kernel.jsonio import load_client_json

F = TypeVar("F", bound=Callable[..., Any])

BEARER_SCHEME = "bearerAuth"


# Declared on every operation: a request line (method, path and query) over 8,190 bytes is refused before any route
# sees it (kernel/limits.py), in the API's error shape.
SERVER_RESPONSES: dict[str, dict[str, Any]] = {
    "414": {
        "description": "The request line (method, path and query) is over 8,190 bytes: `uri_too_long`, before the "
        "route reads anything. Any shorter over-long parameter is the route's 422.",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "example": {
                    "error": {
                        "code": "uri_too_long",
                        "message": "The request line (method, address and query) is over 8,190 bytes; send less "
                        "in the query.",
                        "details": {},
                    }
                },
            }
        },
    },
}


class ServerResponsesPlugin(BasePlugin):
    """Adds `SERVER_RESPONSES` to every operation of the OpenAPI document, once for all routes."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for status, response in SERVER_RESPONSES.items():
                responses.setdefault(status, deepcopy(response))


class HouseApi(flask_smorest.Api):
    """Renders werkzeug/webargs errors in the house shape, keeping headers such as `Allow` on 405."""

    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, *, extra_plugins: Any = None, **options: Any) -> None:
        plugins = [*(extra_plugins or ()), ServerResponsesPlugin(), OperationIdPlugin()]
        super()._init_spec(extra_plugins=plugins, **options)

    def _openapi_json(self) -> Response:
        """The document as served: flask-smorest's, completed by `kernel.contract` for client generators."""
        document = finish_document(self.spec.to_dict(), error_codes(), HTTP_CODES)
        return Response(json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/json")

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        return render_http_exception(error)

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        app.url_map.converters["id"] = IdConverter
        super().init_app(app, *args, **kwargs)
        self.register_converter(IdConverter, lambda _converter: {"type": "string", "pattern": "^[0-9]{1,18}$"})
        self.spec.components.security_scheme(BEARER_SCHEME, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
        self.ma_plugin.map_to_openapi_type(IdField, "string", None)
        self.ma_plugin.converter.add_attribute_function(id_field_to_openapi)
        self.ma_plugin.converter.add_attribute_function(decimal_string_to_openapi)
        _serve_swagger_assets(app)


def error_codes() -> list[str]:
    """Every `error.code` the API answers with: werkzeug's mapped ones and each `AppError` subclass's."""
    found = {*HTTP_CODES.values(), AppError.code}
    pending: list[type[AppError]] = [AppError]
    while pending:
        cls = pending.pop()
        found.add(cls.code)
        pending.extend(cls.__subclasses__())
    return sorted(found)


class IdConverter(BaseConverter):
    """`<id:user_id>` in routes: digits only, so a malformed id is a 404, never a database error."""

    regex = r"[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(value)


# Request headers every operation of a method honours, documented once here.
CONVENTION_HEADERS: dict[str, dict[str, Any]] = {
    "POST": {
        "in": "header",
        "name": "Idempotency-Key",
        "required": False,
        "description": "Replays of the same key and body return the first response (kept 24 hours).",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
    "PATCH": {
        "in": "header",
        "name": "If-Match",
        "required": False,
        "description": "The ETag you last read; 412 when the resource has changed since.",
        "schema": {"type": "string"},
    },
}


class QueryArgs(MultiDict):  # type: ignore[type-arg]
    """The query's parameters, answering `get` of an absent one with its default by a dict lookup: werkzeug's
    MultiDict builds and catches a BadRequestKeyError for each, and marshmallow asks for every field a schema
    declares (fourteen absent ones for the worker's queue)."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # werkzeug's signature
        if not dict.__contains__(self, key):
            return default
        return super().get(key, default, type)


# The hooks whose work on an empty query is nothing: the house base's refusal of unstorable text.
_HOOKS_IDLE_WHEN_EMPTY = frozenset({"refuse_unstorable_text"})


def _constant_when_empty(schema: Any) -> bool:
    """Whether loading an empty query gives the same values every time: a schema (not a dict of fields) whose
    defaults are values, not functions (a date of today), and whose hooks do nothing on an empty query."""
    if not isinstance(schema, Schema):
        return False
    # marshmallow keeps a schema's hooks by kind in `_hooks`: (method name, many, options) each
    hooks = {name for entries in schema._hooks.values() for name, *_rest in entries}
    defaults_fixed = not any(callable(field.load_default) for field in schema.load_fields.values())
    return defaults_fixed and hooks <= _HOOKS_IDLE_WHEN_EMPTY


class StrictParser(FlaskParser):
    """Unknown query parameters are refused like unknown body fields: `?staus=open` is a typo, not a filter. JSON
    bodies are read within `kernel.jsonio`'s limits, and a body that is not JSON within them is 400 saying why."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # schema instance -> its empty query's values, or False: loaded every time
        self._empty_queries: dict[Any, dict[str, Any] | bool] = {}

    def parse(self, argmap: Any, req: Request | None = None, *, location: str | None = None, **kwargs: Any) -> Any:
        """A request without a query string takes its schema's defaults, worked out once per schema where they
        cannot change (`_constant_when_empty`): most reads of one resource send no query, and loading nothing
        through marshmallow cost a ticket's GET more than writing its document."""
        request = req if req is not None else self.get_default_request()
        if location in ("query", "querystring") and not request.query_string and not kwargs.get("validate"):
            defaults = self._empty_queries.get(argmap)
            if defaults is None:  # first seen: worked out once, or False for a schema whose defaults may change
                fixed = _constant_when_empty(argmap)
                loaded = super().parse(argmap, request, location=location, **kwargs) if fixed else False
                defaults = self._empty_queries[argmap] = loaded
            if defaults is not False:
                return dict(defaults)
        return super().parse(argmap, request, location=location, **kwargs)

    def load_querystring(self, req: Request, schema: Any) -> Any:
        """The query, refusing a parameter given twice unless its field takes a list (`?limit=8&limit=false` is
        not "8": the client meant something the API would silently drop)."""
        proxy = self._makeproxy(QueryArgs(req.args), schema)
        repeated = sorted(key for key in req.args if len(req.args.getlist(key)) > 1 and key not in proxy.multiple_keys)
        if repeated:
            messages = {key: ["Given more than once; it takes one value."] for key in repeated}
            abort(422, messages={"query": messages}, schema=schema)
        return proxy

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return load_client_json(req.get_data(cache=True))  # UnicodeDecodeError: webargs' 400, as JSONDecodeError

    def _handle_invalid_json_error(self, error: Exception, req: Request, *args: Any, **kwargs: Any) -> NoReturn:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else f"not UTF-8 text ({error})"
        abort(400, exc=error, messages={"json": [_("Invalid JSON body: %(reason)s.", reason=reason)]})


class Blueprint(flask_smorest.Blueprint):
    # Lists return {"items", "next_cursor"} in the body, never an X-Pagination header.
    PAGINATION_HEADER_NAME = None
    ARGUMENTS_PARSER = StrictParser()

    def __init__(self, name: str, *args: Any, operation_id_prefix: str = "", **kwargs: Any) -> None:
        """`operation_id_prefix` names this blueprint's operations apart where its view names repeat others'."""
        super().__init__(name, *args, **kwargs)
        if operation_id_prefix:
            OPERATION_ID_PREFIXES[name] = operation_id_prefix

    def arguments(self, schema: Any, **kwargs: Any) -> Callable[[F], F]:
        # Given a schema class, webargs builds an instance (deep-copying every field) on each request;
        # an instance built here once serves them all (schemas keep no state between loads).
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)  # type: ignore[no-any-return]

    def route(self, rule: str, *, parameters: Any = None, tags: Any = None, **options: Any) -> Callable[[F], F]:
        register = super().route(rule, parameters=parameters, tags=tags, **options)

        def decorator(function: F) -> F:
            methods = set(options.get("methods", ["GET"]))
            if not getattr(function, "honours_idempotency_key", False):
                methods.discard("POST")  # only authenticated POSTs: keys are kept per account
            headers = [CONVENTION_HEADERS[m] for m in sorted(methods) if m in CONVENTION_HEADERS]
            if headers:
                apidoc = deepcopy(getattr(function, "_apidoc", {}))
                apidoc.setdefault("manual_doc", {}).setdefault("parameters", []).extend(headers)
                function._apidoc = apidoc  # type: ignore[attr-defined]
            return register(function)

        return decorator


def _serve_swagger_assets(app: Flask) -> None:
    """The docs page's scripts and styles, from the installed swagger-ui-bundle, not a CDN."""

    def swagger_asset(filename: str) -> Response:
        return send_from_directory(str(swagger_ui_path), filename, max_age=86400)

    app.add_url_rule("/api/v1/docs/assets/<path:filename>", "swagger_asset", swagger_asset)


def document_responses(function: F, *statuses: int) -> F:
    """Add the house error responses for these statuses to a view's OpenAPI operation."""
    apidoc = deepcopy(getattr(function, "_apidoc", {}))
    responses = apidoc.setdefault("response", {}).setdefault("responses", {})
    for status in statuses:
        name = http.HTTPStatus(status).name
        if name not in responses.setdefault(status, []):
            responses[status].append(name)
    function._apidoc = apidoc  # type: ignore[attr-defined]
    return function


def document_security(function: F) -> F:
    apidoc = deepcopy(getattr(function, "_apidoc", {}))
    apidoc.setdefault("manual_doc", {})["security"] = [{BEARER_SCHEME: []}]
    function._apidoc = apidoc  # type: ignore[attr-defined]
    return function


def documents(*statuses: int) -> Callable[[F], F]:
    """Decorator form of `document_responses`, for errors a view's service may raise."""

    def decorator(function: F) -> F:
        return document_responses(function, *statuses)

    return decorator


# NUL bytes and lone surrogates: JSON can carry them, PostgreSQL text and UTF-8 cannot.
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def _has_unstorable_text(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_UNSTORABLE_TEXT.search(value))
    if isinstance(value, Mapping):
        return any(_has_unstorable_text(k) or _has_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_unstorable_text(item) for item in value)
    return False


class BaseSchema(Schema):
    """House base: unknown fields are refused (422), as API.md asks, and so is text no database can store."""

    class Meta:
        unknown = RAISE

    @pre_load
    def refuse_unstorable_text(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {
                str(key): ["contains a NUL character or invalid Unicode"]
                for key, value in data.items()
                if _has_unstorable_text(key) or _has_unstorable_text(value)
            }
            if errors:
                raise MarshmallowValidationError(errors)
        return data


class IdField(fields.Field):
    """Ids are opaque strings on the wire and integers in the database."""

    default_error_messages = {"invalid": "Not a valid id."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("example", "42")
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = value if isinstance(value, str) else ""  # ids are documented as strings; 42 is refused
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise self.make_error("invalid")
        return int(text)


class FullMatch(validate.Regexp):
    """A Regexp the whole value must match: Python's `$` would also let a trailing newline through."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise MarshmallowValidationError(self._format_error(value))
        return value


class Day(fields.Date):
    """A calendar day a period is counted around: years 1900 to 9998, so that the Beijing-time month, quarter or
    year holding it (and the instants it starts and ends at) exist; 0001-01-01 is a 422, not an overflow."""

    EARLIEST, LATEST = date(1900, 1, 1), date(9998, 12, 31)

    def __init__(self, **kwargs: Any) -> None:
        given = kwargs.pop("validate", None)
        validators = [given] if callable(given) else list(given or [])
        super().__init__(validate=[validate.Range(min=self.EARLIEST, max=self.LATEST), *validators], **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON `true` or `false` only, as documented: 0, 1 or "yes" in a body are a client bug, not an answer."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class StrictFloat(fields.Float):
    """A JSON number only, as documented: "32.99" in a body is refused, not converted."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class StrictId(IdField):
    """An id as the documented string of digits; a bare JSON number is refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def format_timestamp(value: datetime | None) -> str | None:
    """A time as the API writes it: UTC with a `Z` (`2026-11-22T06:30:00Z`); None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Timestamp(fields.AwareDateTime):
    """Times in UTC with a `Z`, as API.md shows them (`2026-11-22T06:30:00Z`); any offset accepted on input.

    A time without an offset (`2026-12-06 13:40:00`) is refused (422 naming the field), not read as UTC: a
    phone writing Beijing time without one would otherwise be eight hours off, silently.
    """

    default_error_messages = {"invalid_awareness": "Not a valid time with an offset (Z or +08:00)."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=None, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return format_timestamp(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        try:
            return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)
        except OverflowError:  # year 1 at +05:00 cannot be brought to UTC: a 422, not a crash
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None


def id_field_to_openapi(converter: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    if isinstance(field, IdField):
        return {"type": "string", "pattern": "^[0-9]{1,18}$"}
    return {}


def decimal_string_to_openapi(converter: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """A Decimal written `as_string` ("1.00") is a string on the wire, not the number apispec says."""
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}
    return {}


class PageQuerySchema(BaseSchema):
    """`?limit=` and `?cursor=`, shared by every list."""

    limit = fields.Integer(
        load_default=20, validate=validate.Range(min=1, max=100), metadata={"description": "1 to 100"}
    )
    cursor = fields.String(validate=validate.Length(max=512), metadata={"description": "opaque, from next_cursor"})


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """The list envelope {"items": [...], "next_cursor": ...} for an item schema."""
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(required=True, allow_none=True),
        },
    )
