"""Requests and tickets through the HTTP API: intake, each action by role and scope, deadlines, feedback,
personal data, lists and delta sync, ETags and idempotent replays."""

import re
from datetime import datetime, timedelta

import pytest

from grid import service as grid_service
from grid.coords import from_wgs84
from grid.models import GridUnit
from kernel import clock
from kernel.extensions import db
from tasks.tickets.models import PersonalDataRead
from tests.support.geometry import square
from tests.support.http import assert_error
from tests.support.statements import statements_sent
from tests.support.tasks import RESIDENT_PHONE
from tests.support.workforce import add_profile

LNG, LAT = 112.53, 32.99


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def events_of(world, ticket, who="admin"):
    response = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers[who])
    assert response.status_code == 200
    return response.get_json()["items"]


# --- intake ---------------------------------------------------------------------------------------


def test_intake_opens_a_pending_ticket_with_a_number_and_the_category_deadline(world):
    intake = world.file(category_code="CITY.GARBAGE")
    ticket, request = intake["ticket"], intake["request"]
    assert re.fullmatch(r"\d{8}-\d{6}", ticket["no"])
    assert ticket["status"] == "pending" and ticket["priority"] == "normal"
    assert ticket["grid"]["id"] == str(world.tree["G1a"].id)
    assert ticket["category"] == {"code": "CITY.GARBAGE", "name": "垃圾清运"}
    created = at(ticket["created_at"])
    assert at(ticket["deadlines"]["resolve_due_at"]) - created == timedelta(hours=24)
    assert at(ticket["deadlines"]["due_at"]) == at(ticket["deadlines"]["resolve_due_at"])
    assert at(ticket["deadlines"]["warn_at"]) - created == timedelta(hours=24) * 0.8
    assert ticket["deadlines"]["accept_due_at"] is None
    assert not ticket["warned"] and not ticket["overdue"]
    assert request["ticket_id"] == ticket["id"] and request["ticket_no"] == ticket["no"]
    assert request["channel"] == "app"
    second = world.ticket()
    assert second["no"] > ticket["no"]


def test_urgent_priority_halves_the_deadlines(world):
    ticket = world.ticket(priority="urgent")
    created = at(ticket["created_at"])
    assert ticket["priority"] == "urgent"
    assert at(ticket["deadlines"]["resolve_due_at"]) - created == timedelta(hours=12)
    urgent_category = world.ticket(category_code="FACILITY.ELEVATOR")  # urgent by default: 6 h, halved
    assert urgent_category["priority"] == "urgent"
    assert at(urgent_category["deadlines"]["resolve_due_at"]) - at(urgent_category["created_at"]) == timedelta(hours=3)


def test_a_worker_request_without_place_goes_to_the_workers_cell(world):
    ticket = world.ticket("worker", grid_id=None)
    assert ticket["grid"]["id"] == str(world.tree["G1a"].id)


def test_a_worker_with_several_cells_files_without_a_place_into_the_first(world, app):
    with app.app_context():
        grid_service.assign_cells(world.accounts["worker"].id, [db.session.get(GridUnit, world.tree["G2a"].id)])
        db.session.commit()
    ticket = world.ticket("worker", grid_id=None)
    assert ticket["grid"]["id"] == str(min(world.tree["G1a"].id, world.tree["G2a"].id))


