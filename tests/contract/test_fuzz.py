"""Schemathesis over the whole API, in process, as an admin: no 5xx and nothing that contradicts the spec.

Every operation gets generated requests that fit the document (positive) and that break it (negative,
which must be refused with a 4xx in the one error shape).
"""

import pytest
import schemathesis
from schemathesis.generation.modes import GenerationMode

from tests.support.fuzz import fuzz
from tests.support.http import bearer


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_api_honours_its_openapi_document(app, make_account, tokens_for, tree, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # A fresh admin per operation: fuzzing logout or a password change must not starve the others.
        headers = bearer(tokens_for(make_account("admin"))["access"])
        try:
            fuzz(operation, mode, headers)
        except Exception as failure:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
