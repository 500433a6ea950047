"""Schemathesis over the notification endpoints, as an admin and as a worker with messages in their inbox.

tests/contract/test_fuzz.py fuzzes everything as an admin with an empty outbox; here there are rows to list, page,
retry and mark read, so generated filters, cursors and bodies reach the queries themselves.
"""

import pytest
from schemathesis.generation.modes import GenerationMode

from tests.support.fuzz import fuzz_operations
from tests.support.http import bearer
from tests.support.tasks import build_world

EXAMPLES_PER_OPERATION = 25
OPERATIONS = [
    ("/api/v1/notifications", "GET"),
    ("/api/v1/notifications/{notification_id}/retry", "POST"),
    ("/api/v1/notifications/me", "GET"),
    ("/api/v1/notifications/me/read", "POST"),
]


@pytest.mark.slow
@pytest.mark.parametrize("who", ["admin", "worker"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_notification_endpoints_honour_the_openapi_document(
    app, client, tree, make_account, auth, tokens_for, categories, who, mode
):
    world = build_world(client, tree, make_account, auth)
    ticket = world.act("supervisor", world.ticket(), "dispatch", assignee_id=world.id_of("worker"))
    world.act("supervisor", ticket, "urge", note="请尽快处理")
    listed = client.get("/api/v1/notifications", headers=world.headers["admin"]).get_json()["items"]
    headers = bearer(tokens_for(world.accounts[who])["access"])
    failures = fuzz_operations(
        app, OPERATIONS, mode, headers, own={"notification_id": listed[-1]["id"]}, examples=EXAMPLES_PER_OPERATION
    )
    assert not failures, "\n\n".join(failures)
