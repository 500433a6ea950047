"""The heat map by level (issue 28): which units a map of a scope draws by default, `level` for any level at or
below the scope, each unit's figures equal to that unit's summary, geometry drawn from the cells when a unit has
no boundary of its own, and the ETag known without writing the layer."""

from typing import Any

import pytest
from shapely.geometry import shape

from tests.dashboards.test_stats_paging import get, ok
from tests.support.geometry import square
from tests.support.http import assert_error
from tests.support.stats import NOVEMBER
from tests.support.tasks import World


def features(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {feature["properties"]["code"]: feature for feature in body["features"]}


def figures(feature: dict[str, Any]) -> tuple[int, int, int]:
    properties = feature["properties"]
    return properties["received"], properties["open"], properties["overdue"]


def place(world: World, code: str, boundary: dict[str, Any] | None) -> None:
    response = world.client.patch(
        f"/api/v1/grids/{world.tree[code].id}", json={"boundary": boundary}, headers=world.headers["admin"]
    )
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "unit", "level", "codes"),
    [
        ("admin", None, "street", {"S1", "S2"}),  # the whole territory: streets
        ("admin", "D", "community", {"C1", "C2"}),  # a district: communities
        ("admin", "S1", "grid", {"G1a", "G1b"}),  # a street: cells
        ("supervisor", None, "grid", {"G1a", "G1b"}),  # a street supervisor's scope
        ("community_supervisor", None, "grid", {"G1a", "G1b"}),
        ("community_supervisor", "G1a", "grid", {"G1a"}),
    ],
)
def test_the_heatmap_draws_the_default_level_of_its_scope(world, hand, who, unit, level, codes):
    query = {"grid_id": world.tree[unit].id} if unit else {}
    body = ok(world, who, "heatmap", **query, **NOVEMBER)
    assert body["type"] == "FeatureCollection" and body["level"] == level
    assert set(features(body)) == codes


@pytest.mark.parametrize(
    ("level", "codes"),
    [
        ("district", {"D"}),
        ("street", {"S1", "S2"}),
        ("community", {"C1", "C2"}),
        ("grid", {"G1a", "G1b", "G2a"}),
    ],
)
def test_each_levels_units_count_what_their_own_summaries_count(world, hand, level, codes):
    """Received from the unit's rollup rows, open and overdue now owned in its subtree (t8, escalated to S1,
    counts in S1 and D but in no community or cell)."""
    body = ok(world, "admin", "heatmap", grid_id=world.tree["D"].id, level=level, **NOVEMBER)
    assert body["level"] == level
    found = features(body)
    assert set(found) == codes
    for code, feature in found.items():
        summary = ok(world, "admin", "summary", grid_id=world.tree[code].id, **NOVEMBER)
        assert feature["id"] == str(world.tree[code].id)
        assert figures(feature) == (summary["received"], summary["now"]["open"], summary["now"]["overdue"]), code


def test_a_street_counts_the_tickets_escalated_to_it_that_its_cells_do_not(world, hand):
    streets = features(ok(world, "admin", "heatmap", grid_id=world.tree["D"].id, level="street", **NOVEMBER))
    cells = features(ok(world, "admin", "heatmap", grid_id=world.tree["D"].id, level="grid", **NOVEMBER))
    assert figures(streets["S1"])[0] == figures(cells["G1a"])[0] + figures(cells["G1b"])[0] == 11
    assert figures(streets["S1"])[1] == figures(cells["G1a"])[1] + figures(cells["G1b"])[1] + 1  # t8


def test_the_whole_territory_may_be_drawn_at_any_level(world, hand):
    body = ok(world, "admin", "heatmap", level="grid", **NOVEMBER)
    assert set(features(body)) == {"G1a", "G1b", "G2a"}
    assert set(features(ok(world, "admin", "heatmap", level="district", **NOVEMBER))) == {"D"}
    assert features(ok(world, "admin", "heatmap", level="city", **NOVEMBER)) == {}


def test_a_supervisor_may_draw_their_own_unit_and_the_levels_below(world, hand):
    assert set(features(ok(world, "supervisor", "heatmap", level="street", **NOVEMBER))) == {"S1"}
    assert set(features(ok(world, "supervisor", "heatmap", level="community", **NOVEMBER))) == {"C1"}


@pytest.mark.parametrize(
    ("who", "unit", "level"),
    [
        ("supervisor", None, "district"),  # above the street of their scope
        ("community_supervisor", None, "street"),
        ("admin", "C1", "street"),
        ("admin", "G1a", "community"),
    ],
)
def test_a_level_above_the_maps_unit_is_refused(world, hand, who, unit, level):
    query = {"grid_id": world.tree[unit].id} if unit else {}
    error = assert_error(get(world, who, "heatmap", level=level, **query), 422, "validation_error")
    assert set(error["details"]) == {"level"}


