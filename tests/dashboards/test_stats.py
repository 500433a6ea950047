"""Dashboards: every figure against the hand-computed world of tests/support/stats.py, scope refusals for every
role, Beijing calendar boundaries, empty ranges, and the rollups against a recount from the raw tickets."""

from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from dashboards.rollups import rebuild
from dashboards.rollups.facts import monthly_of, totals, worker_months_of
from dashboards.rollups.models import StatsDaily, StatsMonthly, StatsTicketFacts, StatsWorkerDaily, StatsWorkerMonthly
from kernel.extensions import db
from tasks.sweep import sweep
from tasks.tickets.models import Ticket
from tests.support.http import assert_error
from tests.support.stats import BEIJING, NOVEMBER, T0, at, travel_to
from tests.support.tasks import World

OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}

ENDPOINTS = ("summary", "breakdown?by=child", "timeseries", "overdue", "heatmap", "leaderboard")


def get(world: World, who: str, endpoint: str, **query: Any) -> Any:
    separator = "&" if "?" in endpoint else "?"
    params = "&".join(f"{key}={value}" for key, value in query.items())
    response = world.client.get(f"/api/v1/stats/{endpoint}{separator}{params}", headers=world.headers[who])
    return response


def ok(world: World, who: str, endpoint: str, **query: Any) -> dict[str, Any]:
    response = get(world, who, endpoint, **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ratio(numerator: int, denominator: int) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator, "rate": round(numerator / denominator, 4)}


def recount_agrees(app: Flask) -> None:
    with app.app_context():
        stored = rebuild.stored()
        recounted = totals(facts for chunk in rebuild.recount() for _, facts in chunk)
        assert stored == recounted
        assert rebuild.stored_monthly() == monthly_of(recounted[0])
        assert rebuild.stored_worker_months() == worker_months_of(recounted[1])


# --- the hand-computed world ----------------------------------------------------------------------


def facts_agree(app: Flask) -> None:
    """stats_ticket_facts (the 'before' of every change) holds what a recount says each ticket adds."""
    with app.app_context():
        stored = {row.ticket_id: row for row in db.session.scalars(select(StatsTicketFacts))}
        recounted = dict(pair for chunk in rebuild.recount() for pair in chunk)
        assert set(stored) == set(recounted)
        for ticket_id, facts in recounted.items():
            row = stored[ticket_id]
            assert (row.day, row.category_code, row.channel, row.origin_path, row.owner_path, row.worker_id) == (
                facts.day,
                facts.category_code,
                facts.channel,
                facts.origin_path,
                facts.owner_path,
                facts.worker_id,
            ), ticket_id
            nonzero = {name: value for name, value in facts.counters.items() if value}
            assert {name: value for name, value in row.counters.items() if value} == nonzero, ticket_id


def test_the_street_summary_matches_the_figures_worked_out_by_hand(world, hand):
    body = ok(world, "supervisor", "summary", **NOVEMBER)
    assert body["grid"]["id"] == str(world.tree["S1"].id)
    assert (body["from"], body["to"], body["category"]) == ("2026-11-01", "2026-11-30", None)
    counts = {name: body[name] for name in ("received", "open", "resolved", "closed", "cancelled", "escalated")}
    assert counts == {"received": 11, "open": 5, "resolved": 4, "closed": 3, "cancelled": 2, "escalated": 1}
    assert (body["overdue"], body["reopens"]) == (1, 1)
    assert body["response_rate"] == ratio(4, 6)  # t1 t3 t4 t9 on time of t1 t2 t3 t4 t7 t9
    assert body["resolution_rate"] == ratio(4, 9)  # t1 t2 t3 t9 of 11 received less 2 cancelled
    assert body["on_time_resolution_rate"] == ratio(3, 4)  # t2 was late
    assert body["satisfaction_rate"] == ratio(2, 3)  # 5 and 4 of 5, 4, 2
    # (30 + 90 + 10 + 20 + 5) min / 5; (2 + 30 + 5 + 1) h / 4 — give or take the seconds the requests take
    accept, resolve = body["time_to_accept"], body["time_to_resolve"]
    assert (accept["count"], accept["p90_seconds"], resolve["count"], resolve["p90_seconds"]) == (5, 7200, 4, 172800)
    assert accept["average_seconds"] == pytest.approx(1860, abs=5)
    assert resolve["average_seconds"] == pytest.approx(34200, abs=5)
    now = body["now"]
    assert (now["open"], now["overdue"], now["warned"]) == (5, 5, 0)  # at T0 + 30 h every deadline has passed


