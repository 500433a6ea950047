"""The summary's needs and wishes come from the rollup (`party_stats_daily`), kept by every step of a need, and its
projects, ratings and points from `party_stats_figures`, kept by every project's step, rating and points entry:
what a step does shows at once, and after a varied life the rows equal a recount from scratch (`flask party stats
rebuild`). The people and places: tests/support/lists.py (needs for G1a, in street S1; the worker's and the
volunteer's members in C1's branch under the street's committee; the hospital and the school are hosts with no
parent, so their members' points count nowhere until they hang under a territorial organisation)."""

from typing import Any

import pytest

from tests.support.lists import PROJECTS, Lists, build_lists, need_at_status
from tests.support.party import register_member

SUMMARY = "/api/v1/party/stats/summary"
POINTS = "/api/v1/party/points"
ORGS = "/api/v1/party/orgs"


@pytest.fixture
def lists(app, world, make_account, auth):
    yield from build_lists(app, world, make_account, auth)


def summary(lists: Lists, **params: Any) -> dict[str, Any]:
    return lists.ok(lists.get(SUMMARY, "admin", **params))


def cohorts(lists: Lists, **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    found = summary(lists, **params)
    return found["needs"], found["wishes"]


def test_after_a_varied_life_the_rollup_equals_a_recount_from_scratch(app, lists):
    for status in ("open", "published", "matched", "in_project", "met", "met", "withdrawn"):
        need_at_status(lists, status)
    wish = lists.wish()
    lists.act(wish, "claim", "worker")
    lists.wish()
    scopes = [{}, {"grid_id": lists.unit("S1")}, {"grid_id": lists.unit("G1a")}, {"grid_id": lists.unit("S2")}]
    kept = [summary(lists, **scope) for scope in scopes]

    result = rebuild(app)

    assert "from 9 needs" in result
    assert [summary(lists, **scope) for scope in scopes] == kept
    street = kept[1]
    assert (street["needs"]["raised"], street["needs"]["withdrawn"]) == (7, 1)
    assert street["needs"]["matched"] == {"numerator": 4, "denominator": 6, "rate": pytest.approx(4 / 6, abs=0.01)}
    assert street["needs"]["met"]["numerator"] == 2
    assert street["wishes"]["raised"] == 2
    assert street["wishes"]["matched"]["numerator"] == 1
    assert kept[3]["needs"]["raised"] == 0


def rebuild(app: Any) -> str:
    result = app.test_cli_runner().invoke(args=["party", "stats", "rebuild"])
    assert result.exit_code == 0, result.output
    return str(result.output)


def scopes_of(lists: Lists) -> list[dict[str, str]]:
    return [{}, *({"grid_id": lists.unit(code)} for code in ("S1", "C1", "G1a", "S2"))]


def taken(lists: Lists) -> tuple[dict[str, Any], dict[str, Any]]:
    """A published need of the alliance taken by the street's committee, the worker's member working on it."""
    need = lists.need()
    lists.act(need, "publish", "supervisor")
    workers = [lists.members["worker"]]
    project = lists.act(need, "take", "lead_staff", 201, org_id=lists.org("street"), worker_ids=workers)
    return need, project


def step(lists: Lists, project: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
    return lists.ok(lists.post(f"{PROJECTS}/{project['id']}/{action}", "lead_staff", **body))


def entry(lists: Lists, member_id: str, points: int, **fields: Any) -> dict[str, Any]:
    body = {"member_id": member_id, "points": points, "rule_code": "manual", "note": "社区志愿服务", **fields}
    return lists.ok(lists.post(POINTS, "admin", **body), 201)


def test_after_a_varied_life_every_figure_equals_a_recount_from_scratch(app, lists):
    done_need, done = taken(lists)
    step(lists, done, "progress", note="开工")
    step(lists, done, "complete", note="完工")
    lists.act(done_need, "ratings", "supervisor", 201, rating=5)  # earns the worker project_rated_good
    lists.act(done_need, "ratings", "hospital_staff", 201, rating=3, org_id=lists.org("hospital"))
    _need, under_way = taken(lists)
    step(lists, under_way, "progress", note="开工")
    taken(lists)  # planned
    dropped_need, dropped = taken(lists)
    step(lists, dropped, "abandon", reason="资金未到位")
    lists.act(dropped_need, "publish", "supervisor")
    again = lists.act(dropped_need, "take", "school_staff", 201, org_id=lists.org("school"))
    step_as = lists.ok(lists.post(f"{PROJECTS}/{again['id']}/complete", "school_staff", note="学校完成"))
    assert step_as["status"] == "done"
    lists.act(dropped_need, "ratings", "community_supervisor", 201, rating=2)
    first = entry(lists, lists.members["worker"], 4)
    entry(lists, lists.members["volunteer"], -3, note="缺席")
    entry(lists, lists.members["worker"], -1, corrects_id=first["id"], note="多记一分")
    entry(lists, lists.members["doctor"], 6)  # the hospital hangs under no territorial organisation
    kept = [summary(lists, **scope) for scope in scopes_of(lists)]

    rebuilt = rebuild(app)

    assert "4 projects" not in rebuilt and "5 projects" in rebuilt and "3 ratings" in rebuilt
    assert [summary(lists, **scope) for scope in scopes_of(lists)] == kept
    street = kept[1]
    assert street["projects"] == {"planned": 1, "under_way": 1, "done": 2, "abandoned": 1, "total": 5}
    assert street["ratings"]["residents"] == {
        "count": 2,
        "average": 3.5,
        "satisfied": {"numerator": 1, "denominator": 2, "rate": 0.5},
    }
    assert street["ratings"]["member_orgs"] == {"count": 1, "average": 3.0}
    # +5 project_rated_good and +4 for the worker, +2 project_org_rated_good for the owner organisation (an entry of
    # no member), -3 the volunteer, -1 the correction; the doctor's 6 nowhere
    assert street["points"] == {"awarded": 11, "deducted": -4, "net": 7, "members": 2}
    assert kept[0]["points"] == street["points"]
    assert kept[4]["projects"]["total"] == 0 and kept[4]["points"]["net"] == 0


def test_a_projects_steps_move_its_status_at_once(lists):
    street = {"grid_id": lists.unit("S1")}
    _need, project = taken(lists)
    assert summary(lists, **street)["projects"] == {"planned": 1, "under_way": 0, "done": 0, "abandoned": 0, "total": 1}

    step(lists, project, "progress", note="开工")
    assert summary(lists, **street)["projects"]["under_way"] == 1
    step(lists, project, "abandon", reason="资金未到位")

    assert summary(lists, **street)["projects"] == {"planned": 0, "under_way": 0, "done": 0, "abandoned": 1, "total": 1}
    assert summary(lists, grid_id=lists.unit("S2"))["projects"]["total"] == 0


def test_a_rating_shows_at_once_in_its_needs_units(lists):
    need, project = taken(lists)
    step(lists, project, "complete", note="完工")

    lists.act(need, "ratings", "supervisor", 201, rating=4)

    ratings = summary(lists, grid_id=lists.unit("G1a"))["ratings"]
    satisfied = {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert ratings["residents"] == {"count": 1, "average": 4.0, "satisfied": satisfied}
    assert summary(lists, grid_id=lists.unit("S2"))["ratings"]["residents"]["count"] == 0


def test_points_entries_and_their_corrections_show_at_once_where_the_organisation_is_built(lists):
    first = entry(lists, lists.members["worker"], 5)
    entry(lists, lists.members["worker"], -5, corrects_id=first["id"], note="记错了")
    entry(lists, lists.members["volunteer"], 2)

    points = summary(lists, grid_id=lists.unit("C1"))["points"]

    assert points == {"awarded": 7, "deducted": -5, "net": 2, "members": 2}
    assert summary(lists, grid_id=lists.unit("G1a"))["points"]["net"] == 0  # C1's branch is built on C1
    assert summary(lists, grid_id=lists.unit("S2"))["points"]["awarded"] == 0


def test_an_organisation_hung_under_a_territorial_one_brings_its_points_along(app, lists):
    teacher = register_member(app, lists.orgs["school"], "王老师")
    entry(lists, str(teacher), 8)
    assert summary(lists, grid_id=lists.unit("S1"))["points"]["awarded"] == 0
    school = f"{ORGS}/{lists.org('school')}"

    lists.ok(lists.patch(school, "admin", parent_id=lists.org("street")))

    assert summary(lists, grid_id=lists.unit("S1"))["points"] == {"awarded": 8, "deducted": 0, "net": 8, "members": 1}
    assert summary(lists, grid_id=lists.unit("C1"))["points"]["awarded"] == 0  # the street is built on S1
    lists.ok(lists.patch(school, "admin", parent_id=lists.org("hospital")))  # a host with no parent
    assert summary(lists, grid_id=lists.unit("S1"))["points"]["awarded"] == 0
    lists.ok(lists.patch(school, "admin", parent_id=lists.org("street")))
    kept = [summary(lists, **scope) for scope in scopes_of(lists)]
    rebuild(app)
    assert [summary(lists, **scope) for scope in scopes_of(lists)] == kept
    assert kept[1]["points"]["awarded"] == 8


def test_a_need_raised_shows_at_once_in_its_street_and_not_elsewhere(lists):
    street, elsewhere = lists.unit("S1"), lists.unit("S2")
    lists.need()
    needs, _wishes = cohorts(lists, grid_id=street)
    assert needs["raised"] == 1
    assert needs["matched"]["numerator"] == 0
    assert cohorts(lists, grid_id=elsewhere)[0]["raised"] == 0


def test_a_need_met_moves_met_and_met_on_time_at_once(lists):
    need = need_at_status(lists, "in_project")
    project = lists.ok(lists.get(PROJECTS, "admin"))["items"][0]
    before, _wishes = cohorts(lists, grid_id=lists.unit("S1"))
    assert (before["matched"]["numerator"], before["met"]["numerator"]) == (1, 0)

    lists.ok(lists.post(f"{PROJECTS}/{project['id']}/complete", "school_staff", note="扶手已全部安装"))

    after, _wishes = cohorts(lists, grid_id=lists.unit("S1"))
    assert after["raised"] == before["raised"] == 1
    assert after["matched"]["numerator"] == 1
    assert after["met"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert after["met_on_time"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert need["status"] == "in_project"


def test_a_withdrawal_moves_the_need_out_of_the_rates_denominator(lists):
    need_at_status(lists, "open")
    need_at_status(lists, "withdrawn")
    needs, _wishes = cohorts(lists, grid_id=lists.unit("G1a"))
    assert (needs["raised"], needs["withdrawn"]) == (2, 1)
    assert needs["matched"] == {"numerator": 0, "denominator": 1, "rate": 0.0}