@pytest.mark.parametrize("level", ["cell", "province", "STREET", ""])
def test_an_unknown_level_is_refused(world, hand, level):
    error = assert_error(get(world, "admin", "heatmap", level=level), 422, "validation_error")
    assert "level" in error["details"]


def test_the_refusal_of_a_level_above_the_unit_is_in_chinese_and_in_english_on_request(world, hand):
    response = get(world, "supervisor", "heatmap", headers={"Accept-Language": "en"}, level="district")
    assert assert_error(response, 422, "validation_error")["message"] == "The level is above the unit the map is of."
    chinese = get(world, "supervisor", "heatmap", headers={"Accept-Language": "zh"}, level="district")
    assert assert_error(chinese, 422, "validation_error")["message"] == "所选层级高于地图所属的单元。"


def test_workers_and_supervisors_out_of_scope_get_no_layer_of_any_level(world, hand):
    assert_error(get(world, "worker", "heatmap", level="street"), 403, "forbidden")
    assert_error(get(world, "supervisor", "heatmap", grid_id=world.tree["D"].id, level="street"), 403, "forbidden")
    assert_error(get(world, "supervisor", "heatmap", grid_id=world.tree["C2"].id, level="grid"), 404, "not_found")


# --- geometry ------------------------------------------------------------------------------------------


def test_a_unit_without_a_boundary_is_drawn_as_the_union_of_its_cells(world, hand):
    place(world, "G1a", square(112.5, 33.0, 0.001))
    place(world, "G1b", square(112.501, 33.0, 0.001))
    found = features(ok(world, "admin", "heatmap", grid_id=world.tree["D"].id, **NOVEMBER))
    drawn = shape(found["C1"]["geometry"])
    assert drawn.geom_type == "Polygon" and drawn.equals(shape(square(112.5, 33.0, 0.001)).union(
        shape(square(112.501, 33.0, 0.001))))  # fmt: skip
    assert found["C2"]["geometry"] is None  # no cell of C2 has a boundary

    place(world, "G1b", square(112.5, 33.001, 0.001))  # a cell moves: the union follows
    moved = shape(features(ok(world, "admin", "heatmap", grid_id=world.tree["D"].id, **NOVEMBER))["C1"]["geometry"])
    assert moved.bounds == pytest.approx((112.5, 33.0, 112.501, 33.002))


def test_a_unit_with_a_boundary_is_drawn_with_it(world, hand):
    place(world, "G1a", square(112.5, 33.0, 0.001))
    place(world, "C1", square(112.49, 32.99, 0.05))
    found = features(ok(world, "admin", "heatmap", grid_id=world.tree["D"].id, **NOVEMBER))
    assert found["C1"]["geometry"] == square(112.49, 32.99, 0.05)


# --- ETag ----------------------------------------------------------------------------------------------


def test_an_unchanged_layer_of_any_level_is_a_304_and_a_new_ticket_changes_it(world, hand):
    district = world.tree["D"].id
    first = get(world, "admin", "heatmap", grid_id=district, level="street", **NOVEMBER)
    etag = first.headers["ETag"]
    again = get(world, "admin", "heatmap", headers={"If-None-Match": etag}, grid_id=district, level="street",
                **NOVEMBER)  # fmt: skip
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    cells = get(world, "admin", "heatmap", headers={"If-None-Match": etag}, grid_id=district, level="grid", **NOVEMBER)
    assert cells.status_code == 200 and cells.headers["ETag"] != etag

    world.ticket()  # one more received and open in G1a, so in S1
    changed = get(world, "admin", "heatmap", headers={"If-None-Match": etag}, grid_id=district, level="street",
                  **NOVEMBER)  # fmt: skip
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert figures(features(changed.get_json())["S1"])[:2] == (
        figures(features(first.get_json())["S1"])[0] + 1,
        figures(features(first.get_json())["S1"])[1] + 1,
    )


def test_a_unit_renamed_changes_the_layers_etag(world, hand):
    first = get(world, "admin", "heatmap", grid_id=world.tree["D"].id, **NOVEMBER)
    response = world.client.patch(
        f"/api/v1/grids/{world.tree['C1'].id}", json={"name": "新名社区"}, headers=world.headers["admin"]
    )
    assert response.status_code == 200
    renamed = get(world, "admin", "heatmap", headers={"If-None-Match": first.headers["ETag"]},
                  grid_id=world.tree["D"].id, **NOVEMBER)  # fmt: skip
    assert renamed.status_code == 200
    assert features(renamed.get_json())["C1"]["properties"]["name"] == "新名社区"
