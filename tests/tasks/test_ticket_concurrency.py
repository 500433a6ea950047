"""Simultaneous actions on one ticket: the database settles the race and exactly one wins (issue 5 §3).

Requests run in threads through Flask's test client (each request gets its own app context, session and
connection), released together by a barrier. Free-running, they show what clients see, however the
scheduler interleaves them. Held, every request first waits inside the service right after its checks
passed, so all of them write from the same read (the window a read-check-write race needs), and one of
them can be made to write last: then the version check alone must refuse it, with a 409 `conflict`.
On PostgreSQL: `TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest <this file>`.
"""

import base64
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from dashboards.rollups import incremental
from kernel.extensions import db
from tasks.tickets import actions
from tests.support.tasks import World

pytestmark = pytest.mark.slow

CLAIMERS = 24
HELD_CLAIMS = 10  # held together after their check: fewer than the 15 connections of the default pool
TIMEOUT = 30  # seconds: a request stuck past this is a failure, not a hang
JPEG_1X1 = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hn"
    "Pk1xeXBkeFxlZ2P/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8A"
    "P//Z"
)

# How a request that did not win is refused.
LOST_RACE = frozenset({(409, "conflict")})  # passed its checks, lost the version check
TOO_LATE = frozenset({(409, "invalid_transition")})  # read the ticket after the winner committed
OUT_OF_SIGHT = frozenset({(404, "not_found")})  # too late, and the winner took the ticket out of its view

Request = tuple[str, dict[str, Any], dict[str, str]]  # path, JSON body, headers


@dataclass(frozen=True)
class Outcome:
    who: int  # the request's index
    status: int
    body: dict[str, Any]


class Hold:
    """Holds the first `parties` calls of a `tasks.tickets.actions` function, just after it returned, until all have
    arrived; the request numbered `last` then waits on until every other request has been answered."""

    def __init__(self, parties: int, last: int | None) -> None:
        self.barrier = threading.Barrier(parties)
        self.arrivals = iter(range(parties))
        self.last = last
        self.lock = threading.Lock()
        self.unanswered = parties - 1
        self.others_answered = threading.Event()

    def reached(self) -> None:
        with self.lock:
            held = next(self.arrivals, None) is not None
        if not held:
            return
        self.barrier.wait(timeout=TIMEOUT)
        if self.last is not None and threading.current_thread().name == f"request-{self.last}":
            assert self.others_answered.wait(timeout=TIMEOUT), "the other requests did not finish"

    def answered(self, index: int) -> None:
        if self.last is None or index == self.last:
            return
        with self.lock:
            self.unanswered -= 1
            if self.unanswered == 0:
                self.others_answered.set()


