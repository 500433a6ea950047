"""Random actions by random people on a few tickets, over HTTP, checked against the lifecycle table.

A hypothesis state machine keeps its own model of each ticket (status, owning unit, assignee, handler) and
of who stands where in conftest's territory, and predicts every answer from `TRANSITIONS`: 200 only for an
action the table allows from the current status to a party of the ticket, otherwise the documented refusal
(403 for a role that never may, 404 outside the caller's view, 409 `invalid_transition` for the state,
403 for a non-party, 422 for an assignee or merge target that cannot be). After every step the ticket, the
caller's `allowed_actions` and the timeline must agree with the model, and nothing may answer 5xx.

The territory: district D › street S1 › community C1 › cell G1a, where tickets are filed; escalation moves
a ticket up that chain (a supervisor's to the parent of their own unit). Whoever covers G1a, the first unit, keeps
reading the ticket wherever it goes. People come from tests.support.tasks.build_world.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tasks.lifecycle import TRANSITIONS, Action, Party, Status
from tests.support.tasks import World

SETTINGS = settings(
    max_examples=30,
    stateful_step_count=15,
    deadline=None,
    database=None,
    # The app and the people are per-test fixtures; each example files fresh tickets in `file_tickets`.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CHAIN = ("G1a", "C1", "S1", "D")  # a ticket's owning unit, from its cell up to the top
ROLES = {
    "admin": "admin",
    "supervisor": "supervisor",
    "community_supervisor": "supervisor",
    "far_supervisor": "supervisor",
    "worker": "worker",
    "other_worker": "worker",
    "far_worker": "worker",
    "volunteer": "volunteer",
    "other_volunteer": "volunteer",
    "far_volunteer": "volunteer",
}
PEOPLE = tuple(ROLES)
# The units of CHAIN each person's scope covers (admins cover everything; workers only their cells).
COVERS = {
    "admin": set(CHAIN),
    "supervisor": {"G1a", "C1", "S1"},
    "community_supervisor": {"G1a", "C1"},
    "far_supervisor": set(),
    "worker": {"G1a"},
    "other_worker": set(),
    "far_worker": set(),
    "volunteer": {"G1a", "C1"},
    "other_volunteer": {"G1a", "C1"},
    "far_volunteer": set(),
}
# Where each worker or volunteer may be dispatched: a worker with a cell under the unit; a volunteer
# whose own unit lies on the unit's line (in, above or below it).
ASSIGNABLE = {
    "worker": set(CHAIN),
    "other_worker": {"C1", "S1", "D"},
    "far_worker": {"D"},
    "volunteer": set(CHAIN),
    "other_volunteer": set(CHAIN),
    "far_volunteer": {"D"},
}
ASSIGNEES = tuple(ASSIGNABLE)
PARTY_ROLES = {  # workers and supervisors claim (and then handle) only in a volunteer area of theirs: none here
    Party.SUPERVISOR: {"admin", "supervisor"},
    Party.ASSIGNEE: {"worker", "volunteer", "supervisor"},
    Party.VOLUNTEER: {"volunteer", "worker", "supervisor"},
    Party.CELL_WORKER: {"worker"},
}
# The unit each supervisor sits in: their 上报 goes to its parent.
SUPERVISOR_UNITS = {"supervisor": "S1", "community_supervisor": "C1", "far_supervisor": "S2"}
STATES = {status.value for rule_ in TRANSITIONS.values() for status in rule_.sources} | {
    rule_.target.value for rule_ in TRANSITIONS.values() if rule_.target is not None
}
CATEGORIES = {"CITY.GARBAGE": True, "FACILITY.ROAD": False}  # code -> open to volunteers
NEEDS_APPROVAL = {"FACILITY.ROAD"}  # 挂起 of these tickets waits for a supervisor (suspend_needs_approval)

# Ways to bring a new ticket to each stage, through the table.
ROADS = (
    (),
    (("supervisor", Action.DISPATCH),),
    (("supervisor", Action.DISPATCH), ("worker", Action.ACCEPT)),
    (("volunteer", Action.CLAIM),),
    (("supervisor", Action.DISPATCH), ("worker", Action.ACCEPT), ("worker", Action.RESOLVE)),
    (("volunteer", Action.CLAIM), ("volunteer", Action.RESOLVE)),
    (("worker", Action.TAKE),),
    (("worker", Action.TAKE), ("worker", Action.RESOLVE)),
    (("supervisor", Action.DISPATCH), ("worker", Action.ACCEPT), ("worker", Action.RESOLVE), ("admin", Action.CLOSE)),
    (("supervisor", Action.DISPATCH), ("worker", Action.RETURN)),  # 退单 under review, from assigned
    (("supervisor", Action.DISPATCH), ("worker", Action.ACCEPT), ("worker", Action.RETURN)),  # and from in_progress
)
words = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=40)
notes = st.none() | words
feedbacks = st.fixed_dictionaries(
    {"rating": st.integers(1, 5), "channel": st.sampled_from(["sms", "visit", "app"])},
    optional={"comment": notes},
)
locations = st.none() | st.fixed_dictionaries(
    {
        "lat": st.floats(-90, 90, allow_nan=False),
        "lng": st.floats(-180, 180, allow_nan=False),
    },
    optional={"coord_system": st.sampled_from(["wgs84", "gcj02", "bd09"])},
)


@dataclass
class Model:
    """What the test believes about one ticket."""

    id: str
    claimable: bool
    status: str = "pending"
    unit: int = 0  # index into CHAIN
    assignee: str | None = None
    handler: str | None = None
    rounds_rated: set[int] = field(default_factory=set)
    resolution_round: int = 0
    needs_approval: bool = False  # the category's suspend_needs_approval
    returned_from: str | None = None  # the status before a return request under review
    extension_asked: bool = False  # a 延期 request awaits a decision
    extensions: int = 0  # approved (EXTENSIONS_MAX: 2)
    events: int = 1  # "create"
    last: tuple[str, str | None, str] = ("create", None, "pending")

    @property
    def grid(self) -> str:
        return CHAIN[self.unit]


def can_see(who: str, ticket: Model) -> bool:
    if ticket.assignee == who or who == "admin":
        return True
    if ROLES[who] == "volunteer" and not ticket.claimable:
        return False
    return ticket.grid in COVERS[who] or CHAIN[0] in COVERS[who]  # owned in their scope, or first received there


def parties(who: str, ticket: Model) -> set[Party]:
    found = set()
    if who == "admin" or (ROLES[who] == "supervisor" and ticket.grid in COVERS[who]):
        found.add(Party.SUPERVISOR)
    if ticket.assignee == who:
        found.add(Party.ASSIGNEE)
    if ROLES[who] == "volunteer" and ticket.claimable and ticket.grid in COVERS[who]:
        found.add(Party.VOLUNTEER)
    if ROLES[who] == "worker" and ticket.status == "pending" and ticket.grid == CHAIN[0] and ticket.grid in COVERS[who]:
        found.add(Party.CELL_WORKER)
    return found


def escalated_to(who: str, ticket: Model) -> int:
    """The index in CHAIN a successful escalation by `who` moves the ticket to."""
    if who in SUPERVISOR_UNITS:
        return CHAIN.index(SUPERVISOR_UNITS[who]) + 1
    return ticket.unit + 1


def guarded(action: Action, ticket: Model) -> bool:
    """The table allows it from this status, but the ticket itself does not (reopen windows never lapse here)."""
    return (action is Action.ESCALATE and ticket.grid == CHAIN[-1]) or (action is Action.CLAIM and not ticket.claimable)


def guarded_for(who: str, action: Action, ticket: Model) -> bool:
    """`guarded`, and the guards that read who acts: a handler does not review their own return."""
    reviewing = action in (Action.APPROVE_RETURN, Action.REFUSE_RETURN)
    deciding = action in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION)
    asking = action is Action.REQUEST_EXTENSION and (ticket.extension_asked or ticket.extensions >= 2)
    undecidable = deciding and (not ticket.extension_asked or ticket.assignee == who)
    return guarded(action, ticket) or (reviewing and ticket.assignee == who) or asking or undecidable


def allowed(who: str, ticket: Model) -> list[str]:
    """The table's actions from the ticket's status that this person may take, in the table's order."""
    return [
        action.value
        for action, rule_ in TRANSITIONS.items()
        if Status(ticket.status) in rule_.sources
        and parties(who, ticket) & rule_.parties
        and not guarded_for(who, action, ticket)
    ]