def test_the_community_does_not_count_the_handling_of_a_ticket_escalated_above_it(world, hand):
    body = ok(world, "community_supervisor", "summary", **NOVEMBER)
    assert (body["received"], body["open"], body["escalated"], body["now"]["open"]) == (11, 4, 0, 4)
    assert body["resolution_rate"] == ratio(4, 9)


def test_the_community_counts_the_ticket_it_passed_up_to_the_street_as_escalated_out(world, hand):
    assert ok(world, "community_supervisor", "summary", **NOVEMBER)["escalated_out"] == 1  # t8, now at S1
    assert ok(world, "supervisor", "summary", **NOVEMBER)["escalated_out"] == 0  # still in the street's subtree


def test_the_admin_sees_the_whole_territory(world, hand):
    body = ok(world, "admin", "summary", **NOVEMBER)
    assert body["grid"] is None
    assert (body["received"], body["resolved"]) == (12, 5)
    assert body["response_rate"] == ratio(5, 7)
    assert body["satisfaction_rate"] == ratio(2, 4)
    assert body["on_time_resolution_rate"] == ratio(4, 5)


def test_a_category_filter_covers_the_category_subtree(world, hand):
    body = ok(world, "supervisor", "summary", category="DISPUTE", **NOVEMBER)
    assert (body["received"], body["resolved"], body["closed"]) == (1, 1, 1)
    assert body["response_rate"] == ratio(1, 1) and body["satisfaction_rate"]["rate"] is None


def test_the_breakdown_by_child_lists_each_child_and_the_units_own_tickets(world, hand):
    items = ok(world, "supervisor", "breakdown", by="child", **NOVEMBER)["items"]
    by_key = {item["key"]: item for item in items}
    c1 = by_key[str(world.tree["C1"].id)]
    assert (c1["received"], c1["open"], c1["resolved"], c1["direct"], c1["now"]["open"]) == (11, 4, 4, False, 4)
    own = by_key[str(world.tree["S1"].id)]
    assert own["direct"] is True
    assert (own["received"], own["open"], own["escalated"], own["now"]["open"]) == (0, 1, 1, 1)


def test_the_breakdown_drills_down_to_cells(world, hand):
    items = ok(world, "supervisor", "breakdown", by="child", grid_id=world.tree["C1"].id, **NOVEMBER)["items"]
    by_key = {item["key"]: item for item in items}
    g1a, g1b = by_key[str(world.tree["G1a"].id)], by_key[str(world.tree["G1b"].id)]
    assert (g1a["received"], g1a["open"], g1a["resolved"]) == (9, 2, 4)  # t4, t5 open; t8 left for the street
    assert g1a["resolution_rate"] == ratio(4, 7)
    assert (g1b["received"], g1b["open"], g1b["now"]["overdue"]) == (2, 2, 2)


def test_the_breakdown_by_worker_counts_what_each_holds_or_resolved(world, hand):
    items = ok(world, "supervisor", "breakdown", by="worker", **NOVEMBER)["items"]
    by_key = {item["key"]: item for item in items}
    mine = by_key[world.id_of("worker")]
    assert (mine["tickets"], mine["open"], mine["resolved"], mine["reopens"], mine["received"]) == (5, 1, 4, 1, None)
    assert mine["response_rate"] == ratio(4, 5) and mine["resolution_rate"] == ratio(4, 5)
    assert mine["name"] == "李网格员" and mine["now"]["open"] == 1
    other = by_key[world.id_of("other_worker")]
    assert (other["tickets"], other["response_rate"]["rate"], other["now"]["overdue"]) == (1, 0.0, 1)
    assert world.id_of("far_worker") not in by_key


