"""The OpenAPI document as app teams generate clients from it: one pass over the document flask-smorest builds.

Rules here apply to every operation and schema, so a new route gets them without declaring anything:
- `operationId`: the view function's name in camelCase (`accept_ticket` → `acceptTicket`), prefixed by the
  blueprint's `operation_id_prefix` where a protocol reuses names (`open311CreateRequest`);
- a nullable reference is `{allOf: [$ref], nullable: true}` (apispec's `anyOf` puts an empty object first, and
  generators then never build the referenced model); a nullable enum gets the type of its values;
- `x-any-of` in a field's metadata adds alternatives (`anyOf`) to the field's own schema;
- shared enums (`shared_enum`) are components that inline copies of the same set are replaced by;
- `required` on every property of a schema only ever sent (never read from a request): the server always sends
  every field of its response schemas, and `tests/contract/test_responses_match.py` holds that to the real responses;
- conditional-request headers, `ETag`, `Retry-After` and `X-Request-ID`, binary bodies readable as octet-stream;
- `security: []` on public operations, summaries of at most 100 characters, `servers`, contact and licence.
"""

import re
from collections.abc import Iterator, Mapping
from copy import deepcopy
from http import HTTPStatus
from typing import Any, Final

from apispec import BasePlugin

SUMMARY_MAX: Final = 100
SUMMARY_MIN: Final = 20
OCTET_STREAM: Final = "application/octet-stream"
HTTP_METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# Blueprint name → operationId prefix, for protocols whose view names repeat ours (open311's `create_request`).
OPERATION_ID_PREFIXES: dict[str, str] = {}

# Enum component name → its values, declared at start-up by the composition root (bootstrap/contract.py).
SHARED_ENUMS: dict[str, list[str]] = {}

# The description is the app's own (kernel.config.DOCS_INTRODUCTION, in Chinese for the docs page's readers).
INFO: Final = {
    "contact": {"name": "Grid platform team", "email": "grid-platform@example.org"},
    "license": {"name": "Proprietary: for the city's own applications"},
}
SERVERS: Final = [{"url": "/", "description": "This server (clients give their own base URL)."}]

HEADERS: Final = {
    "ETag": {
        "description": "The representation's version: send it back as `If-None-Match` (304 when unchanged) or "
        "`If-Match` (412 when it has changed since).",
        "schema": {"type": "string", "example": '"3f2a9c"'},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1, "example": 5},
    },
    "X-Request-ID": {
        "description": "The request's id in the server's logs (the one the client sent, or a new one).",
        "schema": {"type": "string", "example": "4367ccd8b0454035b6330aa910a868d2"},
    },
}
IF_NONE_MATCH: Final = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "description": "The ETag you last read: 304 with no body when it is still current.",
    "schema": {"type": "string"},
}
IF_MATCH: Final = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "The ETag you last read; 412 when the resource has changed since.",
    "schema": {"type": "string"},
}
RETRYABLE_STATUSES: Final = ("429", "503")


def shared_enum(name: str, values: Any) -> list[str]:
    """Declare an enum component once (`TicketStatus`); inline copies of the same set of values refer to it."""
    listed = [getattr(value, "value", value) for value in values]
    SHARED_ENUMS[name] = listed
    return listed


def operation_id(endpoint: str, method: str, methods: int = 1) -> str:
    """`tickets.accept_ticket` → `acceptTicket`; a view serving several methods gets the method first."""
    blueprint, _, view = endpoint.rpartition(".")
    words = [OPERATION_ID_PREFIXES.get(blueprint, ""), method if methods > 1 else "", *view.split("_")]
    words = [word for word in words if word]
    return words[0].lower() + "".join(word[:1].upper() + word[1:] for word in words[1:])


