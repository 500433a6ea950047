"""The summary's needs and wishes come from the rollup (`party_stats_daily`), kept by every step of a need: what a
step does shows at once, and after a varied life the rows equal a recount from scratch (`flask party stats
rebuild`). The people and places: tests/support/lists.py (needs for G1a, in street S1)."""

from typing import Any

import pytest

from tests.support.lists import PROJECTS, Lists, build_lists, need_at_status

SUMMARY = "/api/v1/party/stats/summary"


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

    result = app.test_cli_runner().invoke(args=["party", "stats", "rebuild"])

    assert result.exit_code == 0, result.output
    assert "from 9 needs" in result.output
    assert [summary(lists, **scope) for scope in scopes] == kept
    street = kept[1]
    assert (street["needs"]["raised"], street["needs"]["withdrawn"]) == (7, 1)
    assert street["needs"]["matched"] == {"numerator": 4, "denominator": 6, "rate": pytest.approx(4 / 6, abs=0.01)}
    assert street["needs"]["met"]["numerator"] == 2
    assert street["wishes"]["raised"] == 2
    assert street["wishes"]["matched"]["numerator"] == 1
    assert kept[3]["needs"]["raised"] == 0


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
