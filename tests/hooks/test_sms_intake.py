"""Requests by text message (issue 25, section 1): a resident's text that is no reply becomes a request waiting in
the triage queue of the SMS intake unit; a supervisor routes it to a cell and a category, its ticket opens as any
intake's, and the resident gets the ticket number by SMS. Floods, punctuation and phones owing a rating do not
file anything."""

from itertools import count as counter
from typing import Any

import pytest

from hooks.sms.models import SmsReply
from tasks.tickets.models import ResidentRequest, Ticket
from tests.hooks.test_hooks_sms import TOKENS, count, inbound, outbox, post
from tests.support.http import assert_error
from tests.support.open311 import LAT, LNG, map_cell
from tests.support.tasks import RESIDENT_PHONE, build_world

TRIAGE = "/api/v1/requests?triage=true"
NEW_PHONE = "13800138000"
_ids = counter(1)


@pytest.fixture
def world(app, client, tree, make_account, auth, categories, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_CALLBACK_TOKENS", dict(TOKENS))
    monkeypatch.setitem(app.config, "SMS_INTAKE_GRID_ID", tree["C1"].id)
    return build_world(client, tree, make_account, auth)


def text(world, message: str, phone: str = NEW_PHONE) -> None:
    item = {"id": f"gw-{next(_ids)}", "phone": phone, "text": message}
    response = post(world, "", [item], provider="http")
    assert response.status_code == 200, response.get_data(as_text=True)


def triage(world, who: str = "supervisor") -> list[dict[str, Any]]:
    response = world.client.get(TRIAGE, headers=world.headers[who])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def route(world, request_id: str, who: str = "supervisor", **body: Any) -> Any:
    return world.client.post(f"/api/v1/requests/{request_id}/route", json=body, headers=world.headers[who])


def test_a_text_that_is_no_reply_becomes_a_request_waiting_in_triage(app, world):
    text(world, "小区门口路灯坏了")
    (waiting,) = triage(world)
    assert (waiting["channel"], waiting["description"], waiting["location"]) == ("sms", "小区门口路灯坏了", None)
    assert (waiting["triage"], waiting["ticket_id"], waiting["ticket_no"]) == (True, None, None)
    assert (waiting["grid_id"], waiting["category_code"]) == (str(world.tree["C1"].id), None)
    assert waiting["reporter"]["phone"] == "138****8000"
    (kept,) = inbound(world)
    assert (kept["status"], kept["outcome"], kept["request_id"]) == ("filed", "filed", waiting["id"])
    (told,) = outbox(app, template="sms_request_received")
    assert told.recipient_phone == NEW_PHONE
    assert count(app, Ticket) == 0


def test_the_triage_queue_is_the_covering_supervisors_and_admins_only(world):
    text(world, "楼道灯不亮")
    assert len(triage(world, "community_supervisor")) == 1
    assert len(triage(world, "admin")) == 1
    assert triage(world, "far_supervisor") == []
    for who in ("worker", "volunteer"):
        assert_error(world.client.get(TRIAGE, headers=world.headers[who]), 403, "forbidden")
    request_id = triage(world)[0]["id"]
    assert world.client.get(f"/api/v1/requests/{request_id}", headers=world.headers["supervisor"]).status_code == 200
    for who in ("far_supervisor", "worker"):
        assert_error(world.client.get(f"/api/v1/requests/{request_id}", headers=world.headers[who]), 404, "not_found")
    # Not among the requests with tickets.
    assert world.client.get("/api/v1/requests", headers=world.headers["admin"]).get_json()["items"] == []


def test_a_supervisor_routes_it_and_the_resident_gets_the_ticket_number(app, world):
    text(world, "小区门口路灯坏了")
    request_id = triage(world)[0]["id"]
    routed = route(world, request_id, grid_id=str(world.tree["G1a"].id), category_code="FACILITY.LIGHT")
    assert routed.status_code == 200, routed.get_data(as_text=True)
    ticket = routed.get_json()["ticket"]
    assert (ticket["status"], ticket["category"]["code"], ticket["grid"]["id"]) == (
        "pending",
        "FACILITY.LIGHT",
        str(world.tree["G1a"].id),
    )
    assert ticket["deadlines"]["resolve_due_at"] is not None
    request = routed.get_json()["request"]
    assert (request["triage"], request["ticket_id"], request["ticket_no"]) == (False, ticket["id"], ticket["no"])
    (received,) = outbox(app, template="sms_ticket_received")
    assert (received.recipient_phone, received.params["no"]) == (NEW_PHONE, ticket["no"])
    assert triage(world) == []
    created = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["admin"]).get_json()
    first = created["items"][0]
    assert (first["action"], first["details"]["channel"], first["details"]["triaged_request_id"]) == (
        "create",
        "sms",
        request_id,
    )
    again = route(world, request_id, grid_id=str(world.tree["G1a"].id), category_code="FACILITY.LIGHT")
    assert_error(again, 409, "conflict")
    assert count(app, Ticket) == 1