def expected(who: str, action: Action, ticket: Model, body: dict[str, Any], tickets: list[Model]) -> tuple[int, str]:
    """The status and error code (or "ok") the API owes for this action, in the order the API checks."""
    rule_ = TRANSITIONS[action]
    if not any(ROLES[who] in PARTY_ROLES[party] for party in rule_.parties):
        return 403, "forbidden"
    if not can_see(who, ticket):
        return 404, "not_found"
    if Status(ticket.status) not in rule_.sources:
        return 409, "invalid_transition"
    if not parties(who, ticket) & rule_.parties:
        return 403, "forbidden"
    if guarded_for(who, action, ticket):
        return 409, "invalid_transition"
    if action is Action.DISPATCH and ticket.grid not in ASSIGNABLE[body["_to"]]:
        return 422, "validation_error"
    if action is Action.CANCEL and "merged_into" in body:
        survivor = next(other for other in tickets if other.id == body["merged_into"])
        if not can_see(who, survivor) or survivor.status == "cancelled":
            return 422, "validation_error"
    return 200, "ok"


def expected_feedback(who: str, ticket: Model) -> tuple[int, str]:
    if ROLES[who] not in ("admin", "supervisor"):
        return 403, "forbidden"
    if not can_see(who, ticket):
        return 404, "not_found"
    if Party.SUPERVISOR not in parties(who, ticket):
        return 403, "forbidden"
    if ticket.status != "resolved":
        return 409, "invalid_transition"
    if ticket.resolution_round in ticket.rounds_rated:
        return 409, "conflict"
    return 200, "ok"