@pytest.fixture
def hold(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Hold]]:
    def install(name: str, parties: int, *, last: int | None = None) -> Hold:
        holding = Hold(parties, last)
        original = getattr(actions, name)

        def call_then_hold(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            holding.reached()
            return result

        monkeypatch.setattr(actions, name, call_then_hold)
        return holding

    yield install


def fire_together(app: Flask, requests: list[Request], holding: Hold | None = None) -> list[Outcome]:
    """POST each request from its own thread, all released at once; the outcomes in request order."""
    start = threading.Barrier(len(requests))
    outcomes: list[Outcome | None] = [None] * len(requests)

    def post(index: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        client = app.test_client()
        start.wait(timeout=TIMEOUT)
        response = client.post(path, json=body, headers=headers)
        outcomes[index] = Outcome(index, response.status_code, response.get_json())
        if holding is not None:
            holding.answered(index)

    threads = [
        threading.Thread(target=post, args=(index, *request), name=f"request-{index}")
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a request did not finish"
    assert all(outcome is not None for outcome in outcomes), "a thread failed before its request finished"
    return outcomes  # type: ignore[return-value]


def assert_one_winner(outcomes: list[Outcome], refusals: frozenset[tuple[int, str]]) -> Outcome:
    """Exactly one 200; every other request refused in the one error shape, as one of `refusals`."""
    assert sorted(outcome.status for outcome in outcomes).count(200) == 1, outcomes
    for outcome in outcomes:
        if outcome.status == 200:
            continue
        assert set(outcome.body) == {"error"}, outcome.body
        assert set(outcome.body["error"]) == {"code", "message", "details"}, outcome.body
        assert isinstance(outcome.body["error"]["message"], str) and outcome.body["error"]["message"]
        assert (outcome.status, outcome.body["error"]["code"]) in refusals, outcome.body
    return next(outcome for outcome in outcomes if outcome.status == 200)


def events_of(world: World, ticket_id: str) -> list[dict[str, Any]]:
    response = world.client.get(f"/api/v1/tickets/{ticket_id}/events", headers=world.headers["admin"])
    assert response.status_code == 200
    return response.get_json()["items"]


# --- many volunteers claim one ticket ---------------------------------------------------------------


@dataclass(frozen=True)
class Volunteer:
    id: str
    headers: dict[str, str]


@pytest.fixture
def volunteers(world: World, make_account, auth) -> list[Volunteer]:
    """CLAIMERS volunteers placed in community C1, above the ticket's cell G1a."""
    accounts = [make_account("volunteer", unit=world.tree["C1"]) for _ in range(CLAIMERS)]
    return [Volunteer(str(account.id), auth(account)) for account in accounts]


def claims(ticket_id: str, volunteers: list[Volunteer]) -> list[Request]:
    return [(f"/api/v1/tickets/{ticket_id}/claim", {}, volunteer.headers) for volunteer in volunteers]


def assert_claimed_once(world: World, ticket_id: str, winner: Outcome, volunteers: list[Volunteer]) -> None:
    """The winner's answer, the stored ticket and its timeline all tell of one claim, by the winner."""
    champion = volunteers[winner.who]
    assert (winner.body["status"], winner.body["assignee"]["id"]) == ("in_progress", champion.id)
    ticket = world.get("admin", ticket_id).get_json()
    assert (ticket["status"], ticket["assignee"]["id"]) == ("in_progress", champion.id)
    events = events_of(world, ticket_id)
    assert [event["action"] for event in events] == ["create", "claim"]
    claim = events[-1]
    assert (claim["actor"]["id"], claim["from_status"], claim["to_status"]) == (champion.id, "pending", "in_progress")


def test_many_volunteers_claiming_one_ticket_at_once_give_one_winner(app, world, volunteers):
    ticket_id = world.ticket()["id"]

    outcomes = fire_together(app, claims(ticket_id, volunteers))

    winner = assert_one_winner(outcomes, LOST_RACE | TOO_LATE)
    assert_claimed_once(world, ticket_id, winner, volunteers)


def test_claims_that_all_passed_the_state_check_still_give_one_winner(app, world, volunteers, hold):
    ticket_id = world.ticket()["id"]
    hold("check_transition", HELD_CLAIMS)

    outcomes = fire_together(app, claims(ticket_id, volunteers))

    winner = assert_one_winner(outcomes, LOST_RACE | TOO_LATE)
    # The held claims all saw a pending ticket: all but the winner lost the version check.
    codes = [outcome.body["error"]["code"] for outcome in outcomes if outcome.status != 200]
    assert codes.count("conflict") >= HELD_CLAIMS - 1
    assert_claimed_once(world, ticket_id, winner, volunteers)


class AfterTheFirstCommit:
    """Lets the first request that counts its change in the dashboards' rollups through, and holds the others at
    that point until the first has been answered (committed): they then read the rollups as the first left them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first: str | None = None
        self.first_answered = threading.Event()

    def reached(self) -> None:
        with self.lock:
            self.first = self.first or threading.current_thread().name
        if threading.current_thread().name != self.first:
            assert self.first_answered.wait(timeout=TIMEOUT), "the first request did not finish"

    def answered(self, index: int) -> None:
        if f"request-{index}" == self.first:
            self.first_answered.set()


def test_claims_that_count_after_the_winner_committed_neither_deadlock_nor_count_twice(
    app, world, volunteers, hold, monkeypatch
):
    """The held claims saw a pending ticket but count after the winner committed, when the ticket's rollup figures
    are the winner's: what each counts would move the winner's rows. They lose the version check, so none of it
    reaches the rollups, and none may wait on another in a cycle on the way (PostgreSQL's deadlock, a 503)."""
    ticket_id = world.ticket()["id"]
    hold("check_transition", HELD_CLAIMS)
    gate = AfterTheFirstCommit()
    count_change = incremental.on_event

    def count_after_the_first(*args: Any, **kwargs: Any) -> None:
        gate.reached()
        count_change(*args, **kwargs)

    monkeypatch.setattr(incremental, "on_event", count_after_the_first)

    outcomes = fire_together(app, claims(ticket_id, volunteers), gate)

    winner = assert_one_winner(outcomes, LOST_RACE | TOO_LATE)
    assert_claimed_once(world, ticket_id, winner, volunteers)
    workers = world.client.get("/api/v1/stats/breakdown?by=worker", headers=world.headers["admin"])
    assert workers.status_code == 200
    counted = {item["key"]: item["tickets"] for item in workers.get_json()["items"] if item["tickets"]}
    assert counted == {volunteers[winner.who].id: 1}


# --- two different actions at the same moment --------------------------------------------------------

Body = Callable[[World, dict[str, Any]], dict[str, Any]]  # from the arranged ticket


@dataclass(frozen=True)
class Race:
    """Two actions, each allowed from the ticket's state alone, that cannot both happen."""

    name: str
    arrange: Callable[[World], dict[str, Any]]
    sides: tuple[tuple[str, str, Body], tuple[str, str, Body]]  # (who, action, body) twice
    targets: dict[str, str]  # action -> the status it leads to
    late: frozenset[tuple[int, str]] = TOO_LATE  # how the loser is refused when it read after the winner


def _pending(world: World) -> dict[str, Any]:
    return world.ticket()


def _assigned(world: World) -> dict[str, Any]:
    return world.act("supervisor", world.ticket(), "dispatch", assignee_id=world.id_of("worker"))


def _in_progress(world: World) -> dict[str, Any]:
    return world.in_progress()


def _assigned_beside_another(world: World) -> dict[str, Any]:
    """An assigned ticket; `_survivor`: an open one to merge it into."""
    survivor = world.ticket(description="同一处垃圾，邻居也反映了")
    return {**_assigned(world), "_survivor": survivor["id"]}


def _in_progress_with_a_photo(world: World) -> dict[str, Any]:
    """A ticket in progress; `_photo`: a photo its worker took, not yet attached."""
    ticket = world.in_progress()
    boundary = "photo-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + JPEG_1X1
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = world.client.post(
        "/api/v1/attachments",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=world.headers["worker"],
    )
    assert response.status_code == 201, response.get_json()
    return {**ticket, "_photo": response.get_json()["id"]}


ESCALATE: tuple[str, str, Body] = ("supervisor", "escalate", lambda w, t: {"reason": "需要街道协调"})
RACES = [
    Race(
        "two supervisors dispatch to different people",
        _pending,
        (
            ("supervisor", "dispatch", lambda w, t: {"assignee_id": w.id_of("worker")}),
            ("community_supervisor", "dispatch", lambda w, t: {"assignee_id": w.id_of("volunteer")}),
        ),
        {"dispatch": "assigned"},
    ),
    Race(
        "a volunteer claims while a supervisor dispatches",
        _pending,
        (
            ("volunteer", "claim", lambda w, t: {}),
            ("supervisor", "dispatch", lambda w, t: {"assignee_id": w.id_of("worker")}),
        ),
        {"claim": "in_progress", "dispatch": "assigned"},
    ),
    Race(
        "the assignee accepts while a supervisor cancels",
        _assigned,
        (("worker", "accept", lambda w, t: {}), ("supervisor", "cancel", lambda w, t: {"reason": "居民已自行处理"})),
        {"accept": "in_progress", "cancel": "cancelled"},
    ),
    Race(
        "the assignee accepts while a supervisor merges the ticket into another",
        _assigned_beside_another,
        (
            ("worker", "accept", lambda w, t: {}),
            ("supervisor", "cancel", lambda w, t: {"reason": "重复工单", "merged_into": t["_survivor"]}),
        ),
        {"accept": "in_progress", "cancel": "cancelled"},
    ),
    Race(
        "the assignee resolves while a supervisor escalates",
        _in_progress,
        (("worker", "resolve", lambda w, t: {"note": "已清运完毕"}), ESCALATE),
        {"resolve": "resolved", "escalate": "pending"},
        late=TOO_LATE | OUT_OF_SIGHT,  # escalated to the street: no longer the worker's to see
    ),
    Race(
        "the assignee resolves with a photo while a supervisor escalates",
        _in_progress_with_a_photo,
        (("worker", "resolve", lambda w, t: {"note": "已清运完毕", "photos": [t["_photo"]]}), ESCALATE),
        {"resolve": "resolved", "escalate": "pending"},
        late=TOO_LATE | OUT_OF_SIGHT,
    ),
    Race(
        "the assignee returns while a supervisor escalates",
        _in_progress,
        (("worker", "return", lambda w, t: {"reason": "不属于本网格"}), ESCALATE),
        {"return": "return_requested", "escalate": "pending"},  # the return awaits review (RETURN_NEEDS_REVIEW=1)
        late=TOO_LATE | OUT_OF_SIGHT,
    ),
]


@pytest.fixture
def photos_dir(app, tmp_path) -> Iterator[None]:
    saved = app.config["ATTACHMENTS_DIR"]
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "attachments")
    yield
    app.config["ATTACHMENTS_DIR"] = saved


# free-running; or held after the checks with the first, or the second, request writing last
TIMINGS = {"free-running": None, "first-writes-last": 0, "second-writes-last": 1}


@pytest.mark.usefixtures("photos_dir")
@pytest.mark.parametrize("timing", TIMINGS)
@pytest.mark.parametrize("race", RACES, ids=[race.name for race in RACES])
def test_two_conflicting_actions_at_once_let_exactly_one_happen(app, world, hold, race, timing):
    ticket = race.arrange(world)
    before = len(events_of(world, ticket["id"]))
    survivor_before = len(events_of(world, ticket["_survivor"])) if "_survivor" in ticket else 0
    loser = TIMINGS[timing]
    holding = hold("check_transition", 2, last=loser) if loser is not None else None
    requests = [
        (f"/api/v1/tickets/{ticket['id']}/{action}", body(world, ticket), world.headers[who])
        for who, action, body in race.sides
    ]

    outcomes = fire_together(app, requests, holding)

    if holding is None and [outcome.status for outcome in outcomes] == [200, 200]:
        # Free-running on a busy machine, one request may finish before the other reads the ticket; both then
        # happen, one after the other, and the second must have seen the first (no lost update).
        assert_applied_in_turn(world, ticket, before, race)
        return
    winner = assert_one_winner(outcomes, LOST_RACE if holding else LOST_RACE | race.late)
    if loser is not None:
        assert winner.who == 1 - loser
    who, action, _ = race.sides[winner.who]
    final = world.get("admin", ticket).get_json()
    assert final["status"] == race.targets[action] == winner.body["status"]
    assert (final["assignee"], final["grid"]) == (winner.body["assignee"], winner.body["grid"])
    events = events_of(world, ticket["id"])
    assert len(events) == before + 1
    last = events[-1]
    assert (last["action"], last["actor"]["id"]) == (action, world.id_of(who))
    assert (last["from_status"], last["to_status"]) == (ticket["status"], final["status"])
    if "_survivor" in ticket:  # a merge also shows on the surviving ticket, if and only if it happened
        merged = action == "cancel"
        assert final["merged_into_id"] == (ticket["_survivor"] if merged else None)
        assert len(events_of(world, ticket["_survivor"])) == survivor_before + merged
    if "_photo" in ticket:  # the photo went with the resolve, or stayed unattached
        assert last["photo_ids"] == ([ticket["_photo"]] if action == "resolve" else [])


def assert_applied_in_turn(world: World, ticket: dict[str, Any], before: int, race: Race) -> None:
    """Both actions are on record, the second starting from where the first left the ticket."""
    events = events_of(world, ticket["id"])[before:]
    assert len(events) == 2, events
    first, second = events
    assert first["from_status"] == ticket["status"]
    assert second["from_status"] == first["to_status"], events
    final = world.get("admin", ticket).get_json()
    assert final["status"] == second["to_status"] == race.targets[second["action"]]


# --- two ratings of one resolution at once -----------------------------------------------------------


@pytest.mark.parametrize("timing", TIMINGS)
def test_two_ratings_of_one_resolution_at_once_record_one(app, world, hold, timing):
    ticket = world.resolved()
    loser = TIMINGS[timing]
    # record_feedback reads the clock once it has found no rating of this resolution yet.
    holding = hold("utcnow", 2, last=loser) if loser is not None else None
    path = f"/api/v1/tickets/{ticket['id']}/feedback"
    requests = [
        (path, {"rating": 5, "channel": "sms"}, world.headers["supervisor"]),
        (path, {"rating": 1, "channel": "visit", "comment": "没有清理干净"}, world.headers["community_supervisor"]),
    ]

    outcomes = fire_together(app, requests, holding)

    winner = assert_one_winner(outcomes, LOST_RACE if holding else LOST_RACE | TOO_LATE)
    if loser is not None:
        assert winner.who == 1 - loser
    final = world.get("admin", ticket).get_json()
    assert final["status"] == winner.body["status"] == ("closed" if winner.who == 0 else "in_progress")
    events = events_of(world, ticket["id"])
    assert [event["action"] for event in events][-2:] == ["resolve", "close" if winner.who == 0 else "reopen"]
    assert events[-1]["details"]["rating"] == requests[winner.who][1]["rating"]


@pytest.mark.parametrize(
    ("who", "action", "body"),
    [
        ("worker", "resolve", {"note": "已处理"}),
        ("supervisor", "escalate", {"reason": "需要社区协调"}),
        ("supervisor", "urge", {"note": "请尽快"}),
        ("worker", "return", {"reason": "不属于本网格"}),
    ],
)
def test_an_action_writes_its_ticket_row_before_any_other_row(app, world, who, action, body):
    """Two changes to one ticket lock its row first, so neither holds a row the other waits for (a PostgreSQL
    deadlock once seen between a resolve, whose rendering flushed its rollup facts and its SMS early, and an
    escalation)."""
    ticket = world.in_progress()
    with app.app_context():
        engine = db.engine
    writes: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split()[0] in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement.split()[2] if statement.startswith("INSERT") else statement.split()[1])

    event.listen(engine, "before_cursor_execute", capture)
    try:
        world.act(who, ticket, action, **body)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    writes = [table for table in writes if table != "idempotency_keys"]
    assert writes[0] == "tickets", writes
