"""What the lists tell the rest of the app, published through `kernel.events` inside the request's transaction.

Every step of a need's life publishes `NeedChanged` after the change (and writes its `NeedEvent` row); a project
opened or moved to another status publishes `ProjectChanged`, a rating of a project `ProjectRated`. The
assessment's rollups hear them (wired in bootstrap's `subscribe`).
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NeedChanged:
    need_id: int
    kind: str
    action: str
    from_status: str | None
    to_status: str
    actor_id: int | None
    grid_path: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ProjectChanged:
    """A project opened (`from_status` None) or moved from one status to another."""

    project_id: int
    from_status: str | None
    to_status: str


@dataclass(frozen=True, slots=True)
class ProjectRated:
    rating_id: int
