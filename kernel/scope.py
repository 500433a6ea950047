"""Grid scope: which part of the territory tree a caller covers.

A unit's materialized path lists its ancestors' ids with a trailing separator ("/1/5/9/"), so
"inside Y's subtree" is one indexed prefix match. Every endpoint checks scope through this module.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from kernel.errors import ForbiddenError, NotFoundError
from kernel.i18n import N_, _


def path_ids(path: str) -> list[int]:
    """The ids on a unit's path, root first, the unit's own last ("/1/5/9/" is [1, 5, 9])."""
    return [int(part) for part in path.strip("/").split("/") if part]


@dataclass(frozen=True)
class Scope:
    """The subtrees a caller covers; `unrestricted` for the whole territory (admins)."""

    unrestricted: bool = False
    paths: tuple[str, ...] = ()

    @classmethod
    def everything(cls) -> "Scope":
        return cls(unrestricted=True)

    @classmethod
    def of_paths(cls, paths: Iterable[str]) -> "Scope":
        return cls(paths=tuple(sorted(set(paths))))

    def covers(self, path: str | None) -> bool:
        """Whether the unit at `path` lies in one of the covered subtrees."""
        if self.unrestricted:
            return True
        return path is not None and any(path.startswith(root) for root in self.paths)

    def clause(self, path_column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose unit path lies in the covered subtrees."""
        if self.unrestricted:
            return true()
        if not self.paths:
            return false()
        return or_(*(path_column.startswith(root, autoescape=True) for root in self.paths))


def ensure_visible(scope: Scope, path: str | None, what: str = N_("resource")) -> None:
    """404 when the caller may not even know the object exists."""
    if not scope.covers(path):
        raise NotFoundError(_("No such %(what)s.", what=_(what)))


def ensure_manageable(scope: Scope, path: str | None, what: str = N_("unit")) -> None:
    """403 when the caller names a place outside their scope for a change."""
    if not scope.covers(path):
        raise ForbiddenError(
            _("That %(what)s is outside your scope.", what=_(what)), {"scope": [_("outside your grid scope")]}
        )
