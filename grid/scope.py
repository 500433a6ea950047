"""What part of the territory a caller covers, from their role, their unit and their cells (see kernel.scope)."""

from sqlalchemy import bindparam, select

from grid.models import CellAssignment, GridUnit
from kernel.compiled import CompiledSelect
from kernel.principals import Caller, Role
from kernel.scope import Scope


def scope_of(account: Caller) -> Scope:
    """Admins: everything; supervisors and volunteers: their unit's subtree; workers: their cells."""
    if account.role is Role.ADMIN:
        return Scope.everything()
    if account.role is Role.WORKER:
        return Scope.of_paths(cell_paths_of(account.id))
    return Scope.of_paths([account.scope_path] if account.scope_path is not None else [])


def management_scope(account: Caller) -> Scope:
    """Where an account may place and manage other accounts: admins anywhere, supervisors their subtree."""
    if account.role is Role.ADMIN:
        return Scope.everything()
    if account.role is Role.SUPERVISOR and account.scope_path is not None:
        return Scope.of_paths([account.scope_path])
    return Scope()


# A worker's scope, read by most of a worker's requests: built and compiled once, run as SQL text.
_CELL_PATHS = CompiledSelect(
    select(GridUnit.path)
    .join(CellAssignment, CellAssignment.grid_id == GridUnit.id)
    .where(CellAssignment.account_id == bindparam("account_id"))
)


def cell_paths_of(account_id: int) -> list[str]:
    """Paths of the cells assigned to a worker."""
    return [path for (path,) in _CELL_PATHS.all({"account_id": account_id})]
