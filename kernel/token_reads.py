"""A view's one row read by the token check's own query: one round trip, not two.

On PostgreSQL each query is a round trip to the server, and every authenticated request sends the token check's
(`auth.principal`). A view that reads one row it can name from its URL alone (one ticket, the ticket an action
changes, one account, the cell locator's version) marks itself with a `ReadWithTheToken`; the token check then reads
that row in the same statement (`auth.principal.principal_and_row`) and keeps it for the view in this request.
Defined here, below every context, so that any of them can mark a view; `auth` does the reading. `/auth/me` does the
same with the caller's own account (`auth.own`).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from sqlalchemy import Select

from kernel.compiled import CompiledSelect

_MARKED, _KEPT = "with_the_token.marked", "with_the_token.kept"  # this request's in `g`
F = TypeVar("F", bound=Callable[..., Any])


class ReadWithTheToken:
    """`query` selects one row, by `bindparam(key)` where `key` names the URL's argument that gives it, or by
    nothing (`key=None`); its first column is never NULL in a row it finds. Mark the view with the instance (above
    the role check); the view's service takes the row with `row(key)`, which reads it on its own when the token
    check did not (on SQLite, another key, a request that did not pass the token check). The row is read before
    the role and scope checks and only handed to the view, which checks them as for a row it reads itself."""

    def __init__(self, query: Select[Any], key: str | None) -> None:
        self.query = query
        self.key = key
        self._alone = CompiledSelect(query)

    def __call__(self, view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.setdefault(_MARKED, self)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def parameters(self) -> tuple[Any, dict[str, Any]]:
        """The key of this request's row (from its URL) and the query's parameters for it."""
        if self.key is None:
            return None, {}
        key = (request.view_args or {}).get(self.key)
        return key, {self.key: key}

    def keep(self, key: Any, row: tuple[Any, ...] | None) -> None:
        """What the token check read for `key` (None: no such row), for `row` in this request."""
        g.setdefault(_KEPT, (self, key, row))

    def row(self, key: Any = None) -> tuple[Any, ...] | None:
        """The row `query` selects for `key`: the token check's when it read this one."""
        kept = g.pop(_KEPT, None)
        if kept is not None and kept[0] is self and kept[1] == key:
            return kept[2]  # type: ignore[no-any-return]
        return self._alone.first({} if self.key is None else {self.key: key})


def read_with_the_token() -> ReadWithTheToken | None:
    """The read this request's view marked itself with, if any."""
    return g.get(_MARKED)  # type: ignore[no-any-return]
