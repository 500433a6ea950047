"""Schemathesis for the contract tests: fuzz operations of the app's OpenAPI document with generated requests."""

import contextlib
import os

import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.errors import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

# Sized so `make test` stays within minutes on two cores; FUZZ_EXAMPLES=500 for a deeper run.
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "30"))


def fuzz(
    operation,
    mode: GenerationMode,
    headers: dict[str, str],
    *,
    own: dict[str, str] | None = None,
    examples: int = EXAMPLES_PER_OPERATION,
) -> None:
    """Fuzz one operation; `own` aims positive cases' path ids at objects the caller may act on."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def exercise(case):
        # A negative case must reach the server broken (see sent_broken); some arrive valid and rightly succeed.
        assume(mode is GenerationMode.POSITIVE or sent_broken(case))
        if own and mode is GenerationMode.POSITIVE and case.path_parameters:
            case.path_parameters.update({k: v for k, v in own.items() if k in case.path_parameters})
        # Schema-valid bodies may still break business rules (a weak password, an unknown grid unit),
        # which are 422 by API.md: only the positive-acceptance heuristic is left out.
        response = case.call(headers=headers)
        try:
            case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])
        except FailureGroup as group:
            if not refused_as_too_long(response.status_code, group):
                raise

    # Unsatisfiable: nothing to break in an operation without parameters or body (negative mode).
    with contextlib.suppress(Unsatisfiable):
        exercise()


def refused_as_too_long(status: int, group: FailureGroup) -> bool:
    """A broken request whose line grew past 8,190 bytes is refused with the API's 414 (kernel/limits.py) before
    any route reads it: a rejection, which schemathesis's list of rejecting statuses leaves out (ST201)."""
    return status == 414 and all(failure.code == "ST201" for failure in group.exceptions)


def fuzz_operations(
    app,
    operations: list[tuple[str, str]],
    mode: GenerationMode,
    headers: dict[str, str],
    *,
    own: dict[str, str] | None = None,
    examples: int = EXAMPLES_PER_OPERATION,
) -> list[str]:
    """Fuzz each (path, method) of the app's OpenAPI document; every operation's failure, to report together."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for path, method in operations:
        operation = schema[path][method]
        try:
            fuzz(operation, mode, headers, own=own, examples=examples)
        except Exception as failure:
            failures.append(f"{operation.label}: {failure}")
    return failures


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