def test_an_intake_reads_no_rollup_facts_for_its_new_ticket(world, app):
    """A new ticket has no facts stored yet: its intake counts it without looking (one query fewer per intake)."""
    with statements_sent(app) as seen:
        world.ticket("worker", grid_id=None)
    writes = [statement for statement in seen if "stats_ticket_facts" in statement]
    assert writes and not any(statement.lstrip().upper().startswith("SELECT") for statement in writes), writes


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"location": {"lat": LAT, "lng": LNG}, "priority": "urgent", "grid_id": None},
        {"handle": "self", "resolution": {"note": "已当场清理"}},  # changed again after it is written
    ],
    ids=["plain", "located", "on_the_spot"],
)
def test_an_intake_answers_with_the_ticket_and_request_it_stored(world, app, monkeypatch, fields):
    """The new ticket and its request are each written by one INSERT and never read back: what the intake answers
    is what a later read finds, auto-dispatch's change included."""
    if not fields:
        monkeypatch.setitem(app.config, "TICKETS_AUTO_DISPATCH", True)
        add_profile(app, world.accounts["worker"], on_duty=True)
    with statements_sent(app) as seen:
        intake = world.file("worker", **fields)
    inserts = [sql.split("(")[0].split()[-1] for sql in seen if sql.lstrip().upper().startswith("INSERT INTO")]
    assert (inserts.count("tickets"), inserts.count("resident_requests")) == (1, 1), inserts
    reads = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in reads if re.search(r"WHERE (tickets|resident_requests)\.id = ", sql)], reads
    ticket, request = intake["ticket"], intake["request"]
    if not fields:
        assert ticket["status"] == "assigned"  # auto-dispatched, written after the insert
    stored = world.get("worker", ticket)
    assert stored.status_code == 200
    assert stored.get_json() == ticket
    response = world.client.get(f"/api/v1/requests/{request['id']}", headers=world.headers["worker"])
    assert response.get_json() == request


def test_a_request_that_no_cell_holds_is_refused(world):
    error = assert_error(
        world.client.post(
            "/api/v1/requests",
            json={"channel": "hotline", "category_code": "CITY.GARBAGE", "description": "无地点"},
            headers=world.headers["supervisor"],
        ),
        422,
        "validation_error",
    )
    assert "grid_id" in error["details"]


def test_a_request_is_routed_to_the_cell_holding_its_location_in_any_coordinate_system(world):
    created = world.client.post(
        "/api/v1/grids",
        json={
            "code": "G1c",
            "name": "第三网格",
            "level": "grid",
            "parent_id": str(world.tree["C1"].id),
            "boundary": square(LNG, LAT, 0.002),
        },
        headers=world.headers["admin"],
    )
    assert created.status_code == 201, created.get_json()
    gcj_lat, gcj_lng = from_wgs84(LAT + 0.001, LNG + 0.001, "gcj02")
    location = {"lat": gcj_lat, "lng": gcj_lng, "coord_system": "gcj02"}
    ticket = world.ticket("supervisor", grid_id=None, location=location)
    assert ticket["grid"]["id"] == created.get_json()["id"]
    assert ticket["location"]["lat"] == pytest.approx(LAT + 0.001, abs=1e-6)
    asked = world.get("supervisor", ticket["id"]).get_json()
    assert asked["location"]["coord_system"] == "wgs84"
    nowhere = {"lat": LAT + 1, "lng": LNG + 1}
    error = world.file("supervisor", expect=422, grid_id=None, location=nowhere)
    assert "location" in error["error"]["details"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"assignee_id": "1"}, "assignee_id"),
        ({"no": "20260101-000001"}, "no"),
        ({"deadlines": {}}, "deadlines"),
        ({"category_code": "NO.SUCH"}, "category_code"),
        ({"channel": "fax"}, "channel"),
        ({"description": ""}, "description"),
        ({"reporter": {"name": "张", "phone": "12345"}}, "reporter.phone"),
        ({"location": {"lat": "32.99", "lng": 112.53}}, "location.lat"),
        ({"location": {"lat": 91, "lng": 112.53}}, "location.lat"),
        ({"grid_id": 5}, "grid_id"),
        ({"photos": ["1"] * 10}, "photos"),
    ],
)
def test_intake_refuses_bad_input_and_server_owned_fields(world, fields, field):
    error = world.file("supervisor", expect=422, **fields)["error"]
    assert error["code"] == "validation_error"
    details = error["details"]
    for part in field.split("."):
        assert part in details, error
        details = details[part]
    listed = world.client.get("/api/v1/tickets", headers=world.headers["admin"]).get_json()
    assert listed["items"] == []  # nothing half-written


