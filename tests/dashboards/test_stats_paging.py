"""Dashboards at scale, through the HTTP API: by-worker and leaderboard pages and their cursors, the heat map's
ETag and its cached cells, and the hand-built rows against the schemas that document them."""

from datetime import date, datetime
from typing import Any

import pytest
from flask import Flask
from marshmallow import fields

from dashboards import breakdowns, ranking, schemas, service
from kernel.extensions import db
from tests.support.geometry import square
from tests.support.http import assert_error
from tests.support.stats import BEIJING, NOVEMBER, travel_to
from tests.support.tasks import World


def get(world: World, who: str, endpoint: str, headers: dict[str, str] | None = None, **query: Any) -> Any:
    params = "&".join(f"{key}={value}" for key, value in query.items())
    separator = "&" if "?" in endpoint else "?"
    return world.client.get(
        f"/api/v1/stats/{endpoint}{separator}{params}", headers={**world.headers[who], **(headers or {})}
    )


def ok(world: World, who: str, endpoint: str, **query: Any) -> dict[str, Any]:
    response = get(world, who, endpoint, **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def timeless(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without `now.as_of`, which moves between requests."""
    return [{**item, "now": {**item["now"], "as_of": None}} if item.get("now") else item for item in items]


def every_page(world: World, who: str, endpoint: str, **query: Any) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        body = ok(world, who, endpoint, **query, **({"cursor": cursor} if cursor else {}))
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


# --- by worker: pages by account id ---------------------------------------------------------------


def test_the_breakdown_by_worker_pages_by_account_id(world, hand):
    whole = ok(world, "admin", "breakdown?by=worker", **NOVEMBER)
    assert whole["next_cursor"] is None
    keys = [item["key"] for item in whole["items"]]
    assert len(keys) == 3 and keys == sorted(keys, key=int)  # worker, other_worker, far_worker
    pages = every_page(world, "admin", "breakdown?by=worker", limit=1, **NOVEMBER)
    assert [len(page) for page in pages] == [1, 1, 1]
    assert timeless([item for page in pages for item in page]) == timeless(whole["items"])
    two = every_page(world, "admin", "breakdown?by=worker", limit=2, **NOVEMBER)
    assert [[item["key"] for item in page] for page in two] == [keys[:2], keys[2:]]


def test_a_worker_holding_open_work_but_nothing_received_in_the_range_is_listed(world, hand):
    october = {"from": "2026-10-01", "to": "2026-10-31"}
    items = ok(world, "supervisor", "breakdown?by=worker", **october)["items"]
    # Nothing was received in October, but the worker still holds t4 and other_worker t7 now.
    assert {item["key"]: item["now"]["open"] for item in items} == {
        world.id_of("worker"): 1,
        world.id_of("other_worker"): 1,
    }
    assert all(item["tickets"] == 0 for item in items)


def test_a_cursor_continues_only_its_own_list(world, hand):
    first = ok(world, "admin", "breakdown?by=worker", limit=1, **NOVEMBER)
    cursor = first["next_cursor"]
    assert cursor
    assert_error(
        get(world, "admin", "breakdown?by=worker", cursor=cursor, **{"from": "2026-10-01"}), 400, "bad_request"
    )
    assert_error(get(world, "admin", "leaderboard", cursor=cursor, **NOVEMBER), 400, "bad_request")
    assert_error(get(world, "admin", "breakdown?by=worker", cursor=cursor[:-2] + "xx", **NOVEMBER), 400, "bad_request")
    assert_error(get(world, "admin", "breakdown?by=child", cursor=cursor, **NOVEMBER), 422, "validation_error")


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 501}, {"limit": "many"}, {"cursor": "x" * 600}])
def test_bad_paging_parameters_are_refused(world, query):
    assert_error(get(world, "admin", "breakdown?by=worker", **query), 422, "validation_error")
    if "limit" in query and query["limit"] != 501:
        assert_error(get(world, "admin", "leaderboard", **query), 422, "validation_error")


def test_the_whole_territory_breaks_down_into_its_root_with_all_the_open_work(world, hand):
    whole = ok(world, "admin", "summary", **NOVEMBER)
    (root,) = ok(world, "admin", "breakdown?by=child", **NOVEMBER)["items"]
    assert root["key"] == str(world.tree["D"].id) and root["direct"] is False
    assert root["received"] == whole["received"] == 12
    assert {k: v for k, v in root["now"].items() if k != "as_of"} == {
        k: v for k, v in whole["now"].items() if k != "as_of"
    }
    streets = ok(world, "admin", "breakdown?by=child", grid_id=world.tree["D"].id, **NOVEMBER)["items"]
    assert sum(item["now"]["open"] for item in streets) == whole["now"]["open"] == 5  # t4 t5 t7 t8 t12


# --- leaderboard: pages by rank -------------------------------------------------------------------


@pytest.mark.parametrize("of", ["worker", "unit"])
def test_the_leaderboard_pages_continue_the_ranking(world, hand, of):
    whole = ok(world, "admin", "leaderboard", of=of, **NOVEMBER)
    assert whole["next_cursor"] is None
    pages = every_page(world, "admin", "leaderboard", of=of, limit=1, **NOVEMBER)
    assert [item for page in pages for item in page] == whole["items"]
    assert [item["rank"] for item in whole["items"]] == list(range(1, len(whole["items"]) + 1))
    scores = [(-item["score"], -item["resolved_on_time"], item["reopens"], int(item["key"])) for item in whole["items"]]
    assert scores == sorted(scores)


def test_the_worker_leaderboard_is_ranked_in_the_database_with_ties_by_id(world, hand):
    items = ok(world, "admin", "leaderboard", **NOVEMBER)["items"]
    # worker 30 points; far_worker 10 (t10 on time, rated 3); other_worker 0.
    assert [(item["key"], item["score"]) for item in items] == [
        (world.id_of("worker"), 30),
        (world.id_of("far_worker"), 10),
        (world.id_of("other_worker"), 0),
    ]


# --- heat map: ETag, and cells cached while unchanged ---------------------------------------------


def test_an_unchanged_heatmap_is_a_304_and_a_change_gives_a_new_etag(world, hand):
    first = get(world, "supervisor", "heatmap", **NOVEMBER)
    assert first.status_code == 200 and first.mimetype == "application/json"
    etag = first.headers["ETag"]
    again = get(world, "supervisor", "heatmap", headers={"If-None-Match": etag}, **NOVEMBER)
    assert again.status_code == 304 and again.get_data() == b""
    world.ticket()  # one more received in G1a
    changed = get(world, "supervisor", "heatmap", headers={"If-None-Match": etag}, **NOVEMBER)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    cells = {f["properties"]["code"]: f["properties"] for f in changed.get_json()["features"]}
    assert cells["G1a"]["open"] == 3


def test_the_heatmap_shows_a_cells_new_boundary_and_name(world, hand):
    body = ok(world, "supervisor", "heatmap", **NOVEMBER)
    assert [feature["id"] for feature in body["features"]] == sorted((f["id"] for f in body["features"]), key=int)
    cell = world.tree["G1a"].id
    shape = square(112.5, 33.0, 0.001)
    response = world.client.patch(
        f"/api/v1/grids/{cell}", json={"name": "新名网格", "boundary": shape}, headers=world.headers["admin"]
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    features = {f["id"]: f for f in ok(world, "supervisor", "heatmap", **NOVEMBER)["features"]}
    assert features[str(cell)]["geometry"] == shape
    assert features[str(cell)]["properties"]["name"] == "新名网格"
    assert features[str(cell)]["properties"]["received"] == 9


@pytest.mark.parametrize(
    ("first", "last", "g1a", "g1b"),
    [
        ("2026-10-01", "2026-10-31", 1, 1),  # a whole month: stats_monthly
        ("2026-10-01", "2026-11-30", 1, 2),  # two whole months
        ("2026-10-31", "2026-11-30", 1, 1),  # a day, then a whole month
        ("2026-10-01", "2026-11-10", 1, 2),  # a whole month, then days
        ("2026-10-31", "2026-11-01", 1, 1),  # two days across the month's end
        ("2026-11-02", "2026-11-29", 0, 0),  # days inside one month
        ("2026-09-01", "2026-09-30", 0, 0),  # 16:10 UTC on 30 September is 1 October in Beijing
        ("2026-09-15", "2026-12-15", 1, 2),  # days, whole months, days
    ],
)
def test_the_heatmap_counts_by_month_and_by_day_agree(world, first, last, g1a, g1b):
    """Tickets at the edges of months (Beijing time); months read from stats_monthly, the rest by day."""
    for moment, cell in (
        (datetime(2026, 10, 31, 23, 30, tzinfo=BEIJING), "G1a"),  # 15:30 UTC on 31 Oct: October
        (datetime(2026, 10, 1, 0, 10, tzinfo=BEIJING), "G1b"),  # 16:10 UTC on 30 Sep: October
        (datetime(2026, 11, 1, 0, 30, tzinfo=BEIJING), "G1b"),  # 16:30 UTC on 31 Oct: November
    ):
        travel_to(moment)
        world.ticket("supervisor", grid_id=str(world.tree[cell].id))
    features = ok(world, "supervisor", "heatmap", **{"from": first, "to": last})["features"]
    received = {feature["properties"]["code"]: feature["properties"]["received"] for feature in features}
    assert received == {"G1a": g1a, "G1b": g1b}
    by_day = ok(world, "supervisor", "heatmap", **{"from": first, "to": last, "category": "CITY"})["features"]
    assert {feature["properties"]["code"]: feature["properties"]["received"] for feature in by_day} == received


# --- hand-built rows == the schemas' dump ---------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "item_schema"),
    [
        ("breakdown?by=child", schemas.BreakdownItemSchema),
        ("breakdown?by=category", schemas.BreakdownItemSchema),
        ("breakdown?by=worker", schemas.BreakdownItemSchema),
        ("breakdown?by=channel", schemas.BreakdownItemSchema),
        ("leaderboard", schemas.LeaderboardItemSchema),
        ("leaderboard?of=unit", schemas.LeaderboardItemSchema),
        ("timeseries?interval=week", schemas.PeriodSchema),
    ],
)
def test_the_hand_built_rows_validate_against_their_schema(world, hand, endpoint, item_schema):
    items = ok(world, "supervisor", endpoint, **NOVEMBER)["items"]
    assert items
    schema = item_schema()
    for item in items:
        assert schema.dump(schema.load(item)) == item  # every key declared, every value of its type


@pytest.mark.parametrize("by", ["child", "category", "worker", "channel"])
def test_the_plain_list_equals_the_marshmallow_dump(app: Flask, world, hand, by):
    with app.app_context():
        unit = db.session.get(type(world.tree["S1"]), world.tree["S1"].id)
        target = service.Target((unit,), date(2026, 11, 1), date(2026, 11, 30), None)
        rows = [
            *breakdowns.breakdown(target, by)["items"],
        ]
        plain = schemas.PlainList(schemas.BreakdownItemSchema).serialize("items", {"items": rows})
        nested = fields.List(fields.Nested(schemas.BreakdownItemSchema)).serialize("items", {"items": rows})
        assert plain == nested
        ranked = ranking.leaderboard(target, "worker", 20)["items"]
        plain = schemas.PlainList(schemas.LeaderboardItemSchema).serialize("items", {"items": ranked})
        assert plain == fields.List(fields.Nested(schemas.LeaderboardItemSchema)).serialize("items", {"items": ranked})
        series = service.timeseries(target, "day")["items"]
        plain = schemas.PlainList(schemas.PeriodSchema).serialize("items", {"items": series})
        assert plain == fields.List(fields.Nested(schemas.PeriodSchema)).serialize("items", {"items": series})


RANGES = [
    ("2026-10-01", "2026-10-31"),
    ("2026-10-01", "2026-11-30"),
    ("2026-10-31", "2026-11-30"),
    ("2026-10-01", "2026-11-10"),
    ("2026-10-31", "2026-11-01"),
    ("2026-09-15", "2026-12-15"),
]


def test_workers_over_months_and_days_agree_with_the_daily_rollup(world):
    """Whole months come from stats_worker_monthly; a category filter reads only stats_worker_daily: with every
    ticket in CITY the two must give the same figures, over ranges cut every way across month ends."""
    for moment in (
        datetime(2026, 10, 1, 0, 10, tzinfo=BEIJING),
        datetime(2026, 10, 31, 23, 30, tzinfo=BEIJING),
        datetime(2026, 11, 1, 0, 30, tzinfo=BEIJING),
    ):
        travel_to(moment)
        ticket = world.ticket()
        world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
        world.act("worker", ticket, "accept")
        world.act("worker", ticket, "resolve", note="已处理")
    for first, last in RANGES:
        span = {"from": first, "to": last}
        for endpoint in ("leaderboard", "breakdown?by=worker"):
            all_categories = ok(world, "supervisor", endpoint, **span)["items"]
            city = ok(world, "supervisor", endpoint, category="CITY", **span)["items"]
            assert timeless(all_categories) == timeless(city), (endpoint, span)
        received = ok(world, "supervisor", "summary", **span)["received"]
        ranked = ok(world, "supervisor", "leaderboard", **span)["items"]
        assert sum(item["resolved_on_time"] for item in ranked) == received, span


def test_a_holder_of_open_work_beyond_a_full_counted_page_is_on_a_later_page(world, hand, make_account):
    """A page reads the holders of open work only up to its last counted worker when it has a full page of them:
    one holding work with a larger id and nothing received in the range still comes, on its own page, last."""
    late = make_account("worker", unit=world.tree["C1"], cells=[world.tree["G1a"]])
    travel_to(datetime(2026, 12, 2, 9, 0, tzinfo=BEIJING))  # received in December: nothing of it in November
    ticket = world.ticket("supervisor", grid_id=str(world.tree["G1a"].id))
    world.act("supervisor", ticket, "dispatch", assignee_id=str(late.id))

    whole = ok(world, "admin", "breakdown?by=worker", **NOVEMBER)
    keys = [item["key"] for item in whole["items"]]
    assert len(keys) == 4 and keys[-1] == str(late.id)
    assert whole["items"][-1]["tickets"] == 0 and whole["items"][-1]["now"]["open"] == 1
    for limit in (1, 2, 3):
        pages = every_page(world, "admin", "breakdown?by=worker", limit=limit, **NOVEMBER)
        assert [item["key"] for page in pages for item in page] == keys, limit
        assert timeless([item for page in pages for item in page]) == timeless(whole["items"])
