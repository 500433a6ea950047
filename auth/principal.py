"""The caller of a request as the token check finds them: who, in which role, over which part of the grid.

Authorization needs no more than this (`kernel.principals.Caller`), so every authenticated request gets it from
the one Core query that also checks the session's revocation (`auth.tokens`). Loading the account entity there
instead cost much more, an ORM load against a Core row, for an object most requests never use (see
docs/PERFORMANCE.md). A service that changes or shows the account asks for it with `entity()`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, null, select, type_coerce, union_all

from auth.models import Account, LoginSession
from grid.models import GridUnit
from kernel.compiled import CompiledSelect
from kernel.errors import UnauthorizedError
from kernel.extensions import db
from kernel.i18n import _
from kernel.principals import Role
from kernel.token_reads import ReadWithTheToken


@dataclass(frozen=True, slots=True)
class Principal:
    id: int
    role: Role
    scope_grid_id: int | None
    scope_path: str | None  # the path of the scope unit, for the scope rules without loading the unit
    updated_at: datetime  # changes with role, unit or name: part of cache keys that depend on the caller

    def entity(self) -> Account:
        """The account itself (one query, then the session's identity map)."""
        account = db.session.get(Account, self.id)
        if account is None or not account.active:  # deactivated since the token check, in another transaction
            raise UnauthorizedError(_("The account is not active."))
        return account


_accounts, _sessions, _units = Account.__table__, LoginSession.__table__, GridUnit.__table__

# Built once (a statement memoizes its cache key), from the tables rather than the mapped classes: executed through
# the session, an ORM-enabled select of the same columns is slower, and the account entity slower still (see
# docs/PERFORMANCE.md).
PRINCIPAL_QUERY = (
    select(
        _accounts.c.id,
        _accounts.c.role,
        _accounts.c.scope_grid_id,
        _units.c.path,
        _accounts.c.updated_at,
        _accounts.c.active,
        _sessions.c.revoked_at,
    )
    .select_from(_accounts.join(_sessions, _sessions.c.account_id == _accounts.c.id))
    .outerjoin(_units, _units.c.id == _accounts.c.scope_grid_id)
    .where(_sessions.c.id == bindparam("session_id"), _accounts.c.id == bindparam("account_id"))
)
_PRINCIPAL = CompiledSelect(PRINCIPAL_QUERY)


def find_principal(session_id: str, account_id: int) -> tuple[Principal | None, bool] | None:
    """The caller behind a token's session (None when inactive) and whether the session was revoked; None when
    no such session of that account exists."""
    row = _PRINCIPAL.first({"session_id": session_id, "account_id": account_id})
    return None if row is None else _principal_of(row)


def _principal_of(row: Sequence[Any]) -> tuple[Principal | None, bool]:
    account_id, role, scope_grid_id, scope_path, updated_at, active, revoked_at = row
    principal = Principal(account_id, role, scope_grid_id, scope_path, updated_at) if active else None
    return principal, revoked_at is not None


# --- a view's row read with the token check (kernel.token_reads) -----------------------------------------------

_PRINCIPAL_WIDTH = len(PRINCIPAL_QUERY.selected_columns)


def principal_and_row(read: ReadWithTheToken, session_id: str, account_id: int) -> tuple[Principal | None, bool] | None:
    """What `find_principal` answers, from the query that reads `read`'s row with it; the row is kept for the view
    (`read.row`) in this request. Not on SQLite: a query there is no round trip, and the two halves in one
    statement cost more than the second query they save (callgrind: one ticket's GET 3.10 → 3.21 M instructions)."""
    if db.engine.dialect.name == "sqlite":
        return find_principal(session_id, account_id)
    key, parameters = read.parameters()
    rows = _with_the_token(read).all({"session_id": session_id, "account_id": account_id, **parameters})
    principal = next((row[:_PRINCIPAL_WIDTH] for row in rows if row[0] is not None), None)
    if principal is None:
        return None
    read.keep(key, next((row[_PRINCIPAL_WIDTH:] for row in rows if row[0] is None), None))
    return _principal_of(principal)


@cache
def _with_the_token(read: ReadWithTheToken) -> CompiledSelect:
    """Two rows at most, the principal's and the view's, each padded with the other's columns as NULLs: each half
    runs with its own plan (SQLite materialised the view's row as a subquery joined to the principal's)."""
    columns = read.query.selected_columns
    return CompiledSelect(
        union_all(
            PRINCIPAL_QUERY.add_columns(*_nulls_like(columns)),
            read.query.with_only_columns(*_nulls_like(PRINCIPAL_QUERY.selected_columns), *columns),
        )
    )


def _nulls_like(columns: Any) -> list[Any]:
    """NULL for each column, typed as it (for the rows' conversion; the SQL is a plain NULL)."""
    return [type_coerce(null(), column.type) for column in columns]