def test_intake_roles_and_scope(world):
    world.file("volunteer", expect=403)
    far_cell = str(world.tree["G2a"].id)
    error = world.file("worker", expect=422, grid_id=far_cell)["error"]
    assert "grid_id" in error["details"]
    assert world.file("far_worker", grid_id=far_cell)["ticket"]["grid"]["id"] == far_cell
    assert world.file("admin", grid_id=far_cell)["ticket"]["grid"]["id"] == far_cell
    response = world.client.post("/api/v1/requests", json={})
    assert_error(response, 401, "unauthorized")


def test_possible_duplicates_are_nearby_open_tickets_of_the_same_category(world):
    here = {"lat": LAT, "lng": LNG}
    first = world.ticket(location=here)
    near = {"lat": LAT + 0.0005, "lng": LNG}  # ~55 m
    second = world.file(location=near)
    assert [t["id"] for t in second["possible_duplicates"]] == [first["id"]]
    other_kind = world.file(location=near, category_code="FACILITY.ROAD")
    assert other_kind["possible_duplicates"] == []
    far = world.file(location={"lat": LAT + 0.01, "lng": LNG})  # ~1.1 km
    assert far["possible_duplicates"] == []


def test_requests_are_listed_and_read_in_scope(world):
    intake = world.file()
    mine = world.client.get("/api/v1/requests", headers=world.headers["worker"]).get_json()
    assert [r["id"] for r in mine["items"]] == [intake["request"]["id"]]
    assert mine["items"][0]["reporter"]["phone"] == "139****5678"
    path = f"/api/v1/requests/{intake['request']['id']}"
    assert world.client.get(path, headers=world.headers["supervisor"]).status_code == 200
    assert_error(world.client.get(path, headers=world.headers["far_worker"]), 404, "not_found")
    assert_error(world.client.get(path, headers=world.headers["far_supervisor"]), 404, "not_found")
    far = world.client.get("/api/v1/requests", headers=world.headers["far_supervisor"]).get_json()
    assert far["items"] == []


# --- the actions, by role and scope --------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("supervisor", 200),
        ("community_supervisor", 200),
        ("far_supervisor", 404),
        ("worker", 403),
        ("volunteer", 403),
    ],
)
def test_dispatch_by_role_and_scope(world, who, status):
    ticket = world.ticket()
    body = world.act(who, ticket, "dispatch", status=status, assignee_id=world.id_of("worker"))
    if status == 200:
        assert body["status"] == "assigned"
        assert body["assignee"]["id"] == world.id_of("worker")
        assert at(body["deadlines"]["accept_due_at"]) - at(body["dispatched_at"]) == timedelta(minutes=60)
        assert body["deadlines"]["due_at"] == body["deadlines"]["accept_due_at"]
    else:
        assert body["error"]["code"] == {403: "forbidden", 404: "not_found"}[status]


@pytest.mark.parametrize("assignee", ["far_worker", "far_volunteer", "supervisor", "admin"])
def test_dispatch_only_to_someone_serving_the_ticket_area(world, assignee):
    ticket = world.ticket()
    error = world.act("supervisor", ticket, "dispatch", status=422, assignee_id=world.id_of(assignee))
    assert "assignee_id" in error["error"]["details"]


def test_an_action_the_state_does_not_allow_is_409_with_the_allowed_actions(world):
    ticket = world.ticket()
    error = world.act("supervisor", ticket, "close", status=409)["error"]
    assert error["code"] == "invalid_transition"
    assert set(error["details"]["allowed_actions"]) == {"dispatch", "escalate", "cancel", "urge"}


@pytest.mark.parametrize(("who", "status"), [("worker", 200), ("other_worker", 404), ("supervisor", 403)])
def test_only_the_assignee_accepts(world, who, status):
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    body = world.act(who, ticket, "accept", status=status)
    if status == 200:
        assert body["status"] == "in_progress" and body["accepted_at"]
        assert body["deadlines"]["due_at"] == body["deadlines"]["resolve_due_at"]
        assert set(body["allowed_actions"]) == {"return", "escalate", "suspend", "request_extension", "resolve"}


