"""The ticket's life as data (DESIGN.md §3): its states, and one table that the endpoints, `allowed_actions` and
the docs read."""

import enum
from dataclasses import dataclass

from flask_babel import LazyString

from kernel.i18n import _l
from kernel.principals import Role


class Status(enum.StrEnum):
    PENDING = "pending"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RETURN_REQUESTED = "return_requested"  # 退单待审: the handler asked to give it back; still theirs, clock running
    SUSPEND_REQUESTED = "suspend_requested"  # 挂起待审: the handler asked to stop the clock; it still runs
    SUSPENDED = "suspended"  # 挂起: waiting on something outside the handler's hands; the clock stopped
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(
    {
        Status.PENDING,
        Status.ASSIGNED,
        Status.IN_PROGRESS,
        Status.RETURN_REQUESTED,
        Status.SUSPEND_REQUESTED,
        Status.SUSPENDED,
    }
)


class SuspendReason(enum.StrEnum):
    """Why the clock stops (挂起原因)."""

    WAITING_FOR_RESIDENT = "waiting_for_resident"  # 等待群众（不在家、补充材料）
    WAITING_FOR_DEPARTMENT = "waiting_for_department"  # 等待其他部门
    WEATHER = "weather"  # 天气原因


class Action(enum.StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"
    APPROVE_RETURN = "approve_return"
    REFUSE_RETURN = "refuse_return"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    SUSPEND = "suspend"
    APPROVE_SUSPEND = "approve_suspend"
    REFUSE_SUSPEND = "refuse_suspend"
    RESUME = "resume"
    ESCALATE = "escalate"
    CLAIM = "claim"
    TAKE = "take"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"
    URGE = "urge"


class Party(enum.StrEnum):
    """Who, relative to one ticket, may act: the relation is checked per ticket, not only the role."""

    SUPERVISOR = "supervisor"  # an admin, or a supervisor whose scope covers the ticket's unit
    ASSIGNEE = "assignee"  # the account the ticket is assigned to
    VOLUNTEER = "volunteer"  # a volunteer whose scope covers the ticket, when its category is open to volunteers
    CELL_WORKER = "cell_worker"  # a worker one of whose cells is the ticket's unit (小事不出网格)


# A target that is not one status: the status the ticket had before its return was requested (refuse_return).
RESTORED = "the status before the return"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status]
    target: Status | None  # None: the status does not change (urge), or is restored (`restores`)
    parties: frozenset[Party]
    summary: str
    restores: bool = False  # the target is the status before the return request (`Ticket.returned_from`)
    # Where the action goes instead, and when (`tasks.tickets.actions.target_of`): a return without review
    # (RETURN_NEEDS_REVIEW=0) goes to pending; a suspension the category wants approved waits in suspend_requested.
    alternate: Status | None = None
    alternate_when: str = ""


def _rule(
    action: Action,
    sources: set[Status],
    target: Status | None,
    parties: set[Party],
    summary: str,
    **rest: object,
) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(parties), summary, **rest)  # type: ignore[arg-type]


