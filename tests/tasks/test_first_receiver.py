"""上报 and 首接负责制: escalation goes to the parent of the escalating supervisor's own unit (or one level up from
the cell for its worker), and every unit a ticket has belonged to keeps reading it, never acting on it."""

from typing import Any

import pytest

from tests.support.http import assert_error


def _listed(world: Any, who: str, **query: Any) -> list[str]:
    response = world.client.get("/api/v1/tickets", query_string=query, headers=world.headers[who])
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_a_community_supervisors_escalation_of_a_cell_ticket_goes_to_the_street(world):
    ticket = world.ticket("supervisor")
    body = world.act("community_supervisor", ticket, "escalate", reason="需街道协调")
    assert body["grid"]["id"] == str(world.tree["S1"].id)
    assert body["first_unit"]["id"] == str(world.tree["G1a"].id)


def test_a_street_supervisors_escalation_goes_to_the_district(world):
    ticket = world.ticket("supervisor")
    body = world.act("supervisor", ticket, "escalate", reason="需区里协调")
    assert body["grid"]["id"] == str(world.tree["D"].id)


def test_a_workers_escalation_goes_from_the_cell_to_its_community(world):
    ticket = world.in_progress()
    body = world.act("worker", ticket, "escalate", reason="需社区协调")
    assert body["grid"]["id"] == str(world.tree["C1"].id)
    events = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["admin"]).get_json()
    assert events["items"][-1]["details"]["to_level"] == "community"


def test_a_supervisor_of_the_top_unit_finds_no_escalation(world, make_account, auth):
    top = make_account("supervisor", unit=world.tree["D"])
    ticket = world.ticket("supervisor")
    seen = world.client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth(top)).get_json()
    assert "escalate" not in seen["allowed_actions"] and "dispatch" in seen["allowed_actions"]
    response = world.client.post(f"/api/v1/tickets/{ticket['id']}/escalate", json={"reason": "更高"}, headers=auth(top))
    assert_error(response, 409, "invalid_transition")


def test_the_community_keeps_reading_a_ticket_it_passed_up_with_its_events(world):
    ticket = world.ticket("supervisor")
    world.act("community_supervisor", ticket, "escalate", reason="需街道协调")
    seen = world.get("community_supervisor", ticket)
    assert seen.status_code == 200
    assert seen.get_json()["allowed_actions"] == []
    assert seen.get_json()["reporter"]["phone"] == "139****5678"
    events = world.client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=world.headers["community_supervisor"])
    assert [event["action"] for event in events.get_json()["items"]] == ["create", "escalate"]


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("dispatch", {"assignee_id": None}),
        ("cancel", {"reason": "重复"}),
        ("urge", {"note": "加快"}),
        ("escalate", {"reason": "再上报"}),
    ],
)
def test_the_community_cannot_act_on_a_ticket_it_passed_up(world, action, body):
    ticket = world.ticket("supervisor")
    world.act("community_supervisor", ticket, "escalate", reason="需街道协调")
    if action == "dispatch":
        body = {"assignee_id": world.id_of("worker")}
    response = world.client.post(
        f"/api/v1/tickets/{ticket['id']}/{action}", json=body, headers=world.headers["community_supervisor"]
    )
    assert_error(response, 403, "forbidden")


def test_the_community_cannot_read_the_full_phone_of_a_ticket_it_passed_up(world):
    ticket = world.ticket("supervisor")
    world.act("community_supervisor", ticket, "escalate", reason="需街道协调")
    contact = world.client.get(
        f"/api/v1/tickets/{ticket['id']}/contact",
        query_string={"reason": "回访"},
        headers=world.headers["community_supervisor"],
    )
    assert_error(contact, 403, "forbidden")


def test_the_street_dispatching_it_back_to_the_cells_worker_gives_them_actions_again(world):
    ticket = world.ticket("supervisor")
    world.act("community_supervisor", ticket, "escalate", reason="需街道协调")
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    assert world.get("worker", ticket).get_json()["allowed_actions"] == ["accept", "return", "escalate"]


def test_followed_lists_the_tickets_passed_up_out_of_the_supervisors_reach(world):
    passed_up = world.ticket("supervisor")
    world.act("community_supervisor", passed_up, "escalate", reason="需街道协调")
    kept = world.ticket("supervisor")
    assert _listed(world, "community_supervisor", followed="true") == [passed_up["id"]]
    assert _listed(world, "community_supervisor", followed="false") == [kept["id"]]
    assert set(_listed(world, "community_supervisor")) == {passed_up["id"], kept["id"]}
    assert _listed(world, "supervisor", followed="true") == []  # still in the street's subtree
    assert _listed(world, "far_supervisor", followed="true") == []
    assert _listed(world, "admin", followed="true") == []


def test_a_ticket_received_elsewhere_never_shows_for_another_community(world):
    ticket = world.ticket("far_worker", grid_id=str(world.tree["G2a"].id))
    world.act("far_supervisor", ticket, "escalate", reason="需区里协调")
    assert_error(world.get("community_supervisor", ticket), 404, "not_found")
    assert _listed(world, "community_supervisor", followed="true") == []
