"""Holding the OpenAPI document to the responses the server really sends.

`RecordingClient` is Flask's test client keeping every JSON response it receives; `required_mismatches` compares
them with the document: a property marked required must be in every response the tests saw, and a property the
tests saw in every response must be marked required (clients would otherwise null-check what is never null).
Nothing here names an endpoint: whatever a test calls through the client is checked.

The whole suite can be recorded too: `CONTRACT_RECORD=/tmp/contract pytest -n 2`, then
`python -m tests.support.contract /tmp/contract` prints every disagreement (exit 1 if any).
"""

import json
import os
import re
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException

METHODS = ("get", "put", "post", "delete", "patch")
RECORD_DIR = os.environ.get("CONTRACT_RECORD") or None
_SUITE: list["Recorded"] = []  # every RecordingClient's responses in this process, for `save`


@dataclass(frozen=True)
class Recorded:
    path: str  # as the document writes it: /api/v1/tickets/{ticket_id}
    method: str
    status: int
    body: Any


class RecordingClient(FlaskClient):
    """The test client, keeping every JSON response with the documented path it answered."""

    recorded: list[Recorded]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorded = []

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        request = response.request
        if response.is_json and request is not None and response.get_data():
            path = _documented_path(self.application, request.path, request.method)
            if path is not None:
                recorded = Recorded(path, request.method.lower(), response.status_code, response.get_json())
                self.recorded.append(recorded)
                if RECORD_DIR is not None:
                    _SUITE.append(recorded)
        return response


def save(worker: str) -> None:
    """This process's recorded responses, as JSON lines in RECORD_DIR (nothing without CONTRACT_RECORD)."""
    if RECORD_DIR is None:
        return
    os.makedirs(RECORD_DIR, exist_ok=True)
    with open(os.path.join(RECORD_DIR, f"{worker}.jsonl"), "w", encoding="utf-8") as out:
        for response in _SUITE:
            out.write(json.dumps(response.__dict__, ensure_ascii=False) + "\n")


def load(directory: str) -> list[Recorded]:
    recorded = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".jsonl"):
            with open(os.path.join(directory, name), encoding="utf-8") as lines:
                recorded.extend(Recorded(**json.loads(line)) for line in lines)
    return recorded


def _documented_path(app: Any, path: str, method: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        rule, _ = adapter.match(path, method=method, return_rule=True)
    except HTTPException:
        return None
    return _openapi_path(rule.rule)


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


@dataclass
class Seen:
    """The instances of one schema in the responses: how many, and how often each property was in them."""

    properties: set[str]
    required: set[str]
    optional: set[str]  # declared as sometimes left out (`x-optional`)
    count: int = 0
    present: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def observed_schemas(spec: dict[str, Any], recorded: list[Recorded]) -> set[str]:
    """The schemas (components by name) the recorded responses contained."""
    seen: dict[str, Seen] = {}
    _observe_all(spec, recorded, seen)
    return set(seen)


def required_mismatches(spec: dict[str, Any], recorded: list[Recorded]) -> list[str]:
    """Readable lines, one per schema whose `required` disagrees with what the server sent."""
    seen: dict[str, Seen] = {}
    problems = _observe_all(spec, recorded, seen)
    for name, what in sorted(seen.items()):
        missing = sorted(p for p in what.required if what.present[p] < what.count)
        if missing:
            counts = ", ".join(f"{p} ({what.count - what.present[p]} of {what.count})" for p in missing)
            problems.append(f"{name}: marked required, absent from some responses: {counts}")
        optional = sorted(p for p in what.properties - what.required - what.optional if what.present[p] == what.count)
        if optional:
            problems.append(f"{name}: sent in all {what.count} responses, not marked required: {', '.join(optional)}")
    return problems


def _observe_all(spec: dict[str, Any], recorded: list[Recorded], seen: dict[str, Seen]) -> list[str]:
    undocumented = []
    for response in recorded:
        if response.path not in spec["paths"]:
            continue  # the document itself and its docs page (every other route is documented: test_openapi)
        where = f"{response.method.upper()} {response.path} {response.status}"
        schema = _response_schema(spec, response)
        if schema is None:
            undocumented.append(f"{where}: not documented as JSON")
        else:
            _observe(spec, schema, response.body, where, seen)
    return undocumented


def _response_schema(spec: dict[str, Any], response: Recorded) -> dict[str, Any] | None:
    operation = spec["paths"].get(response.path, {}).get(response.method)
    if operation is None:
        return None
    responses = operation["responses"]
    declared = responses.get(str(response.status)) or responses.get("default")
    if declared is None:
        return None
    declared = _resolve(spec, declared)
    return declared.get("content", {}).get("application/json", {}).get("schema")


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = spec["components"][section][name]
    return node


def _observe(spec: dict[str, Any], schema: dict[str, Any], body: Any, where: str, seen: dict[str, Seen]) -> None:
    if body is None:
        return
    name = schema["$ref"].rsplit("/", 1)[-1] if "$ref" in schema else where
    schema = _resolve(spec, schema)
    for part in schema.get("allOf", []):
        _observe(spec, part, body, where, seen)
    branches = schema.get("oneOf", []) + schema.get("anyOf", [])
    if branches and isinstance(body, dict):
        fitting = [b for b in branches if set(_resolve(spec, b).get("required", [])) <= set(body)]
        if fitting:
            _observe(spec, fitting[0], body, where, seen)
    properties = schema.get("properties")
    if isinstance(body, dict) and properties:
        optional = {key for key, value in properties.items() if value.get("x-optional")}
        what = seen.setdefault(name, Seen(set(properties), set(schema.get("required", [])), optional))
        what.count += 1
        for key, value in body.items():
            what.present[key] += 1
            if key in properties:
                _observe(spec, properties[key], value, f"{name}.{key}", seen)
    if isinstance(body, list) and "items" in schema:
        for item in body:
            _observe(spec, schema["items"], item, f"{name}[]", seen)


def main(directory: str) -> int:
    from bootstrap import create_app

    database = os.path.join(tempfile.mkdtemp(), "contract.db")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "x" * 40})
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    recorded = load(directory)
    problems = required_mismatches(spec, recorded)
    print(f"{len(recorded)} responses, {len(observed_schemas(spec, recorded))} schemas seen")
    print("\n".join(problems) or "The document's `required` agrees with every response.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
