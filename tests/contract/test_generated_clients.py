"""The document as app teams use it, with tools no one here wrote (pinned in `contract/package.json` and
requirements-dev.txt): Redocly's recommended lint, a Python client from openapi-python-client running a session
against a live server, and TypeScript types from openapi-typescript passing `tsc --strict`."""

import importlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.support.accounts import PASSWORD
from tests.support.tasks import World
from tests.tasks.test_attachments import JPEG_1X1

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "contract"
NODE_BIN = TOOLS / "node_modules" / ".bin"
PACKAGE = "grid_api_client"
PORTS = range(8300, 8400)

TYPESCRIPT_SNIPPET = """
import type { components, operations } from "./api";

type Ticket = components["schemas"]["Ticket"];
type TicketStatus = components["schemas"]["TicketStatus"];
type ErrorCode = components["schemas"]["ErrorCode"];

// One TicketStatus: read from a ticket, passed to the list's filter.
function sameStatusAs(ticket: Ticket): operations["listTickets"]["parameters"]["query"] {
  const status: TicketStatus = ticket.status;
  return { status: [status] };
}

// The assignee is a typed object or null, never `unknown`.
function assigneeName(ticket: Ticket): string {
  return ticket.assignee === null ? "nobody" : ticket.assignee.display_name;
}

// Fields the server always sends need no undefined check.
function deadline(ticket: Ticket): string {
  return ticket.no + " " + ticket.created_at;
}

type Loaded = operations["getTicket"]["responses"][200]["content"]["application/json"];
const loaded: Loaded | null = null;
const code: ErrorCode = "invalid_transition";
// @ts-expect-error: not one of the kernel's codes
const unknownCode: ErrorCode = "no_such_code";
export { sameStatusAs, assigneeName, deadline, loaded, code, unknownCode };
"""


def _run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(  # noqa: S603 - the pinned tools with our own arguments
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def node_tools() -> Path:
    """The pinned npm packages; `make test` installs them first (`npm ci`), this only when run on its own."""
    if not (NODE_BIN / "tsc").exists():
        installed = _run("npm", "ci", "--no-audit", "--no-fund", cwd=TOOLS)
        assert installed.returncode == 0, installed.stderr
    return NODE_BIN


@pytest.fixture(scope="module")
def document(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("contract") / "openapi.json"
    path.write_text(app.test_client().get("/api/v1/openapi.json").get_data(as_text=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def python_client(document: Path) -> Iterator[ModuleType]:
    out = document.parent / "python"
    config = document.parent / "python-client.yaml"
    config.write_text(f"project_name_override: grid-api-client\npackage_name_override: {PACKAGE}\n")
    generated = _run(
        Path(sys.executable).parent / "openapi-python-client",
        "generate",
        "--path",
        document,
        "--output-path",
        out / PACKAGE,
        "--meta",
        "none",
        "--config",
        config,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout + generated.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = _serve_on_a_free_port(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _serve_on_a_free_port(app: Flask) -> Any:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                continue
        try:
            return make_server("127.0.0.1", port, app, threaded=True)
        except OSError:
            continue
    raise RuntimeError("no free port in 8300-8399")


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_the_document_passes_redoclys_recommended_lint(node_tools: Path, document: Path):
    linted = _run(node_tools / "redocly", "lint", document, "--config", TOOLS / "redocly.yaml", "--format", "json")
    report = json.loads(linted.stdout[linted.stdout.index("{") :])
    problems = [f"{p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}" for p in report["problems"]]
    assert linted.returncode == 0 and not problems, "\n".join(problems) or linted.stderr


def test_the_typescript_types_pass_tsc_strict(node_tools: Path, document: Path):
    out = document.parent / "typescript"
    out.mkdir(exist_ok=True)
    generated = _run(node_tools / "openapi-typescript", document, "--output", out / "api.d.ts")
    assert generated.returncode == 0, generated.stderr
    (out / "snippet.ts").write_text(TYPESCRIPT_SNIPPET, encoding="utf-8")
    checked = _run(
        node_tools / "tsc", "--strict", "--noEmit", "--target", "es2020", "--module", "es2020", "snippet.ts", cwd=out
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    operations = (out / "api.d.ts").read_text(encoding="utf-8")
    for operation in ("getTicket:", "acceptTicket:", "listWorkers:"):
        assert operation in operations


def test_a_generated_python_client_runs_a_workers_session(world: World, python_client: ModuleType, live_server: str):
    api = python_client
    models = _module(api, "models")
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))

    login = _module(api, "api.auth.login").sync(
        client=api.Client(base_url=live_server),
        body=models.Login(username=world.accounts["worker"].username, password=PASSWORD),
    )
    assert isinstance(login, models.LoginToken)
    worker = api.AuthenticatedClient(base_url=live_server, token=login.access_token)

    queue = _module(api, "api.tickets.list_tickets").sync(client=worker, assignee="me")
    assert isinstance(queue, models.TicketPage)
    assert [item.id for item in queue.items] == [ticket["id"]]
    mine = _module(api, "api.tickets.get_ticket").sync(ticket["id"], client=worker)
    assert isinstance(mine, models.Ticket) and isinstance(mine.assignee, models.Assignee)
    assert mine.status is models.TicketStatus.ASSIGNED and mine.assignee.id == world.id_of("worker")

    accept = _module(api, "api.tickets.accept_ticket")
    accepted = accept.sync(ticket["id"], client=worker, body=models.Note())
    assert isinstance(accepted, models.Ticket) and accepted.status is models.TicketStatus.IN_PROGRESS
    refused = accept.sync_detailed(ticket["id"], client=worker, body=models.Note())
    assert refused.status_code == 409 and isinstance(refused.parsed, models.Error)
    assert refused.parsed.error.code is models.ErrorCode.INVALID_TRANSITION

    uploaded = _module(api, "api.attachments.attach_photo").sync(
        ticket["id"],
        client=worker,
        body=models.PhotoUpload(
            file=api.types.File(payload=io.BytesIO(JPEG_1X1), file_name="photo.jpg", mime_type="image/jpeg")
        ),
    )
    assert isinstance(uploaded, models.Attachment)
    photo = _module(api, "api.attachments.get_attachment").sync(uploaded.id, client=worker)
    assert isinstance(photo, api.types.File) and photo.payload.read().startswith(b"\xff\xd8")

    admin_login = _module(api, "api.auth.login").sync(
        client=api.Client(base_url=live_server),
        body=models.Login(username=world.accounts["admin"].username, password=PASSWORD),
    )
    admin = api.AuthenticatedClient(base_url=live_server, token=admin_login.access_token)
    today = date.today()
    workbook = _module(api, "api.exports.tickets_xlsx").sync(client=admin, from_=today.replace(day=1), to=today)
    assert isinstance(workbook, api.types.File) and workbook.payload.read().startswith(b"PK")
