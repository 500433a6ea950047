"""小事不出网格: the cell's own worker takes a pending ticket on the spot (`take`), or files a request already in hand
(`handle: self`) or already done (就地办结)."""

from typing import Any

import pytest

from tests.support.http import assert_error


def _events(world: Any, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    response = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["admin"])
    assert response.status_code == 200
    return response.get_json()["items"]


def test_the_cells_worker_finds_take_among_the_allowed_actions_of_a_pending_ticket(world):
    ticket = world.ticket("supervisor")
    assert world.get("worker", ticket).get_json()["allowed_actions"] == ["take"]


def test_the_cells_worker_takes_a_pending_ticket_and_it_is_theirs_in_progress(world):
    ticket = world.ticket("supervisor")
    taken = world.act("worker", ticket, "take")
    assert taken["status"] == "in_progress"
    assert taken["assignee"]["id"] == world.id_of("worker")
    assert taken["dispatched_at"] == taken["accepted_at"] is not None
    assert "resolve" in taken["allowed_actions"] and "take" not in taken["allowed_actions"]
    last = _events(world, ticket)[-1]
    assert (last["action"], last["from_status"], last["to_status"]) == ("take", "pending", "in_progress")
    assert last["actor"]["id"] == world.id_of("worker")
    assert [event["action"] for event in _events(world, ticket)] == ["create", "take"]


def test_the_worker_who_filed_a_request_in_their_cell_can_take_it(world):
    ticket = world.ticket("worker")
    assert world.act("worker", ticket, "take")["status"] == "in_progress"


@pytest.mark.parametrize("who", ["other_worker", "far_worker"])
def test_a_worker_outside_the_cell_cannot_take_its_ticket(world, who):
    ticket = world.ticket("supervisor")
    response = world.client.post(f"/api/v1/tickets/{ticket['id']}/take", json={}, headers=world.headers[who])
    assert response.status_code in (403, 404)
    if who == "other_worker":  # same community, another cell: cannot see it either
        assert_error(response, 404, "not_found")


def test_a_worker_whose_cell_ticket_was_filed_elsewhere_is_refused_when_it_is_not_their_cell(world):
    ticket = world.ticket("supervisor", grid_id=str(world.tree["G1b"].id))
    response = world.client.post(f"/api/v1/tickets/{ticket['id']}/take", json={}, headers=world.headers["other_worker"])
    assert response.status_code == 200
    response = world.client.post(f"/api/v1/tickets/{ticket['id']}/take", json={}, headers=world.headers["worker"])
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("who", ["supervisor", "admin", "volunteer"])
def test_take_is_for_workers_only(world, who):
    ticket = world.ticket("supervisor")
    response = world.client.post(f"/api/v1/tickets/{ticket['id']}/take", json={}, headers=world.headers[who])
    assert_error(response, 403, "forbidden")


def test_a_community_level_ticket_is_not_taken_by_a_cell_worker(world):
    ticket = world.ticket("supervisor", grid_id=str(world.tree["C1"].id))
    response = world.client.post(f"/api/v1/tickets/{ticket['id']}/take", json={}, headers=world.headers["worker"])
    assert_error(response, 404, "not_found")


def test_a_dispatched_ticket_cannot_be_taken(world):
    ticket = world.ticket("supervisor")
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("volunteer"))
    response = world.client.post(f"/api/v1/tickets/{ticket['id']}/take", json={}, headers=world.headers["worker"])
    error = assert_error(response, 409, "invalid_transition")
    assert error["details"]["allowed_actions"] == []


def test_a_ticket_taken_and_resolved_is_marked_handled_on_the_spot(world):
    ticket = world.ticket("supervisor")
    world.act("worker", ticket, "take")
    assert world.get("worker", ticket).get_json()["handled_on_spot"] is False  # not yet resolved
    resolved = world.act("worker", ticket, "resolve", note="已清运")
    assert resolved["handled_on_spot"] is True


def test_a_ticket_dispatched_to_the_cells_worker_is_not_handled_on_the_spot(world):
    resolved = world.resolved()
    assert resolved["handled_on_spot"] is False


