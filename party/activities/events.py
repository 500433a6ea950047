"""What the activities sub-package tells the rest of the party layer, published through `kernel.events`.

Published inside the transaction that records or corrects an activity's attendance, after the change; the
handlers (the points ledger's `activity.attended` entries, the 双报到 service records) are wired in
`bootstrap.subscribe`. Plain values, not the model, so a listener needs nothing of this sub-package.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class AttendanceChanged:
    """Members were marked present at an activity (`present_added`), or a mark was withdrawn (`present_removed`).

    Recording an activity publishes it with everyone present in `present_added`; correcting the attendance
    later publishes only the difference. `hours` is the activity's length (what a present member served).
    """

    activity_id: int
    org_id: int
    kind: str
    title: str
    held_at: datetime
    hours: Decimal
    present_added: tuple[int, ...]  # party member ids
    present_removed: tuple[int, ...] = ()