def test_the_breakdown_by_category_and_by_channel(world, hand):
    categories = {
        i["key"]: i["received"] for i in ok(world, "supervisor", "breakdown", by="category", **NOVEMBER)["items"]
    }
    assert categories == {"CITY.GARBAGE": 10, "DISPUTE.NEIGHBOR": 1}
    channels = {
        i["key"]: i["received"] for i in ok(world, "supervisor", "breakdown", by="channel", **NOVEMBER)["items"]
    }
    assert channels == {"app": 10, "hotline": 1}


def test_the_daily_series_lists_every_day_of_the_range(world, hand):
    items = ok(world, "supervisor", "timeseries", **NOVEMBER)["items"]
    assert len(items) == 30 and items[0]["start"] == "2026-11-01"
    tenth = items[9]
    assert (tenth["start"], tenth["received"], tenth["resolved"], tenth["overdue"]) == ("2026-11-10", 11, 4, 1)
    assert tenth["satisfaction_rate"] == ratio(2, 3)
    assert items[0]["received"] == 0 and items[0]["resolution_rate"]["rate"] is None


@pytest.mark.parametrize(
    ("interval", "starts"),
    [
        ("week", ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]),
        ("month", ["2026-11-01"]),
    ],
)
def test_weekly_and_monthly_series_start_on_monday_and_the_first(world, hand, interval, starts):
    items = ok(world, "supervisor", "timeseries", interval=interval, **NOVEMBER)["items"]
    assert [item["start"] for item in items] == starts
    assert sum(item["received"] for item in items) == 11


def test_the_overdue_list_gives_the_earliest_deadline_first_with_assignee_and_unit(world, hand):
    body = ok(world, "supervisor", "overdue")
    numbers = [item["no"] for item in body["items"]]
    assert numbers[0] == hand["t7"]["no"]  # the acceptance deadline (T0 + 1 h) comes first
    assert set(numbers) == {hand[name]["no"] for name in ("t4", "t5", "t7", "t8", "t12")}
    first = body["items"][0]
    assert first["assignee"]["id"] == world.id_of("other_worker") and first["grid"]["id"] == str(world.tree["G1b"].id)
    assert first["overdue"] is True and body["next_cursor"] is None


def test_the_heatmap_is_a_feature_collection_of_the_cells(world, hand):
    body = ok(world, "supervisor", "heatmap", **NOVEMBER)
    assert body["type"] == "FeatureCollection"
    cells = {feature["properties"]["code"]: feature["properties"] for feature in body["features"]}
    assert set(cells) == {"G1a", "G1b"}
    assert (cells["G1a"]["received"], cells["G1a"]["open"], cells["G1a"]["overdue"]) == (9, 2, 2)
    assert (cells["G1b"]["received"], cells["G1b"]["open"]) == (2, 2)


def test_the_leaderboard_ranks_workers_by_the_documented_score(world, hand):
    items = ok(world, "supervisor", "leaderboard", **NOVEMBER)["items"]
    assert [(item["key"], item["score"], item["rank"]) for item in items] == [
        (world.id_of("worker"), 30, 1),  # 10 x 3 on time + 5 x 2 good ratings - 10 x 1 reopen
        (world.id_of("other_worker"), 0, 2),
    ]


def test_the_leaderboard_ranks_units(world, hand):
    items = ok(world, "admin", "leaderboard", of="unit", grid_id=world.tree["D"].id, **NOVEMBER)["items"]
    assert [(item["name"], item["score"]) for item in items] == [
        (world.tree["S1"].name, 30),
        (world.tree["S2"].name, 10),  # t10 on time, rated 3
    ]


# --- rollups == recount ---------------------------------------------------------------------------


