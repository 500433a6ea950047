"""What part of the territory an account covers (see kernel.scope)."""

from auth.models import Account, Role
from grid import service as grid_service
from kernel.scope import Scope


def scope_of(account: Account) -> Scope:
    """Admins: everything; supervisors and volunteers: their unit's subtree; workers: their cells."""
    if account.role is Role.ADMIN:
        return Scope.everything()
    if account.role is Role.WORKER:
        return Scope.of_paths(grid_service.cell_paths_of(account.id))
    return Scope.of_paths([account.scope_grid.path] if account.scope_grid else [])


def management_scope(account: Account) -> Scope:
    """Where an account may place and manage other accounts: admins anywhere, supervisors their subtree."""
    if account.role is Role.ADMIN:
        return Scope.everything()
    if account.role is Role.SUPERVISOR and account.scope_grid is not None:
        return Scope.of_paths([account.scope_grid.path])
    return Scope()
