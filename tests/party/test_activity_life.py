"""An organisation's yearly life (组织生活): activities held, by kind, against each kind's yearly minimum.

Hand-worked, on `tests.support.activities`' party, on 10 December 2026 (Beijing time; 11 months over):

| kind | minimum | held by C1's branch and its group in 2026 | missing | due so far (min × 11 // 12) | behind |
|---|---|---|---|---|---|
| 支部党员大会 branch_meeting | 4 | 3 | 1 | 3 | 0 |
| 支委会 committee_meeting | 12 | 10 | 2 | 11 | 1 |
| 党小组会 group_meeting | 12 | 5 (by the group) | 7 | 11 | 6 |
| 党课 party_lecture | 4 | 2 (a third cancelled) | 2 | 3 | 1 |
| 主题党日 theme_day | 12 | 1 (00:30 on 1 January, Beijing) | 11 | 11 | 10 |
| 志愿服务 service | 0 | 2 | 0 | 0 | 0 |

Not counted: a 主题党日 at 23:30 on 31 December 2025 (Beijing; counted in 2025), and C2's branch's activities.
Missing in all: 1 + 2 + 7 + 2 + 11 = 23.
"""

from typing import Any

import pytest

from tests.support.activities import ACTIVITIES, KINDS, Party, build_party
from tests.support.http import assert_error


@pytest.fixture
def party(app, world, make_account, auth) -> Any:
    yield from build_party(app, world, make_account, auth)


def life_url(party: Party, org: str = "C1") -> str:
    return f"/api/v1/party/orgs/{party.orgs[org].id}/life"


def hold(party: Party, kind: str, times: int, *, org: str = "C1", month: int = 3) -> list[dict[str, Any]]:
    """`times` activities of the kind, on the first days of the month, nobody marked."""
    return [
        party.record(
            org=org,
            kind=kind,
            held_at=f"2026-{month:02d}-{day + 1:02d}T15:00:00+08:00",
            present=[],
            absent=[],
        )
        for day in range(times)
    ]


@pytest.fixture
def year(party: Party) -> Party:
    hold(party, "branch_meeting", 3)
    hold(party, "committee_meeting", 10, month=4)
    hold(party, "group_meeting", 5, org="group", month=5)
    lectures = hold(party, "party_lecture", 3, month=6)
    cancelled = party.post(f"{ACTIVITIES}/{lectures[0]['id']}/cancel", reason="误录")
    assert cancelled.status_code == 200
    party.record(kind="theme_day", held_at="2026-01-01T00:30:00+08:00", present=[], absent=[])
    party.record(kind="theme_day", held_at="2025-12-31T23:30:00+08:00", present=[], absent=[])
    hold(party, "service", 2, month=7)
    hold(party, "branch_meeting", 2, org="C2")
    return party


def test_a_branchs_year_against_the_minimum_by_hand(year):
    response = year.get(life_url(year))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["org_id"], body["year"], body["as_of"]) == (str(year.orgs["C1"].id), 2026, "2026-12-10")
    assert body["org_ids"] == [str(year.orgs["C1"].id), str(year.orgs["group"].id)]
    rows = [(k["code"], k["required"], k["held"], k["missing"], k["due_so_far"], k["behind"]) for k in body["kinds"]]
    assert rows == [
        ("branch_meeting", 4, 3, 1, 3, 0),
        ("committee_meeting", 12, 10, 2, 11, 1),
        ("group_meeting", 12, 5, 7, 11, 6),
        ("party_lecture", 4, 2, 2, 3, 1),
        ("theme_day", 12, 1, 11, 11, 10),
        ("service", 0, 2, 0, 0, 0),
    ]
    assert body["missing"] == 23
    assert body["kinds"][0]["name"] == "支部党员大会"


def test_a_past_year_has_nothing_due_so_far_only_what_is_missing(year):
    body = year.get(life_url(year), year=2025).get_json()
    assert (body["year"], body["as_of"]) == (2025, None)
    day = next(k for k in body["kinds"] if k["code"] == "theme_day")
    assert (day["held"], day["missing"], day["due_so_far"], day["behind"]) == (1, 11, None, None)
    assert body["missing"] == 4 + 12 + 12 + 4 + 11


def test_a_group_counts_its_own_activities_only(year):
    body = year.get(life_url(year, "group")).get_json()
    assert body["org_ids"] == [str(year.orgs["group"].id)]
    held = {k["code"]: k["held"] for k in body["kinds"]}
    assert held == {
        "branch_meeting": 0,
        "committee_meeting": 0,
        "group_meeting": 5,
        "party_lecture": 0,
        "theme_day": 0,
        "service": 0,
    }


def test_a_kind_made_inactive_still_shows_what_was_held_of_it(year):
    assert year.patch(f"{KINDS}/service", active=False).status_code == 200
    assert year.patch(f"{KINDS}/party_lecture", yearly_minimum=6).status_code == 200
    assert year.post(KINDS, code="study", name="专题学习", yearly_minimum=2, active=False).status_code == 201
    kinds = {k["code"]: k for k in year.get(life_url(year)).get_json()["kinds"]}
    assert kinds["service"]["held"] == 2  # inactive, but held this year
    assert "study" not in kinds  # inactive and never held
    assert (kinds["party_lecture"]["required"], kinds["party_lecture"]["missing"]) == (6, 4)


@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("staff", 200), ("supervisor", 200)])
def test_party_readers_in_scope_read_the_life(party, who, status):
    assert party.get(life_url(party), who).status_code == status


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("far_staff", 404, "not_found"),
        ("far_supervisor", 404, "not_found"),
        ("worker", 403, "forbidden"),
        ("volunteer", 403, "forbidden"),
    ],
)
def test_others_do_not_read_the_life(party, who, status, code):
    assert_error(party.get(life_url(party), who), status, code)


@pytest.mark.parametrize("year", ["1999", "2101", "this", "2026.5"])
def test_a_bad_year_is_422(party, year):
    assert_error(party.get(life_url(party), year=year), 422, "validation_error")


def test_an_unknown_organisation_has_no_life(party):
    assert_error(party.get("/api/v1/party/orgs/999999/life"), 404, "not_found")