def test_the_rollups_agree_with_a_recount_after_escalations_reopens_merges_and_the_sweep(app, world, hand):
    recount_agrees(app)
    with app.app_context():
        sweep()
    recount_agrees(app)
    body = ok(world, "supervisor", "summary", **NOVEMBER)
    assert body["overdue"] == 6  # t2 resolved late, and the five open ones the sweep found overdue


def test_urges_leave_the_rollups_agreeing_with_a_recount(app, world, hand):
    for name in ("t4", "t5", "t7"):
        world.act("supervisor", hand[name], "urge", note="请尽快处理")
    recount_agrees(app)
    body = ok(world, "supervisor", "summary", **NOVEMBER)
    assert (body["received"], body["open"]) == (11, 5)


def test_a_rebuild_restores_the_rollups(app, world, hand):
    before = ok(world, "supervisor", "summary", **NOVEMBER)
    with app.app_context():
        db.session.execute(StatsDaily.__table__.delete())
        db.session.commit()
        assert ok(world, "supervisor", "summary", **NOVEMBER)["received"] == 0
        assert rebuild.rebuild(days=1) == 12
        db.session.commit()
    assert ok(world, "supervisor", "summary", **NOVEMBER) | {"now": None} == before | {"now": None}
    recount_agrees(app)
    facts_agree(app)


def test_changes_after_a_rebuild_keep_the_rollups_agreeing(app, world, hand):
    with app.app_context():
        rebuild.rebuild()
        db.session.commit()
    facts_agree(app)
    world.act("supervisor", hand["t5"], "dispatch", assignee_id=world.id_of("worker"))
    world.act("supervisor", hand["t12"], "escalate", reason="需社区协调")
    world.act("worker", hand["t4"], "resolve", note="已处理")
    with app.app_context():
        sweep()
    recount_agrees(app)
    facts_agree(app)


def test_a_rebuild_rounds_durations_to_the_second_as_python_does(app, world, hand):
    """Times a fraction away from a whole second: SQL must round the duration as `round(timedelta)` does."""
    # SQLite reads times to the millisecond: 0.9997 s must not become the next second.
    fractions = {"created_at": 100_000, "dispatched_at": 999_700, "accepted_at": 200_000, "resolved_at": 999_800}
    with app.app_context():
        for ticket in db.session.scalars(select(Ticket)).all():
            values = {
                name: getattr(ticket, name).replace(microsecond=micro)
                for name, micro in fractions.items()
                if getattr(ticket, name) is not None
            }
            db.session.execute(Ticket.__table__.update().where(Ticket.id == ticket.id).values(**values))
        db.session.commit()
        rebuild.rebuild()
        db.session.commit()
    recount_agrees(app)
    facts_agree(app)


