"""挂起 through the HTTP API: the handler stops the clock while the ticket waits on something outside their hands
(`suspend` with a reason from the list and an optional `until`), approved first when the category says so; `resume`
(the handler, a supervisor, or the sweep at `until`) starts it again with the deadlines pushed back by the time
spent suspended, in working time for a working-time SLA. The time suspended is on the ticket, in the dashboards
and in the ledgers."""

from datetime import UTC, datetime, timedelta, timezone
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

BJ = timezone(timedelta(hours=8))


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def close_to(timestamp: str | None, expected: datetime) -> bool:
    return timestamp is not None and abs(parse(timestamp) - expected) < timedelta(seconds=1)


def travel_to(moment: datetime) -> None:
    clock.travel(moment - datetime.now(UTC))


def events_of(world: World, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    response = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["supervisor"])
    return response.get_json()["items"]


def allowed(world: World, who: str, ticket: dict[str, Any]) -> list[str]:
    return world.get(who, ticket).get_json()["allowed_actions"]


def templates_to(app, template: str) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(select(Notification.recipient_account_id).where(Notification.template == template))
        )


def test_suspending_stops_the_clock(world):
    ticket = world.in_progress()
    body = world.act("worker", ticket, "suspend", reason="waiting_for_resident", note="居民外出，下周回来")
    assert body["status"] == "suspended"
    assert body["deadlines"]["due_at"] is None and body["deadlines"]["warn_at"] is None
    assert body["deadlines"]["resolve_due_at"] == ticket["deadlines"]["resolve_due_at"]
    assert body["deadlines"]["suspend_reason"] == "waiting_for_resident"
    assert events_of(world, ticket)[-1]["details"]["approval"] is False
    assert allowed(world, "worker", ticket) == ["resume"]
    assert allowed(world, "supervisor", ticket) == ["resume", "urge"]


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": "holiday"}, {"reason": "weather", "until": "2020-01-01T00:00:00Z"}, {"reason": "weather", "x": 1}],
)
def test_a_bad_suspension_is_422_and_changes_nothing(world, body):
    ticket = world.in_progress()
    world.act("worker", ticket, "suspend", status=422, **body)
    assert world.get("worker", ticket).get_json()["status"] == "in_progress"


@pytest.mark.parametrize(("who", "status"), [("supervisor", 403), ("volunteer", 403), ("far_supervisor", 404)])
def test_only_the_handler_suspends(world, who, status):
    world.act(who, world.in_progress(), "suspend", status=status, reason="weather")


@pytest.mark.parametrize(("who", "status"), [("worker", 200), ("supervisor", 200), ("admin", 200), ("volunteer", 403)])
def test_the_handler_or_a_supervisor_resumes(world, who, status):
    ticket = world.in_progress()
    world.act("worker", ticket, "suspend", reason="weather")
    world.act(who, ticket, "resume", status=status)


def test_the_sweep_finds_nothing_overdue_while_suspended_and_resuming_pushes_the_deadline_back(app, world):
    """CITY.GARBAGE, 24 calendar hours: suspended for 30 hours, the deadline moves 30 hours later, the 80 % mark
    too, and nothing was overdue meanwhile."""
    ticket = world.in_progress()
    due, warn = parse(ticket["deadlines"]["resolve_due_at"]), parse(ticket["deadlines"]["warn_at"])
    world.act("worker", ticket, "suspend", reason="waiting_for_department")
    clock.travel(timedelta(hours=30))
    with app.app_context():
        report = sweep()
    assert (report.warned, report.overdue) == (0, 0)
    body = world.act("worker", ticket, "resume")
    assert body["status"] == "in_progress"
    assert close_to(body["deadlines"]["resolve_due_at"], due + timedelta(hours=30))
    assert close_to(body["deadlines"]["warn_at"], warn + timedelta(hours=30))
    assert abs(body["deadlines"]["suspended_seconds"] - 30 * 3600) <= 1
    assert body["overdue"] is False
    assert templates_to(app, "inbox_resumed") == [world.accounts["worker"].id]


def test_a_working_time_clock_is_pushed_back_by_the_working_time_suspended(world, working_calendar):
    """1 working day; filed Mon 2026-03-16 08:30 (counts from 09:00): due Mon 17:30. Suspended Mon 10:00, resumed
    Tue 11:00: 8 working hours (Mon 2 + 4, Tue 2). The start moves 8 working hours to Tue 10:00, the deadline to
    Wed 10:00 (Tue 7 h, Wed 1 h), and 80 % of the 7 hours between them is Tue 17:06."""
    response = world.client.patch(
        "/api/v1/categories/CITY.GARBAGE", json={"resolve_working_days": 1}, headers=world.headers["admin"]
    )
    assert response.status_code == 200
    travel_to(datetime(2026, 3, 16, 8, 30, tzinfo=BJ))
    ticket = world.in_progress()
    assert close_to(ticket["deadlines"]["resolve_due_at"], datetime(2026, 3, 16, 17, 30, tzinfo=BJ))
    travel_to(datetime(2026, 3, 16, 10, 0, tzinfo=BJ))
    world.act("worker", ticket, "suspend", reason="weather")
    travel_to(datetime(2026, 3, 17, 11, 0, tzinfo=BJ))
    body = world.act("worker", ticket, "resume")
    assert close_to(body["deadlines"]["resolve_due_at"], datetime(2026, 3, 18, 10, 0, tzinfo=BJ))
    assert close_to(body["deadlines"]["warn_at"], datetime(2026, 3, 17, 17, 6, tzinfo=BJ))
    details = events_of(world, ticket)[-1]["details"]
    assert abs(details["pushed_back_seconds"] - 8 * 3600) <= 1 and abs(details["suspended_seconds"] - 25 * 3600) <= 1


