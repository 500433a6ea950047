"""The words the console's scripts show for the API's enum values, translated where the page is rendered.

The API's wire values (statuses, actions, roles, organisation kinds) stay English; the page carries a JSON blob
of their names in the caller's language, so no dictionary of texts lives in JavaScript.
"""

from typing import Any

from kernel.i18n import _l

STATUSES = {
    "pending": _l("Awaiting dispatch"),
    "assigned": _l("Dispatched"),
    "in_progress": _l("In progress"),
    "return_requested": _l("Return awaiting review"),
    "suspend_requested": _l("Suspension awaiting review"),
    "suspended": _l("Suspended"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}

ACTIONS = {
    "dispatch": _l("Dispatch"),
    "accept": _l("Accept"),
    "return": _l("Return"),
    "approve_return": _l("Approve return"),
    "refuse_return": _l("Refuse return"),
    "request_extension": _l("Request extension"),
    "approve_extension": _l("Approve extension"),
    "refuse_extension": _l("Refuse extension"),
    "suspend": _l("Suspend"),
    "approve_suspend": _l("Approve suspension"),
    "refuse_suspend": _l("Refuse suspension"),
    "resume": _l("Resume"),
    "escalate": _l("Escalate"),
    "claim": _l("Claim"),
    "take": _l("Take"),
    "resolve": _l("Resolve"),
    "close": _l("Close"),
    "reopen": _l("Reopen"),
    "cancel": _l("Cancel"),
    "urge": _l("Urge"),
    "merge": _l("Merge into another ticket"),
    "create": _l("Created"),
}

# The form each action's dialog asks for: (field, kind, required). The API checks them; this only lays out inputs.
ACTION_FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    "dispatch": [("assignee_id", "worker", True)],
    "urge": [("note", "text", True)],
    "escalate": [("reason", "text", True)],
    "cancel": [("reason", "text", True)],
    "merge": [("merged_into", "ticket", True), ("reason", "text", True)],
    "return": [("reason", "text", True)],
    "reopen": [("reason", "text", True)],
    "resolve": [("note", "text", True)],
    "approve_return": [("note", "text", False)],
    "refuse_return": [("note", "text", True)],
    "approve_suspend": [("note", "text", False)],
    "refuse_suspend": [("note", "text", True)],
    "approve_extension": [("note", "text", False)],
    "refuse_extension": [("note", "text", True)],
    "resume": [("note", "text", False)],
}

FIELDS = {
    "assignee_id": _l("Worker of the cell"),
    "note": _l("Note"),
    "reason": _l("Reason"),
    "merged_into": _l("Merge into ticket number (ID)"),
}

ROLES = {
    "admin": _l("Administrator"),
    "supervisor": _l("Supervisor"),
    "worker": _l("Grid worker"),
    "volunteer": _l("Volunteer"),
    "party_staff": _l("Party staff"),
}

ORG_KINDS = {
    "party_committee": _l("Party committee"),
    "general_branch": _l("General branch"),
    "branch": _l("Party branch"),
    "group": _l("Party group"),
}

CHECK_IN_STATUSES = {
    "pending": _l("Awaiting confirmation"),
    "confirmed": _l("Confirmed"),
    "rejected": _l("Rejected"),
    "ended": _l("Ended"),
}

TEXTS = {
    "failed": _l("The action was not done:"),
    "done": _l("Done."),
    "loading": _l("Loading…"),
    "none": _l("Nothing here."),
    "confirm": _l("Confirm"),
    "close": _l("Close"),
    "reveal": _l("Show full number"),
    "reveal_reason": _l("Why do you need the full number? (recorded)"),
    "choose": _l("Choose…"),
    "received": _l("Received"),
    "open": _l("Open"),
    "overdue": _l("Overdue"),
    "warned": _l("Warned"),
    "resolved": _l("Resolved"),
    "response_rate": _l("Response rate"),
    "resolution_rate": _l("Resolution rate"),
    "satisfaction_rate": _l("Satisfaction rate"),
    "on_time_resolution_rate": _l("On-time resolution rate"),
    "score": _l("Score"),
    "points": _l("Points"),
    "worker_position": _l("Workers' last positions"),
    "patrol_track": _l("Patrol tracks"),
    "ticket_position": _l("Ticket position"),
    "no_position": _l("This ticket has no recorded position."),
    "urged": _l("Urged"),
    "unassigned": _l("Unassigned"),
    "downloaded": _l("The file was downloaded."),
}


def catalogue() -> dict[str, Any]:
    """Every label in the caller's language, ready for `tojson`."""

    def plain(mapping: dict[str, Any]) -> dict[str, str]:
        return {key: str(value) for key, value in mapping.items()}

    return {
        "statuses": plain(STATUSES),
        "actions": plain(ACTIONS),
        "fields": plain(FIELDS),
        "action_fields": ACTION_FIELDS,
        "roles": plain(ROLES),
        "org_kinds": plain(ORG_KINDS),
        "check_in_statuses": plain(CHECK_IN_STATUSES),
        "texts": plain(TEXTS),
    }
