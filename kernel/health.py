"""Liveness and readiness probes for load balancers and orchestrators."""

import ast
from collections.abc import Callable
from functools import cache
from pathlib import Path

from flask import Flask, Response, current_app
from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kernel.api import Blueprint
from kernel.config import ROOT
from kernel.errors import ServiceUnavailableError
from kernel.etag import quoted_etag_of_body
from kernel.extensions import db
from kernel.i18n import _

blp = Blueprint("health", __name__, description="Health probes")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadinessSchema(HealthSchema):
    migration = fields.String(required=True)
    warnings = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "upkeep due soon, still ready (e.g. next year's working-day calendar missing)"},
    )


def register_readiness_warning(app: Flask, check: Callable[[], list[str]]) -> None:
    """A higher layer's upkeep check: `/readyz` stays ready and lists what `check` returns."""
    app.extensions.setdefault("readiness_warnings", []).append(check)


# The liveness answer never changes: its body is written once, not dumped through HealthSchema per probe (the
# schema still documents it; tests/kernel/test_health.py holds the two equal).
HEALTHY_BODY = b'{"status":"ok"}\n'
_HEALTHY_HEADERS = {"ETag": quoted_etag_of_body(HEALTHY_BODY)}


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema)
def healthz() -> Response:
    """The process is alive."""
    return current_app.response_class(HEALTHY_BODY, mimetype="application/json", headers=_HEALTHY_HEADERS)


@blp.route("/readyz", methods=["GET"])
@blp.response(200, ReadinessSchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def readyz() -> dict[str, object]:
    """The database answers and its schema is at the latest migration; `warnings` lists upkeep due soon."""
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        db.session.rollback()
        raise ServiceUnavailableError(
            _("The database is not reachable or not migrated."), {"database": ["unavailable"]}
        ) from None
    head = migration_head()
    if current != [head]:
        raise ServiceUnavailableError(
            _("The database schema is not at the latest migration; run `flask --app wsgi db upgrade`."),
            {"migration": [_("at %(value)s, expected %(head)s", value=", ".join(current) or "nothing", head=head)]},
        )
    warnings = [warning for check in current_app.extensions.get("readiness_warnings", []) for warning in check()]
    return {"status": "ready", "migration": head, "warnings": warnings}


@cache
def migration_head() -> str:
    """The newest migration: the revision no other names as its `down_revision`, read from the files' own
    assignments. Alembic's ScriptDirectory would bring alembic, mako and pygments into every web worker that a
    readiness probe reaches (docs/PERFORMANCE.md, "Worker memory"); tests/kernel/test_migrations.py holds this
    equal to alembic's head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (Path(ROOT) / "migrations" / "versions").glob("*.py"):
        found = _revision_assignments(path)
        revisions.add(found["revision"])
        down = found.get("down_revision")
        parents.update(down if isinstance(down, tuple | list) else [down] if down else [])
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"expected one migration head, found {sorted(heads)}")
    return heads.pop()


def _revision_assignments(path: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and node.value is not None:
                found[target.id] = ast.literal_eval(node.value)
    return found
