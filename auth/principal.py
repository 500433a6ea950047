"""The caller of a request as the token check finds them: who, in which role, over which part of the grid.

Authorization needs no more than this (`kernel.principals.Caller`), so every authenticated request gets it from
the one Core query that also checks the session's revocation (`auth.tokens`). Loading the account entity there
instead cost much more, an ORM load against a Core row, for an object most requests never use (see
docs/PERFORMANCE.md). A service that changes or shows the account asks for it with `entity()`.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from auth.models import Account, LoginSession
from grid.models import GridUnit
from kernel.compiled import CompiledSelect
from kernel.errors import UnauthorizedError
from kernel.extensions import db
from kernel.i18n import _
from kernel.principals import Role


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
    if row is None:
        return None
    account_id, role, scope_grid_id, scope_path, updated_at, active, revoked_at = row
    principal = Principal(account_id, role, scope_grid_id, scope_path, updated_at) if active else None
    return principal, revoked_at is not None