def apply(who: str, action: Action, ticket: Model, body: dict[str, Any], tickets: list[Model]) -> None:
    """What a successful action does to the model."""
    before = ticket.status
    if action is Action.DISPATCH:
        ticket.assignee = body["_to"]
    elif action is Action.RETURN:  # reviewed (RETURN_NEEDS_REVIEW=1): still the handler's
        ticket.returned_from = ticket.status
    elif action in (Action.APPROVE_RETURN, Action.ESCALATE):
        ticket.assignee = None
        if action is Action.ESCALATE:
            ticket.unit = escalated_to(who, ticket)
    elif action in (Action.CLAIM, Action.TAKE):
        ticket.assignee = who
    elif action is Action.RESOLVE:
        ticket.handler = ticket.assignee
        ticket.resolution_round += 1
    elif action is Action.REOPEN:
        ticket.assignee = ticket.handler or ticket.assignee
    elif action is Action.CANCEL and "merged_into" in body:
        survivor = next(other for other in tickets if other.id == body["merged_into"])
        survivor.events += 1
        survivor.last = ("merge", survivor.status, survivor.status)
    rule_ = TRANSITIONS[action]
    if rule_.restores:  # refuse_return: back to the status before the request
        ticket.status, ticket.returned_from = ticket.returned_from or ticket.status, None
    elif action is Action.SUSPEND and ticket.needs_approval:
        ticket.status = "suspend_requested"
    elif rule_.target is not None:
        ticket.status = rule_.target.value
    if action is Action.APPROVE_RETURN:
        ticket.returned_from = None
    if action is Action.REQUEST_EXTENSION:
        ticket.extension_asked = True
    elif action in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION):
        ticket.extension_asked = False
        ticket.extensions += action is Action.APPROVE_EXTENSION
    if ticket.status != "in_progress":
        ticket.extension_asked = False  # resolved, returned or passed up: the request lapses
    ticket.events += 1
    ticket.last = (action.value, before, ticket.status)