class OperationIdPlugin(BasePlugin):
    """Names every operation of the document by `operation_id`, unless its route declared one."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        methods = [method for method in operations if method in HTTP_METHODS]
        for method in methods:
            operations[method].setdefault("operationId", operation_id(rule.endpoint, method, len(methods)))


TRANSITION_DETAILS: Final = {
    "type": "object",
    "description": "`invalid_transition`'s details: the action is not allowed in the ticket's state (`status`) "
    "or not now (`reason`); `allowed_actions` are those the caller may take instead.",
    "properties": {
        "status": {"type": "string", "description": "the ticket's status", "x-optional": True},
        "reason": {"type": "string", "description": "why not now", "x-optional": True},
        "allowed_actions": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["allowed_actions"],
}
FIELD_ERRORS: Final = {
    "type": "object",
    "description": "Other errors' details, `validation_error`'s first: each field's name (`_body` for the body as a "
    "whole) with its messages, a list of texts, or an object of the same kind for a nested field (keyed by index "
    "for a list). A few carry a value instead: `etag` (412: the current ETag), `retry_after` (429: seconds to "
    "wait), `status` (409: the state that forbids the change).",
    "additionalProperties": {
        "oneOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object"},
            {"type": "string"},
            {"type": "integer"},
        ],
    },
    "example": {"priority": ["Must be one of: normal, urgent."]},
}


def finish_document(
    document: dict[str, Any], error_codes: list[str], codes_by_status: Mapping[int, str]
) -> dict[str, Any]:
    """The document flask-smorest built, completed by the rules above (a copy; the input is left as it is)."""
    doc = deepcopy(document)
    doc["info"] = {**INFO, **doc.get("info", {})}
    doc.setdefault("servers", deepcopy(SERVERS))
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("PaginationMetadata", None)  # flask-smorest's page header, which the house lists do not use
    _type_error_codes(schemas, error_codes)
    components.setdefault("headers", {}).update(deepcopy(HEADERS))
    _complete_component_responses(components.get("responses", {}), codes_by_status)
    for item in doc.get("paths", {}).values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                _complete_operation(operation)
    _walk_schemas(doc)
    _declare_enums(schemas)  # after the walk, which would make each a reference to itself
    _require_what_is_always_sent(doc)
    return doc


def _declare_enums(schemas: dict[str, Any]) -> None:
    for name, values in SHARED_ENUMS.items():
        schemas[name] = {"type": "string", "enum": list(values)}


def _type_error_codes(schemas: dict[str, Any], error_codes: list[str]) -> None:
    body = schemas.get("ErrorBody")
    if body is None:
        return
    body["properties"]["code"] = {"allOf": [{"$ref": "#/components/schemas/ErrorCode"}]}
    schemas["ErrorCode"] = {
        "type": "string",
        "enum": sorted(set(error_codes)),
        "description": "What went wrong, for programs; `message` says it for people, in their language.",
    }
    body["properties"]["details"] = {
        "anyOf": [{"$ref": "#/components/schemas/TransitionDetails"}, {"$ref": "#/components/schemas/FieldErrors"}]
    }
    schemas["TransitionDetails"] = deepcopy(TRANSITION_DETAILS)
    schemas["FieldErrors"] = deepcopy(FIELD_ERRORS)


def _complete_component_responses(responses: dict[str, Any], codes_by_status: Mapping[int, str]) -> None:
    for status_name, response in responses.items():
        json_body = response.get("content", {}).get("application/json")
        if json_body is not None:
            status = HTTPStatus[status_name].value if status_name in HTTPStatus.__members__ else 500
            code = codes_by_status.get(status, "internal_error")
            message = f"{HTTPStatus(status).phrase}." if status != 500 else "An unexpected error occurred."
            json_body.setdefault("example", {"error": {"code": code, "message": message, "details": {}}})
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
        if status_name in ("TOO_MANY_REQUESTS", "SERVICE_UNAVAILABLE"):
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}


def _complete_operation(operation: dict[str, Any]) -> None:
    operation.setdefault("security", [])
    _shorten_summary(operation)
    responses = operation.get("responses", {})
    parameters = operation.setdefault("parameters", [])
    names = {parameter.get("name") for parameter in parameters}
    if "304" in responses and "If-None-Match" not in names:
        parameters.append(deepcopy(IF_NONE_MATCH))
    if "412" in responses and "If-Match" not in names:
        parameters.append(deepcopy(IF_MATCH))
    if not parameters:
        del operation["parameters"]
    versioned = "304" in responses or "412" in responses
    for status, response in responses.items():
        if "$ref" in response:  # components are completed once
            continue
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
        if versioned and status.startswith("2") and response.get("content"):
            headers["ETag"] = {"$ref": "#/components/headers/ETag"}
        if status in RETRYABLE_STATUSES:
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        _readable_as_bytes(response.get("content", {}))


def _shorten_summary(operation: dict[str, Any]) -> None:
    """A summary over 100 characters becomes the description; the summary keeps its first clause that says
    something (at least 20 characters: not `退单` alone), or its first 100 characters cut at a word."""
    summary = operation.get("summary", "")
    if len(summary) <= SUMMARY_MAX:
        return
    description = operation.get("description", "")
    operation["description"] = f"{summary}\n\n{description}".strip()
    ends = [match.start() for match in re.finditer(r"[.;:](?=\s)", summary)]
    clauses = [summary[:end] for end in ends if SUMMARY_MIN <= end <= SUMMARY_MAX and _balanced(summary[:end])]
    if clauses:
        operation["summary"] = clauses[0]
    else:
        operation["summary"] = summary[: SUMMARY_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _balanced(text: str) -> bool:
    """Not cut inside parentheses or a `code` span."""
    return text.count("(") == text.count(")") and text.count("`") % 2 == 0


def _readable_as_bytes(content: dict[str, Any]) -> None:
    """Binary bodies (photos, workbooks) also listed as octet-stream, the type every generator reads as bytes."""
    binary = [media for media in content.values() if media.get("schema", {}).get("format") == "binary"]
    if binary and OCTET_STREAM not in content:
        content[OCTET_STREAM] = deepcopy(binary[0])


def _walk_schemas(node: Any) -> None:
    if isinstance(node, dict):
        _widen(node)
        _fix_nullable(node)
        _refer_to_shared_enum(node)
        for value in node.values():
            _walk_schemas(value)
    elif isinstance(node, list):
        for value in node:
            _walk_schemas(value)


def _widen(schema: dict[str, Any]) -> None:
    """`x-any-of` in a field's metadata: other schemas the value may be instead (a ticket's tombstone)."""
    others = schema.pop("x-any-of", None)
    if others:
        first = schema.pop("allOf", None) or [{"$ref": schema.pop("$ref")}]
        schema["anyOf"] = [*first, *others]


def _fix_nullable(schema: dict[str, Any]) -> None:
    """apispec's `anyOf: [{type: object, nullable: true}, {$ref}]` → `allOf: [{$ref}], nullable: true`."""
    options = schema.get("anyOf")
    if isinstance(options, list) and len(options) == 2:
        placeholder = {"type": "object", "nullable": True}
        others = [option for option in options if option != placeholder]
        if len(others) == 1 and "$ref" in others[0]:
            del schema["anyOf"]
            schema["allOf"] = others
            schema["nullable"] = True
    if "type" not in schema and isinstance(schema.get("enum"), list):  # marshmallow's Enum fields have none
        kinds = {_json_type(value) for value in schema["enum"] if value is not None}
        if len(kinds) == 1:
            schema["type"] = kinds.pop()
    if schema.get("nullable") and not {"type", "allOf", "anyOf", "oneOf", "$ref"} & set(schema):
        del schema["nullable"]  # any value (a `Raw` field): null included without saying so


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _refer_to_shared_enum(schema: dict[str, Any]) -> None:
    values = schema.get("enum")
    if not isinstance(values, list) or schema.get("type") not in (None, "string"):
        return
    given = {value for value in values if value is not None}
    for name, shared in SHARED_ENUMS.items():
        if given == set(shared) and len(given) == len(shared):
            nullable = None in values or schema.get("nullable", False)
            for key in ("enum", "type", "nullable"):
                schema.pop(key, None)
            ref = {"$ref": f"#/components/schemas/{name}"}
            if nullable:
                schema.update(allOf=[ref], nullable=True)
            elif schema:  # a description or default beside a $ref would be ignored: allOf keeps them
                schema["allOf"] = [ref]
            else:
                schema.update(ref)
            return


def _require_what_is_always_sent(doc: dict[str, Any]) -> None:
    """Every property of a component that no request body or parameter uses is required: responses send them all.
    A property a response may leave out says so with `x-optional: true` in its field's metadata."""
    schemas = doc["components"]["schemas"]
    read = _components_read_from_requests(doc)
    for name in set(schemas) - read:
        schema = schemas[name]
        properties = schema.get("properties")
        if schema.get("type") != "object" or not properties:
            continue
        always = [key for key, value in properties.items() if not value.get("x-optional")]
        schema["required"] = sorted(set(schema.get("required", [])) | set(always))


def _components_read_from_requests(doc: dict[str, Any]) -> set[str]:
    roots: list[Any] = []
    for item in doc.get("paths", {}).values():
        roots.extend(item.get("parameters", []))
        for method, operation in item.items():
            if method in HTTP_METHODS:
                roots.extend(operation.get("parameters", []))
                roots.append(operation.get("requestBody", {}))
    seen: set[str] = set()
    pending = [name for root in roots for name in _refs(root)]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(_refs(doc["components"]["schemas"].get(name, {})))
    return seen


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)
