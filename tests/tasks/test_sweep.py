"""The deadline sweep: warned at 80 % and overdue at 100 % of the running clock, once per clock, and
auto-close of resolutions nobody rated. Tickets are built and read through the API; time moves with
`kernel.clock.travel`; the sweep runs in an app context, as the CLI runs it."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm.exc import StaleDataError

from kernel import clock
from kernel.extensions import db
from tasks.sweep import WARNED, SweepReport, mark, sweep
from tasks.tickets.models import Ticket
from tests.support.tasks import World

# How far from a threshold the clock is put: well inside the shortest window (an elevator's 7.5 minutes).
NEAR = timedelta(seconds=30)
AUTO_CLOSE_DAYS = 3


@pytest.fixture
def run_sweep(app: Flask) -> Callable[..., SweepReport]:
    def run(**kwargs: Any) -> SweepReport:
        with app.app_context():
            return sweep(**kwargs)

    return run


@pytest.fixture
def auto_close_days(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setitem(app.config, "TICKET_AUTO_CLOSE_DAYS", AUTO_CLOSE_DAYS)
    return AUTO_CLOSE_DAYS


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def travel_to(moment: datetime) -> None:
    """Put the application's clock at `moment`."""
    clock.travel(moment - datetime.now(UTC))


def events(world: World, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    response = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["supervisor"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def actions(world: World, ticket: dict[str, Any]) -> list[str]:
    return [event["action"] for event in events(world, ticket)]


def marks(world: World, ticket: dict[str, Any]) -> list[tuple[str, str]]:
    """The sweep's warned/overdue events as (action, deadline)."""
    return [
        (event["action"], event["details"]["deadline"])
        for event in events(world, ticket)
        if event["action"] in ("warned", "overdue")
    ]


def fetch(world: World, ticket: dict[str, Any]) -> dict[str, Any]:
    response = world.get("supervisor", ticket)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def listed(world: World, **query: str) -> set[str]:
    response = world.client.get("/api/v1/tickets", query_string={**query, "limit": 100}, headers=world.headers["admin"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["id"] for item in response.get_json()["items"]}


# --- arranging tickets on each clock ---------------------------------------------------------------


def pending(world: World, **fields: Any) -> dict[str, Any]:
    return world.ticket(**fields)


def assigned(world: World, **fields: Any) -> dict[str, Any]:
    return world.act("supervisor", world.ticket(**fields), "dispatch", assignee_id=world.id_of("worker"))


def in_progress(world: World, **fields: Any) -> dict[str, Any]:
    return world.in_progress(**fields)


def clock_start(ticket: dict[str, Any], deadline: str) -> datetime:
    """The acceptance clock runs from dispatch, the resolution clock from intake."""
    return parse(ticket["dispatched_at"] if deadline == "accept" else ticket["created_at"])


# CITY.GARBAGE: accept within 60 minutes, resolve within 24 hours; urgent halves both.
# FACILITY.ELEVATOR is urgent by default: 15 minutes and 6 hours halved.
CLOCKS = [
    pytest.param(pending, {}, "resolve", timedelta(hours=24), id="pending-resolution"),
    pytest.param(in_progress, {}, "resolve", timedelta(hours=24), id="in-progress-resolution"),
    pytest.param(assigned, {}, "accept", timedelta(minutes=60), id="assigned-acceptance"),
    pytest.param(pending, {"priority": "urgent"}, "resolve", timedelta(hours=12), id="urgent-resolution"),
    pytest.param(assigned, {"priority": "urgent"}, "accept", timedelta(minutes=30), id="urgent-acceptance"),
    pytest.param(
        in_progress, {"category_code": "FACILITY.ELEVATOR"}, "resolve", timedelta(hours=3), id="elevator-resolution"
    ),
    pytest.param(
        assigned, {"category_code": "FACILITY.ELEVATOR"}, "accept", timedelta(minutes=7.5), id="elevator-acceptance"
    ),
]


# --- warned and overdue ----------------------------------------------------------------------------


@pytest.mark.parametrize(("arrange", "fields", "deadline", "window"), CLOCKS)
def test_a_ticket_is_not_warned_before_80_percent_of_its_clock(world, run_sweep, arrange, fields, deadline, window):
    ticket = arrange(world, **fields)
    before = actions(world, ticket)
    travel_to(clock_start(ticket, deadline) + window * 0.8 - NEAR)

    assert run_sweep() == SweepReport()
    assert actions(world, ticket) == before
    assert ticket["id"] not in listed(world, warned="true")


@pytest.mark.parametrize(("arrange", "fields", "deadline", "window"), CLOCKS)
def test_a_ticket_past_80_percent_of_its_clock_is_warned(world, run_sweep, arrange, fields, deadline, window):
    ticket = arrange(world, **fields)
    travel_to(clock_start(ticket, deadline) + window * 0.8 + NEAR)

    assert run_sweep() == SweepReport(warned=1)
    event = events(world, ticket)[-1]
    assert event["action"] == "warned"
    assert event["actor"] is None
    assert event["from_status"] == event["to_status"] == ticket["status"]
    assert event["details"] == {"deadline": deadline, "due_at": ticket["deadlines"]["due_at"]}
    assert ticket["id"] in listed(world, warned="true")
    assert ticket["id"] not in listed(world, overdue="true")


@pytest.mark.parametrize(("arrange", "fields", "deadline", "window"), CLOCKS)
def test_a_ticket_is_not_overdue_before_100_percent_of_its_clock(world, run_sweep, arrange, fields, deadline, window):
    ticket = arrange(world, **fields)
    travel_to(clock_start(ticket, deadline) + window - NEAR)

    assert run_sweep() == SweepReport(warned=1)
    assert "overdue" not in actions(world, ticket)


@pytest.mark.parametrize(("arrange", "fields", "deadline", "window"), CLOCKS)
def test_a_ticket_past_its_deadline_is_overdue(world, run_sweep, arrange, fields, deadline, window):
    ticket = arrange(world, **fields)
    travel_to(clock_start(ticket, deadline) + window + NEAR)

    run_sweep()

    event = events(world, ticket)[-1]
    assert event["action"] == "overdue"
    assert event["actor"] is None
    assert event["from_status"] == event["to_status"] == ticket["status"]
    assert event["details"] == {"deadline": deadline, "due_at": ticket["deadlines"]["due_at"]}
    assert ticket["id"] in listed(world, overdue="true")
    assert ticket["id"] not in listed(world, warned="true")


def test_a_ticket_passing_both_thresholds_between_sweeps_gets_both_events_in_order(world, run_sweep):
    ticket = pending(world)
    travel_to(parse(ticket["deadlines"]["due_at"]) + NEAR)

    assert run_sweep() == SweepReport(warned=1, overdue=1)
    assert actions(world, ticket) == ["create", "warned", "overdue"]


def test_warned_and_overdue_are_recorded_by_the_sweeps_that_see_them(world, run_sweep):
    ticket = pending(world)
    travel_to(parse(ticket["deadlines"]["warn_at"]) + NEAR)
    assert run_sweep() == SweepReport(warned=1)
    travel_to(parse(ticket["deadlines"]["due_at"]) + NEAR)

    assert run_sweep() == SweepReport(overdue=1)
    assert actions(world, ticket) == ["create", "warned", "overdue"]


def test_sweeping_again_records_no_threshold_twice(world, run_sweep):
    ticket = pending(world)
    travel_to(parse(ticket["deadlines"]["due_at"]) + NEAR)
    run_sweep()
    travel_to(parse(ticket["deadlines"]["due_at"]) + timedelta(days=2))

    assert run_sweep() == SweepReport()
    assert actions(world, ticket) == ["create", "warned", "overdue"]


def test_sweeping_in_small_batches_records_every_ticket_once(world, run_sweep):
    tickets = [pending(world) for _ in range(5)]
    travel_to(parse(tickets[-1]["deadlines"]["due_at"]) + NEAR)

    assert run_sweep(batch=2) == SweepReport(warned=5, overdue=5)
    for ticket in tickets:
        assert actions(world, ticket) == ["create", "warned", "overdue"]


def test_one_batch_claims_no_more_tickets_than_its_size(app, world):
    tickets = [pending(world) for _ in range(5)]
    travel_to(parse(tickets[-1]["deadlines"]["warn_at"]) + NEAR)
    with app.app_context():
        assert mark(WARNED, clock.utcnow(), batch=2) == 2
        db.session.commit()

    assert [actions(world, ticket)[-1] for ticket in tickets] == ["warned"] * 2 + ["create"] * 3


def test_closed_and_cancelled_tickets_are_not_marked(world, run_sweep):
    cancelled = world.act("supervisor", pending(world), "cancel", reason="重复上报")
    resolved = world.resolved()
    travel_to(parse(resolved["deadlines"]["resolve_due_at"]) + NEAR)

    assert run_sweep() == SweepReport()
    assert "overdue" not in actions(world, cancelled) + actions(world, resolved)


def test_accepting_starts_a_new_clock_with_its_own_thresholds(world, run_sweep):
    ticket = assigned(world)
    travel_to(parse(ticket["deadlines"]["due_at"]) + NEAR)
    run_sweep()
    ticket = world.act("worker", ticket, "accept")

    assert run_sweep() == SweepReport()  # the resolution clock has not reached 80 % yet
    travel_to(parse(ticket["deadlines"]["warn_at"]) + NEAR)
    assert run_sweep() == SweepReport(warned=1)
    travel_to(parse(ticket["deadlines"]["due_at"]) + NEAR)
    assert run_sweep() == SweepReport(overdue=1)
    assert marks(world, ticket) == [
        ("warned", "accept"),
        ("overdue", "accept"),
        ("warned", "resolve"),
        ("overdue", "resolve"),
    ]


def test_a_reopen_starts_a_new_resolution_clock_with_its_own_thresholds(world, run_sweep):
    ticket = in_progress(world)
    travel_to(parse(ticket["deadlines"]["due_at"]) + NEAR)
    run_sweep()
    world.act("worker", ticket, "resolve", note="已清运完毕")
    ticket = world.act("supervisor", ticket, "reopen", reason="居民反映仍未清运")

    assert run_sweep() == SweepReport()
    travel_to(parse(ticket["deadlines"]["due_at"]) + NEAR)
    assert run_sweep() == SweepReport(warned=1, overdue=1)
    assert marks(world, ticket) == [("warned", "resolve"), ("overdue", "resolve")] * 2


def test_a_claim_by_the_sweep_makes_a_concurrent_change_to_the_ticket_lose(app, world):
    ticket = in_progress(world)
    travel_to(parse(ticket["deadlines"]["warn_at"]) + NEAR)
    with app.app_context():
        row = db.session.get(Ticket, int(ticket["id"]))  # a request read the ticket...
        row.urge_count += 1
        with app.app_context():
            assert sweep() == SweepReport(warned=1)  # ...the sweep marked it meanwhile...
        with pytest.raises(StaleDataError):  # the kernel answers this with 409 conflict
            db.session.flush()  # ...and the request's write loses instead of overwriting the mark
        db.session.rollback()
    assert fetch(world, ticket)["urge_count"] == 0
    assert actions(world, ticket)[-1] == "warned"


@pytest.mark.slow
def test_two_sweeps_at_once_record_each_threshold_exactly_once(app, world):
    tickets = [pending(world) for _ in range(50)]
    travel_to(parse(tickets[-1]["deadlines"]["due_at"]) + NEAR)
    start = threading.Barrier(2)
    reports: list[SweepReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                start.wait()
                reports.append(sweep(batch=5))
        except BaseException as error:  # surfaced by the asserts below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(reports) == 2
    assert sum(report.warned for report in reports) == 50
    assert sum(report.overdue for report in reports) == 50
    for ticket in tickets:
        assert actions(world, ticket) == ["create", "warned", "overdue"]


# --- auto-close ------------------------------------------------------------------------------------


def test_a_resolved_ticket_is_not_auto_closed_before_n_days(world, run_sweep, auto_close_days):
    ticket = world.resolved()
    travel_to(parse(ticket["resolved_at"]) + timedelta(days=auto_close_days) - NEAR)

    assert run_sweep() == SweepReport()
    assert fetch(world, ticket)["status"] == "resolved"


def test_a_resolved_ticket_nobody_rated_is_auto_closed_after_n_days(world, run_sweep, auto_close_days):
    ticket = world.resolved()
    travel_to(parse(ticket["resolved_at"]) + timedelta(days=auto_close_days) + NEAR)

    assert run_sweep() == SweepReport(auto_closed=1)
    closed = fetch(world, ticket)
    assert closed["status"] == "closed"
    assert closed["closed_at"] is not None
    assert parse(closed["closed_at"]) >= parse(ticket["resolved_at"]) + timedelta(days=auto_close_days)
    event = events(world, ticket)[-1]
    assert event["action"] == "close"
    assert event["actor"] is None
    assert (event["from_status"], event["to_status"]) == ("resolved", "closed")
    assert event["details"] == {"auto": True}


def test_an_auto_closed_ticket_is_closed_once(world, run_sweep, auto_close_days):
    ticket = world.resolved()
    travel_to(parse(ticket["resolved_at"]) + timedelta(days=auto_close_days) + NEAR)
    run_sweep()

    assert run_sweep() == SweepReport()
    assert actions(world, ticket).count("close") == 1


def test_a_rated_ticket_is_not_auto_closed(world, run_sweep, auto_close_days):
    ticket = world.resolved()
    world.act("supervisor", ticket, "feedback", rating=4, channel="sms")
    travel_to(parse(ticket["resolved_at"]) + timedelta(days=auto_close_days) + NEAR)

    assert run_sweep() == SweepReport()
    closes = [event for event in events(world, ticket) if event["action"] == "close"]
    assert [event["details"]["rating"] for event in closes] == [4]


def test_a_rated_and_reopened_ticket_is_not_auto_closed(world, run_sweep, auto_close_days):
    ticket = world.resolved()
    world.act("supervisor", ticket, "feedback", rating=1, channel="sms", comment="根本没人来")
    travel_to(parse(ticket["resolved_at"]) + timedelta(days=auto_close_days) + NEAR)

    assert run_sweep().auto_closed == 0
    assert fetch(world, ticket)["status"] == "in_progress"
    assert "close" not in actions(world, ticket)


def test_a_reresolved_ticket_auto_closes_n_days_after_its_latest_resolution(world, run_sweep, auto_close_days):
    ticket = world.resolved()
    world.act("supervisor", ticket, "feedback", rating=1, channel="sms", comment="根本没人来")
    travel_to(parse(ticket["resolved_at"]) + timedelta(days=1))
    again = world.act("worker", ticket, "resolve", note="已再次清运")

    travel_to(parse(ticket["resolved_at"]) + timedelta(days=auto_close_days) + NEAR)
    assert run_sweep().auto_closed == 0
    travel_to(parse(again["resolved_at"]) + timedelta(days=auto_close_days) + NEAR)
    assert run_sweep().auto_closed == 1
    assert fetch(world, ticket)["status"] == "closed"
    assert events(world, ticket)[-1]["details"] == {"auto": True}


def test_the_cron_command_runs_the_sweep_and_says_what_it_did(app, world):
    ticket = world.ticket()
    clock.travel(timedelta(hours=25))
    output = app.test_cli_runner().invoke(args=["tasks", "sweep", "--batch", "10"]).output
    assert output.strip() == "warned 1, overdue 1, auto-closed 0, resumed 0"
    assert world.get("supervisor", ticket).get_json()["overdue"] is True
