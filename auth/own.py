"""The caller's own account as `/auth/me` shows it, read by Core queries rather than loaded as an entity.

`/auth/me` is what every app calls on start and on resume. Loading the account entity (with its scope unit
joined) and then its cell assignments through the relationship took a third of the request; the same columns
read as plain rows take a tenth of that (docs/PERFORMANCE.md, "Second pass"). The document is written from
these rows by `auth.schemas.user_document`, as from an entity.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from auth.models import Account
from grid.models import CellAssignment, GridLevel, GridUnit
from kernel.errors import UnauthorizedError
from kernel.extensions import db
from kernel.i18n import _
from kernel.principals import Caller, Role

_accounts, _units, _cells = Account.__table__, GridUnit.__table__, CellAssignment.__table__

OWN_ACCOUNT = (
    select(
        _accounts.c.id,
        _accounts.c.username,
        _accounts.c.display_name,
        _accounts.c.role,
        _accounts.c.scope_grid_id,
        _accounts.c.phone,
        _accounts.c.active,
        _accounts.c.created_at,
        _accounts.c.updated_at,
        _units.c.code,
        _units.c.name,
        _units.c.level,
        _units.c.parent_id,
    )
    .select_from(_accounts.outerjoin(_units, _units.c.id == _accounts.c.scope_grid_id))
    .where(_accounts.c.id == bindparam("account_id"))
)
OWN_CELLS = select(_cells.c.grid_id).where(_cells.c.account_id == bindparam("account_id")).order_by(_cells.c.grid_id)


@dataclass(frozen=True, slots=True)
class UnitBrief:
    id: int
    code: str
    name: str
    level: GridLevel
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class OwnAccount:
    id: int
    username: str
    display_name: str
    role: Role
    scope_grid_id: int | None
    scope_grid: UnitBrief | None
    phone: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    grid_ids: list[int]  # the cells a worker covers; none for other roles


def own_account(caller: Caller) -> OwnAccount:
    """The caller's account, its scope unit and (for a worker) its cells: one query each."""
    row = db.session.execute(OWN_ACCOUNT, {"account_id": caller.id}).first()
    if row is None or not row.active:  # deactivated since the token check, in another transaction
        raise UnauthorizedError(_("The account is not active."))
    unit = None
    if row.scope_grid_id is not None:
        unit = UnitBrief(row.scope_grid_id, row.code, row.name, row.level, row.parent_id)
    cells = list(db.session.scalars(OWN_CELLS, {"account_id": caller.id})) if row.role is Role.WORKER else []
    return OwnAccount(
        row.id,
        row.username,
        row.display_name,
        row.role,
        row.scope_grid_id,
        unit,
        row.phone,
        row.active,
        row.created_at,
        row.updated_at,
        cells,
    )
