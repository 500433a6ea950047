"""Arranging and reading the Open311 tests: an integration's key, a mapped cell to file in, form posts, the XML read
back into the JSON shape, and the JSON Schemas of open311/schema-validation (a copy in tests/hooks/open311/schemas,
so a clone needs nothing beside it)."""

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support.geometry import square

BASE = "/open311/v2"
LNG, LAT = 112.53, 32.99  # the corner of the mapped cell G1c (tests.support.geometry)
XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
SCHEMAS = Path(__file__).resolve().parents[1] / "hooks" / "open311" / "schemas"
# XML list elements and the element of each item (the spec's names).
LISTS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


@cache
def _validators() -> dict[str, Draft202012Validator]:
    documents = {
        path.name: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json") if path.name != "swagger.json"
    }
    registry = Registry().with_resources(
        (name, Resource.from_contents(doc, default_specification=DRAFT202012)) for name, doc in documents.items()
    )
    return {name: Draft202012Validator(doc, registry=registry) for name, doc in documents.items()}


def assert_valid(document: Any, schema: str) -> None:
    """The document fits the named schema of open311/schema-validation (e.g. "requests.json")."""
    errors = sorted(_validators()[schema].iter_errors(document), key=str)
    assert not errors, [error.message for error in errors]


def read(response: Any) -> Any:
    """The body, from either format, as JSON would have it (XML leaves stay text)."""
    if response.headers["Content-Type"] == JSON_TYPE:
        return response.get_json()
    assert response.headers["Content-Type"] == XML_TYPE, response.headers["Content-Type"]
    body = response.get_data()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body[:60]
    return _element(ET.fromstring(body))  # noqa: S314 - our own response


def _element(element: ET.Element) -> Any:
    if element.tag in LISTS:
        return [_element(child) for child in element]
    if len(element):
        return {child.tag: _element(child) for child in element}
    return element.text


def as_text(document: Any) -> Any:
    """A JSON document with its leaves written as the XML writes them, to compare the two formats."""
    if isinstance(document, list):
        return [as_text(item) for item in document]
    if isinstance(document, dict):
        return {key: as_text(value) for key, value in document.items()}
    if isinstance(document, bool):
        return "true" if document else "false"
    if document is None or document == "":
        return None
    return str(document)


@dataclass
class Open311:
    """A client of the Open311 endpoints with an integration's key."""

    client: Any
    api_key: str

    def get(self, path: str, fmt: str = "json", **query: Any) -> Any:
        return self.client.get(f"{BASE}/{path}.{fmt}", query_string=query)

    def post(self, path: str, fmt: str = "json", *, key: bool = True, **form: Any) -> Any:
        data = {"api_key": self.api_key, **form} if key else form
        return self.client.post(f"{BASE}/{path}.{fmt}", data=data)

    def file(self, fmt: str = "json", **form: Any) -> dict[str, Any]:
        """File a request (garbage, in the mapped cell unless told otherwise); the one answer, as JSON has it."""
        fields = {"service_code": "CITY.GARBAGE", "lat": LAT + 0.001, "long": LNG + 0.001, **form}
        response = self.post("requests", fmt, **fields)
        assert response.status_code == 200, response.get_data(as_text=True)
        (answer,) = read(response)
        return answer


def integration_key(world: Any, **fields: Any) -> str:
    """A new API-key integration's key (placed on `grid_id` when given)."""
    body = {"name": "FixMyStreet 城市版", **fields}
    response = world.client.post("/api/v1/integrations", json=body, headers=world.headers["admin"])
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["api_key"]


def map_cell(world: Any, code: str = "G1c") -> dict[str, Any]:
    """A cell under C1 with a boundary at (LAT, LNG), so a point can be routed to it."""
    body = {
        "code": code,
        "name": "第三网格",
        "level": "grid",
        "parent_id": str(world.tree["C1"].id),
        "boundary": square(LNG, LAT, 0.002),
    }
    response = world.client.post("/api/v1/grids", json=body, headers=world.headers["admin"])
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()