def test_a_worker_who_is_not_the_assignee_may_not_act(world):
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("volunteer"))
    error = world.act("worker", ticket, "accept", status=403)["error"]  # sees the cell, is not the assignee
    assert error["code"] == "forbidden"


def test_return_needs_a_reason_and_sends_the_ticket_back_to_pending_without_review(app, world, monkeypatch):
    """RETURN_NEEDS_REVIEW=0: today's direct return (tests/tasks/test_return_review.py has the reviewed one)."""
    monkeypatch.setitem(app.config, "RETURN_NEEDS_REVIEW", False)
    ticket = world.ticket()
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    assert "reason" in world.act("worker", ticket, "return", status=422)["error"]["details"]
    body = world.act("worker", ticket, "return", reason="不属于本网格")
    assert body["status"] == "pending" and body["assignee"] is None
    assert body["deadlines"]["accept_due_at"] is None
    assert events_of(world, ticket)[-1]["note"] == "不属于本网格"
    assert events_of(world, ticket)[-1]["details"] == {"review": False}


def test_escalation_moves_the_ticket_up_and_the_units_it_left_keep_reading_it(world):
    ticket = world.in_progress()
    body = world.act("worker", ticket, "escalate", reason="需要社区协调")
    assert body["status"] == "pending" and body["grid"]["id"] == str(world.tree["C1"].id)
    assert body["assignee"] is None
    assert world.get("worker", ticket).get_json()["allowed_actions"] == []  # read-only for the first cell now
    body = world.act("community_supervisor", ticket, "escalate", reason="需要街道协调")
    assert body["grid"]["id"] == str(world.tree["S1"].id)
    assert world.get("community_supervisor", ticket).get_json()["allowed_actions"] == []
    body = world.act("supervisor", ticket, "escalate", reason="需要区里协调")
    assert body["grid"]["id"] == str(world.tree["D"].id)
    error = world.act("admin", ticket, "escalate", status=409, reason="更高")["error"]
    assert error["code"] == "invalid_transition" and "escalate" not in error["details"]["allowed_actions"]
    moves = [e["details"].get("to_level") for e in events_of(world, ticket) if e["action"] == "escalate"]
    assert moves == ["community", "street", "district"]


def test_a_volunteer_in_scope_claims_a_ticket_open_to_volunteers(world):
    ticket = world.ticket(category_code="SERVICE.ELDERLY")
    assert ticket["volunteer_claimable"] is True
    assert_error(world.get("far_volunteer", ticket), 404, "not_found")
    world.act("far_volunteer", ticket, "claim", status=404)
    world.act("worker", ticket, "claim", status=403)
    seen = world.get("volunteer", ticket).get_json()
    assert "claim" in seen["allowed_actions"]
    body = world.act("volunteer", ticket, "claim")
    assert body["status"] == "in_progress" and body["assignee"]["id"] == world.id_of("volunteer")
    error = world.act("other_volunteer", ticket, "claim", status=409)["error"]
    assert error["code"] == "invalid_transition"
    assert world.act("volunteer", ticket, "resolve", note="已陪同就医")["status"] == "resolved"


def test_volunteers_do_not_see_tickets_closed_to_them(world):
    ticket = world.ticket(category_code="FACILITY.ROAD")
    assert ticket["volunteer_claimable"] is False
    assert_error(world.get("volunteer", ticket), 404, "not_found")
    world.act("volunteer", ticket, "claim", status=404)
    listed = world.client.get("/api/v1/tickets", headers=world.headers["volunteer"]).get_json()
    assert listed["items"] == []


def test_resolve_needs_a_note_and_stops_the_clock(world):
    ticket = world.in_progress()
    assert "note" in world.act("worker", ticket, "resolve", status=422)["error"]["details"]
    location = {"lat": LAT, "lng": LNG}
    body = world.act("worker", ticket, "resolve", note="已清运", location=location)
    assert body["status"] == "resolved" and body["resolved_at"]
    assert body["deadlines"]["due_at"] is None and not body["overdue"]
    event = events_of(world, ticket)[-1]
    assert event["action"] == "resolve" and event["location"]["lat"] == pytest.approx(LAT)
    assert event["details"]["on_time"] is True


