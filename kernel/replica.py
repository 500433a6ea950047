"""A read replica for the heavy readers: with DATABASE_REPLICA_URL set, the views marked `@reads_replica`
(dashboards, exports) run their SELECTs on it; everything else, and every write, uses the primary.

The replica is a Flask-SQLAlchemy bind (`SQLALCHEMY_BINDS["replica"]`) that no model names; the session's
`get_bind` sends a statement there only when all of these hold: the view asked for it (from its body on: the
authentication before it reads the primary, so a revoked login takes effect at once), the statement is a
SELECT, and the session is not flushing. A write made in such a view (an export's personal-data access
log) goes to the primary in the same request. Without the setting nothing changes.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, has_app_context, has_request_context
from flask_sqlalchemy.session import Session

REPLICA = "replica"
F = TypeVar("F", bound=Callable[..., Any])


def configure(app: Flask) -> None:
    """Declare the replica bind from DATABASE_REPLICA_URL (before the extension creates its engines)."""
    url = app.config.get("DATABASE_REPLICA_URL")
    if url:
        app.config["SQLALCHEMY_BINDS"] = {**(app.config.get("SQLALCHEMY_BINDS") or {}), REPLICA: url}


def reads_replica(view: F) -> F:
    """Mark a read-only view's queries (from here to the end of its response, streaming included) for the
    replica. Put it next to the function, under the role check, so authentication reads the primary."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.read_replica = True
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, sending the marked views' SELECTs to the replica when there is one."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        if bind is None and not self._flushing and getattr(clause, "is_select", False) and _wanted():
            engines = self._db.engines
            if REPLICA in engines:
                return engines[REPLICA]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _wanted() -> bool:
    return has_app_context() and has_request_context() and bool(g.get("read_replica"))
