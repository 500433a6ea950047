"""Status by text message and by number (issue 25, section 2): "查询"/"CX" lists the phone's open tickets, "查询
<number>" answers that ticket only to the phone that reported it; the public lookup answers the status, the unit
and the steps, without names, phones or free text, the same 404 for a wrong number or wrong digits, rate-limited
per address."""

import json
from itertools import count as counter
from typing import Any

import pytest

from tests.hooks.test_hooks_sms import TOKENS, inbound, outbox, post
from tests.support.http import assert_error
from tests.support.tasks import RESIDENT_PHONE, build_world

OTHER_PHONE = "13700001111"
LOOKUP = "/api/v1/public/tickets"
_ids = counter(1)


@pytest.fixture
def world(app, client, tree, make_account, auth, categories, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_CALLBACK_TOKENS", dict(TOKENS))
    return build_world(client, tree, make_account, auth)


def text(world, message: str, phone: str = RESIDENT_PHONE) -> None:
    response = post(world, "", [{"id": f"q-{next(_ids)}", "phone": phone, "text": message}], provider="http")
    assert response.status_code == 200, response.get_data(as_text=True)


def answers(app, phone: str = RESIDENT_PHONE) -> list[tuple[str, dict[str, Any]]]:
    return [
        (row.template, row.params)
        for row in outbox(app, recipient_phone=phone)
        if row.template.startswith("sms_status")
    ]


# --- by text message ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["查询", "CX", "cx", " 查询。"])
def test_a_status_query_lists_the_phones_open_tickets(app, world, query):
    first = world.ticket()
    second = world.in_progress()
    world.resolved()  # not open: left out
    text(world, query)
    ((template, params),) = answers(app)
    assert template == "sms_status_list"
    assert params["tickets"] == f"{second['no']} 处理中；{first['no']} 已受理"
    (kept,) = inbound(world)
    assert (kept["status"], kept["outcome"]) == ("answered", "queried")


def test_a_status_query_with_more_open_tickets_than_fit_names_how_many(app, world):
    for _ in range(4):
        world.ticket()
    text(world, "CX")
    ((_, params),) = answers(app)
    assert params["tickets"].count("已受理") == 3
    assert params["tickets"].endswith("等4张")


def test_a_phone_without_open_tickets_is_told_so(app, world):
    text(world, "查询", phone=OTHER_PHONE)
    assert answers(app, OTHER_PHONE) == [("sms_status_none", {})]


def test_a_query_about_one_ticket_answers_its_status_and_deadline(app, world):
    ticket = world.in_progress()
    text(world, f"查询 {ticket['no']}")
    ((template, params),) = answers(app)
    assert template == "sms_status_one"
    assert (params["no"], params["status"]) == (ticket["no"], "处理中")
    assert params["due"]
    (kept,) = inbound(world)
    assert kept["ticket_id"] == ticket["id"]


def test_a_query_about_someone_elses_ticket_is_answered_as_an_unknown_number(app, world):
    ticket = world.ticket()
    text(world, f"CX {ticket['no']}", phone=OTHER_PHONE)
    text(world, "CX 20991231-999999", phone=OTHER_PHONE)
    assert answers(app, OTHER_PHONE) == [
        ("sms_status_unknown", {"no": ticket["no"]}),
        ("sms_status_unknown", {"no": "20991231-999999"}),
    ]
    assert answers(app) == []  # the reporter is not texted about it
    rendered = [row for row in outbox(app, recipient_phone=OTHER_PHONE)]
    assert all("已受理" not in json.dumps(row.params, ensure_ascii=False) for row in rendered)


def test_a_query_is_no_rating_nor_comment(app, world):
    ticket = world.resolved()
    text(world, f"查询 {ticket['no']}")
    assert world.get("admin", ticket).get_json()["status"] == "resolved"


# --- the public lookup --------------------------------------------------------------------------------------------


def lookup(world, no: str, last4: str | None, address: str = "203.0.113.7") -> Any:
    query = {} if last4 is None else {"phone_last4": last4}
    return world.client.get(f"{LOOKUP}/{no}", query_string=query, environ_base={"REMOTE_ADDR": address})


def test_the_public_lookup_answers_status_unit_and_steps_and_nothing_personal(world):
    ticket = world.resolved()
    response = lookup(world, ticket["no"], RESIDENT_PHONE[-4:])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"no", "status", "status_name", "unit_name", "created_at", "steps"}
    assert (body["no"], body["status"], body["status_name"]) == (ticket["no"], "resolved", "已办结")
    assert body["unit_name"] == world.tree["G1a"].name
    assert [(step["action"], step["name"]) for step in body["steps"]] == [
        ("create", "已受理"),
        ("dispatch", "已派单"),
        ("accept", "处理中"),
        ("resolve", "已办结"),
    ]
    raw = response.get_data(as_text=True)
    for private in (RESIDENT_PHONE, "张大妈", "李网格员", "新华街", "楼下垃圾", "已清运完毕"):
        assert private not in raw


def test_a_wrong_number_and_wrong_digits_are_the_same_404(world):
    ticket = world.ticket()
    wrong_digits = lookup(world, ticket["no"], "0000")
    wrong_number = lookup(world, "20991231-999999", RESIDENT_PHONE[-4:])
    garbage = lookup(world, "nothing-like-a-number", "1234")
    bodies = [assert_error(r, 404, "not_found") for r in (wrong_digits, wrong_number, garbage)]
    assert bodies[0] == bodies[1] == bodies[2]


@pytest.mark.parametrize("last4", [None, "567", "56789", "abcd"])
def test_the_digits_are_four_digits(world, last4):
    ticket = world.ticket()
    assert_error(lookup(world, ticket["no"], last4), 422, "validation_error")


def test_lookups_are_limited_per_address(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_LOOKUPS_PER_MINUTE_PER_ADDRESS", 3)
    ticket = world.ticket()
    for digits in ("0000", "0001", "0002"):
        assert lookup(world, ticket["no"], digits).status_code == 404
    limited = lookup(world, ticket["no"], RESIDENT_PHONE[-4:])
    assert_error(limited, 429, "rate_limited")
    assert lookup(world, ticket["no"], RESIDENT_PHONE[-4:], address="198.51.100.9").status_code == 200
