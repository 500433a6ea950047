"""What the points ledger tells the rest of the app, inside the writing transaction: `PointsEntered` for every
entry written (earned, deducted, taken back or corrected alike); the assessment's rollup hears it."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PointsEntered:
    entry_id: int
    org_id: int
    points: int
    occurred_at: datetime
