"""The heat map's units drawn from stored outlines (issue 28): no map reader merges cells, and every change of the
grid (an edit, an import, a new cell, a deletion, a move) shows on the next map, in any process."""

from typing import Any

import pytest
from shapely.geometry import shape

from grid import outlines
from kernel.caches import clear_all
from tests.dashboards.test_heatmap_levels import features, place
from tests.dashboards.test_stats_paging import ok
from tests.support.geometry import collection, feature, square
from tests.support.stats import NOVEMBER
from tests.support.tasks import World


def drawn(world: World, code: str, **query: Any) -> Any:
    """The unit's geometry on the district's map (communities), or on the level asked, as shapely; None if null."""
    layer = ok(world, "admin", "heatmap", grid_id=world.tree["D"].id, **query, **NOVEMBER)
    geometry = features(layer)[code]["geometry"]
    return None if geometry is None else shape(geometry)


def union(*squares: dict[str, Any]) -> Any:
    result = shape(squares[0])
    for other in squares[1:]:
        result = result.union(shape(other))
    return result


A, B, C = square(112.5, 33.0, 0.001), square(112.501, 33.0, 0.001), square(112.52, 33.0, 0.001)


@pytest.fixture
def no_merging_on_read(monkeypatch: pytest.MonkeyPatch, app: Any) -> None:
    """Every process cache emptied (another worker, just started) and merging polygons forbidden from now on."""
    clear_all(app)

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a map reader merged cells")

    monkeypatch.setattr(outlines.shapely, "union_all", refuse)


def test_a_process_that_never_saw_the_cells_draws_their_union_without_merging(world, hand, request):
    place(world, "G1a", A)
    place(world, "G1b", B)
    request.getfixturevalue("no_merging_on_read")
    assert drawn(world, "C1").equals(union(A, B))
    assert drawn(world, "S1", level="street").equals(union(A, B))
    assert drawn(world, "D", level="district").equals(union(A, B))
    assert drawn(world, "C2") is None


def test_the_outlines_above_follow_an_edited_cell_up_to_the_top(world, hand):
    place(world, "G1a", A)
    place(world, "G2a", C)
    assert drawn(world, "D", level="district").equals(union(A, C))
    place(world, "G2a", None)  # the boundary removed
    assert drawn(world, "C2") is None
    assert drawn(world, "S2", level="street") is None
    assert drawn(world, "D", level="district").equals(shape(A))


def test_an_imported_map_redraws_the_units_above_its_cells(world, hand):
    body = collection(feature("G1a", "grid", "C1", A), feature("G1b", "grid", "C1", B))
    response = world.client.post("/api/v1/grids/import", json=body, headers=world.headers["admin"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert drawn(world, "C1").equals(union(A, B))
    assert drawn(world, "S1", level="street").equals(union(A, B))


def test_a_new_cell_and_its_deletion_redraw_its_community(world, hand):
    response = world.client.post(
        "/api/v1/grids",
        json={"code": "G2b", "name": "新网格", "level": "grid", "parent_id": str(world.tree["C2"].id), "boundary": C},
        headers=world.headers["admin"],
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert drawn(world, "C2").equals(shape(C))
    deleted = world.client.delete(f"/api/v1/grids/{response.get_json()['id']}", headers=world.headers["admin"])
    assert deleted.status_code == 204, deleted.get_data(as_text=True)
    assert drawn(world, "C2") is None


def test_a_cell_moved_to_another_community_leaves_one_outline_for_the_other(world, hand):
    place(world, "G1a", A)
    place(world, "G1b", B)
    moved = world.client.patch(
        f"/api/v1/grids/{world.tree['G1b'].id}",
        json={"parent_id": str(world.tree["C2"].id)},
        headers=world.headers["admin"],
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert drawn(world, "C1").equals(shape(A))
    assert drawn(world, "C2").equals(shape(B))
    assert drawn(world, "S2", level="street").equals(shape(B))