def test_the_sweep_resumes_at_until(app, world):
    ticket = world.in_progress()
    due = parse(ticket["deadlines"]["resolve_due_at"])
    until = datetime.now(UTC) + timedelta(hours=2)
    world.act("worker", ticket, "suspend", reason="weather", until=until.isoformat())
    clock.travel(timedelta(hours=3))
    with app.app_context():
        assert sweep().resumed == 1
    event = events_of(world, ticket)[-1]
    assert (event["action"], event["actor"], event["details"]["auto"]) == ("resume", None, True)
    body = world.get("worker", ticket).get_json()
    assert body["status"] == "in_progress"
    assert close_to(body["deadlines"]["resolve_due_at"], due + timedelta(hours=2))  # the clock ran again at `until`
    with app.app_context():
        assert sweep().resumed == 0


def test_a_category_may_want_suspensions_approved(app, world):
    response = world.client.patch(
        "/api/v1/categories/CITY.GARBAGE", json={"suspend_needs_approval": True}, headers=world.headers["admin"]
    )
    assert response.status_code == 200 and response.get_json()["suspend_needs_approval"] is True
    ticket = world.in_progress()
    body = world.act("worker", ticket, "suspend", reason="waiting_for_department")
    assert body["status"] == "suspend_requested"
    assert body["deadlines"]["due_at"] == ticket["deadlines"]["due_at"]  # the clock still runs
    assert templates_to(app, "inbox_suspend_requested") == [world.accounts["community_supervisor"].id]
    assert allowed(world, "worker", ticket) == []
    world.act("worker", ticket, "approve_suspend", status=403)
    assert "note" in world.act("supervisor", ticket, "refuse_suspend", status=422)["error"]["details"]
    refused = world.act("supervisor", ticket, "refuse_suspend", note="可先行处理")
    assert refused["status"] == "in_progress" and refused["deadlines"]["due_at"] == ticket["deadlines"]["due_at"]
    assert templates_to(app, "inbox_suspend_refused") == [world.accounts["worker"].id]
    world.act("worker", ticket, "suspend", reason="waiting_for_department")
    approved = world.act("supervisor", ticket, "approve_suspend")
    assert approved["status"] == "suspended" and approved["deadlines"]["due_at"] is None
    assert templates_to(app, "inbox_suspend_approved") == [world.accounts["worker"].id]


# --- dashboards and ledgers ---------------------------------------------------------------------------


def _suspended_world(world: World) -> dict[str, dict[str, Any]]:
    """a: suspended 3 hours then resumed; b: suspended now; c: in progress."""
    at(0)
    tickets = {name: world.in_progress() for name in "abc"}
    at(60)
    world.act("worker", tickets["a"], "suspend", reason="waiting_for_resident")
    world.act("worker", tickets["b"], "suspend", reason="weather")
    at(240)
    world.act("worker", tickets["a"], "resume")
    return tickets


def test_the_dashboards_count_suspended_tickets_and_time(world):
    _suspended_world(world)
    body = ok(world, "supervisor", "summary", **NOVEMBER)
    assert (body["open"], body["suspended"]) == (3, 1)
    assert abs(body["suspended_seconds"] - 3 * 3600) <= 1


def test_the_incremental_rollups_agree_with_a_recount_and_a_rebuild(app, world):
    _suspended_world(world)
    recount_agrees(app)
    facts_agree(app)
    before = ok(world, "supervisor", "summary", **NOVEMBER)
    with app.app_context():
        rebuild.rebuild()
        db.session.commit()
    recount_agrees(app)
    facts_agree(app)
    assert ok(world, "supervisor", "summary", **NOVEMBER) | {"now": None} == before | {"now": None}


def test_the_ledger_shows_the_status_and_the_time_suspended(world):
    tickets = _suspended_world(world)
    response = world.client.get(
        "/api/v1/exports/tickets.csv",
        query_string=NOVEMBER,
        headers={**world.headers["admin"], "Accept-Language": "zh"},
    )
    rows = {row[0]: dict(zip(TICKET_HEADINGS, row, strict=True)) for row in csv_rows(response)[1:]}
    a, b = rows[tickets["a"]["no"]], rows[tickets["b"]["no"]]
    assert (a["状态"], a["挂起时长(小时)"]) == ("办理中", "3.0")
    assert (b["状态"], b["挂起时长(小时)"]) == ("已挂起", "0.0")
