"""The four endpoints every coded list shares (kernel.coded_routes): one row with its ETag, If-Match on a change,
and who may read and edit, the same on each list."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from auth.models import Account
from grid.models import GridUnit
from kernel.codes import CodedList
from kernel.extensions import db
from party.activities.service import KINDS
from party.alliances.service import THEMES
from party.checkins.service import AREAS
from party.lists.needs import CATEGORIES
from party.members.service import CLASSES
from tests.support.http import assert_error


@dataclass(frozen=True)
class Listed:
    url: str
    rows: CodedList[Any]
    code: str  # a seeded row
    new: dict[str, Any]  # a valid new row

    def __str__(self) -> str:
        return self.url.rsplit("/", 1)[-1]


LISTS = [
    Listed("/api/v1/party/member-classes", CLASSES, "retired", {"code": "pioneer", "name": "先锋党员"}),
    Listed("/api/v1/party/service-areas", AREAS, "elderly", {"code": "tutoring_plus", "name": "助学"}),
    Listed("/api/v1/party/activity-kinds", KINDS, "theme_day", {"code": "study", "name": "学习", "yearly_minimum": 2}),
    Listed("/api/v1/party/alliance-themes", THEMES, "red_property", {"code": "culture", "name": "文化"}),
    Listed(
        "/api/v1/party/need-categories",
        CATEGORIES,
        "elderly",
        {"code": "employment", "name": "就业创业", "resource_kinds": ["expertise"]},
    ),
]
EDITORS = ["admin"]
NOT_EDITORS = ["party_staff", "supervisor", "worker", "volunteer"]

by_list = pytest.mark.parametrize("listed", LISTS, ids=str)


@pytest.fixture
def seeded(app: Flask) -> None:
    """Every list with its defaults, as the migrations leave them (the suite empties the tables after each test)."""
    with app.app_context():
        for listed in LISTS:
            listed.rows.seed()
        db.session.commit()


@pytest.fixture
def headers(
    seeded: None, tree: dict[str, GridUnit], make_account: Callable[..., Account], auth: Callable[[Account], dict]
) -> Callable[[str], dict[str, str]]:
    """Authorization headers for an account of each role, scoped where the role is."""
    scopes = {"supervisor": {"unit": tree["S1"]}, "worker": {"cells": [tree["G1a"]]}, "volunteer": {"unit": tree["C1"]}}
    accounts = {role: make_account(role, **scopes.get(role, {})) for role in [*EDITORS, *NOT_EDITORS]}
    return lambda role: auth(accounts[role])


@by_list
@pytest.mark.parametrize("role", [*EDITORS, *NOT_EDITORS])
def test_every_role_reads_one_row_as_the_list_shows_it(client, headers, listed, role):
    listed_rows = client.get(listed.url, query_string={"limit": 100}, headers=headers(role)).json["items"]
    response = client.get(f"{listed.url}/{listed.code}", headers=headers(role))
    assert response.status_code == 200, response.json
    assert response.json == next(row for row in listed_rows if row["code"] == listed.code)
    assert response.headers["ETag"]


@by_list
def test_one_row_needs_a_login(client, seeded, listed):
    assert_error(client.get(f"{listed.url}/{listed.code}"), 401, "unauthorized")


@by_list
@pytest.mark.parametrize("code", ["nosuch", "Bad-Code", "x" * 33])
def test_an_unknown_or_malformed_code_is_404(client, headers, listed, code):
    assert_error(client.get(f"{listed.url}/{code}", headers=headers("worker")), 404, "not_found")


@by_list
def test_one_row_read_again_with_its_etag_is_304(client, headers, listed):
    etag = client.get(f"{listed.url}/{listed.code}", headers=headers("worker")).headers["ETag"]
    again = client.get(f"{listed.url}/{listed.code}", headers={**headers("worker"), "If-None-Match": etag})
    assert again.status_code == 304


@by_list
def test_a_change_with_the_current_etag_is_made(client, headers, listed):
    url, admin = f"{listed.url}/{listed.code}", headers("admin")
    etag = client.get(url, headers=admin).headers["ETag"]
    response = client.patch(url, json={"position": 42}, headers={**admin, "If-Match": etag})
    assert response.status_code == 200, response.json
    assert response.json["position"] == 42
    assert response.headers["ETag"] != etag
    assert client.get(url, headers=admin).headers["ETag"] == response.headers["ETag"]


@by_list
def test_a_change_with_a_stale_etag_is_412_and_changes_nothing(client, headers, listed):
    url, admin = f"{listed.url}/{listed.code}", headers("admin")
    stale = client.get(url, headers=admin).headers["ETag"]
    current = client.patch(url, json={"position": 7}, headers=admin).json
    refused = client.patch(url, json={"name": "改名"}, headers={**admin, "If-Match": stale})
    assert_error(refused, 412, "precondition_failed")
    assert client.get(url, headers=admin).json == current


@by_list
def test_a_change_without_if_match_is_made_as_elsewhere(client, headers, listed):
    """If-Match is honoured, not required, as on every other resource of the API."""
    response = client.patch(f"{listed.url}/{listed.code}", json={"active": False}, headers=headers("admin"))
    assert response.status_code == 200, response.json
    assert response.json["active"] is False


@by_list
def test_a_change_to_an_unknown_code_is_404_even_with_if_match(client, headers, listed):
    response = client.patch(
        f"{listed.url}/nosuch", json={"position": 1}, headers={**headers("admin"), "If-Match": '"x"'}
    )
    assert_error(response, 404, "not_found")


@by_list
def test_an_admin_adds_a_row_then_reads_it_alone(client, headers, listed):
    created = client.post(listed.url, json=listed.new, headers=headers("admin"))
    assert created.status_code == 201, created.json
    response = client.get(f"{listed.url}/{listed.new['code']}", headers=headers("worker"))
    assert response.status_code == 200
    assert response.json == created.json


@by_list
@pytest.mark.parametrize("role", NOT_EDITORS)
def test_other_roles_neither_add_nor_change_rows(client, headers, listed, role):
    url = f"{listed.url}/{listed.code}"
    etag = client.get(url, headers=headers(role)).headers["ETag"]
    assert_error(client.post(listed.url, json=listed.new, headers=headers(role)), 403, "forbidden")
    refused = client.patch(url, json={"name": "改名"}, headers={**headers(role), "If-Match": etag})
    assert_error(refused, 403, "forbidden")
    assert client.get(url, headers=headers("admin")).headers["ETag"] == etag


@by_list
def test_an_unknown_code_is_told_in_chinese_naming_the_list(client, headers, listed):
    response = client.get(f"{listed.url}/nosuch", headers={**headers("worker"), "Accept-Language": "zh-CN"})
    message = assert_error(response, 404, "not_found")["message"]
    assert message.startswith("不存在该")
    assert not any("a" <= char <= "z" for char in message), message