S, P = Status, Party
TRANSITIONS: dict[Action, Transition] = {
    rule.action: rule
    for rule in (
        _rule(Action.DISPATCH, {S.PENDING}, S.ASSIGNED, {P.SUPERVISOR}, "Assign to a worker or volunteer."),
        _rule(Action.ACCEPT, {S.ASSIGNED}, S.IN_PROGRESS, {P.ASSIGNEE}, "The assignee takes the work on."),
        _rule(
            Action.RETURN,
            {S.ASSIGNED, S.IN_PROGRESS},
            S.RETURN_REQUESTED,
            {P.ASSIGNEE},
            "退单: ask to give it back, with a reason; a supervisor over it reviews the request (straight back to "
            "pending when RETURN_NEEDS_REVIEW=0).",
            alternate=S.PENDING,
            alternate_when="RETURN_NEEDS_REVIEW=0",
        ),
        _rule(
            Action.APPROVE_RETURN,
            {S.RETURN_REQUESTED},
            S.PENDING,
            {P.SUPERVISOR},
            "退单审核通过: the return stands; back to pending, unassigned, the handler's reason on record.",
        ),
        _rule(
            Action.REFUSE_RETURN,
            {S.RETURN_REQUESTED},
            None,
            {P.SUPERVISOR},
            "退单驳回: the handler keeps it, in the status it had, with the supervisor's note.",
            restores=True,
        ),
        _rule(
            Action.ESCALATE,
            {S.PENDING, S.ASSIGNED, S.IN_PROGRESS},
            S.PENDING,
            {P.ASSIGNEE, P.SUPERVISOR},
            "上报: the owning unit moves one level up, with a reason.",
        ),
        _rule(Action.CLAIM, {S.PENDING}, S.IN_PROGRESS, {P.VOLUNTEER}, "接单: a volunteer takes an open ticket."),
        _rule(
            Action.TAKE,
            {S.PENDING},
            S.IN_PROGRESS,
            {P.CELL_WORKER},
            "就地处置: the cell's own worker takes it on the spot, dispatched to and accepted by them at once.",
        ),
        _rule(
            Action.REQUEST_EXTENSION,
            {S.IN_PROGRESS},
            None,
            {P.ASSIGNEE},
            "申请延期: ask for a later resolution deadline (`new_deadline`, `reason`); EXTENSIONS_MAX at most.",
        ),
        _rule(
            Action.APPROVE_EXTENSION,
            {S.IN_PROGRESS},
            None,
            {P.SUPERVISOR},
            "延期批准: the resolution deadline moves to the one asked for.",
        ),
        _rule(
            Action.REFUSE_EXTENSION,
            {S.IN_PROGRESS},
            None,
            {P.SUPERVISOR},
            "延期驳回: the deadline stays, with the supervisor's note.",
        ),
        _rule(
            Action.SUSPEND,
            {S.IN_PROGRESS},
            S.SUSPENDED,
            {P.ASSIGNEE},
            "挂起: the clock stops while waiting (`reason` from the list, `until`?); approved first when the category "
            "says so.",
            alternate=S.SUSPEND_REQUESTED,
            alternate_when="the category's suspend_needs_approval",
        ),
        _rule(
            Action.APPROVE_SUSPEND,
            {S.SUSPEND_REQUESTED},
            S.SUSPENDED,
            {P.SUPERVISOR},
            "挂起批准: the clock stops from now.",
        ),
        _rule(
            Action.REFUSE_SUSPEND,
            {S.SUSPEND_REQUESTED},
            S.IN_PROGRESS,
            {P.SUPERVISOR},
            "挂起驳回: the handler carries on, with the supervisor's note; the clock never stopped.",
        ),
        _rule(
            Action.RESUME,
            {S.SUSPENDED},
            S.IN_PROGRESS,
            {P.ASSIGNEE, P.SUPERVISOR},
            "恢复: the clock runs again, its deadlines pushed back by the working time spent suspended (the sweep "
            "resumes at `until`).",
        ),
        _rule(Action.RESOLVE, {S.IN_PROGRESS}, S.RESOLVED, {P.ASSIGNEE}, "Done, with a note for the resident."),
        _rule(Action.CLOSE, {S.RESOLVED}, S.CLOSED, {P.SUPERVISOR}, "Verified and closed."),
        _rule(
            Action.REOPEN,
            {S.RESOLVED, S.CLOSED},
            S.IN_PROGRESS,
            {P.SUPERVISOR},
            "Not fixed: back to the handler, with a reason; counts against the handler.",
        ),
        _rule(
            Action.CANCEL,
            {S.PENDING, S.ASSIGNED},
            S.CANCELLED,
            {P.SUPERVISOR},
            "Withdrawn, with a reason; `merged_into` folds a duplicate into another ticket.",
        ),
        _rule(Action.URGE, set(OPEN_STATUSES), None, {P.SUPERVISOR}, "督办: flag the ticket and notify the assignee."),
    )
}

# Body fields each action requires (the schemas enforce them; listed here for the docs).
REASON_REQUIRED = frozenset({Action.RETURN, Action.ESCALATE, Action.REOPEN, Action.CANCEL})


def actions_from(status: Status) -> list[Action]:
    """Every action the table allows from a status, whoever asks."""
    return [rule.action for rule in TRANSITIONS.values() if status in rule.sources]


def describe() -> str:
    """The table as Markdown, for the API docs."""
    lines = ["| action | from | to | who |", "|---|---|---|---|"]
    for rule in TRANSITIONS.values():
        sources = ", ".join(sorted(rule.sources))
        target = RESTORED if rule.restores else (rule.target or "unchanged")
        if rule.alternate is not None:
            target = f"{target} ({rule.alternate} when {rule.alternate_when})"
        parties = ", ".join(sorted(rule.parties))
        lines.append(f"| `{rule.action}` | {sources} | {target} | {parties} |")
    return "\n".join(lines)


