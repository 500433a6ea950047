"""Categories' extra questions (attributes): admins define them through the categories API, and the intake checks
a request's answers against them and stores them on the request."""

from typing import Any

import pytest

from tests.support.http import assert_error

URL = "/api/v1/categories"
KIND = {
    "code": "KIND",
    "datatype": "singlevaluelist",
    "description": "什么垃圾？",
    "required": True,
    "values": [{"key": "bag", "name": "袋装垃圾"}, {"key": "bulky", "name": "大件垃圾"}],
}
BAGS = {"code": "BAGS", "datatype": "number", "description": "大约几袋？"}
SEEN = {"code": "SEEN", "datatype": "datetime", "description": "什么时候看到的？"}
WHEN = {
    "code": "WHEN",
    "datatype": "multivaluelist",
    "description": "哪些时段？",
    "values": [{"key": "am", "name": "上午"}, {"key": "pm", "name": "下午"}],
}


def ask(world: Any, *questions: dict[str, Any], code: str = "CITY.GARBAGE") -> Any:
    return world.client.patch(f"{URL}/{code}", json={"attributes": list(questions)}, headers=world.headers["admin"])


def test_an_admin_gives_a_category_extra_questions_numbered_in_their_order(world):
    response = ask(world, KIND, BAGS)
    assert response.status_code == 200, response.get_json()
    kind, bags = response.get_json()["attributes"]
    assert kind == {**KIND, "variable": True, "datatype_description": None, "order": 1}
    assert bags["order"] == 2 and bags["values"] == [] and bags["required"] is False
    assert world.client.get(f"{URL}/CITY.GARBAGE", headers=world.headers["worker"]).get_json()["attributes"] == [
        kind,
        bags,
    ]


def test_a_new_category_may_bring_its_questions(world):
    body = {"code": "CITY.SNOW", "name": "积雪", "parent_code": "CITY", "accept_minutes": 60, "resolve_hours": 12}
    response = world.client.post(URL, json={**body, "attributes": [BAGS]}, headers=world.headers["admin"])
    assert response.status_code == 201
    assert [question["code"] for question in response.get_json()["attributes"]] == ["BAGS"]


def test_only_admins_define_questions(world):
    response = world.client.patch(
        f"{URL}/CITY.GARBAGE", json={"attributes": [BAGS]}, headers=world.headers["supervisor"]
    )
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    "questions",
    [
        [{**KIND, "values": []}],  # a list question without choices
        [{**BAGS, "values": [{"key": "a", "name": "A"}]}],  # choices on a number
        [BAGS, BAGS],  # the same code twice
        [{**BAGS, "order": 1}, {**SEEN, "order": 1}],  # the same order twice
        [{**BAGS, "datatype": "boolean"}],
        [{**BAGS, "code": "has space"}],
        [{**KIND, "values": [{"key": "a", "name": "A"}, {"key": "a", "name": "B"}]}],
    ],
)
def test_malformed_questions_are_refused(world, questions):
    error = assert_error(ask(world, *questions), 422, "validation_error")
    assert "attributes" in error["details"]


def test_answers_are_checked_and_stored_on_the_request(world):
    ask(world, KIND, BAGS, SEEN, WHEN)
    answers = {"KIND": "bulky", "BAGS": 3, "SEEN": "2026-12-06T08:00:00+08:00", "WHEN": ["am", "pm"]}
    filed = world.file(attributes=answers)
    assert filed["request"]["attributes"] == {**answers, "SEEN": "2026-12-06T00:00:00Z"}
    listed = world.client.get(f"/api/v1/requests/{filed['request']['id']}", headers=world.headers["supervisor"])
    assert listed.get_json()["attributes"]["KIND"] == "bulky"


def test_a_request_without_questions_stores_no_answers(world):
    assert world.file()["request"]["attributes"] == {}


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({}, "KIND"),  # required
        ({"KIND": "glass"}, "KIND"),  # not a choice
        ({"KIND": ["bag", "bulky"]}, "KIND"),  # one value only
        ({"KIND": "bag", "BAGS": "many"}, "BAGS"),
        ({"KIND": "bag", "BAGS": True}, "BAGS"),
        ({"KIND": "bag", "SEEN": "yesterday"}, "SEEN"),
        ({"KIND": "bag", "SEEN": "2026-12-06T08:00:00"}, "SEEN"),  # no offset
        ({"KIND": "bag", "WHEN": ["night"]}, "WHEN"),
        ({"KIND": "bag", "COLOUR": "red"}, "COLOUR"),  # no such question
    ],
)
def test_answers_that_do_not_fit_are_refused_naming_the_question(world, answers, code):
    ask(world, KIND, BAGS, SEEN, WHEN)
    error = world.file(expect=422, attributes=answers)["error"]
    assert code in error["details"]["attributes"]


def test_an_informational_question_takes_no_answer(world):
    ask(world, {"code": "NOTE", "datatype": "text", "description": "请勿填写个人信息", "variable": False})
    assert world.file(expect=201)["request"]["attributes"] == {}
    error = world.file(expect=422, attributes={"NOTE": "x"})["error"]
    assert "NOTE" in error["details"]["attributes"]
