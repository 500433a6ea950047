"""The map layer kept by the process (issue 28): an unchanged layer is answered again, 200 or 304, without counting
the open tickets, and with the same bytes as a layer counted afresh; any change of a counted ticket (the
dashboards' version moves at its commit), the clock reaching an open ticket's deadline or going back, a rollup
rebuild and a cell moved make the next map count again, and its ETag change when a figure did."""

from datetime import datetime, timedelta
from typing import Any

import pytest

from dashboards import map_layer
from dashboards.rollups.rebuild import rebuild
from kernel.caches import clear_all
from kernel.extensions import db
from tests.dashboards.test_heatmap_levels import features, figures
from tests.dashboards.test_stats_paging import get
from tests.support.stats import NOVEMBER, travel_to
from tests.support.tasks import World


@pytest.fixture
def countings(monkeypatch: pytest.MonkeyPatch, app: Any) -> list[int]:
    """Every process cache emptied; each counting of the open tickets for a layer recorded."""
    clear_all(app)
    counted: list[int] = []
    count = map_layer._current_by_unit

    def recording(*args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return count(*args, **kwargs)

    monkeypatch.setattr(map_layer, "_current_by_unit", recording)
    return counted


def district_map(world: World, etag: str | None = None) -> Any:
    headers = {"If-None-Match": etag} if etag else None
    return get(world, "admin", "heatmap", headers=headers, grid_id=world.tree["D"].id, **NOVEMBER)


def counted_afresh(world: World, app: Any) -> Any:
    """The district's map as a process that never drew it would send it."""
    clear_all(app)
    response = district_map(world)
    assert response.status_code == 200
    return response


def open_overdue(response: Any) -> dict[str, tuple[int, int]]:
    return {code: figures(feature)[1:] for code, feature in features(response.get_json()).items()}


def test_an_unchanged_map_is_answered_again_without_counting_with_the_same_bytes(world, hand, app, countings):
    first = district_map(world)
    assert first.status_code == 200 and len(countings) == 1

    again = district_map(world, first.headers["ETag"])
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == first.headers["ETag"]
    plain = district_map(world)
    assert plain.status_code == 200 and plain.get_data() == first.get_data()
    assert plain.headers["ETag"] == first.headers["ETag"]
    assert len(countings) == 1  # neither counted

    afresh = counted_afresh(world, app)
    assert afresh.get_data() == first.get_data() and afresh.headers["ETag"] == first.headers["ETag"]


def _new_ticket(world: World, hand: dict[str, Any]) -> None:
    world.ticket()  # received and open in G1a (C1)


def _resolved(world: World, hand: dict[str, Any]) -> None:
    world.act("worker", hand["t4"], "resolve", note="已清运")  # open (and overdue) in C1 no more


def _cancelled(world: World, hand: dict[str, Any]) -> None:
    world.act("supervisor", hand["t12"], "cancel", reason="居民撤回")


def _escalated(world: World, hand: dict[str, Any]) -> None:
    world.act("community_supervisor", hand["t5"], "escalate", reason="需街道协调")  # C1 -> S1: on no community


@pytest.mark.parametrize("change", [_new_ticket, _resolved, _cancelled, _escalated])
def test_a_change_of_a_counted_ticket_is_on_the_next_map_and_changes_its_etag(world, hand, app, countings, change):
    first = district_map(world)
    change(world, hand)

    changed = district_map(world, first.headers["ETag"])
    assert changed.status_code == 200 and len(countings) == 2
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert open_overdue(changed)["C1"] != open_overdue(first)["C1"]
    afresh = counted_afresh(world, app)
    assert changed.get_data() == afresh.get_data() and changed.headers["ETag"] == afresh.headers["ETag"]


def test_a_change_that_moves_no_figure_is_counted_again_and_still_a_304(world, hand, countings):
    first = district_map(world)
    world.act("other_worker", hand["t7"], "accept")  # assigned -> in progress: still open, its clock its own

    again = district_map(world, first.headers["ETag"])
    assert len(countings) == 2
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"]


def test_the_clock_reaching_an_open_tickets_deadline_counts_it_overdue_and_going_back_counts_again(
    world, hand, app, countings
):
    ticket = world.ticket("supervisor")
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("worker"))
    due = datetime.fromisoformat(world.get("supervisor", ticket).get_json()["deadlines"]["due_at"])
    travel_to(due - timedelta(minutes=1))
    before = district_map(world)
    assert district_map(world, before.headers["ETag"]).status_code == 304 and len(countings) == 1

    travel_to(due + timedelta(minutes=1))
    after = district_map(world, before.headers["ETag"])
    assert after.status_code == 200 and len(countings) == 2
    assert open_overdue(after)["C1"] == (open_overdue(before)["C1"][0], open_overdue(before)["C1"][1] + 1)
    assert after.get_data() == counted_afresh(world, app).get_data()

    travel_to(due - timedelta(minutes=1))  # the clock set back: counted again, the earlier map again
    back = district_map(world, before.headers["ETag"])
    assert back.status_code == 304


def test_a_rollup_rebuild_makes_the_next_map_count_again(world, hand, app, countings):
    first = district_map(world)
    with app.app_context():
        rebuild()
        db.session.commit()

    again = district_map(world, first.headers["ETag"])
    assert len(countings) == 2
    assert again.status_code == 304  # the rebuild counts what the changes counted


def test_a_cell_moved_to_another_community_moves_its_open_tickets_on_the_next_map(world, hand, app, countings):
    first = district_map(world)
    moved = world.client.patch(
        f"/api/v1/grids/{world.tree['G1b'].id}",
        json={"parent_id": str(world.tree["C2"].id)},
        headers=world.headers["admin"],
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)

    changed = district_map(world, first.headers["ETag"])
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert open_overdue(changed)["C2"][0] == open_overdue(first)["C2"][0] + 2  # t7 and t12 in G1b
    assert changed.get_data() == counted_afresh(world, app).get_data()


def test_layers_of_other_ranges_levels_and_subtrees_are_kept_apart(world, hand, countings):
    district = district_map(world)
    october = get(world, "admin", "heatmap", grid_id=world.tree["D"].id, **{"from": "2026-10-01", "to": "2026-10-31"})
    streets = get(world, "admin", "heatmap", grid_id=world.tree["D"].id, level="street", **NOVEMBER)
    street = get(world, "admin", "heatmap", grid_id=world.tree["S1"].id, **NOVEMBER)
    assert len(countings) == 4
    assert len({response.headers["ETag"] for response in (district, october, streets, street)}) == 4
    assert sum(figures(feature)[0] for feature in october.get_json()["features"]) == 0
    assert district_map(world).get_data() == district.get_data() and len(countings) == 4