# The roles that can stand in each party (the per-ticket relation is checked by the service). A worker or a
# supervisor stands as a volunteer only in a volunteer area of theirs (`auth.models.VolunteerArea`: a party
# member's 双报到 community), and as the assignee of a ticket they claimed there.
PARTY_ROLES: dict[Party, frozenset[Role]] = {
    Party.SUPERVISOR: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Party.ASSIGNEE: frozenset({Role.WORKER, Role.VOLUNTEER, Role.SUPERVISOR}),
    Party.VOLUNTEER: frozenset({Role.VOLUNTEER, Role.WORKER, Role.SUPERVISOR}),
    Party.CELL_WORKER: frozenset({Role.WORKER}),
}


def roles_for(action: Action) -> list[Role]:
    """Roles that may ever take this action: anyone else is refused before the ticket is read."""
    roles = set().union(*(PARTY_ROLES[party] for party in TRANSITIONS[action].parties))
    return sorted(roles)


# --- what people read (kernel.i18n): each action's name, each party's, and the whole sentence refusing an action
# to a ticket in the wrong status (no "resolveed": one sentence per action, with the status's name).
ACTION_NAMES: dict[Action, LazyString] = {
    Action.DISPATCH: _l("dispatch"),  # 派单
    Action.ACCEPT: _l("accept"),  # 接单
    Action.RETURN: _l("return"),  # 退单
    Action.APPROVE_RETURN: _l("approve the return"),
    Action.REFUSE_RETURN: _l("refuse the return"),
    Action.REQUEST_EXTENSION: _l("request an extension"),
    Action.APPROVE_EXTENSION: _l("approve the extension"),
    Action.REFUSE_EXTENSION: _l("refuse the extension"),
    Action.SUSPEND: _l("suspend"),
    Action.APPROVE_SUSPEND: _l("approve the suspension"),
    Action.REFUSE_SUSPEND: _l("refuse the suspension"),
    Action.RESUME: _l("resume"),
    Action.ESCALATE: _l("escalate"),
    Action.CLAIM: _l("claim"),
    Action.TAKE: _l("take on the spot"),
    Action.RESOLVE: _l("resolve"),
    Action.CLOSE: _l("close"),
    Action.REOPEN: _l("reopen"),
    Action.CANCEL: _l("cancel"),
    Action.URGE: _l("urge"),
}

PARTY_NAMES: dict[Party, LazyString] = {
    Party.SUPERVISOR: _l("supervisor"),
    Party.ASSIGNEE: _l("assignee"),
    Party.VOLUNTEER: _l("volunteer"),
    Party.CELL_WORKER: _l("cell worker"),
}

# %(status)s is the status's name (kernel.names.TICKET_STATUSES).
REFUSALS: dict[Action, LazyString] = {
    Action.DISPATCH: _l("A ticket that is %(status)s cannot be dispatched."),
    Action.ACCEPT: _l("A ticket that is %(status)s cannot be accepted."),
    Action.RETURN: _l("A ticket that is %(status)s cannot be returned."),
    Action.APPROVE_RETURN: _l("A ticket that is %(status)s has no return to approve."),
    Action.REFUSE_RETURN: _l("A ticket that is %(status)s has no return to refuse."),
    Action.REQUEST_EXTENSION: _l("A ticket that is %(status)s cannot have its deadline extended."),
    Action.APPROVE_EXTENSION: _l("A ticket that is %(status)s has no extension to approve."),
    Action.REFUSE_EXTENSION: _l("A ticket that is %(status)s has no extension to refuse."),
    Action.SUSPEND: _l("A ticket that is %(status)s cannot be suspended."),
    Action.APPROVE_SUSPEND: _l("A ticket that is %(status)s has no suspension to approve."),
    Action.REFUSE_SUSPEND: _l("A ticket that is %(status)s has no suspension to refuse."),
    Action.RESUME: _l("A ticket that is %(status)s cannot be resumed."),
    Action.ESCALATE: _l("A ticket that is %(status)s cannot be escalated."),
    Action.CLAIM: _l("A ticket that is %(status)s cannot be claimed."),
    Action.TAKE: _l("A ticket that is %(status)s cannot be taken on the spot."),
    Action.RESOLVE: _l("A ticket that is %(status)s cannot be resolved."),
    Action.CLOSE: _l("A ticket that is %(status)s cannot be closed."),
    Action.REOPEN: _l("A ticket that is %(status)s cannot be reopened."),
    Action.CANCEL: _l("A ticket that is %(status)s cannot be cancelled."),
    Action.URGE: _l("A ticket that is %(status)s cannot be urged."),
}
