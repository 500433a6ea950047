"""退单审核 through the HTTP API: a handler's `return` waits in `return_requested` (still theirs, the clock running)
until a supervisor over the ticket approves it (back to pending, the reason on record) or refuses it (back to the
handler's status, with the supervisor's note); RETURN_NEEDS_REVIEW=0 keeps the direct return. Who is told what
they must decide, and how the rollups and ledgers count it."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dashboards.rollups import rebuild
from kernel import clock
from kernel.extensions import db
from notifications.outbox.models import Notification
from tasks.sweep import sweep
from tests.dashboards.test_exports import TICKET_HEADINGS, csv_rows
from tests.dashboards.test_stats import facts_agree, ok, recount_agrees
from tests.support.stats import NOVEMBER, at
from tests.support.tasks import World

REASON = "不属于本网格，应由物业处理"


def events_of(world: World, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    response = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["supervisor"])
    assert response.status_code == 200
    return response.get_json()["items"]


def requested(world: World, *, accepted: bool = True) -> dict[str, Any]:
    ticket = (
        world.in_progress()
        if accepted
        else world.act("supervisor", world.ticket(), "dispatch", assignee_id=world.id_of("worker"))
    )
    return world.act("worker", ticket, "return", reason=REASON)


def allowed(world: World, who: str, ticket: dict[str, Any]) -> list[str]:
    return world.get(who, ticket).get_json()["allowed_actions"]


# --- the request ------------------------------------------------------------------------------------


def test_a_return_waits_for_review_still_the_handlers_with_its_clock_running(world):
    ticket = world.in_progress()
    body = world.act("worker", ticket, "return", reason=REASON)
    assert body["status"] == "return_requested"
    assert body["assignee"]["id"] == world.id_of("worker")
    assert body["deadlines"] == ticket["deadlines"]  # nothing stopped or moved
    event = events_of(world, ticket)[-1]
    assert (event["action"], event["from_status"], event["to_status"]) == ("return", "in_progress", "return_requested")
    assert event["note"] == REASON and event["details"] == {"review": True}
    assert allowed(world, "worker", ticket) == []  # nothing to do but wait
    assert allowed(world, "supervisor", ticket) == ["approve_return", "refuse_return", "urge"]
    assert world.act("worker", ticket, "resolve", status=409, note="已处理")["error"]["code"] == "invalid_transition"


def test_a_return_needs_a_reason(world):
    ticket = world.in_progress()
    assert "reason" in world.act("worker", ticket, "return", status=422)["error"]["details"]
    assert world.get("worker", ticket).get_json()["status"] == "in_progress"


def test_the_supervisors_are_told_to_decide(app, world):
    ticket = requested(world)
    with app.app_context():
        rows = db.session.scalars(select(Notification).where(Notification.template == "inbox_return_requested")).all()
        recipients = {row.recipient_account_id for row in rows}
        params = [(row.params["no"], row.params["note"]) for row in rows]
    assert recipients == {world.accounts["community_supervisor"].id}  # the nearest supervisors over the ticket
    assert params == [(ticket["no"], REASON)]


# --- approve ----------------------------------------------------------------------------------------


def test_an_approved_return_goes_back_to_pending_with_the_reason_on_record(world):
    ticket = requested(world)
    body = world.act("community_supervisor", ticket, "approve_return", note="同意，转物业")
    assert body["status"] == "pending" and body["assignee"] is None
    assert body["deadlines"]["accept_due_at"] is None
    event = events_of(world, ticket)[-1]
    assert (event["action"], event["from_status"], event["to_status"]) == (
        "approve_return",
        "return_requested",
        "pending",
    )
    assert event["note"] == "同意，转物业"
    assert event["details"]["return_reason"] == REASON
    assert event["details"]["handler_id"] == world.id_of("worker")
    # The ticket is open again for the supervisor: dispatch it to someone else.
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("volunteer"))


# --- refuse -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("accepted", "status"), [(True, "in_progress"), (False, "assigned")])
def test_a_refused_return_goes_back_to_the_handlers_status_with_the_note(app, world, accepted, status):
    ticket = requested(world, accepted=accepted)
    assert "note" in world.act("supervisor", ticket, "refuse_return", status=422)["error"]["details"]
    body = world.act("supervisor", ticket, "refuse_return", note="属于本网格，请继续办理")
    assert body["status"] == status and body["assignee"]["id"] == world.id_of("worker")
    assert body["deadlines"] == ticket["deadlines"]
    event = events_of(world, ticket)[-1]
    assert (event["action"], event["from_status"], event["to_status"]) == ("refuse_return", "return_requested", status)
    assert event["note"] == "属于本网格，请继续办理" and event["details"]["return_reason"] == REASON
    with app.app_context():
        told = db.session.scalars(
            select(Notification.recipient_account_id).where(Notification.template == "inbox_return_refused")
        ).all()
    assert told == [world.accounts["worker"].id]
    # The handler carries on, and may ask again.
    if status == "assigned":
        world.act("worker", ticket, "accept")
    assert world.act("worker", ticket, "return", reason="仍需物业处理")["status"] == "return_requested"


# --- who may review -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["approve_return", "refuse_return"])
@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("worker", 403, "forbidden"),  # the handler
        ("other_worker", 403, "forbidden"),
        ("volunteer", 403, "forbidden"),
        ("far_supervisor", 404, "not_found"),  # outside their view
        ("admin", 200, None),
        ("supervisor", 200, None),
        ("community_supervisor", 200, None),
    ],
)
def test_only_a_supervisor_over_the_ticket_or_an_admin_reviews(world, action, who, status, code):
    ticket = requested(world)
    answer = world.act(who, ticket, action, status=status, note="审核意见")
    if code is not None:
        assert answer["error"]["code"] == code
        assert world.get("supervisor", ticket).get_json()["status"] == "return_requested"


@pytest.mark.parametrize("action", ["approve_return", "refuse_return"])
def test_nothing_to_review_is_409(world, action):
    ticket = world.in_progress()
    error = world.act("supervisor", ticket, action, status=409, note="审核意见")["error"]
    assert error["code"] == "invalid_transition"


# --- the clock keeps running ------------------------------------------------------------------------


def test_the_sweep_marks_a_return_under_review_overdue_on_the_clock_it_came_from(app, world):
    ticket = requested(world, accepted=False)  # the acceptance clock (60 minutes) runs
    clock.travel(timedelta(minutes=61))
    with app.app_context():
        report = sweep()
    assert (report.warned, report.overdue) == (1, 1)
    marks = [(e["action"], e["details"].get("deadline")) for e in events_of(world, ticket)[-2:]]
    assert marks == [("warned", "accept"), ("overdue", "accept")]
    assert world.get("supervisor", ticket).get_json()["overdue"] is True


# --- without review ---------------------------------------------------------------------------------


def test_without_review_a_return_goes_straight_back_to_pending(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "RETURN_NEEDS_REVIEW", False)
    ticket = world.in_progress()
    body = world.act("worker", ticket, "return", reason=REASON)
    assert body["status"] == "pending" and body["assignee"] is None
    with app.app_context():
        asked = db.session.scalars(select(Notification).where(Notification.template == "inbox_return_requested")).all()
    assert asked == []


# --- rollups and ledgers ----------------------------------------------------------------------------


def _returns_world(world: World) -> dict[str, dict[str, Any]]:
    """a: approved; b: refused then resolved; c: awaiting review; d: refused twice, awaiting a third review."""
    at(0)
    tickets = {name: world.in_progress() for name in "abcd"}
    at(10)
    for ticket in tickets.values():
        world.act("worker", ticket, "return", reason=REASON)
    world.act("supervisor", tickets["a"], "approve_return")
    world.act("supervisor", tickets["b"], "refuse_return", note="继续办理")
    world.act("supervisor", tickets["d"], "refuse_return", note="继续办理")
    world.act("worker", tickets["d"], "return", reason="仍需物业处理")
    world.act("supervisor", tickets["d"], "refuse_return", note="继续办理")
    world.act("worker", tickets["d"], "return", reason="第三次申请")
    at(20)
    world.act("worker", tickets["b"], "resolve", note="已处理")
    return tickets


def test_the_dashboards_count_returns_refusals_and_reviews_pending(world):
    _returns_world(world)
    body = ok(world, "supervisor", "summary", **NOVEMBER)
    assert (body["returns"], body["returns_refused"], body["return_review"]) == (1, 3, 2)
    assert body["open"] == 3  # a (pending again), c and d (under review)
    worker = next(
        item
        for item in ok(world, "supervisor", "breakdown?by=worker", **NOVEMBER)["items"]
        if item["key"] == world.id_of("worker")
    )
    # The approved return left the worker: ticket a counts for nobody now.
    assert (worker["returns_refused"], worker["return_review"], worker["tickets"]) == (3, 2, 3)


def test_the_incremental_rollups_agree_with_a_recount_and_a_rebuild(app, world):
    _returns_world(world)
    recount_agrees(app)
    facts_agree(app)
    before = ok(world, "supervisor", "summary", **NOVEMBER)
    with app.app_context():
        rebuild.rebuild()
        db.session.commit()
    recount_agrees(app)
    facts_agree(app)
    assert ok(world, "supervisor", "summary", **NOVEMBER) | {"now": None} == before | {"now": None}


def test_the_ledger_shows_the_status_and_the_return_reviews(world):
    tickets = _returns_world(world)
    response = world.client.get(
        "/api/v1/exports/tickets.csv",
        query_string=NOVEMBER,
        headers={**world.headers["supervisor"], "Accept-Language": "zh"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = csv_rows(response)
    assert rows[0] == list(TICKET_HEADINGS)
    by_no = {row[0]: dict(zip(TICKET_HEADINGS, row, strict=True)) for row in rows[1:]}
    d = by_no[tickets["d"]["no"]]
    assert (d["状态"], d["退单次数"], d["退单驳回次数"]) == ("退单待审", "0", "2")
    a = by_no[tickets["a"]["no"]]
    assert (a["状态"], a["退单次数"], a["退单驳回次数"]) == ("待派单", "1", "0")
