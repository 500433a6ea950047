"""The Open311 tests' world: tests.support.tasks' people and places, a mapped cell G1c, an integration's key."""

from typing import Any

import pytest

from tests.support.open311 import Open311, integration_key, map_cell

QUESTIONS = [
    {
        "code": "KIND",
        "datatype": "singlevaluelist",
        "description": "什么垃圾？",
        "required": True,
        "values": [{"key": "bag", "name": "袋装垃圾"}, {"key": "bulky", "name": "大件垃圾"}],
    },
    {"code": "BAGS", "datatype": "number", "description": "大约几袋？", "datatype_description": "整数"},
    {
        "code": "WHEN",
        "datatype": "multivaluelist",
        "description": "什么时候看到的？",
        "values": [{"key": "am", "name": "上午"}, {"key": "pm", "name": "下午"}],
    },
    {"code": "NOTE", "datatype": "string", "description": "请勿填写个人信息", "variable": False},
]


@pytest.fixture
def cell(world: Any) -> dict[str, Any]:
    return map_cell(world)


@pytest.fixture
def o311(world: Any, cell: dict[str, Any]) -> Open311:
    """A client with the key of an integration covering the whole territory."""
    return Open311(world.client, integration_key(world))


@pytest.fixture
def questions(world: Any) -> list[dict[str, Any]]:
    """CITY.GARBAGE asks its extra questions (defined through the categories API)."""
    response = world.client.patch(
        "/api/v1/categories/CITY.GARBAGE", json={"attributes": QUESTIONS}, headers=world.headers["admin"]
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["attributes"]