def test_a_taken_ticket_escalated_never_counts_as_handled_on_the_spot(world):
    ticket = world.ticket("supervisor")
    world.act("worker", ticket, "take")
    world.act("worker", ticket, "escalate", reason="需社区协调")
    world.act("community_supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    world.act("worker", ticket, "accept")
    assert world.act("worker", ticket, "resolve", note="已处理")["handled_on_spot"] is False


def test_a_taken_ticket_returned_and_dispatched_is_not_handled_on_the_spot(world):
    ticket = world.ticket("supervisor")
    world.act("worker", ticket, "take")
    world.act("worker", ticket, "return", reason="需要专业队伍")
    world.act("supervisor", ticket, "approve_return")  # returns are reviewed (RETURN_NEEDS_REVIEW=1)
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    world.act("worker", ticket, "accept")
    assert world.act("worker", ticket, "resolve", note="已处理")["handled_on_spot"] is False


# --- intake with handle: self ---------------------------------------------------------------------


def test_a_worker_files_a_request_in_their_cell_already_in_their_hands(world):
    ticket = world.ticket("worker", handle="self")
    assert ticket["status"] == "in_progress"
    assert ticket["assignee"]["id"] == world.id_of("worker")
    assert ticket["reporter"]["phone"] == "13912345678"  # the handler reads it in full
    assert [event["action"] for event in _events(world, ticket)] == ["create", "take"]


def test_a_worker_resolves_a_request_in_the_request_that_files_it(world):
    ticket = world.ticket("worker", handle="self", resolution={"note": "已当场清理"})
    assert ticket["status"] == "resolved"
    assert ticket["handled_on_spot"] is True
    events = _events(world, ticket)
    assert [event["action"] for event in events] == ["create", "take", "resolve"]
    assert events[-1]["note"] == "已当场清理"
    assert "feedback" not in ticket  # rated as any resolved ticket: the supervisor records the rating
    rated = world.client.post(
        f"/api/v1/tickets/{ticket['id']}/feedback",
        json={"rating": 5, "channel": "visit"},
        headers=world.headers["supervisor"],
    )
    assert rated.status_code == 200 and rated.get_json()["status"] == "closed"


def test_a_resolution_on_the_spot_needs_a_note(world):
    response = world.client.post(
        "/api/v1/requests",
        json={
            "channel": "patrol",
            "category_code": "CITY.GARBAGE",
            "description": "垃圾",
            "handle": "self",
            "grid_id": str(world.tree["G1a"].id),
            "resolution": {"photos": []},
        },
        headers=world.headers["worker"],
    )
    error = assert_error(response, 422, "validation_error")
    assert "resolution.note" in str(error["details"]) or "note" in str(error["details"])


def test_a_resolution_without_handle_self_is_refused(world):
    response = world.client.post(
        "/api/v1/requests",
        json={
            "channel": "patrol",
            "category_code": "CITY.GARBAGE",
            "description": "垃圾",
            "grid_id": str(world.tree["G1a"].id),
            "resolution": {"note": "已处理"},
        },
        headers=world.headers["worker"],
    )
    assert_error(response, 422, "validation_error")


def test_nothing_is_filed_when_the_resolution_is_refused(world):
    before = world.client.get("/api/v1/tickets", headers=world.headers["admin"]).get_json()["items"]
    world.file("worker", expect=422, handle="self", resolution={"note": ""})
    assert world.client.get("/api/v1/tickets", headers=world.headers["admin"]).get_json()["items"] == before


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_only_workers_handle_a_request_on_the_spot(world, who):
    response = world.client.post(
        "/api/v1/requests",
        json={
            "channel": "patrol",
            "category_code": "CITY.GARBAGE",
            "description": "垃圾",
            "handle": "self",
            "grid_id": str(world.tree["G1a"].id),
        },
        headers=world.headers[who],
    )
    assert_error(response, 403, "forbidden")


def test_a_worker_cannot_handle_on_the_spot_a_place_in_another_cell(world):
    from tests.support.geometry import LAT, LNG, square

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
    place = {"lat": LAT + 0.001, "lng": LNG + 0.001}
    error = world.file("worker", expect=422, handle="self", grid_id=None, location=place)
    assert error["error"]["details"] == {"handle": ["the place is not in one of your cells"]}
    assert world.file("worker", grid_id=None, location=place)["ticket"]["status"] == "pending"  # filed, not taken


def test_a_request_handled_on_the_spot_is_filed_once_when_replayed(world):
    body = {
        "channel": "patrol",
        "category_code": "CITY.GARBAGE",
        "description": "垃圾",
        "handle": "self",
        "grid_id": str(world.tree["G1a"].id),
        "resolution": {"note": "已当场清理"},
    }
    headers = {**world.headers["worker"], "Idempotency-Key": "spot-0001"}
    first = world.client.post("/api/v1/requests", json=body, headers=headers)
    again = world.client.post("/api/v1/requests", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    listed = world.client.get("/api/v1/tickets", headers=world.headers["admin"]).get_json()["items"]
    assert len(listed) == 1


# --- the worker's app -------------------------------------------------------------------------------


def test_the_worker_reads_their_cells_in_their_profile(world, app):
    from tests.support.workforce import add_profile

    add_profile(app, world.accounts["worker"])
    me = world.client.get("/api/v1/workers/me", headers=world.headers["worker"])
    assert me.status_code == 200
    cell = world.tree["G1a"]
    assert me.get_json()["cells"] == [
        {"id": str(cell.id), "code": cell.code, "name": cell.name, "level": "grid", "parent_id": str(cell.parent_id)}
    ]


# --- what the resident hears -------------------------------------------------------------------------


def _resident_sms(app: Any) -> list[str]:
    from sqlalchemy import select

    from kernel.extensions import db
    from notifications.outbox.models import Notification

    with app.app_context():
        stmt = select(Notification.template).where(Notification.recipient_phone == "13912345678")
        return list(db.session.scalars(stmt.order_by(Notification.id)))


def test_a_request_resolved_on_the_spot_owes_the_resident_only_the_resolved_sms(world, app):
    ticket = world.ticket("worker", handle="self", resolution={"note": "已当场清理"})
    assert _resident_sms(app) == ["sms_ticket_resolved"]  # with the note and the rating prompt
    events = _events(world, ticket)
    assert events[0]["details"] == {"channel": "app", "handle": "self", "resolved_on_intake": True}


def test_a_request_taken_on_the_spot_tells_the_resident_it_was_received_and_taken(world, app):
    world.ticket("worker", handle="self")
    assert _resident_sms(app) == ["sms_ticket_received", "sms_ticket_taken"]


def test_a_take_body_cannot_pass_for_an_intake_resolution(world, app):
    ticket = world.ticket("supervisor")
    response = world.client.post(
        f"/api/v1/tickets/{ticket['id']}/take", json={"resolved_on_intake": True}, headers=world.headers["worker"]
    )
    assert_error(response, 422, "validation_error")
