"""A small world for the dashboards, whose every figure is worked out by hand in tests/dashboards/test_stats.py.

All twelve tickets are received on 10 November 2026 at 09:00 Beijing time (T0) and dispatched at T0; the
world then moves forward through `kernel.clock.travel`. See `hand_world` for who does what when.
"""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kernel import clock
from tests.support.tasks import World

BEIJING = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=BEIJING)
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def travel_to(moment: datetime) -> None:
    clock.travel(moment - datetime.now(UTC))


def at(minutes: float) -> None:
    travel_to(T0 + timedelta(minutes=minutes))


def rate(world: World, ticket: dict[str, Any], rating: int, who: str = "supervisor") -> dict[str, Any]:
    response = world.client.post(
        f"/api/v1/tickets/{ticket['id']}/feedback",
        json={"rating": rating, "channel": "visit"},
        headers=world.headers[who],
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def hand_world(world: World) -> dict[str, dict[str, Any]]:
    """t1..t9 and t11, t12 in street S1 (cells G1a, G1b of community C1); t10 in street S2.

    t1  accepted +30 min, resolved +2 h, rated 5 (closed)
    t2  accepted +90 min (late: 60 min allowed), resolved +30 h (late: 24 h allowed), rated 4 (closed)
    t3  accepted +10 min, resolved +3 h, rated 2 at +4 h (reopened), resolved again +5 h (on time, unrated)
    t4  accepted +20 min, still in progress
    t5  pending, never dispatched                        t6  cancelled
    t7  in G1b, dispatched to other_worker, never accepted
    t8  pending, escalated by the community's supervisor G1a -> S1 (handled at the street now)
    t9  hotline, 邻里纠纷 (DISPUTE.NEIGHBOR), accepted +5 min, resolved +1 h, closed by the supervisor
    t10 in G2a (street S2): far_worker accepts +10 min, resolves +2 h, rated 3 (closed)
    t11 merged into t5 (cancelled)                       t12 pending in G1b, never dispatched
    """
    at(0)
    tickets: dict[str, dict[str, Any]] = {}
    for name in ("t1", "t2", "t3", "t4", "t5", "t6", "t8", "t11"):
        tickets[name] = world.ticket()
    tickets["t7"] = world.ticket("supervisor", grid_id=str(world.tree["G1b"].id))
    tickets["t12"] = world.ticket("supervisor", grid_id=str(world.tree["G1b"].id))
    tickets["t9"] = world.ticket(channel="hotline", category_code="DISPUTE.NEIGHBOR")
    tickets["t10"] = world.ticket("far_worker", grid_id=str(world.tree["G2a"].id))
    for name in ("t1", "t2", "t3", "t4", "t9"):
        world.act("supervisor", tickets[name], "dispatch", assignee_id=world.id_of("worker"))
    world.act("supervisor", tickets["t7"], "dispatch", assignee_id=world.id_of("other_worker"))
    world.act("far_supervisor", tickets["t10"], "dispatch", assignee_id=world.id_of("far_worker"))
    world.act("supervisor", tickets["t6"], "cancel", reason="居民撤回")
    world.act("supervisor", tickets["t11"], "cancel", reason="重复工单", merged_into=tickets["t5"]["id"])
    world.act("community_supervisor", tickets["t8"], "escalate", reason="需街道协调")
    at(5)
    world.act("worker", tickets["t9"], "accept")
    at(10)
    world.act("worker", tickets["t3"], "accept")
    world.act("far_worker", tickets["t10"], "accept")
    at(20)
    world.act("worker", tickets["t4"], "accept")
    at(30)
    world.act("worker", tickets["t1"], "accept")
    at(60)
    world.act("worker", tickets["t9"], "resolve", note="已调解")
    world.act("supervisor", tickets["t9"], "close")
    at(90)
    world.act("worker", tickets["t2"], "accept")
    at(120)
    world.act("worker", tickets["t1"], "resolve", note="已清运")
    world.act("far_worker", tickets["t10"], "resolve", note="已清运")
    rate(world, tickets["t1"], 5)
    rate(world, tickets["t10"], 3, "far_supervisor")
    at(180)
    world.act("worker", tickets["t3"], "resolve", note="已清运")
    at(240)
    rate(world, tickets["t3"], 2)
    at(300)
    world.act("worker", tickets["t3"], "resolve", note="再次清运")
    at(30 * 60)
    world.act("worker", tickets["t2"], "resolve", note="已清运")
    rate(world, tickets["t2"], 4)
    return tickets
