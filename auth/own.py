"""Accounts as the reads show them, read by Core queries rather than loaded as entities: the caller's own
(`/auth/me`, with its cells) and any account a manager reads (`/users/{id}`).

`/auth/me` is what every app calls on start and on resume. Loading the account entity (with its scope unit
joined) and then its cell assignments through the relationship took a third of the request; the same columns
read as plain rows take a tenth of that (docs/PERFORMANCE.md, "Second pass"); `/users/{id}` loaded the entity
with its whole scope unit, boundary included ("Third pass: the reads"). The documents are written from these rows by
`auth.schemas.user_document`, as from an entity.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import g
from sqlalchemy import and_, bindparam, select

from auth.models import Account, LoginSession
from auth.principal import Principal
from grid.models import CellAssignment, GridUnit
from grid.service import UnitBrief
from kernel.compiled import CompiledSelect
from kernel.errors import UnauthorizedError
from kernel.i18n import _
from kernel.principals import Caller, Role
from kernel.token_reads import ReadWithTheToken

_accounts, _units, _cells = Account.__table__, GridUnit.__table__, CellAssignment.__table__
_sessions = LoginSession.__table__

_VIEW_COLUMNS = (
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
    _units.c.path,
)
_WITH_UNIT = _accounts.outerjoin(_units, _units.c.id == _accounts.c.scope_grid_id)
ACCOUNT_VIEW = select(*_VIEW_COLUMNS).select_from(_WITH_UNIT).where(_accounts.c.id == bindparam("user_id"))
# `/users/{id}` reads the account with the token check (`account_read_with_the_token` marks the view).
account_read_with_the_token = ReadWithTheToken(ACCOUNT_VIEW, "user_id")
# The caller's own account with a worker's cells, one row per cell (one row with none): one round trip, not two.
OWN_ACCOUNT = (
    select(*_VIEW_COLUMNS, _cells.c.grid_id)
    .select_from(
        _WITH_UNIT.outerjoin(_cells, and_(_cells.c.account_id == _accounts.c.id, _accounts.c.role == Role.WORKER))
    )
    .where(_accounts.c.id == bindparam("account_id"))
    .order_by(_cells.c.grid_id)
)
CELL = len(_VIEW_COLUMNS)  # where the cell is in OWN_ACCOUNT's rows
_OWN_ACCOUNT = CompiledSelect(OWN_ACCOUNT)
# `/auth/me`'s token check and its document in one query (`reads_own_account_with_the_token`): the principal's
# columns (`auth.principal.PRINCIPAL_QUERY`) are all among the document's; the session's revocation comes last.
_OWN_ACCOUNT_BY_SESSION = CompiledSelect(
    select(*_VIEW_COLUMNS, _cells.c.grid_id, _sessions.c.revoked_at)
    .select_from(
        _WITH_UNIT.join(_sessions, _sessions.c.account_id == _accounts.c.id).outerjoin(
            _cells, and_(_cells.c.account_id == _accounts.c.id, _accounts.c.role == Role.WORKER)
        )
    )
    .where(_sessions.c.id == bindparam("session_id"), _accounts.c.id == bindparam("account_id"))
    .order_by(_cells.c.grid_id)
)
_WANTED, _READ = "own_account.wanted", "own_account.read"  # this request's flags in `g`
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class AccountView:
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
    scope_path: str | None  # of the scope unit: who may see the account (not shown)


@dataclass(frozen=True, slots=True)
class OwnAccount(AccountView):
    grid_ids: list[int]  # the cells a worker covers; none for other roles


def find_account_view(account_id: int) -> AccountView | None:
    """An account and its scope unit, in one query; None when there is no such account."""
    row = account_read_with_the_token.row(account_id)
    return None if row is None else AccountView(*_view_fields(row))


def own_account(caller: Caller) -> OwnAccount:
    """The caller's account, its scope unit and (for a worker) its cells, in one query: the token check's, when
    the view asked for it (`reads_own_account_with_the_token`)."""
    account = g.pop(_READ, None)
    if account is None or account.id != caller.id:
        account = _own_account_of(_OWN_ACCOUNT.all({"account_id": caller.id}))
    if account is None or not account.active:  # deactivated since the token check, in another transaction
        raise UnauthorizedError(_("The account is not active."))
    return account


def _own_account_of(rows: Sequence[Sequence[Any]]) -> OwnAccount | None:
    """The account from OWN_ACCOUNT's rows (one per cell); None without any."""
    cells = [row[CELL] for row in rows if row[CELL] is not None]
    return OwnAccount(*_view_fields(rows[0]), cells) if rows else None


def reads_own_account_with_the_token(view: F) -> F:
    """Mark a view that answers with the caller's own account (`own_account`): the token check reads it with the
    principal, in the one query it makes anyway (`principal_and_own_account`). Put it above the role check.
    `/auth/me` is what every app calls on start and on resume; on PostgreSQL each query is a round trip."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.setdefault(_WANTED, True)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def wants_own_account() -> bool:
    """Whether this request's view marked itself `reads_own_account_with_the_token`."""
    return bool(g.get(_WANTED))


def principal_and_own_account(session_id: str, account_id: int) -> tuple[Principal | None, bool] | None:
    """What `auth.principal.find_principal` answers, from the query that reads the own account with it; the
    account is kept for `own_account` in this request."""
    rows = _OWN_ACCOUNT_BY_SESSION.all({"session_id": session_id, "account_id": account_id})
    account = _own_account_of(rows)
    if account is None:
        return None
    g.setdefault(_READ, account)
    principal = None
    if account.active:
        principal = Principal(account.id, account.role, account.scope_grid_id, account.scope_path, account.updated_at)
    return principal, rows[0][-1] is not None


def _view_fields(row: Sequence[Any]) -> tuple[Any, ...]:
    """AccountView's fields from a row of ACCOUNT_VIEW's columns (unpacked by position: by name, each read
    costs more)."""
    (account_id, username, display_name, role, unit_id, phone, active, created_at, updated_at, *unit) = row[:CELL]
    code, name, level, parent_id, path = unit
    brief = None if unit_id is None else UnitBrief(unit_id, code, name, level, parent_id, path)
    return (account_id, username, display_name, role, unit_id, brief, phone, active, created_at, updated_at, path)
