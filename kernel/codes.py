"""Rows keyed by a short code that admins create (member classes, service areas, activity kinds, point rules): one
way to find and add them, and `CodedList` for the plain lists among them."""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kernel.errors import ConflictError, NotFoundError
from kernel.extensions import db
from kernel.i18n import _, _l
from kernel.pagination import Page, paginate

M = TypeVar("M")

CODE_PATTERN: Final = r"^[a-z][a-z0-9_]*$"
CODE_MAX_LENGTH: Final = 32
CODE_RULE: Final = _l("lower-case letters, digits or '_', starting with a letter")


def code_parameter(description: str) -> dict[str, Any]:
    """The OpenAPI declaration of a `{code}` path parameter under the code rule."""
    schema = {"type": "string", "minLength": 1, "maxLength": CODE_MAX_LENGTH, "pattern": CODE_PATTERN}
    return {"in": "path", "name": "code", "description": description, "schema": schema}


def is_valid_code(code: str) -> bool:
    return len(code) <= CODE_MAX_LENGTH and re.fullmatch(CODE_PATTERN, code) is not None


def get_by_code(model: type[M], code: str, *, valid: Callable[[str], bool], what: str) -> M:
    """The row with this code, active or not; 404 `No such <what>.` otherwise (a malformed code never queried)."""
    found = db.session.get(model, code) if valid(code) else None
    if found is None:
        raise NotFoundError(_("No such %(what)s.", what=_(what)))
    return found


def add_with_new_code(row: Any, *, what: str) -> Any:
    """Add `row` under a code not yet used; 409 when it is, also when a concurrent request took it first."""
    taken = ConflictError(_("A %(what)s with that code exists.", what=_(what)), {"code": [_("already used")]})
    if db.session.get(type(row), row.code) is not None:
        raise taken
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        raise taken from None
    return row


@dataclass(frozen=True)
class ActiveFilter:
    active: bool | None = None


class CodedList(Generic[M]):
    """A list admins keep (member classes, service areas, activity kinds): rows keyed by a permanent code, shown
    by `position` then code, never deleted but deactivated (what holds an inactive row keeps it; new things cannot
    be given it), seeded with defaults when empty (the migrations seed them too). `fields` are what a row holds
    besides its code, with the values a new row takes when they are not given (None: required)."""

    def __init__(self, model: type[M], *, what: str, fields: Mapping[str, Any], defaults: Sequence[Any]) -> None:
        self.model, self.what, self.fields, self.defaults = model, what, dict(fields), tuple(defaults)

    def seed(self) -> int:
        """Insert the defaults (dataclasses of the row's fields) when the table is empty; how many were added."""
        if db.session.scalars(select(self.model.code).limit(1)).first() is not None:  # type: ignore[attr-defined]
            return 0
        for default in self.defaults:
            db.session.add(self.model(**{"active": True, **asdict(default)}))
        db.session.flush()
        return len(self.defaults)

    def list(self, filters: ActiveFilter, *, limit: int, cursor: str | None) -> Page[M]:
        """The rows in display order, inactive ones too unless filtered."""
        model: Any = self.model
        stmt = select(model)
        if filters.active is not None:
            stmt = stmt.where(model.active.is_(filters.active))
        order = [model.position, model.code]
        return paginate(stmt, order_by=order, limit=limit, cursor=cursor, query_fingerprint=asdict(filters))

    def get(self, code: str) -> M:
        """The row with this code, active or not; 404 otherwise."""
        return get_by_code(self.model, code, valid=is_valid_code, what=self.what)

    def get_active(self, code: str) -> M | None:
        """The row with this code if it is active (what new things may be given), else None."""
        found: Any = db.session.get(self.model, code) if is_valid_code(code) else None
        return found if found is not None and found.active else None

    def create(self, data: Mapping[str, Any]) -> M:
        """A new row; its code is permanent, 409 when taken."""
        values = {name: data.get(name, default) for name, default in self.fields.items()}
        return add_with_new_code(self.model(code=data["code"], **values), what=self.what)  # type: ignore[no-any-return]

    def update(self, code: str, changes: Mapping[str, Any]) -> M:
        """Change what `changes` gives of the row's fields (never its code)."""
        row = self.get(code)
        for name in self.fields:
            if name in changes:
                setattr(row, name, changes[name])
        db.session.flush()
        return row