def assert_refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (status, code, response.get_json())
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    return body["error"]


class TicketLifecycle(RuleBasedStateMachine):
    """Set `world` on a subclass: the machine acts through its client and people."""

    world: World

    def __init__(self) -> None:
        super().__init__()
        self.tickets: list[Model] = []
        self.asked_days = 0

    @initialize(data=st.data())
    def file_tickets(self, data: st.DataObject) -> None:
        """Fresh tickets for every example, each brought along the usual road to a random stage."""
        for code in NEEDS_APPROVAL:
            response = self.world.client.patch(
                f"/api/v1/categories/{code}", json={"suspend_needs_approval": True}, headers=self.world.headers["admin"]
            )
            assert response.status_code == 200
        for code, claimable in CATEGORIES.items():
            ticket = self.world.ticket(category_code=code)
            assert ticket["status"] == "pending" and ticket["volunteer_claimable"] is claimable
            model = Model(ticket["id"], claimable, needs_approval=code in NEEDS_APPROVAL)
            self.tickets.append(model)
            roads = [road for road in ROADS if claimable or ("volunteer", Action.CLAIM) not in road]
            for who, action in data.draw(st.sampled_from(roads), label=f"road of {code}"):
                body = self.road_body(action)
                sent = {key: value for key, value in body.items() if not key.startswith("_")}
                answer = self.world.act(who, model.id, action, **sent)  # asserts 200
                apply(who, action, model, body, self.tickets)
                self.check_answer(answer, model)

    # --- steps ---------------------------------------------------------------------------------------

    @rule(
        who=st.sampled_from(PEOPLE),
        action=st.sampled_from(list(Action)),
        which=st.integers(0, len(CATEGORIES) - 1),
        data=st.data(),
    )
    def anyone_tries_anything(self, who: str, action: Action, which: int, data: st.DataObject) -> None:
        self.attempt(who, action, self.tickets[which], data)

    @precondition(lambda self: bool(self.moves()))
    @rule(data=st.data())
    def someone_allowed_acts(self, data: st.DataObject) -> None:
        """A move the model says will succeed (an action first, then who), so runs reach deep states."""
        moves = self.moves()
        action = data.draw(st.sampled_from(sorted(moves)), label="action")
        who, ticket = data.draw(st.sampled_from(moves[action]), label="who")
        if action == "feedback":
            self.rate(who, ticket, data.draw(feedbacks, label="body"))
        else:
            self.attempt(who, Action(action), ticket, data)

    @rule(who=st.sampled_from(PEOPLE), which=st.integers(0, len(CATEGORIES) - 1), body=feedbacks)
    def anyone_records_a_rating(self, who: str, which: int, body: dict[str, Any]) -> None:
        self.rate(who, self.tickets[which], body)

    # --- after every step ----------------------------------------------------------------------------

    def check_record(self, ticket: Model, who: str = "admin") -> None:
        """The ticket as `who` (or, outside their view, an admin) sees it, and its timeline, agree with the model.

        The timeline grew by one event per success (a rating records its close or reopen) and none per refusal.
        """
        self.check_view(who if can_see(who, ticket) else "admin", ticket)
        response = self.world.client.get(f"/api/v1/tickets/{ticket.id}/events", headers=self.world.headers["admin"])
        assert response.status_code == 200
        events = response.get_json()["items"]
        assert len(events) == ticket.events, [event["action"] for event in events]
        last = events[-1]
        assert (last["action"], last["from_status"], last["to_status"]) == ticket.last

    # --- helpers -------------------------------------------------------------------------------------

    def moves(self) -> dict[str, list[tuple[str, Model]]]:
        """Who may do what to which ticket now, by the model; a rating counts as a move on a resolved ticket."""
        moves: dict[str, list[tuple[str, Model]]] = {}
        for ticket in self.tickets:
            for who in PEOPLE:
                for action in allowed(who, ticket):
                    moves.setdefault(action, []).append((who, ticket))
                if expected_feedback(who, ticket)[0] == 200:
                    moves.setdefault("feedback", []).append((who, ticket))
        return moves

    def rate(self, who: str, ticket: Model, body: dict[str, Any]) -> None:
        status, code = expected_feedback(who, ticket)
        event(f"feedback {body['rating']} from {ticket.status}: {status}")
        response = self.world.client.post(
            f"/api/v1/tickets/{ticket.id}/feedback", json=body, headers=self.world.headers[who]
        )
        assert response.status_code < 500, response.get_json()
        if status != 200:
            assert_refused(response, status, code)
        else:
            assert response.status_code == 200, response.get_json()
            ticket.rounds_rated.add(ticket.resolution_round)
            apply(who, Action.REOPEN if body["rating"] <= 2 else Action.CLOSE, ticket, {}, self.tickets)
            self.check_answer(response.get_json(), ticket)
        self.check_record(ticket, who)

    def attempt(self, who: str, action: Action, ticket: Model, data: st.DataObject) -> None:
        """Take the action with a random valid body; check the answer, the caller's view and the record."""
        before = self.check_view(who, ticket)
        body = data.draw(self.bodies(action, ticket), label="body")
        status, code = expected(who, action, ticket, body, self.tickets)
        event(f"{action} from {ticket.status}: {status}")  # --hypothesis-show-statistics tells how deep runs go
        sent = {key: value for key, value in body.items() if not key.startswith("_")}
        response = self.world.client.post(
            f"/api/v1/tickets/{ticket.id}/{action}", json=sent, headers=self.world.headers[who]
        )
        assert response.status_code < 500, response.get_json()
        if before is not None:  # GET's allowed_actions said whether the table lets this person act now
            assert (action.value in before) == (status in (200, 422)), (who, action, before, status)
        if status != 200:
            error = assert_refused(response, status, code)
            if code == "invalid_transition":
                assert error["details"]["allowed_actions"] == allowed(who, ticket)
        else:
            assert response.status_code == 200, response.get_json()
            apply(who, action, ticket, body, self.tickets)
            self.check_answer(response.get_json(), ticket)
            if "merged_into" in body:
                self.check_record(next(other for other in self.tickets if other.id == body["merged_into"]))
        self.check_record(ticket, who)

    def check_answer(self, answer: dict[str, Any], ticket: Model) -> None:
        """A successful action answers with the ticket after it: the table's status, the assignee, the unit."""
        assert answer["status"] == ticket.status
        assignee = self.world.id_of(ticket.assignee) if ticket.assignee else None
        assert (answer["assignee"] or {}).get("id") == assignee
        assert answer["grid"]["id"] == str(self.world.tree[ticket.grid].id)

    def check_view(self, who: str, ticket: Model) -> list[str] | None:
        """GET the ticket as `who`: 404 outside their view, else the model's status and their allowed actions."""
        response = self.world.get(who, ticket.id)
        assert response.status_code < 500, response.get_json()
        if not can_see(who, ticket):
            assert_refused(response, 404, "not_found")
            return None
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["status"] in STATES
        assert body["status"] == ticket.status
        assert body["allowed_actions"] == allowed(who, ticket), (who, ticket)
        return body["allowed_actions"]

    def road_body(self, action: Action) -> dict[str, Any]:
        if action is Action.DISPATCH:
            return {"_to": "worker", "assignee_id": self.world.id_of("worker")}
        if action is Action.RETURN:
            return {"reason": "不属于本网格"}
        return {"note": "已清运完毕"} if action is Action.RESOLVE else {}

    def bodies(self, action: Action, ticket: Model) -> st.SearchStrategy[dict[str, Any]]:
        """Valid bodies; `_to` names the dispatch target for the model (only its id is sent)."""
        others = [other.id for other in self.tickets if other.id != ticket.id]
        if action is Action.DISPATCH:
            return st.builds(
                lambda to, note: {"_to": to, "assignee_id": self.world.id_of(to), **({"note": note} if note else {})},
                st.sampled_from(ASSIGNEES),
                notes,
            )
        if action in (Action.RETURN, Action.ESCALATE, Action.REOPEN):
            return st.fixed_dictionaries({"reason": words})
        if action in (Action.REFUSE_RETURN, Action.REFUSE_EXTENSION):
            return st.fixed_dictionaries({"note": words})
        if action is Action.SUSPEND:  # no `until`: the sweep does not run here
            reasons = st.sampled_from(["waiting_for_resident", "waiting_for_department", "weather"])
            return st.fixed_dictionaries({"reason": reasons}, optional={"note": notes})
        if action is Action.REFUSE_SUSPEND:
            return st.fixed_dictionaries({"note": words})
        if action is Action.REQUEST_EXTENSION:
            # Always later than any deadline so far (reopens set theirs days ahead at most): valid whenever allowed.
            self.asked_days += 1
            deadline = (datetime.now(UTC) + timedelta(days=400 + self.asked_days)).isoformat()
            return st.fixed_dictionaries({"new_deadline": st.just(deadline), "reason": words})
        if action is Action.CANCEL:
            return st.fixed_dictionaries({"reason": words}, optional={"merged_into": st.sampled_from(others)})
        if action is Action.RESOLVE:
            return st.fixed_dictionaries({"note": words}, optional={"location": locations})
        if action is Action.URGE:
            return st.fixed_dictionaries({"note": words})
        return st.fixed_dictionaries({}, optional={"note": notes})  # accept, claim, close, approve_*


