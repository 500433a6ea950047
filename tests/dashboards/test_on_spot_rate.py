"""就地解决率 (the on-the-spot rate) and `escalated_out`, against a small world worked out by hand, counted
incrementally and by a rebuild alike.

Seven tickets received on 10 November 2026 (T0, Beijing) in community C1:

    a  G1a  the worker files it with handle: self and a resolution (就地办结)          on the spot
    b  G1a  filed by the supervisor, taken by the worker, resolved                   on the spot
    c  G1a  the worker files it with handle: self, still in progress               not (not resolved)
    d  G1a  dispatched to the worker, accepted, resolved                            not (dispatched)
    e  G1a  taken by the worker, escalated to C1, dispatched back to them, resolved  not (escalated)
    f  G1b  filed by the supervisor, taken by other_worker, resolved                on the spot
    g  G1a  filed by the supervisor, cancelled                                     not (cancelled)

C1 and S1: 3 on the spot of 7 received. G1a: 2 of 6 (a, b of a b c d e g), escalated_out 1 (e); G1b: 1 of 1.
The worker holds or resolved a b c d e: 2 of 5; other_worker 1 of 1.
"""

from typing import Any

from dashboards.rollups import rebuild
from kernel.extensions import db
from tests.dashboards.test_stats import facts_agree, ok, ratio, recount_agrees
from tests.support.stats import NOVEMBER, at


def _spot_world(world: Any) -> dict[str, dict[str, Any]]:
    at(0)
    g1b = str(world.tree["G1b"].id)
    tickets = {
        "a": world.ticket("worker", handle="self", resolution={"note": "已当场清理"}),
        "b": world.ticket("supervisor"),
        "c": world.ticket("worker", handle="self"),
        "d": world.ticket("supervisor"),
        "e": world.ticket("supervisor"),
        "f": world.ticket("supervisor", grid_id=g1b),
        "g": world.ticket("supervisor"),
    }
    at(10)
    world.act("worker", tickets["b"], "take")
    world.act("supervisor", tickets["d"], "dispatch", assignee_id=world.id_of("worker"))
    world.act("worker", tickets["d"], "accept")
    world.act("worker", tickets["e"], "take")
    world.act("worker", tickets["e"], "escalate", reason="需社区协调")
    world.act("community_supervisor", tickets["e"], "dispatch", assignee_id=world.id_of("worker"))
    world.act("worker", tickets["e"], "accept")
    world.act("other_worker", tickets["f"], "take")
    world.act("supervisor", tickets["g"], "cancel", reason="居民撤回")
    at(60)
    for name in ("b", "d", "e"):
        world.act("worker", tickets[name], "resolve", note="已处理")
    world.act("other_worker", tickets["f"], "resolve", note="已处理")
    return tickets


def test_the_on_the_spot_rate_matches_the_hand_worked_example(world):
    _spot_world(world)
    for who in ("community_supervisor", "supervisor"):
        body = ok(world, who, "summary", **NOVEMBER)
        assert (body["received"], body["on_spot"]) == (7, 3)
        assert body["on_spot_rate"] == ratio(3, 7)


def test_the_breakdowns_give_the_rate_per_cell_and_per_worker(world):
    _spot_world(world)
    cells = {
        item["name"]: item for item in ok(world, "community_supervisor", "breakdown?by=child", **NOVEMBER)["items"]
    }
    g1a, g1b = world.tree["G1a"].name, world.tree["G1b"].name
    assert cells[g1a]["on_spot_rate"] == ratio(2, 6)
    assert cells[g1a]["escalated_out"] == 1  # e, held by the community now
    assert cells[g1b]["on_spot_rate"] == ratio(1, 1)
    workers = {
        item["key"]: item for item in ok(world, "community_supervisor", "breakdown?by=worker", **NOVEMBER)["items"]
    }
    assert workers[world.id_of("worker")]["on_spot_rate"] == ratio(2, 5)
    assert workers[world.id_of("other_worker")]["on_spot_rate"] == ratio(1, 1)


def test_the_timeseries_gives_the_rate_per_day(world):
    _spot_world(world)
    items = ok(world, "community_supervisor", "timeseries", **NOVEMBER)["items"]
    tenth = next(item for item in items if item["start"] == "2026-11-10")
    assert (tenth["on_spot"], tenth["on_spot_rate"]) == (3, ratio(3, 7))
    assert all(item["on_spot"] == 0 for item in items if item["start"] != "2026-11-10")


def test_a_reopened_ticket_handled_on_the_spot_counts_again_once_resolved_again(world):
    tickets = _spot_world(world)
    at(90)
    world.act("supervisor", tickets["b"], "reopen", reason="没有清理干净")
    assert ok(world, "supervisor", "summary", **NOVEMBER)["on_spot"] == 2
    world.act("worker", tickets["b"], "resolve", note="再次清理")
    assert ok(world, "supervisor", "summary", **NOVEMBER)["on_spot"] == 3


def test_the_incremental_rollups_agree_with_a_recount_and_a_rebuild(app, world):
    _spot_world(world)
    recount_agrees(app)
    facts_agree(app)
    before = ok(world, "supervisor", "summary", **NOVEMBER)
    with app.app_context():
        rebuild.rebuild()
        db.session.commit()
    recount_agrees(app)
    facts_agree(app)
    assert ok(world, "supervisor", "summary", **NOVEMBER) | {"now": None} == before | {"now": None}
    child = ok(world, "community_supervisor", "breakdown?by=child", **NOVEMBER)
    assert {item["name"]: item["escalated_out"] for item in child["items"]}[world.tree["G1a"].name] == 1