def test_close_and_reopen_by_a_supervisor_count_against_the_handler(world):
    ticket = world.resolved()
    world.act("worker", ticket, "close", status=403)
    body = world.act("supervisor", ticket, "reopen", reason="垃圾仍未清理")
    assert body["status"] == "in_progress" and body["reopen_count"] == 1
    assert body["assignee"]["id"] == world.id_of("worker")
    assert events_of(world, ticket)[-1]["details"]["against_id"] == world.id_of("worker")
    world.act("worker", ticket, "resolve", note="再次清运")
    assert world.act("supervisor", ticket, "close")["status"] == "closed"


def test_a_closed_ticket_reopens_only_within_the_window(world, app):
    ticket = world.resolved()
    world.act("supervisor", ticket, "close")
    clock.travel(timedelta(days=app.config["TICKET_REOPEN_DAYS"] + 1))
    error = world.act("supervisor", ticket, "reopen", status=409, reason="又坏了")["error"]
    assert error["code"] == "invalid_transition"
    clock.travel(timedelta(days=app.config["TICKET_REOPEN_DAYS"] - 1))
    assert world.act("supervisor", ticket, "reopen", reason="又坏了")["status"] == "in_progress"


def test_cancel_merges_a_duplicate_into_the_surviving_ticket(world):
    survivor = world.ticket()
    duplicate = world.file()
    world.act("supervisor", duplicate["ticket"], "cancel", status=422)  # reason required
    body = world.act("supervisor", duplicate["ticket"], "cancel", reason="重复工单", merged_into=survivor["id"])
    assert body["status"] == "cancelled" and body["merged_into_id"] == survivor["id"]
    request = world.client.get(
        f"/api/v1/requests/{duplicate['request']['id']}", headers=world.headers["supervisor"]
    ).get_json()
    assert request["ticket_id"] == survivor["id"]
    merged = events_of(world, survivor)[-1]
    assert merged["action"] == "merge" and merged["details"]["merged_ticket_id"] == duplicate["ticket"]["id"]
    error = world.act(
        "supervisor", world.ticket(), "cancel", status=422, reason="x", merged_into=duplicate["ticket"]["id"]
    )
    assert "merged_into" in error["error"]["details"]


def test_urge_flags_the_ticket_and_records_who_and_why(world):
    ticket = world.in_progress()
    world.act("worker", ticket, "urge", status=403, note="快点")
    world.act("supervisor", ticket, "urge", status=422)
    body = world.act("supervisor", ticket, "urge", note="居民多次反映，请尽快处理")
    assert body["status"] == "in_progress" and body["urge_count"] == 1 and body["last_urged_at"]
    event = events_of(world, ticket)[-1]
    assert event["action"] == "urge" and event["actor"]["id"] == world.id_of("supervisor")
    assert event["note"] == "居民多次反映，请尽快处理"


def test_every_change_is_an_event_in_order(world):
    ticket = world.resolved()
    events = events_of(world, ticket, "worker")
    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("create", None, "pending"),
        ("dispatch", "pending", "assigned"),
        ("accept", "assigned", "in_progress"),
        ("resolve", "in_progress", "resolved"),
    ]
    assert events[1]["actor"]["id"] == world.id_of("supervisor")
    assert events[1]["details"]["assignee_id"] == world.id_of("worker")


def test_events_have_no_write_routes(world):
    ticket = world.ticket()
    path = f"/api/v1/tickets/{ticket['id']}/events"
    for method in ("post", "put", "patch", "delete"):
        assert getattr(world.client, method)(path, headers=world.headers["admin"]).status_code == 405


# --- feedback ---------------------------------------------------------------------------------------


