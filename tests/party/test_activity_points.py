"""Points for attendance (`activity.attended`): one entry per member marked present, by the rule in force on the
activity's Beijing-time day, within the rule's monthly cap; a withdrawn mark's counter-entry; a rule changed from a
later day leaving activities held before it alone.

The hand-worked month (the default rule: 2 points, at most 10 a Beijing-time month), for 李网格员, present at:

| activity | held (Beijing) | entry | December so far |
|---|---|---|---|
| A1 | 20 Nov 19:30 | +2 (November) | 0 |
| A2 | 1 Dec 07:00 (30 Nov in UTC) | +2 | 2 |
| A3 | 2 Dec | +2 | 4 |
| A4 – A6 | 3 – 5 Dec | +2 each | 10 (the cap) |
| A7 | 6 Dec | nothing: the cap is reached | 10 |
| A3 corrected: not present | | −2, dated 2 Dec, pointing at A3's entry | 8 |
| A8 | 7 Dec | +2 (the cap freed) | 10 |
| A3 corrected: present again | | nothing: the cap is reached | 10 |
| A8 cancelled | | −2, dated 7 Dec | 8 |

Ledger total: 2 + 8 = 10.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kernel import clock
from tests.support.activities import ACTIVITIES, MOMENT, Party, build_party


@pytest.fixture
def party(app, world, make_account, auth) -> Any:
    yield from build_party(app, world, make_account, auth)


def attend(party: Party, held_at: str, *, who: tuple[str, ...] = ("worker",), **fields: Any) -> dict[str, Any]:
    present = [party.members[name] for name in who]
    return party.record(held_at=held_at, present=present, absent=[], **fields)


def ledger(party: Party, who: str = "worker") -> dict[str, Any]:
    response = party.get(f"/api/v1/party/members/{party.members[who]}/points")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_attendance_points_of_a_hand_worked_month(party):
    a1 = attend(party, "2026-11-20T19:30:00+08:00")
    a2 = attend(party, "2026-12-01T07:00:00+08:00")
    a3 = attend(party, "2026-12-02T19:30:00+08:00")
    a4, a5, a6 = (attend(party, f"2026-12-0{day}T19:30:00+08:00") for day in (3, 4, 5))
    a7 = attend(party, "2026-12-06T19:30:00+08:00")
    assert [m["points"] for m in a7["present"]] == [0]
    withdrawn = party.patch(f"{ACTIVITIES}/{a3['id']}", present=[], note="签到表上没有李网格员")
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert withdrawn.get_json()["points"] == 0
    a8 = attend(party, "2026-12-07T19:30:00+08:00")
    again = party.patch(f"{ACTIVITIES}/{a3['id']}", present=[party.members["worker"]], note="核实后恢复")
    assert [m["points"] for m in again.get_json()["present"]] == [0]
    assert party.post(f"{ACTIVITIES}/{a8['id']}/cancel", reason="误录").status_code == 200

    book = ledger(party)
    rows = [(item["points"], item["running_total"], item["source_id"], item["occurred_at"]) for item in book["items"]]
    assert rows == [
        (2, 2, a1["id"], "2026-11-20T11:30:00Z"),
        (2, 4, a2["id"], "2026-11-30T23:00:00Z"),
        (2, 6, a3["id"], "2026-12-02T11:30:00Z"),
        (-2, 4, a3["id"], "2026-12-02T11:30:00Z"),
        (2, 6, a4["id"], "2026-12-03T11:30:00Z"),
        (2, 8, a5["id"], "2026-12-04T11:30:00Z"),
        (2, 10, a6["id"], "2026-12-05T11:30:00Z"),
        (2, 12, a8["id"], "2026-12-07T11:30:00Z"),
        (-2, 10, a8["id"], "2026-12-07T11:30:00Z"),
    ]
    assert book["total"] == 10
    assert {item["rule_code"] for item in book["items"]} == {"activity_attended"}
    assert {item["source_type"] for item in book["items"]} == {"activity"}
    assert {item["created_by"] for item in book["items"]} == {None}
    by_id = {item["id"]: item for item in book["items"]}
    counters = [item for item in book["items"] if item["points"] < 0]
    assert [by_id[item["corrects_id"]]["source_id"] for item in counters] == [a3["id"], a8["id"]]
    assert [item["note"] for item in book["items"][:2]] == ["十二月主题党日", "十二月主题党日"]
    assert party.get(f"{ACTIVITIES}/{a7['id']}").get_json()["points"] == 0


def test_each_member_present_earns_once_and_the_absent_nothing(party):
    activity = party.record()
    assert [(m["member_id"], m["points"]) for m in activity["present"]] == [
        (party.members["worker"], 2),
        (party.members["volunteer"], 2),
    ]
    same = [party.members["volunteer"], party.members["worker"]]
    unchanged = party.patch(f"{ACTIVITIES}/{activity['id']}", present=same)
    assert unchanged.get_json()["points"] == 4
    assert ledger(party, "retired")["items"] == []
    assert [item["points"] for item in ledger(party, "volunteer")["items"]] == [2]


def test_a_member_who_has_since_left_earns_nothing(party):
    left = party.patch(f"/api/v1/party/members/{party.members['retired']}", left_on="2026-12-08", active=False)
    assert left.status_code == 200
    activity = attend(party, "2026-12-05T19:30:00+08:00", who=("retired", "worker"))
    assert [(m["member_id"], m["points"]) for m in activity["present"]] == [
        (party.members["worker"], 2),
        (party.members["retired"], 0),
    ]


def test_a_rule_changed_from_a_later_day_does_not_reach_back(party):
    rule = {
        "code": "attended_from_15th",
        "name": "参加组织生活(新)",
        "points": 3,
        "trigger": "activity.attended",
        "effective_from": "2026-12-15",
    }
    assert party.post("/api/v1/party/point-rules", **rule).status_code == 201
    clock.travel(MOMENT + timedelta(days=6) - datetime.now(UTC))  # 16 December
    before = attend(party, "2026-12-12T19:30:00+08:00")
    after = attend(party, "2026-12-16T09:00:00+08:00")
    assert ([m["points"] for m in before["present"]], [m["points"] for m in after["present"]]) == ([2], [3])
    moved = party.patch(f"{ACTIVITIES}/{before['id']}", held_at="2026-12-15T19:30:00+08:00", note="日期记错")
    assert [m["points"] for m in moved.get_json()["present"]] == [3]
    rows = [(item["rule_code"], item["points"], item["occurred_at"]) for item in ledger(party)["items"]]
    assert rows == [
        ("activity_attended", 2, "2026-12-12T11:30:00Z"),
        ("activity_attended", -2, "2026-12-12T11:30:00Z"),
        ("attended_from_15th", 3, "2026-12-15T11:30:00Z"),
        ("attended_from_15th", 3, "2026-12-16T01:00:00Z"),
    ]


def test_the_default_rule_is_seeded_with_its_cap(party):
    rules = party.get("/api/v1/party/point-rules", trigger="activity.attended").get_json()["items"]
    assert [(r["code"], r["points"], r["monthly_cap"], r["effective_from"]) for r in rules] == [
        ("activity_attended", 2, 10, "2026-01-01")
    ]


def test_a_rule_patched_today_leaves_an_activity_held_before_today_at_the_old_points(party):
    changed = party.world.client.patch(
        "/api/v1/party/point-rules/activity_attended", json={"points": 4}, headers=party.headers["admin"]
    )
    assert changed.status_code == 200, changed.get_json()
    today = changed.get_json()["effective_from"]
    yesterday = attend(party, "2026-12-09T19:30:00+08:00")  # held before the change, recorded after it
    this_morning = attend(party, f"{today}T09:00:00+08:00")
    assert ([m["points"] for m in yesterday["present"]], [m["points"] for m in this_morning["present"]]) == ([2], [4])


def test_a_rule_patched_for_a_later_day_keeps_the_old_points_until_then(party):
    changed = party.world.client.patch(
        "/api/v1/party/point-rules/activity_attended",
        json={"points": 5, "effective_from": "2026-12-20"},
        headers=party.headers["admin"],
    )
    assert changed.status_code == 200, changed.get_json()
    rule = changed.get_json()
    assert [(v["effective_from"], v["points"]) for v in rule["versions"]] == [("2026-01-01", 2), ("2026-12-20", 5)]
    clock.travel(MOMENT + timedelta(days=12) - datetime.now(UTC))  # 22 December
    before = attend(party, "2026-12-10T19:30:00+08:00")
    after = attend(party, "2026-12-21T19:30:00+08:00")
    assert ([m["points"] for m in before["present"]], [m["points"] for m in after["present"]]) == ([2], [5])
