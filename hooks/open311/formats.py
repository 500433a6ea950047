"""Open311's two formats: XML as the spec writes it (a root, one element per list item with the spec's singular
name, no namespace, `true`/`false`, empty elements for nothing) and JSON, its mapping (lists as arrays).

Both are UTF-8 with the content types the spec gives exactly. Pure rendering of plain values: no database.
"""

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any, Final

from flask import Response, current_app

XML, JSON = "xml", "json"
FORMATS: Final = (XML, JSON)
CONTENT_TYPES: Final = {XML: "text/xml; charset=utf-8", JSON: "application/json; charset=utf-8"}
MIMETYPES: Final = ("text/xml", "application/json")  # as discovery lists them
DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# The element of each list item, by the list's own element name.
ITEMS: Final = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
# Characters XML 1.0 cannot hold at all (a description may carry them from a JSON intake).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def format_of(name: str | None) -> str:
    """The format a request asked for; XML, the spec's required format, for anything else."""
    return JSON if name == JSON else XML


def render(document: Any, root: str, response_format: str, status: int = 200) -> Response:
    """`document` (a list for list roots, a mapping otherwise) as the response in `response_format`."""
    if response_format == JSON:
        response = current_app.json.response(document)
    else:
        response = current_app.response_class(to_xml(root, document))
    response.status_code = status
    response.headers["Content-Type"] = CONTENT_TYPES[response_format]
    return response


def to_xml(root: str, document: Any) -> bytes:
    """The document under `root`, with the XML declaration."""
    element = ET.Element(root)
    _fill(element, root, document)
    return DECLARATION + ET.tostring(element, encoding="unicode").encode("utf-8")


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif isinstance(value, list | tuple):
        child = ITEMS.get(name, "item")
        for item in value:
            _fill(ET.SubElement(element, child), child, item)
    elif value is not None:
        element.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))
