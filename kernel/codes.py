"""Rows keyed by a short code that admins create (member classes, point rules): one way to find and add them."""

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from kernel.errors import ConflictError, NotFoundError
from kernel.extensions import db

M = TypeVar("M")


def get_by_code(model: type[M], code: str, *, valid: Callable[[str], bool], what: str) -> M:
    """The row with this code, active or not; 404 `No such <what>.` otherwise (a malformed code never queried)."""
    found = db.session.get(model, code) if valid(code) else None
    if found is None:
        raise NotFoundError(f"No such {what}.")
    return found


def add_with_new_code(row: Any, *, what: str) -> Any:
    """Add `row` under a code not yet used; 409 when it is, also when a concurrent request took it first."""
    taken = ConflictError(f"A {what} with that code exists.", {"code": ["already used"]})
    if db.session.get(type(row), row.code) is not None:
        raise taken
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        raise taken from None
    return row
