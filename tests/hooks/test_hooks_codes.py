"""Integrations speak their own codes (issue 25, section 3): a 12345 platform's category codes are mapped to ours
(or go to its default category), a push with an address only waits in the triage queue of the integration's
unit until a supervisor routes it, and the 回访 rating it collected is pushed back in."""

from typing import Any

import pytest

from tests.hooks.test_hooks_requests import URL, create, request_body, with_key
from tests.support.http import assert_error

FEEDBACK = "/api/v1/hooks/feedback"
TRIAGE = "/api/v1/requests?triage=true"


def category_map(world, integration: dict[str, Any], pairs: Any, who: str = "admin") -> Any:
    return world.client.put(f"{URL}/{integration['id']}/category-map", json=pairs, headers=world.headers[who])


@pytest.fixture
def hotline(world) -> dict[str, Any]:
    """An integration of street S1 that maps 环境卫生 to CITY.GARBAGE."""
    integration = create(world, grid_id=str(world.tree["S1"].id))
    answer = category_map(world, integration, {"环境卫生": "CITY.GARBAGE", "路灯": "FACILITY.LIGHT"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return integration


# --- category codes ---------------------------------------------------------------------------------------------


def test_a_push_in_the_hotlines_own_category_is_filed_under_the_mapped_one(world, hotline):
    response = with_key(world, hotline, request_body(world, category_code="环境卫生"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["ticket"]["category"]["code"] == "CITY.GARBAGE"
    assert response.json["request"]["category_code"] == "CITY.GARBAGE"


def test_an_unmapped_code_goes_to_the_default_category_and_without_one_is_422(world, hotline):
    refused = with_key(world, hotline, request_body(world, "HL-1", category_code="其他"))
    assert assert_error(refused, 422, "validation_error")["details"] == {"category_code": ["no such active category"]}
    patched = world.client.patch(
        f"{URL}/{hotline['id']}", json={"default_category": "CITY.LITTER"}, headers=world.headers["admin"]
    )
    assert patched.status_code == 200
    assert patched.json["default_category"] == "CITY.LITTER"
    filed = with_key(world, hotline, request_body(world, "HL-2", category_code="其他"))
    assert filed.status_code == 201
    assert filed.json["ticket"]["category"]["code"] == "CITY.LITTER"


def test_our_own_codes_still_work_beside_the_map(world, hotline):
    response = with_key(world, hotline, request_body(world, category_code="DISPUTE.NEIGHBOR"))
    assert response.json["ticket"]["category"]["code"] == "DISPUTE.NEIGHBOR"


def test_the_map_is_shown_with_the_integration_and_replaced_whole(world, hotline):
    shown = world.client.get(f"{URL}/{hotline['id']}", headers=world.headers["admin"]).json
    assert shown["category_map"] == {"环境卫生": "CITY.GARBAGE", "路灯": "FACILITY.LIGHT"}
    assert category_map(world, hotline, {"路灯": "FACILITY.LIGHT"}).json["category_map"] == {"路灯": "FACILITY.LIGHT"}
    assert category_map(world, hotline, {}).json["category_map"] == {}


def test_a_map_to_an_unknown_category_is_refused_and_nothing_changes(world, hotline):
    response = category_map(world, hotline, {"环境卫生": "CITY.GARBAGE", "噪音": "NOISE.NONE"})
    assert assert_error(response, 422, "validation_error")["details"] == {"噪音": ["no such active category"]}
    bad_shape = category_map(world, hotline, {"环境卫生": 7})
    assert "环境卫生" in assert_error(bad_shape, 422, "validation_error")["details"]
    assert assert_error(category_map(world, hotline, ["x"]), 422, "validation_error")
    shown = world.client.get(f"{URL}/{hotline['id']}", headers=world.headers["admin"]).json
    assert shown["category_map"] == {"环境卫生": "CITY.GARBAGE", "路灯": "FACILITY.LIGHT"}


def test_an_unknown_default_category_is_refused(world):
    response = world.client.post(URL, json={"name": "x", "default_category": "NOPE"}, headers=world.headers["admin"])
    assert assert_error(response, 422, "validation_error")["details"] == {
        "default_category": ["no such active category"]
    }


@pytest.mark.parametrize("who", ["supervisor", "worker", "volunteer"])
def test_only_admins_set_a_category_map(world, hotline, who):
    assert_error(category_map(world, hotline, {"a": "CITY.GARBAGE"}, who=who), 403, "forbidden")


def test_a_category_map_of_an_unknown_integration_is_404(world):
    assert_error(category_map(world, {"id": "999"}, {"a": "CITY.GARBAGE"}), 404, "not_found")


# --- address-only pushes: triage -------------------------------------------------------------------------------


def address_only(world, external_id: str = "HL-9", category_code: str = "路灯") -> dict[str, Any]:
    body = request_body(world, external_id, category_code=category_code, address="新华街 12 号门口")
    del body["grid_id"]
    return body


def test_an_address_only_push_waits_in_the_integrations_triage_queue(world, hotline):
    response = with_key(world, hotline, address_only(world))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["ticket"] is None
    request = response.json["request"]
    assert (request["triage"], request["ticket_id"], request["category_code"]) == (True, None, "FACILITY.LIGHT")
    assert request["grid_id"] == str(world.tree["S1"].id)

    queue = world.client.get(TRIAGE, headers=world.headers["supervisor"]).json["items"]
    assert [item["id"] for item in queue] == [request["id"]]
    assert world.client.get(TRIAGE, headers=world.headers["far_supervisor"]).json["items"] == []

    again = with_key(world, hotline, address_only(world))
    assert again.status_code == 200
    assert again.json["request"]["id"] == request["id"]


def test_a_triaged_push_is_routed_and_its_ticket_opens(world, hotline):
    request = with_key(world, hotline, address_only(world)).json["request"]
    routed = world.client.post(
        f"/api/v1/requests/{request['id']}/route",
        json={"grid_id": str(world.tree["G1a"].id)},
        headers=world.headers["supervisor"],
    )
    assert routed.status_code == 200, routed.get_data(as_text=True)
    ticket = routed.json["ticket"]
    assert (ticket["status"], ticket["category"]["code"]) == ("pending", "FACILITY.LIGHT")
    assert with_key(world, hotline, address_only(world)).json["ticket"]["id"] == ticket["id"]


def test_an_address_only_push_of_a_territory_wide_integration_is_still_422(world):
    everywhere = create(world)
    response = with_key(world, everywhere, address_only(world, category_code="CITY.GARBAGE"))
    assert_error(response, 422, "validation_error")


# --- 回访 pushed in ----------------------------------------------------------------------------------------------


def resolve_pushed(world, integration, external_id: str = "HL-77") -> dict[str, Any]:
    ticket = with_key(world, integration, request_body(world, external_id)).json["ticket"]
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    world.act("worker", ticket, "accept")
    return world.act("worker", ticket, "resolve", note="已清运完毕")


def push_feedback(world, integration, **body: Any) -> Any:
    return world.client.post(FEEDBACK, json=body, headers={"X-Api-Key": integration["api_key"]})


def test_a_good_rating_pushed_back_closes_the_ticket(world, hotline):
    ticket = resolve_pushed(world, hotline)
    response = push_feedback(world, hotline, external_id="HL-77", rating=5, comment="满意")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] == "closed"
    assert response.json["allowed_actions"] == []
    assert world.get("supervisor", ticket).json["status"] == "closed"


def test_a_poor_rating_pushed_back_reopens_it_and_a_second_is_409(world, hotline):
    resolve_pushed(world, hotline)
    assert push_feedback(world, hotline, external_id="HL-77", rating=2, comment="没修好").json["status"] != "closed"
    assert_error(push_feedback(world, hotline, external_id="HL-77", rating=4), 409, "invalid_transition")


def test_feedback_for_an_unresolved_ticket_is_409_and_for_an_unknown_id_404(world, hotline):
    with_key(world, hotline, request_body(world, "HL-5"))
    assert push_feedback(world, hotline, external_id="HL-5", rating=5).status_code == 409
    assert_error(push_feedback(world, hotline, external_id="HL-404", rating=5), 404, "not_found")


def test_feedback_for_another_integrations_request_is_404(world, hotline):
    resolve_pushed(world, hotline)
    other = create(world, grid_id=str(world.tree["S1"].id), name="另一个平台")
    assert_error(push_feedback(world, other, external_id="HL-77", rating=5), 404, "not_found")


def test_feedback_while_in_triage_is_409(world, hotline):
    with_key(world, hotline, address_only(world))
    assert_error(push_feedback(world, hotline, external_id="HL-9", rating=5), 409, "conflict")


@pytest.mark.parametrize("body", [{"external_id": "HL-77", "rating": 6}, {"external_id": "HL-77"}, {"rating": 5}])
def test_a_malformed_feedback_is_422(world, hotline, body):
    assert_error(push_feedback(world, hotline, **body), 422, "validation_error")


def test_feedback_without_a_credential_is_401(world):
    assert_error(world.client.post(FEEDBACK, json={"external_id": "x", "rating": 5}), 401, "unauthorized")


def test_open311_does_not_know_a_request_waiting_in_triage(world, hotline):
    request = with_key(world, hotline, address_only(world)).json["request"]
    assert world.client.get(f"/open311/v2/requests/{request['id']}.json").status_code == 404
    listed = world.client.get("/open311/v2/requests.json", query_string={"service_request_id": request["id"]})
    assert listed.status_code == 200
    assert listed.get_json() == []
