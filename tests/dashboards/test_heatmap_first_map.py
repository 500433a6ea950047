"""A process's first map (issue 28): the open tickets are counted in the layer's units by reading the places of
the units that own them, not of the whole territory (the city's first map of a worker read 100,000 paths), and the
next maps read only owners new to the process; what they read stays right when tickets open elsewhere and when a
cell moves."""

from typing import Any

import pytest

from dashboards import map_layer
from kernel.caches import clear_all
from tests.dashboards.test_heatmap_levels import features, figures
from tests.dashboards.test_stats_paging import ok
from tests.support.stats import NOVEMBER
from tests.support.tasks import World


@pytest.fixture
def places_read(monkeypatch: pytest.MonkeyPatch, app: Any) -> list[set[int]]:
    """Every process cache emptied (a worker just started); each read of units' places recorded (their ids)."""
    clear_all(app)
    reads: list[set[int]] = []
    read = map_layer._ancestors_of

    def recording(units: Any) -> Any:
        reads.append({int(unit) for unit in units})
        return read(units)

    monkeypatch.setattr(map_layer, "_ancestors_of", recording)
    return reads


def open_by_community(world: World) -> dict[str, int]:
    layer = ok(world, "admin", "heatmap", grid_id=world.tree["D"].id, **NOVEMBER)
    return {code: figures(feature)[1] for code, feature in features(layer).items()}


def test_the_first_map_reads_the_places_of_the_owners_of_open_tickets_and_the_next_none(world, hand, places_read):
    ids = {code: unit.id for code, unit in world.tree.items()}

    # Open: t4, t5 in G1a, t7, t12 in G1b, t8 escalated to the street S1 (above the communities: on no unit).
    assert open_by_community(world) == {"C1": 4, "C2": 0}
    assert places_read == [{ids["G1a"], ids["G1b"], ids["S1"]}]

    places_read.clear()
    assert open_by_community(world) == {"C1": 4, "C2": 0}
    whole = ok(world, "admin", "heatmap", level="community", **NOVEMBER)  # another subtree, the same owners
    assert {code: figures(feature)[1] for code, feature in features(whole).items()} == {"C1": 4, "C2": 0}
    assert places_read == []


def test_a_ticket_opened_in_a_cell_new_to_the_process_counts_on_the_next_map(world, hand, places_read):
    assert open_by_community(world) == {"C1": 4, "C2": 0}
    world.ticket("far_worker", grid_id=str(world.tree["G2a"].id))

    assert open_by_community(world) == {"C1": 4, "C2": 1}
    assert places_read[-1] == {world.tree["G2a"].id}


def test_a_cell_moved_to_another_community_takes_its_open_tickets_there_on_the_next_map(world, hand, places_read):
    assert open_by_community(world) == {"C1": 4, "C2": 0}
    moved = world.client.patch(
        f"/api/v1/grids/{world.tree['G1b'].id}",
        json={"parent_id": str(world.tree["C2"].id)},
        headers=world.headers["admin"],
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)

    assert open_by_community(world) == {"C1": 2, "C2": 2}


def test_a_map_of_a_root_counts_the_open_tickets_of_its_tree_only(world, hand, make_unit, places_read):
    other = make_unit("district", code="E")
    community = make_unit("community", make_unit("street", other, code="ES"), code="EC")
    world.ticket("admin", grid_id=str(make_unit("grid", community, code="EG").id))

    assert open_by_community(world) == {"C1": 4, "C2": 0}
    layer = ok(world, "admin", "heatmap", grid_id=other.id, **NOVEMBER)
    assert {code: figures(feature)[1] for code, feature in features(layer).items()} == {"EC": 1}
    whole = ok(world, "admin", "heatmap", level="community", **NOVEMBER)
    assert {code: figures(feature)[1] for code, feature in features(whole).items()} == {"C1": 4, "C2": 0, "EC": 1}
