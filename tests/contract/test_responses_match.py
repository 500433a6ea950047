"""The document's `required` is what the server really sends: a session over the main reads of every context,
recorded, then compared schema by schema (tests/support/contract.py)."""

import pytest
from flask import Flask

from tests.support.contract import Recorded, RecordingClient, observed_schemas, required_mismatches
from tests.support.http import assert_error
from tests.support.stats import NOVEMBER
from tests.support.tasks import World

READS = [
    "/api/v1/auth/me",
    "/api/v1/users",
    "/api/v1/grids",
    "/api/v1/grids/{G1a}",
    "/api/v1/grids/{C1}/children",
    "/api/v1/grids/{G1a}/ancestors",
    "/api/v1/workers",
    "/api/v1/requests",
    "/api/v1/tickets",
    "/api/v1/categories",
    "/api/v1/notifications",
    "/api/v1/notifications/me",
    "/api/v1/patrols",
    "/api/v1/party/orgs",
    "/api/v1/party/members",
    "/api/v1/party/activities",
    "/api/v1/party/check-ins",
    "/api/v1/party/point-rules",
    "/api/v1/party/member-classes",
    "/api/v1/party/activity-kinds",
    "/api/v1/party/service-areas",
    "/api/v1/webhooks",
    "/api/v1/integrations",
    "/api/v1/hooks/sms/inbound",
    "/api/v1/hooks/sms/reports",
]
STATS = ["summary", "breakdown", "timeseries", "overdue", "heatmap", "leaderboard"]


@pytest.fixture
def client(app: Flask) -> RecordingClient:
    return RecordingClient(app, app.response_class, use_cookies=True)


@pytest.fixture(scope="module")
def spec(app: Flask) -> dict:
    return app.test_client().get("/api/v1/openapi.json").get_json()


def _tickets_in_every_state(world: World) -> list[dict]:
    pending = world.ticket()
    in_progress = world.in_progress(location={"lat": 32.99, "lng": 112.53})
    resolved = world.resolved()
    world.act("supervisor", resolved, "close")
    world.act("worker", in_progress, "request_extension", new_deadline="2099-01-01T00:00:00Z", reason="等配件")
    return [pending, in_progress, resolved]


def test_required_fields_are_the_ones_the_server_always_sends(world: World, client: RecordingClient, spec):
    tickets = _tickets_in_every_state(world)
    refused = client.post(f"/api/v1/tickets/{tickets[0]['id']}/accept", json={}, headers=world.headers["worker"])
    assert_error(refused, 409, "invalid_transition")
    units = {name: str(unit.id) for name, unit in world.tree.items()}
    for who in ("admin", "supervisor", "worker"):
        for ticket in tickets:
            client.get(f"/api/v1/tickets/{ticket['id']}", headers=world.headers[who])
            client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers[who])
        for path in READS:
            client.get(path.format(**units), headers=world.headers[who])
        for name in STATS:
            client.get(f"/api/v1/stats/{name}", query_string=NOVEMBER, headers=world.headers[who])
    client.get("/api/v1/tickets", query_string={"status": ["pending", "closed"]}, headers=world.headers["admin"])

    assert {response.status for response in client.recorded} >= {200, 201, 409}
    assert {"Ticket", "TicketEvent", "Me", "User", "Grid", "Summary", "Error", "ErrorBody"} <= observed_schemas(
        spec, client.recorded
    )
    problems = required_mismatches(spec, client.recorded)
    assert not problems, "The document's `required` disagrees with the responses:\n" + "\n".join(problems)


def test_the_check_names_both_kinds_of_disagreement():
    spec = {
        "paths": {
            "/things": {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "note": {"type": "string"}},
                    "required": ["id", "note"],
                }
            }
        },
    }
    recorded = [
        Recorded("/things", "get", 200, {"id": "1", "name": "a"}),
        Recorded("/things", "get", 200, {"id": "2", "name": "b", "note": "x"}),
    ]
    assert required_mismatches(spec, recorded) == [
        "Thing: marked required, absent from some responses: note (1 of 2)",
        "Thing: sent in all 2 responses, not marked required: name",
    ]
    undocumented = [Recorded("/things", "get", 201, {"id": "3"})]
    assert required_mismatches(spec, undocumented) == ["GET /things 201: not documented as JSON"]
