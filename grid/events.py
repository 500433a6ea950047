"""What the grid context tells the contexts above it, published through `kernel.events`.

Published inside the transaction that makes the change, before it: a handler may still refuse it (by saying what
holds the unit). Who listens, and in what order, is wired in `bootstrap.subscribe`; the grid code knows no handler.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class UnitRemoving:
    """The unit `unit_id` is about to be deleted. A context whose rows hang on it appends their name (e.g.
    "accounts") to `holders`; the grid refuses the deletion while `holders` is not empty."""

    unit_id: int
    holders: list[str] = field(default_factory=list)
