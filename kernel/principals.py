"""Who acts: the roles, and what every rule may read of the caller (`Caller`), whoever loaded them.

The kernel owns these so that any context can authorize without importing `auth`: the token check
(`auth.principal.Principal`) and an account (`auth.models.Account`) both satisfy `Caller`, and the grid's scope
rules (`grid.scope`) take one as a value.
"""

import enum
from datetime import datetime
from typing import Any, Protocol


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    WORKER = "worker"
    VOLUNTEER = "volunteer"
    PARTY_STAFF = "party_staff"  # 党务工作者: scoped to a party organisation subtree, not a grid subtree


class Caller(Protocol):
    """What the scope and visibility rules read of whoever acts: a `Principal` or an `Account`."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> Role: ...
    @property
    def scope_grid_id(self) -> int | None: ...
    @property
    def scope_path(self) -> str | None: ...
    @property
    def updated_at(self) -> datetime: ...
    def entity(self) -> Any:
        """The caller's account entity (`auth.models.Account`), for a service that changes or shows it."""
        ...