@pytest.mark.slow
def test_random_actions_follow_the_lifecycle_table(world):
    machine = type("Lifecycle", (TicketLifecycle,), {"world": world})
    run_state_machine_as_test(machine, settings=SETTINGS)


# DESIGN.md §3, written out: the machine above trusts TRANSITIONS, so the table itself is checked here.
DESIGN_TABLE = {
    "dispatch": ({"pending"}, "assigned", {"supervisor"}),
    "accept": ({"assigned"}, "in_progress", {"assignee"}),
    "return": ({"assigned", "in_progress"}, "return_requested", {"assignee"}),
    "approve_return": ({"return_requested"}, "pending", {"supervisor"}),
    "refuse_return": ({"return_requested"}, None, {"supervisor"}),  # restores the status before the request
    "request_extension": ({"in_progress"}, None, {"assignee"}),
    "suspend": ({"in_progress"}, "suspended", {"assignee"}),  # suspend_requested when the category needs approval
    "approve_suspend": ({"suspend_requested"}, "suspended", {"supervisor"}),
    "refuse_suspend": ({"suspend_requested"}, "in_progress", {"supervisor"}),
    "resume": ({"suspended"}, "in_progress", {"assignee", "supervisor"}),
    "approve_extension": ({"in_progress"}, None, {"supervisor"}),
    "refuse_extension": ({"in_progress"}, None, {"supervisor"}),
    "escalate": ({"pending", "assigned", "in_progress"}, "pending", {"assignee", "supervisor"}),
    "claim": ({"pending"}, "in_progress", {"volunteer"}),
    "take": ({"pending"}, "in_progress", {"cell_worker"}),
    "resolve": ({"in_progress"}, "resolved", {"assignee"}),
    "close": ({"resolved"}, "closed", {"supervisor"}),
    "reopen": ({"resolved", "closed"}, "in_progress", {"supervisor"}),
    "cancel": ({"pending", "assigned"}, "cancelled", {"supervisor"}),
    "urge": (
        {"pending", "assigned", "in_progress", "return_requested", "suspend_requested", "suspended"},
        None,
        {"supervisor"},
    ),
}


def test_the_lifecycle_table_is_the_one_in_the_design():
    table = {
        str(action): (
            {str(status) for status in rule_.sources},
            str(rule_.target) if rule_.target else None,
            {str(party) for party in rule_.parties},
        )
        for action, rule_ in TRANSITIONS.items()
    }
    assert table == DESIGN_TABLE
