"""Schemathesis over the worker's own endpoints, as a worker with a profile and an open patrol.

tests/test_fuzz.py fuzzes everything as an admin, who only ever gets 403 from these; here the generated
pings, points, visits and windows reach the rules themselves: no 5xx, nothing that contradicts the spec.
"""

import contextlib

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import bearer
from tests.workforce_setup import build_staff

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
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for path, method in OPERATIONS:
        operation = schema[path][method]
        try:
            fuzz(operation, mode, headers, own)
        except Exception as failure:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)


def fuzz(operation, mode: GenerationMode, headers: dict[str, str], own: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def exercise(case):
        # A negative case must reach the server broken (see sent_broken).
        assume(mode is GenerationMode.POSITIVE or sent_broken(case))
        # Aim at the worker's own profile and patrol, where the rules run, rather than at random ids.
        if mode is GenerationMode.POSITIVE and case.path_parameters:
            case.path_parameters.update({k: v for k, v in own.items() if k in case.path_parameters})
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    with contextlib.suppress(Unsatisfiable):
        exercise()


def sent_broken(case) -> bool:
    """Whether a negative case is still broken as sent: our bearer header replaces the generated Authorization,
    and a query parameter whose value is an empty list or null is not sent at all (`{"": []}`)."""
    if any(value is None or value == [] for value in (case.query or {}).values()):
        return False
    components = case.meta.components if case.meta else {}
    broken = {
        str(getattr(where, "value", where))
        for where, info in components.items()
        if info.mode is GenerationMode.NEGATIVE
    }
    return bool(broken - {"header"})
