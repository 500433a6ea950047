"""The OpenAPI document holds what client generators need (kernel/contract.py): names, types, headers."""

import re

import pytest

PINNED_OPERATION_IDS = {
    ("/api/v1/tickets/{ticket_id}", "get"): "getTicket",
    ("/api/v1/tickets/{ticket_id}/accept", "post"): "acceptTicket",
    ("/api/v1/tickets", "get"): "listTickets",
    ("/api/v1/workers", "get"): "listWorkers",
    ("/api/v1/auth/login", "post"): "login",
    ("/api/v1/requests", "post"): "createRequest",
    ("/open311/v2/requests.{response_format}", "post"): "open311CreateRequest",
}
TYPED = {"type", "$ref", "allOf", "anyOf", "oneOf"}


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/v1/openapi.json").json


def operations(spec):
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


def test_every_operation_has_a_unique_camel_case_operation_id(spec):
    ids = [operation.get("operationId") for _, _, operation in operations(spec)]
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z][a-zA-Z0-9]*", i) for i in ids), ids
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_operation_ids_are_stable(spec):
    for (path, method), expected in PINNED_OPERATION_IDS.items():
        assert spec["paths"][path][method]["operationId"] == expected


def test_every_property_has_a_type_or_a_reference(spec):
    untyped = [
        f"{name}.{key}"
        for name, schema in spec["components"]["schemas"].items()
        for key, value in (schema.get("properties") or {}).items()
        if not TYPED & set(value)
    ]
    assert not untyped


def test_a_nullable_reference_keeps_its_reference(spec):
    schemas = spec["components"]["schemas"]
    assignee = schemas["Ticket"]["properties"]["assignee"]
    assert assignee == {"allOf": [{"$ref": "#/components/schemas/Assignee"}], "nullable": True}
    scope = schemas["User"]["properties"]["scope_grid"]
    assert scope["allOf"] == [{"$ref": "#/components/schemas/GridBrief"}] and scope["nullable"] is True
    placeholder = {"type": "object", "nullable": True}
    properties = [value for schema in schemas.values() for value in schema.get("properties", {}).values()]
    assert not any(placeholder in value.get("anyOf", []) for value in properties)


def test_one_ticket_status_for_the_ticket_and_the_list_filter(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["TicketStatus"]["type"] == "string" and "in_progress" in schemas["TicketStatus"]["enum"]
    assert schemas["Ticket"]["properties"]["status"] == {"$ref": "#/components/schemas/TicketStatus"}
    status = next(p for p in spec["paths"]["/api/v1/tickets"]["get"]["parameters"] if p["name"] == "status")
    assert status["schema"]["items"] == {"$ref": "#/components/schemas/TicketStatus"}
    coord = next(p for p in spec["paths"]["/api/v1/grids"]["get"]["parameters"] if p["name"] == "coord_system")
    assert coord["schema"]["allOf"] == [{"$ref": "#/components/schemas/CoordSystem"}]


def test_error_codes_are_an_enum_of_the_kernels_codes(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["ErrorBody"]["properties"]["code"]["allOf"] == [{"$ref": "#/components/schemas/ErrorCode"}]
    assert {"invalid_transition", "validation_error", "not_found", "idempotency_key_reused", "internal_error"} <= set(
        schemas["ErrorCode"]["enum"]
    )
    assert schemas["TransitionDetails"]["required"] == ["allowed_actions"]
    example = spec["components"]["responses"]["NOT_FOUND"]["content"]["application/json"]["example"]
    assert example["error"]["code"] == "not_found"


def test_response_only_schemas_require_every_field(spec):
    schemas = spec["components"]["schemas"]
    assert set(schemas["Ticket"]["required"]) == set(schemas["Ticket"]["properties"])
    assert set(schemas["Summary"]["required"]) == set(schemas["Summary"]["properties"])
    assert "required" not in schemas["UserUpdate"]  # a request body: every field may be left out


def test_conditional_requests_and_their_headers_are_declared(spec):
    for path, method, operation in operations(spec):
        names = {p["name"] for p in operation.get("parameters", [])}
        responses = operation["responses"]
        label = f"{method.upper()} {path}"
        if "304" in responses:
            assert "If-None-Match" in names, label
            assert "ETag" in responses["200"]["headers"], label
        if "412" in responses:
            assert "If-Match" in names, label
    too_many = spec["components"]["responses"]["TOO_MANY_REQUESTS"]["headers"]
    assert too_many["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
    assert "X-Request-ID" in spec["paths"]["/api/v1/tickets"]["get"]["responses"]["200"]["headers"]


def test_binary_bodies_are_readable_as_bytes(spec):
    photo = spec["paths"]["/api/v1/attachments/{attachment_id}"]["get"]["responses"]["200"]["content"]
    workbook = spec["paths"]["/api/v1/exports/tickets.xlsx"]["get"]["responses"]["200"]["content"]
    for content in (photo, workbook):
        assert content["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}


def test_housekeeping(spec):
    assert spec["paths"]["/api/v1/public/tickets/{no}"]["get"]["security"] == []
    assert all(len(operation.get("summary", "")) <= 100 for _, _, operation in operations(spec))
    assert "PaginationMetadata" not in spec["components"]["schemas"]
    assert spec["servers"] and {"description", "contact", "license"} <= set(spec["info"])
