"""Schemathesis over the worker's own endpoints, as a worker with a profile and an open patrol.

tests/contract/test_fuzz.py fuzzes everything as an admin, who only ever gets 403 from these; here the generated
pings, points, visits and windows reach the rules themselves: no 5xx, nothing that contradicts the spec.
"""

import pytest
from schemathesis.generation.modes import GenerationMode

from tests.support.fuzz import fuzz_operations
from tests.support.http import bearer
from tests.support.workforce import build_staff

EXAMPLES_PER_OPERATION = 40
OPERATIONS = [
    ("/api/v1/workers/me", "GET"),
    ("/api/v1/workers/me/duty", "POST"),
    ("/api/v1/workers/me/location", "POST"),
    ("/api/v1/workers/{worker_id}/track", "GET"),
    ("/api/v1/patrols", "GET"),
    ("/api/v1/patrols/{patrol_id}", "GET"),
    ("/api/v1/patrols/{patrol_id}/track", "GET"),
    ("/api/v1/patrols/{patrol_id}/points", "POST"),
    ("/api/v1/patrols/{patrol_id}/visits", "POST"),
    ("/api/v1/patrols/{patrol_id}/end", "POST"),
    ("/api/v1/patrols", "POST"),
]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_workers_own_endpoints_honour_the_openapi_document(app, client, tree, make_account, tokens_for, mode):
    staff = build_staff(app, tree, make_account)
    headers = bearer(tokens_for(staff.worker)["access"])
    patrol = client.post("/api/v1/patrols", json={"grid_id": str(tree["G1a"].id)}, headers=headers).json
    own = {"worker_id": staff.worker_id, "patrol_id": patrol["id"]}
    failures = fuzz_operations(app, OPERATIONS, mode, headers, own=own, examples=EXAMPLES_PER_OPERATION)
    assert not failures, "\n\n".join(failures)