def test_a_route_to_a_location_finds_its_cell(world):
    cell = map_cell(world)
    text(world, "井盖丢了")
    request_id = triage(world)[0]["id"]
    routed = route(world, request_id, location={"lat": LAT + 0.001, "lng": LNG + 0.001}, category_code="FACILITY.ROAD")
    assert routed.status_code == 200, routed.get_data(as_text=True)
    assert routed.get_json()["ticket"]["grid"]["id"] == cell["id"]
    assert routed.get_json()["request"]["location"]["lat"] == pytest.approx(LAT + 0.001)
    text(world, "路面塌陷")
    (outside,) = [item["id"] for item in triage(world)]
    refused = route(world, outside, location={"lat": LAT - 1, "lng": LNG - 1}, category_code="FACILITY.ROAD")
    assert "location" in assert_error(refused, 422, "validation_error")["details"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grid_id": "G1a"}, "category_code"),
        ({"category_code": "FACILITY.LIGHT"}, "grid_id"),
        ({"grid_id": "G2a", "category_code": "FACILITY.LIGHT"}, "grid_id"),
        ({"grid_id": "G1a", "category_code": "NOPE"}, "category_code"),
    ],
)
def test_a_route_without_a_place_or_category_or_outside_scope_is_422_and_changes_nothing(app, world, body, field):
    text(world, "垃圾没人收")
    request_id = triage(world)[0]["id"]
    if "grid_id" in body:
        body = {**body, "grid_id": str(world.tree[body["grid_id"]].id)}
    details = assert_error(route(world, request_id, **body), 422, "validation_error")["details"]
    assert field in details
    assert count(app, Ticket) == 0
    assert [item["id"] for item in triage(world)] == [request_id]


@pytest.mark.parametrize(("who", "status"), [("worker", 403), ("volunteer", 403), ("far_supervisor", 404)])
def test_only_a_covering_supervisor_or_admin_routes(world, who, status):
    text(world, "垃圾没人收")
    request_id = triage(world)[0]["id"]
    response = route(world, request_id, who, grid_id=str(world.tree["G1a"].id), category_code="CITY.GARBAGE")
    assert response.status_code == status
    assert len(triage(world)) == 1


def test_an_admin_routes_too(world):
    text(world, "垃圾没人收")
    request_id = triage(world, "admin")[0]["id"]
    response = route(world, request_id, "admin", grid_id=str(world.tree["G1a"].id), category_code="CITY.GARBAGE")
    assert response.status_code == 200


def test_a_request_with_a_ticket_cannot_be_routed(world):
    filed = world.file()
    response = route(world, filed["request"]["id"], grid_id=str(world.tree["G1a"].id), category_code="CITY.GARBAGE")
    assert_error(response, 409, "conflict")
    far = route(world, filed["request"]["id"], "far_supervisor", grid_id=str(world.tree["G1a"].id))
    assert_error(far, 404, "not_found")


def test_a_flood_from_one_phone_files_at_most_the_daily_number(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_INTAKE_PER_PHONE_PER_DAY", 2)
    for message in ("路灯坏了", "路灯还是坏的", "快来修路灯", "路灯！！"):
        text(world, message)
    assert [item["description"] for item in triage(world)] == ["路灯坏了", "路灯还是坏的"]
    statuses = sorted(row["status"] for row in inbound(world))
    assert statuses == ["filed", "filed", "unmatched", "unmatched"]
    assert all("SMS_INTAKE_PER_PHONE_PER_DAY" in row["reason"] for row in inbound(world, status="unmatched"))
    text(world, "另一个号码：路灯坏了", phone="13700002222")
    assert len(triage(world)) == 3


@pytest.mark.parametrize("message", ["？？？", "8", "...!!", "12 34"])
def test_punctuation_or_digits_stay_unmatched(app, world, message):
    text(world, message)
    assert count(app, ResidentRequest) == 0
    (kept,) = inbound(world)
    assert kept["status"] in ("unmatched", "ignored")


def test_a_phone_whose_ticket_awaits_a_rating_files_nothing(app, world):
    world.resolved()  # the reporter's SMS were never sent: no recent SMS names the ticket
    text(world, "怎么还没人来看看", phone=RESIDENT_PHONE)
    assert triage(world) == []
    (kept,) = inbound(world)
    assert kept["status"] == "unmatched"
    assert "awaits a rating" in kept["reason"]


def test_without_an_intake_unit_texts_stay_unmatched(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_INTAKE_GRID_ID", None)
    text(world, "小区门口路灯坏了")
    assert count(app, ResidentRequest) == 0
    assert count(app, SmsReply) == 1
    assert "SMS_INTAKE_GRID_ID" in inbound(world)[0]["reason"]
