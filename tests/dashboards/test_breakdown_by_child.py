"""The breakdown by child at a city's scale (issue 28): the children's sums grouped over an array of their ids on
PostgreSQL, and their open work counted per owner's path in one join, still give each child's own summary
(docs/PERFORMANCE.md, "A city at scale", sixth session)."""

from typing import Any

import pytest

from tests.dashboards.test_stats_paging import ok
from tests.support.stats import NOVEMBER

FIGURES_NOT_OF_A_ROW = {"key", "name", "level", "direct", "grid", "from", "from_", "to", "category", "now"}


def _figures(body: dict[str, Any]) -> dict[str, Any]:
    now = {key: value for key, value in body["now"].items() if key != "as_of"}
    return {**{key: value for key, value in body.items() if key not in FIGURES_NOT_OF_A_ROW}, "now": now}


@pytest.mark.parametrize("category", [None, "CITY", "DISPUTE"])
@pytest.mark.parametrize(("who", "unit"), [("supervisor", None), ("admin", "D"), ("admin", "C1"), ("admin", "S1")])
def test_each_row_of_the_breakdown_by_child_is_that_childs_summary(world, hand, who, unit, category):
    """The children's sums (one statement over the units' array on PostgreSQL) and their open work (the open
    tickets counted per owner's path) agree with each child's own summary; the unit's `direct` row is the rest."""
    query = {**NOVEMBER, **({"category": category} if category else {})}
    scope = {"grid_id": world.tree[unit].id} if unit else {}
    items = ok(world, who, "breakdown?by=child", **scope, **query)["items"]
    children = [item for item in items if not item["direct"]]
    assert children
    for item in children:
        assert _figures(item) == _figures(ok(world, who, "summary", grid_id=item["key"], **query)), item["name"]
    whole = _figures(ok(world, who, "summary", **scope, **query))
    (direct,) = [item for item in items if item["direct"]] or [None]
    for name in ("received", "open", "resolved", "cancelled", "escalated"):
        in_children = sum(item[name] for item in children)
        assert whole[name] == in_children + (direct[name] if direct else 0), name
    for name in ("open", "overdue", "warned"):
        in_children = sum(item["now"][name] for item in children)
        assert whole["now"][name] == in_children + (direct["now"][name] if direct else 0), name


@pytest.mark.parametrize(("who", "unit"), [("supervisor", None), ("admin", "D"), ("admin", "C1")])
def test_the_units_leaderboard_scores_each_child_from_its_own_figures(world, hand, who, unit):
    """`leaderboard?of=unit` sums the children's rows the same way (names: the score's three inputs)."""
    scope = {"grid_id": world.tree[unit].id} if unit else {}
    ranked = ok(world, who, "leaderboard?of=unit", **scope, **NOVEMBER)["items"]
    rows = {item["key"]: item for item in ok(world, who, "breakdown?by=child", **scope, **NOVEMBER)["items"]}
    assert ranked and {item["key"] for item in ranked} <= set(rows)
    for item in ranked:
        child = rows[item["key"]]
        expected = (
            child["on_time_resolution_rate"]["numerator"],
            child["satisfaction_rate"]["numerator"],
            child["reopens"],
            child["satisfaction_rate"],
        )
        assert (item["resolved_on_time"], item["rated_good"], item["reopens"], item["satisfaction_rate"]) == expected