def test_a_good_rating_closes_and_a_bad_one_reopens(world):
    good = world.resolved()
    path = f"/api/v1/tickets/{good['id']}/feedback"
    response = world.client.post(path, json={"rating": 5, "channel": "visit"}, headers=world.headers["supervisor"])
    assert response.status_code == 200 and response.get_json()["status"] == "closed"
    again = world.client.post(path, json={"rating": 4, "channel": "visit"}, headers=world.headers["supervisor"])
    assert_error(again, 409, "invalid_transition")
    bad = world.resolved()
    body = {"rating": 2, "comment": "没有处理干净", "channel": "sms"}
    response = world.client.post(
        f"/api/v1/tickets/{bad['id']}/feedback", json=body, headers=world.headers["supervisor"]
    )
    reopened = response.get_json()
    assert reopened["status"] == "in_progress" and reopened["reopen_count"] == 1
    last = events_of(world, bad)[-1]
    assert last["action"] == "reopen" and last["note"] == "没有处理干净" and last["details"]["rating"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": 0, "channel": "sms"}, "rating"),
        ({"rating": "5", "channel": "sms"}, "rating"),
        ({"rating": 5, "channel": "fax"}, "channel"),
        ({"rating": 5}, "channel"),
    ],
)
def test_feedback_validation(world, body, field):
    ticket = world.resolved()
    response = world.client.post(
        f"/api/v1/tickets/{ticket['id']}/feedback", json=body, headers=world.headers["supervisor"]
    )
    assert field in assert_error(response, 422, "validation_error")["details"]


def test_feedback_by_role_and_state(world):
    ticket = world.in_progress()
    path = f"/api/v1/tickets/{ticket['id']}/feedback"
    body = {"rating": 5, "channel": "app"}
    assert_error(world.client.post(path, json=body, headers=world.headers["supervisor"]), 409, "invalid_transition")
    world.act("worker", ticket, "resolve", note="好了")
    assert_error(world.client.post(path, json=body, headers=world.headers["worker"]), 403, "forbidden")
    assert_error(world.client.post(path, json=body, headers=world.headers["far_supervisor"]), 404, "not_found")


# --- personal data ----------------------------------------------------------------------------------


def test_the_residents_number_is_masked_except_for_the_handler(world, app):
    ticket = world.ticket(category_code="SERVICE.ELDERLY")
    assert world.get("supervisor", ticket).get_json()["reporter"]["phone"] == "139****5678"
    assert world.get("volunteer", ticket).get_json()["reporter"]["phone"] == "139****5678"
    world.act("volunteer", ticket, "claim")
    assert world.get("volunteer", ticket).get_json()["reporter"]["phone"] == RESIDENT_PHONE


@pytest.mark.parametrize("who", ["supervisor", "worker", "admin"])
def test_the_filer_sees_the_request_reporters_number_as_the_tickets(world, who):
    intake = world.file(who)
    assert intake["ticket"]["reporter"]["phone"] == "139****5678"
    assert intake["request"]["reporter"] == intake["ticket"]["reporter"]


@pytest.mark.parametrize(
    ("filed", "masked"),
    [("0571-87654321", "0571-****4321"), ("010-12345678", "010-****5678"), ("075523456789", "0755-****6789")],
)
def test_a_landline_is_masked_keeping_its_area_code(world, filed, masked):
    ticket = world.ticket(reporter={"name": "王师傅", "phone": filed})
    assert world.get("supervisor", ticket).get_json()["reporter"]["phone"] == masked


def test_a_supervisor_reads_the_full_number_with_a_reason_and_it_is_logged(world, app):
    ticket = world.ticket()
    path = f"/api/v1/tickets/{ticket['id']}/contact"
    assert_error(world.client.get(path, headers=world.headers["supervisor"]), 422, "validation_error")
    response = world.client.get(path, query_string={"reason": "电话回访"}, headers=world.headers["supervisor"])
    assert response.get_json() == {"name": "张大妈", "phone": RESIDENT_PHONE}
    assert_error(
        world.client.get(path, query_string={"reason": "看看"}, headers=world.headers["worker"]), 403, "forbidden"
    )
    assert_error(
        world.client.get(path, query_string={"reason": "看看"}, headers=world.headers["far_supervisor"]),
        404,
        "not_found",
    )
    with app.app_context():
        reads = db.session.query(PersonalDataRead).all()
        assert [(r.account_id, r.reason, r.subject) for r in reads] == [
            (world.accounts["supervisor"].id, "电话回访", "reporter_phone")
        ]


