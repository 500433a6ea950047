"""The OpenAPI document covers every route, documents the conventions, and the docs page works offline."""

import re

import pytest

from tests.support.http import assert_error

# Routes that serve the documentation itself rather than the API, and Prometheus's scrape (kernel.metrics).
DOC_ENDPOINTS = {"static", "swagger_asset", "api-docs.openapi_json", "api-docs.openapi_swagger_ui", "metrics"}
# The browser console's HTML pages and files (/console): a client of the API, not part of it.
CONSOLE_PAGES = "console."


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/v1/openapi.json").json


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_route_is_documented_and_every_documented_path_exists(app, spec):
    routes = {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in DOC_ENDPOINTS and not rule.endpoint.startswith(CONSOLE_PAGES)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method) for path, operations in spec["paths"].items() for method in operations if method != "parameters"
    }
    assert routes == documented


def test_the_bearer_scheme_is_declared_and_protected_operations_use_it(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert spec["paths"]["/api/v1/users"]["get"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/v1/auth/login"]["post"]["security"] == []  # public, said explicitly


def test_errors_are_documented_with_the_one_error_shape(spec):
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    operation = spec["paths"]["/api/v1/users/{user_id}"]["patch"]
    assert {"401", "403", "404", "412", "422", "default"} <= set(operation["responses"])


def test_lists_document_the_cursor_envelope_not_a_pagination_header(spec):
    ok = spec["paths"]["/api/v1/users"]["get"]["responses"]["200"]
    assert set(ok.get("headers", {})) == {"X-Request-ID"}  # no X-Pagination
    envelope = spec["components"]["schemas"]["UserPage"]
    assert set(envelope["properties"]) == {"items", "next_cursor"}


def test_authenticated_posts_document_the_idempotency_key(spec):
    names = [p["name"] for p in spec["paths"]["/api/v1/users"]["post"]["parameters"]]
    assert "Idempotency-Key" in names


def test_the_docs_page_loads_its_assets_from_the_service_itself(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(asset.startswith("/api/v1/docs/assets/") for asset in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_every_operation_declares_the_json_414_for_an_over_long_request_line(spec):
    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    ]
    assert len(operations) > 100
    for path, method, operation in operations:
        declared = operation["responses"].get("414")
        assert declared is not None, f"{method.upper()} {path}"
        assert declared["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_an_over_long_cursor_below_the_request_line_limit_is_the_routes_json_422(client, make_account, auth):
    admin = auth(make_account("admin"))
    response = client.get("/api/v1/grids", query_string={"cursor": "A" * 7000}, headers=admin)
    error = assert_error(response, 422, "validation_error")
    assert "cursor" in error["details"]


def test_a_request_line_over_8190_bytes_is_a_json_414_in_the_callers_language(client, make_account, auth):
    admin = auth(make_account("admin"))
    target_bytes = 8190 - len("GET  HTTP/1.1") - len("/api/v1/grids?cursor=")
    response = client.get("/api/v1/grids", query_string={"cursor": "A" * target_bytes}, headers=admin)
    assert_error(response, 422, "validation_error")  # exactly 8,190 bytes: the route reads it
    response = client.get("/api/v1/grids", query_string={"cursor": "A" * (target_bytes + 1)}, headers=admin)
    assert "8,190" in assert_error(response, 414, "uri_too_long")["message"]
    response = client.get(
        "/api/v1/grids", query_string={"cursor": "A" * 9000}, headers={**admin, "Accept-Language": "zh"}
    )
    assert "请求行" in assert_error(response, 414, "uri_too_long")["message"]
