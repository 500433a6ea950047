"""Our ticket statuses (tasks.lifecycle) as Open311 sees them: GeoReport v2's `open`/`closed`, and FixMyStreet's
extended statuses for `servicerequestupdates`. One table each; the tests and docs/API.md read the same tables."""

from collections.abc import Mapping
from typing import Any, Final

from tasks.lifecycle import OPEN_STATUSES, Action, Status

OPEN, CLOSED = "open", "closed"
# Open311's "closed: it has been resolved": a resolved ticket (awaiting the resident's rating) is closed for the
# client; a reopen makes it open again.
GEOREPORT: Final[Mapping[Status, str]] = {status: OPEN if status in OPEN_STATUSES else CLOSED for status in Status}

# FixMyStreet's extended statuses (upper case, as FixMyStreet sends them; it reads them in any case).
EXTENDED: Final[Mapping[Status, str]] = {
    Status.PENDING: "OPEN",
    Status.ASSIGNED: "ACTION_SCHEDULED",
    Status.IN_PROGRESS: "IN_PROGRESS",
    Status.RETURN_REQUESTED: "IN_PROGRESS",  # still the handler's while a supervisor reviews the return
    Status.SUSPEND_REQUESTED: "IN_PROGRESS",
    Status.SUSPENDED: "ACTION_SCHEDULED",  # 挂起: waiting on the resident, a department or the weather
    Status.RESOLVED: "FIXED",
    Status.CLOSED: "CLOSED",
    Status.CANCELLED: "NO_FURTHER_ACTION",
}
# Where the action says more than the status it leads to.
EXTENDED_BY_ACTION: Final[Mapping[str, str]] = {
    Action.ESCALATE: "INVESTIGATING",  # 上报: referred one level up to be looked into
}
DUPLICATE = "DUPLICATE"  # a cancel that merged the ticket into another one
ALL_EXTENDED: Final = (
    "OPEN",
    "CLOSED",
    "FIXED",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "INVESTIGATING",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
)


def georeport(status: Status) -> str:
    return GEOREPORT[status]


def extended(action: str, to_status: Status, details: Mapping[str, Any]) -> str:
    """The extended status an event of the ticket's record leads to."""
    if action == Action.CANCEL and details.get("merged_into"):
        return DUPLICATE
    return EXTENDED_BY_ACTION.get(action) or EXTENDED[to_status]


def extended_now(status: Status, merged: bool) -> str:
    """The extended status of a ticket as it stands."""
    return DUPLICATE if status is Status.CANCELLED and merged else EXTENDED[status]
