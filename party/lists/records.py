"""Writing a need's record: the `NeedEvent` row and the `NeedChanged` event, and the race-safe status move."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update

from kernel.clock import utcnow
from kernel.errors import ConflictError
from kernel.events import publish
from kernel.extensions import db
from kernel.i18n import _
from party.lists.events import NeedChanged
from party.lists.models import Need, NeedEvent, NeedStatus


def record(
    need: Need,
    action: str,
    *,
    actor_id: int | None,
    from_status: NeedStatus | None,
    note: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """One step of the need's life on record, told to the app."""
    now = utcnow()
    db.session.add(
        NeedEvent(
            need_id=need.id,
            action=action,
            from_status=from_status.value if from_status is not None else None,
            to_status=need.status.value,
            actor_id=actor_id,
            note=note,
            details=dict(details or {}),
            created_at=now,
        )
    )
    db.session.flush()
    publish(
        NeedChanged(
            need_id=need.id,
            kind=need.kind.value,
            action=action,
            from_status=from_status.value if from_status is not None else None,
            to_status=need.status.value,
            actor_id=actor_id,
            grid_path=need.grid_path,
            at=now,
        )
    )


def move(need: Need, target: NeedStatus, **values: Any) -> None:
    """Compare-and-set the need's status from the one read to `target` (with `values`): of two requests moving
    it at once, the database lets one through and the other is 409, on SQLite and PostgreSQL alike."""
    expected = need.status
    stmt = (
        update(Need)
        .where(Need.id == need.id, Need.status == expected)
        .values(status=target, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(stmt).rowcount != 1:
        raise ConflictError(
            _("Someone else changed this need first."), {"status": ["changed by another request; read it again"]}
        )
    db.session.refresh(need)
