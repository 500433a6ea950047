"""Where a request's statements run: a read replica for the heavy readers, and autocommit for plain reads.

With DATABASE_REPLICA_URL set, the views marked `@reads_replica` (dashboards, exports) run their SELECTs on it;
everything else, and every write, uses the primary.

The replica is a Flask-SQLAlchemy bind (`SQLALCHEMY_BINDS["replica"]`) that no model names; the session's
`get_bind` sends a statement there only when all of these hold: the view asked for it (from its body on: the
authentication before it reads the primary, so a revoked login takes effect at once), the statement is a
SELECT, and the session is not flushing. A write made in such a view (an export's personal-data access
log) goes to the primary in the same request. Without the setting nothing changes.

A read request on PostgreSQL (`kernel.transaction`) runs its statements on autocommit connections: the same
engines and pools, each connection with `isolation_level="AUTOCOMMIT"` while this request holds it.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from flask import Flask, g, has_request_context
from flask_sqlalchemy.session import Session
from sqlalchemy import Engine

REPLICA = "replica"
_AUTOCOMMIT = "autocommit_reads"
_autocommit_engines: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
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


def run_reads_in_autocommit() -> None:
    """This request's statements each commit on their own (a read that needs no transaction)."""
    g.setdefault(_AUTOCOMMIT, True)


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, sending the marked views' SELECTs to the replica when there is one, and a
    read request's statements to autocommit connections."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        if bind is not None or not has_request_context():
            return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        engine = None
        if not self._flushing and getattr(clause, "is_select", False) and g.get("read_replica"):
            engine = self._db.engines.get(REPLICA)
        if engine is None:
            engine = super().get_bind(mapper=mapper, clause=clause, **kwargs)
        if g.get(_AUTOCOMMIT):
            return _autocommitting(engine)
        return engine


def _autocommitting(engine: Engine) -> Engine:
    """The engine's autocommit variant: the same pool and events, made once."""
    variant = _autocommit_engines.get(engine)
    if variant is None:
        variant = _autocommit_engines[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return variant