# --- lists and delta sync ---------------------------------------------------------------------------


def test_the_workers_queue_and_filters(world):
    mine = world.in_progress()
    waiting = world.ticket()
    other = world.ticket(
        "supervisor", category_code="FACILITY.LIGHT", grid_id=str(world.tree["G1b"].id), description="路灯不亮"
    )
    headers = world.headers["worker"]

    def ids(**query):
        response = world.client.get("/api/v1/tickets", query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        return [t["id"] for t in response.get_json()["items"]]

    assert ids(assignee="me") == [mine["id"]]
    assert ids() == [waiting["id"], mine["id"]]  # newest first; G1b is not the worker's
    headers = world.headers["supervisor"]
    assert ids(status="pending") == [other["id"], waiting["id"]]
    assert ids(status=["pending", "in_progress"]) == [other["id"], waiting["id"], mine["id"]]
    assert ids(grid_id=str(world.tree["G1b"].id)) == [other["id"]]
    assert ids(grid_id=str(world.tree["C1"].id)) == [other["id"], waiting["id"], mine["id"]]
    assert ids(category="FACILITY") == [other["id"]]
    assert ids(q="路灯") == [other["id"]]
    assert ids(q=other["no"]) == [other["id"]]
    assert ids(assignee=world.id_of("worker")) == [mine["id"]]
    assert world.client.get("/api/v1/tickets", headers=world.headers["far_supervisor"]).get_json()["items"] == []
    bad = world.client.get("/api/v1/tickets", query_string={"status": "lost"}, headers=headers)
    assert_error(bad, 422, "validation_error")


def test_pages_are_stable(world):
    made = [world.ticket()["id"] for _ in range(5)]
    first = world.client.get("/api/v1/tickets?limit=2", headers=world.headers["supervisor"]).get_json()
    world.ticket()
    rest = world.client.get(
        f"/api/v1/tickets?limit=10&cursor={first['next_cursor']}", headers=world.headers["supervisor"]
    ).get_json()
    assert [t["id"] for t in first["items"] + rest["items"]] == list(reversed(made))


def test_warned_and_overdue_follow_the_running_clock(world):
    ticket = world.ticket()  # CITY.GARBAGE: 24 h to resolve
    headers = world.headers["supervisor"]

    def flagged(name):
        return [t["id"] for t in world.client.get(f"/api/v1/tickets?{name}=true", headers=headers).get_json()["items"]]

    assert flagged("warned") == [] and flagged("overdue") == []
    clock.travel(timedelta(hours=20))
    assert flagged("warned") == [ticket["id"]] and flagged("overdue") == []
    assert world.get("supervisor", ticket).get_json()["warned"] is True
    clock.travel(timedelta(hours=25))
    assert flagged("warned") == [] and flagged("overdue") == [ticket["id"]]
    assert world.get("supervisor", ticket).get_json()["overdue"] is True
    not_overdue = world.client.get("/api/v1/tickets?overdue=false", headers=headers).get_json()["items"]
    assert not_overdue == []


def test_delta_sync_brings_changes_and_tombstones_for_tickets_that_left_view(world):
    kept = world.in_progress()
    # Received by the community and dispatched to the worker: theirs only while they hold it (a ticket first
    # received in their cell would stay in their view, read-only, when passed up).
    leaving = world.ticket("supervisor", grid_id=str(world.tree["C1"].id))
    world.act("supervisor", leaving, "dispatch", assignee_id=world.id_of("worker"))
    world.act("worker", leaving, "accept")
    since = world.get("worker", leaving).get_json()["updated_at"]
    clock.travel(timedelta(seconds=1))
    world.act("worker", leaving, "escalate", reason="上报社区")
    world.act("worker", kept, "resolve", note="好了")
    response = world.client.get(
        "/api/v1/tickets", query_string={"updated_since": since}, headers=world.headers["worker"]
    )
    items = response.get_json()["items"]
    assert [(t["id"], t["removed"]) for t in items] == [(leaving["id"], True), (kept["id"], False)]
    assert items[0] == {"id": leaving["id"], "status": "pending", "updated_at": items[0]["updated_at"], "removed": True}
    assert items[1]["status"] == "resolved"


# --- ETags, If-Match and replays --------------------------------------------------------------------


def test_ticket_etags_and_stale_if_match(world):
    ticket = world.ticket()
    first = world.get("supervisor", ticket)
    etag = first.headers["ETag"]
    cached = world.client.get(
        f"/api/v1/tickets/{ticket['id']}", headers={**world.headers["supervisor"], "If-None-Match": etag}
    )
    assert cached.status_code == 304
    world.act("supervisor", ticket, "urge", note="请尽快")
    stale = world.client.post(
        f"/api/v1/tickets/{ticket['id']}/dispatch",
        json={"assignee_id": world.id_of("worker")},
        headers={**world.headers["supervisor"], "If-Match": etag},
    )
    assert_error(stale, 412, "precondition_failed")
    fresh = world.get("supervisor", ticket).headers["ETag"]
    ok = world.client.post(
        f"/api/v1/tickets/{ticket['id']}/dispatch",
        json={"assignee_id": world.id_of("worker")},
        headers={**world.headers["supervisor"], "If-Match": fresh},
    )
    assert ok.status_code == 200


def test_the_offline_queue_replays_intake_and_actions_once(world):
    headers = {**world.headers["worker"], "Idempotency-Key": "queue-0001"}
    body = {"channel": "patrol", "category_code": "CITY.LITTER", "description": "楼道堆放杂物"}
    first = world.client.post("/api/v1/requests", json=body, headers=headers)
    replay = world.client.post("/api/v1/requests", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.get_json() == first.get_json() and replay.headers.get("Idempotent-Replayed") == "true"
    listed = world.client.get("/api/v1/tickets", headers=world.headers["worker"]).get_json()["items"]
    assert len(listed) == 1
    ticket = first.get_json()["ticket"]
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    accept = {**world.headers["worker"], "Idempotency-Key": "queue-0002"}
    path = f"/api/v1/tickets/{ticket['id']}/accept"
    one = world.client.post(path, json={}, headers=accept)
    two = world.client.post(path, json={}, headers=accept)
    assert one.status_code == two.status_code == 200 and one.get_json() == two.get_json()
    assert [e["action"] for e in events_of(world, ticket)].count("accept") == 1


def test_a_cell_with_tickets_cannot_be_deleted(world):
    ticket = world.ticket("supervisor", grid_id=str(world.tree["G1b"].id))
    response = world.client.delete(f"/api/v1/grids/{world.tree['G1b'].id}", headers=world.headers["admin"])
    assert_error(response, 409, "conflict")
    assert world.get("admin", ticket).status_code == 200


@pytest.fixture
def auto_dispatch(app):
    app.config["TICKETS_AUTO_DISPATCH"] = True
    yield
    app.config["TICKETS_AUTO_DISPATCH"] = False


def test_auto_dispatch_gives_a_new_ticket_to_the_cells_only_worker_on_duty(world, app, auto_dispatch):
    assert world.ticket()["status"] == "pending"  # nobody on duty
    add_profile(app, world.accounts["worker"], on_duty=True)
    ticket = world.ticket()
    assert ticket["status"] == "assigned" and ticket["assignee"]["id"] == world.id_of("worker")
    dispatch = events_of(world, ticket)[-1]
    assert dispatch["action"] == "dispatch" and dispatch["actor"] is None and dispatch["details"]["auto"] is True
    colleague = world.accounts["other_worker"]
    with app.app_context():
        grid_service.assign_cells(colleague.id, [db.session.get(GridUnit, world.tree["G1a"].id)])
        db.session.commit()
    add_profile(app, colleague, on_duty=True)
    assert world.ticket()["status"] == "pending"  # two on duty: a supervisor decides
