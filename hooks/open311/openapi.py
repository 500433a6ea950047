"""How the Open311 operations appear in the OpenAPI document: form-encoded bodies, both formats of every answer
(the XML has the same fields under the spec's element names), and the Open311 error list for every error.

Each documented constraint is one the parameters are held to (hooks.open311.params), so a request the document
calls malformed is refused."""

from typing import Any, Final

from hooks.open311 import statuses
from hooks.open311.params import W3C_TIME
from tasks.categories.attributes import Datatype

FORMAT_PARAMETER: Final = {
    "in": "path",
    "name": "response_format",
    "required": True,
    "description": "`xml` (the spec's required format) or `json`",
    "schema": {"type": "string", "enum": ["xml", "json"]},
}
SERVICE_CODE_PARAMETER: Final = {
    "in": "path",
    "name": "service_code",
    "required": True,
    "description": "a service's code (a category code, e.g. CITY.GARBAGE)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 64},
}
REQUEST_ID_PARAMETER: Final = {
    "in": "path",
    "name": "service_request_id",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "in": "query",
        "name": name,
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


JURISDICTION: Final = _query("jurisdiction_id", "optional; 404 when it names another jurisdiction than this one's")
DATES: Final = [
    _query(
        "start_date",
        "earliest time, e.g. 2026-12-01T00:00:00+08:00 (default: 90 days before end_date)",
        pattern=W3C_TIME,
    ),
    _query(
        "end_date",
        "latest time (default: now, or 90 days after start_date); at most 90 days after start_date",
        pattern=W3C_TIME,
    ),
]
REQUEST_FILTERS: Final = [
    JURISDICTION,
    _query(
        "service_request_id",
        "comma-separated ids; overrides every other filter",
        pattern="^$|^[0-9]{1,18}(,[0-9]{1,18})*$",
    ),
    _query("service_code", "comma-separated service codes", maxLength=2000),
    *DATES,
    _query("status", "`open`, `closed` or both, comma-separated", pattern="^$|^(open|closed)(,(open|closed))*$"),
]
UPDATE_FILTERS: Final = [JURISDICTION, _query("api_key", "accepted, not needed"), *DATES]


def _nullable(kind: str = "string", **more: Any) -> dict[str, Any]:
    return {"type": kind, "nullable": True, **more}


SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "Open311Error": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "xml": {"name": "error"},
    },
    "Open311Errors": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Open311Error"},
        "xml": {"name": "errors", "wrapped": True},
    },
    "Open311Discovery": {
        "type": "object",
        "required": ["changeset", "contact", "key_service", "endpoints"],
        "properties": {
            "changeset": {"type": "string", "format": "date-time"},
            "contact": {"type": "string"},
            "key_service": {"type": "string"},
            "endpoints": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["specification", "url", "changeset", "type", "formats"],
                    "properties": {
                        "specification": {"type": "string"},
                        "url": {"type": "string"},
                        "changeset": {"type": "string", "format": "date-time"},
                        "type": {"type": "string", "enum": ["production", "test"]},
                        "formats": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
        "xml": {"name": "discovery"},
    },
    "Open311Service": {
        "type": "object",
        "required": ["service_code", "service_name", "metadata", "type"],
        "properties": {
            "service_code": {"type": "string"},
            "service_name": {"type": "string"},
            "description": _nullable(),
            "metadata": {"type": "boolean", "description": "true: GET its service definition for its questions"},
            "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
            "keywords": _nullable(),
            "group": _nullable(description="the parent category's name"),
        },
        "xml": {"name": "service"},
    },
    "Open311ServiceDefinition": {
        "type": "object",
        "required": ["service_code", "attributes"],
        "properties": {
            "service_code": {"type": "string"},
            "attributes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["variable", "code", "datatype", "required"],
                    "properties": {
                        "variable": {"type": "boolean"},
                        "code": {"type": "string"},
                        "datatype": {"type": "string", "enum": [datatype.value for datatype in Datatype]},
                        "required": {"type": "boolean"},
                        "datatype_description": _nullable(),
                        "order": _nullable("integer"),
                        "description": _nullable(),
                        "values": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["key", "name"],
                                "properties": {"key": {"type": "string"}, "name": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
        "xml": {"name": "service_definition"},
    },
    "Open311Request": {
        "type": "object",
        "required": ["service_request_id", "status", "service_code", "requested_datetime"],
        "properties": {
            "service_request_id": {"type": "string"},
            "status": {"type": "string", "enum": [statuses.OPEN, statuses.CLOSED]},
            "status_notes": _nullable(),
            "service_name": _nullable(),
            "service_code": {"type": "string"},
            "description": _nullable(maxLength=4000),
            "agency_responsible": _nullable(description="the owning unit's name"),
            "service_notice": _nullable(),
            "requested_datetime": {"type": "string", "format": "date-time"},
            "updated_datetime": _nullable(format="date-time"),
            "expected_datetime": _nullable(format="date-time", description="the resolution deadline"),
            "address": _nullable(),
            "address_id": _nullable(description="the code of the grid unit the request was routed to"),
            "zipcode": _nullable(),
            "lat": _nullable("number", description="WGS-84"),
            "long": _nullable("number", description="WGS-84"),
            "media_url": _nullable(description="the media URL the client gave"),
        },
        "xml": {"name": "request"},
    },
    "Open311Created": {
        "type": "object",
        "required": ["service_request_id"],
        "properties": {
            "service_request_id": {"type": "string"},
            "service_notice": _nullable(),
            "account_id": _nullable(description="always empty: residents have no accounts here"),
        },
        "xml": {"name": "request"},
    },
    "Open311Update": {
        "type": "object",
        "required": ["update_id", "service_request_id", "status", "updated_datetime", "description"],
        "properties": {
            "update_id": {"type": "string"},
            "service_request_id": {"type": "string"},
            "status": {"type": "string", "enum": list(statuses.ALL_EXTENDED)},
            "updated_datetime": {"type": "string", "format": "date-time"},
            "description": {"type": "string"},
            "media_url": _nullable(),
        },
        "xml": {"name": "request_update"},
    },
    "Open311UpdateCreated": {
        "type": "object",
        "required": ["update_id"],
        "properties": {"update_id": {"type": "string"}},
        "xml": {"name": "request_update"},
    },
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def list_of(name: str, root: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name), "xml": {"name": root, "wrapped": True}}


def _both(schema: dict[str, Any], json_schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"application/json": {"schema": json_schema or schema}, "text/xml": {"schema": schema}}


ERRORS: Final = {
    "400": {
        "description": "anything else that keeps the request from being served",
        "content": _both(ref("Open311Errors")),
    },
    "404": {
        "description": "an unknown service, request or format, or another jurisdiction (a path that matches no "
        "Open311 route at all gets the API's usual error)",
        "content": _both(ref("Open311Errors"), {"oneOf": [ref("Open311Errors"), ref("Error")]}),
    },
    "429": {
        "description": "too many requests from this address or with this key; see Retry-After",
        "content": _both(ref("Open311Errors")),
    },
}
FORBIDDEN: Final = {
    "403": {"description": "api_key is missing or not valid", "content": _both(ref("Open311Errors"))},
}


def operation(ok: dict[str, Any], description: str, *, forbidden: bool = False) -> dict[str, Any]:
    """The `responses` of an operation answering `ok` (a schema) with 200."""
    responses = {"200": {"description": description, "content": _both(ok)}, **ERRORS}
    return {"responses": {**responses, **(FORBIDDEN if forbidden else {})}}


def form_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": {"type": "string"},
    }
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}}


def _text(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **more}


REQUEST_FORM: Final = form_body(
    {
        "api_key": _text("an integration's API key (the X-Api-Key of POST /api/v1/hooks/requests)"),
        "jurisdiction_id": _text("optional"),
        "service_code": _text("from GET /services"),
        "lat": {"type": "number", "minimum": -90, "maximum": 90, "description": "WGS-84, with long"},
        "long": {"type": "number", "minimum": -180, "maximum": 180, "description": "WGS-84, with lat"},
        "address_string": _text("the place in words; alone, the request goes to the key's area", maxLength=200),
        "address_id": _text("a grid unit's code", maxLength=64),
        "email": _text("not kept"),
        "device_id": _text("with the body, makes a retry within minutes file nothing new", maxLength=255),
        "account_id": _text("not kept"),
        "first_name": _text("kept for the handlers, never shown", maxLength=255),
        "last_name": _text("kept for the handlers, never shown", maxLength=255),
        "phone": _text("a mainland number gets the intake's SMS; kept for the handlers, never shown", maxLength=255),
        "description": _text("the service's name when absent", maxLength=4000),
        "media_url": _text("a link to a photo", maxLength=2000),
    },
    ["api_key", "service_code"],
)
UPDATE_FORM: Final = form_body(
    {
        "api_key": _text("an integration's API key"),
        "jurisdiction_id": _text("optional"),
        "service_request_id": _text("the request commented on", pattern="^[0-9]{1,18}$"),
        "update_id": _text("the client's own id of the update: sent again, it files nothing new", maxLength=64),
        "status": _text("the status the resident gives (recorded, not applied)", enum=list(statuses.ALL_EXTENDED)),
        "updated_datetime": _text("when the resident wrote it", pattern=W3C_TIME),
        "description": _text("the comment", maxLength=4000),
        "media_url": _text("a link to a photo", maxLength=2000),
        "email": _text("not kept"),
        "first_name": _text("not kept"),
        "last_name": _text("not kept"),
    },
    ["api_key", "service_request_id", "update_id", "status", "description"],
)
