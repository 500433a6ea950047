"""Schemathesis over requests and tickets as a street supervisor whose ticket the path ids point at.

tests/contract/test_fuzz.py fuzzes everything as an admin with random ids (mostly 404 here); this drives generated
intake bodies, filters and action bodies into the rules themselves: no 5xx, nothing against the spec.
"""

import pytest
from schemathesis.generation.modes import GenerationMode

from tasks.lifecycle import TRANSITIONS
from tests.support.fuzz import fuzz_operations
from tests.support.tasks import build_world

EXAMPLES_PER_OPERATION = 25
OPERATIONS = [
    ("/api/v1/requests", "POST"),
    ("/api/v1/requests", "GET"),
    ("/api/v1/tickets", "GET"),
    ("/api/v1/tickets/{ticket_id}", "GET"),
    ("/api/v1/tickets/{ticket_id}/events", "GET"),
    ("/api/v1/tickets/{ticket_id}/contact", "GET"),
    ("/api/v1/tickets/{ticket_id}/feedback", "POST"),
    *((f"/api/v1/tickets/{{ticket_id}}/{action}", "POST") for action in TRANSITIONS),
]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_ticket_endpoints_honour_the_openapi_document(client, tree, make_account, auth, categories, mode):
    world = build_world(client, tree, make_account, auth)
    headers = world.headers["supervisor"]
    own = {"ticket_id": world.ticket("supervisor")["id"]}
    failures = fuzz_operations(client.application, OPERATIONS, mode, headers, own=own, examples=EXAMPLES_PER_OPERATION)
    assert not failures, "\n\n".join(failures)
