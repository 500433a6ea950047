"""What the lists tell the rest of the app, published through `kernel.events` inside the request's transaction.

Every step of a need's life publishes `NeedChanged` after the change (and writes its `NeedEvent` row); nothing in
this part subscribes yet: rollups and the assessment may.
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