def test_the_rebuild_command_reports_the_tickets_it_recounted(app, world, hand):
    result = app.test_cli_runner().invoke(args=["stats", "rebuild", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "rebuilt the rollups from 12 tickets" in result.output
    recount_agrees(app)


def test_a_months_rebuild_replaces_that_months_rows_and_no_others(app, world, hand):
    travel_to(datetime(2026, 10, 15, 10, 0, tzinfo=BEIJING))
    world.ticket()  # one in October besides November's twelve
    november = ok(world, "supervisor", "summary", **NOVEMBER)
    with app.app_context():
        for model in (StatsDaily, StatsMonthly, StatsWorkerDaily, StatsWorkerMonthly, StatsTicketFacts):
            db.session.execute(model.__table__.delete())
        db.session.commit()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["stats", "rebuild", "--month", "2026-11", "--days", "7"])

    assert "rebuilt the rollups from 12 tickets" in result.output, result.output
    assert ok(world, "supervisor", "summary", **NOVEMBER) | {"now": None} == november | {"now": None}
    assert ok(world, "supervisor", "summary", **OCTOBER)["received"] == 0  # not this month's
    assert "from 1 tickets" in runner.invoke(args=["stats", "rebuild", "--month", "2026-10"]).output
    recount_agrees(app)
    facts_agree(app)


def test_a_month_is_a_year_and_month(app):
    result = app.test_cli_runner().invoke(args=["stats", "rebuild", "--month", "2026-13"])
    assert result.exit_code != 0
    assert "YYYY-MM" in result.output or "%Y-%m" in result.output


# --- time zones, ranges, defaults -----------------------------------------------------------------


def test_a_ticket_at_2330_beijing_on_the_last_day_of_the_month_belongs_to_that_month(world):
    travel_to(datetime(2026, 10, 31, 23, 30, tzinfo=BEIJING))  # 15:30 UTC
    world.ticket()
    travel_to(datetime(2026, 11, 30, 23, 30, tzinfo=BEIJING))
    world.ticket()
    this_month = ok(world, "supervisor", "summary")
    assert (this_month["from"], this_month["to"], this_month["received"]) == ("2026-11-01", "2026-11-30", 1)
    october = ok(world, "supervisor", "summary", **{"from": "2026-10-01", "to": "2026-10-31"})
    assert october["received"] == 1
    assert ok(world, "supervisor", "summary", **{"from": "2026-12-01", "to": "2026-12-01"})["received"] == 0


def test_an_empty_range_gives_null_rates_not_a_division_by_zero(world, hand):
    body = ok(world, "supervisor", "summary", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert body["received"] == 0
    for name in ("response_rate", "resolution_rate", "on_time_resolution_rate", "satisfaction_rate"):
        assert body[name] == {"numerator": 0, "denominator": 0, "rate": None}
    assert body["time_to_accept"] == {"count": 0, "average_seconds": None, "p90_seconds": None}


def test_only_from_gives_that_month(world):
    at(0)
    body = ok(world, "supervisor", "summary", **{"from": "2026-02-03"})
    assert (body["from"], body["to"]) == ("2026-02-03", "2026-02-28")


def test_to_before_from_is_refused(world):
    assert_error(
        get(world, "supervisor", "summary", **{"from": "2026-11-02", "to": "2026-11-01"}), 422, "validation_error"
    )


@pytest.mark.parametrize(
    "query", [{"by": "unit"}, {"by": "child", "colour": "red"}, {"by": "child", "from": "tomorrow"}]
)
def test_bad_parameters_are_refused(world, query):
    response = get(world, "supervisor", "breakdown", **query)
    assert response.status_code == 422 and set(response.get_json()) == {"error"}


def test_an_unknown_category_is_refused(world):
    assert_error(get(world, "supervisor", "summary", category="NOPE"), 422, "validation_error")


# --- who may read what ----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("who", ["worker", "volunteer"])
def test_workers_and_volunteers_may_not_read_dashboards(world, endpoint, who):
    assert_error(get(world, who, endpoint), 403, "forbidden")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("who", "unit"), [("admin", "D"), ("supervisor", "S1"), ("supervisor", "G1a"), ("community_supervisor", "C1")]
)
def test_admins_and_supervisors_read_units_in_their_scope(world, endpoint, who, unit):
    assert get(world, who, endpoint, grid_id=world.tree[unit].id).status_code == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_unit_above_the_supervisors_scope_is_forbidden(world, endpoint):
    assert_error(get(world, "community_supervisor", endpoint, grid_id=world.tree["S1"].id), 403, "forbidden")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("unit", ["S2", "G2a"])
def test_a_unit_in_another_subtree_does_not_exist_for_the_supervisor(world, endpoint, unit):
    assert_error(get(world, "supervisor", endpoint, grid_id=world.tree[unit].id), 404, "not_found")


def test_an_anonymous_caller_is_unauthorized(world):
    assert_error(world.client.get("/api/v1/stats/summary"), 401, "unauthorized")


def test_the_far_supervisor_sees_only_its_street(world, hand):
    body = ok(world, "far_supervisor", "summary", **NOVEMBER)
    assert (body["received"], body["resolved"], body["satisfaction_rate"]) == (1, 1, ratio(0, 1))


def test_dates_are_beijing_days(world, hand):
    assert T0.astimezone(BEIJING).date().isoformat() == "2026-11-10"
