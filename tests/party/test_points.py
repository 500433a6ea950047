"""The points ledger (积分考核): rules as data, entries written from ticket events, manual entries and
corrections, the ledger with its running total, rankings, disputes; each role allowed and refused.

The party side of the tickets' `world`: C1's branch (on community C1) holds 李网格员 (the worker's member) and
陈志愿者 (the volunteer's, the branch's secretary); C2's branch (on C2) holds a member without an account. One
party staff account is placed on C1's branch, another on C2's.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from kernel import clock
from kernel.extensions import db
from party.orgs.models import PartyOrg
from party.points import service as points
from party.points.models import PointDispute, PointEntry
from tests.support.http import assert_error
from tests.support.party import make_org, place_staff, register_member, seed_classes
from tests.support.statements import statements_sent

RULES = "/api/v1/party/point-rules"
ENTRIES = "/api/v1/party/points"
# 10:00 in Beijing on 10 December 2026: the whole example falls in one Beijing-time month.
MOMENT = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)


@dataclass
class Party:
    world: Any
    orgs: dict[str, PartyOrg]
    members: dict[str, str]  # who: member id
    headers: dict[str, dict[str, str]]

    def get(self, url: str, who: str = "admin", **params: Any) -> Any:
        return self.world.client.get(url, query_string=params, headers=self.headers[who])

    def post(self, url: str, who: str = "admin", **body: Any) -> Any:
        return self.world.client.post(url, json=body, headers=self.headers[who])

    def ledger(self, who: str = "worker") -> dict[str, Any]:
        response = self.get(f"/api/v1/party/members/{self.members[who]}/points")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def manual(self, who: str = "admin", *, member: str = "worker", expect: int = 201, **fields: Any) -> Any:
        body = {"member_id": self.members[member], "points": 2, "rule_code": "manual", "note": "社区志愿服务", **fields}
        response = self.post(ENTRIES, who, **body)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()


@pytest.fixture
def party(app, world, make_account, auth) -> Any:
    clock.travel(MOMENT - datetime.now(UTC))
    seed_classes(app)
    with app.app_context():
        points.seed_default_rules()
        db.session.commit()
    c1 = make_org(app, "C1党支部", grid=world.tree["C1"])
    c2 = make_org(app, "C2党支部", grid=world.tree["C2"])
    members = {
        "worker": register_member(app, c1, "李网格员", account=world.accounts["worker"]),
        "volunteer": register_member(app, c1, "陈志愿者", account=world.accounts["volunteer"]),
        "far": register_member(app, c2, "王党员"),
    }
    with app.app_context():
        db.session.get(PartyOrg, c1.id).secretary_id = int(members["volunteer"])
        db.session.commit()
    staff, far_staff = make_account("party_staff"), make_account("party_staff")
    place_staff(app, staff, c1)
    place_staff(app, far_staff, c2)
    headers = {**world.headers, "staff": auth(staff), "far_staff": auth(far_staff)}
    yield Party(world, {"C1": c1, "C2": c2}, members, headers)
    clock.travel(timedelta(0))


def entries(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PointEntry))


def rate(world, ticket, rating: int) -> None:
    world.act("supervisor", ticket, "feedback", rating=rating, channel="sms")


# --- the hand-worked example ------------------------------------------------------------------------


def test_the_ledger_of_a_hand_worked_month(app, party):
    world = party.world
    capped = world.client.patch(f"{RULES}/ticket_on_time", json={"monthly_cap": 12}, headers=world.headers["admin"])
    assert capped.status_code == 200, capped.get_json()
    late = world.in_progress()  # 24 hours to resolve garbage
    clock.travel(MOMENT + timedelta(hours=25) - datetime.now(UTC))
    world.act("worker", late, "resolve", note="已清运")  # late: nothing
    first, second, third, fourth = (world.resolved() for _ in range(4))  # +5, +5, +2 (the cap of 12), nothing
    rate(world, first, 1)  # reopened against the worker: -5 taking back the first, and the -5 deduction
    world.act("worker", first, "resolve", note="已重新清运")  # on time again: +5 (the cap counts the take-back)
    rate(world, second, 5)  # +3
    other = world.ticket("supervisor", grid_id=str(world.tree["G1b"].id))
    world.act("supervisor", other, "dispatch", assignee_id=world.id_of("other_worker"))
    world.act("other_worker", other, "accept")
    world.act("other_worker", other, "resolve", note="已清运")  # no member: nothing
    ledger = party.ledger()
    third_entry = ledger["items"][2]
    party.manual(points=1, corrects_id=third_entry["id"], note="上报漏记一次，补记")
    ledger = party.ledger()

    rows = [(item["rule_code"], item["points"], item["running_total"], item["source_id"]) for item in ledger["items"]]
    assert rows == [
        ("ticket_on_time", 5, 5, first["id"]),
        ("ticket_on_time", 5, 10, second["id"]),
        ("ticket_on_time", 2, 12, third["id"]),
        ("ticket_on_time", -5, 7, first["id"]),
        ("ticket_reopened", -5, 2, first["id"]),
        ("ticket_on_time", 5, 7, first["id"]),
        ("ticket_rated_good", 3, 10, second["id"]),
        ("manual", 1, 11, None),
    ]
    assert ledger["total"] == 11 and ledger["brought_forward"] == 0
    assert ledger["items"][3]["corrects_id"] == ledger["items"][0]["id"]
    correction = ledger["items"][7]
    assert (correction["source_type"], correction["corrects_id"], correction["created_by"]) == (
        "correction",
        third_entry["id"],
        world.id_of("admin"),
    )
    assert all(item["source_id"] != late["id"] and item["source_id"] != fourth["id"] for item in ledger["items"])
    assert party.ledger("volunteer")["items"] == []


def test_a_claimed_ticket_resolved_earns_the_claim_rule(party):
    world = party.world
    ticket = world.ticket(category_code="SERVICE.ELDERLY")
    world.act("volunteer", ticket, "claim")
    world.act("volunteer", ticket, "resolve", note="已陪同就医")
    items = party.ledger("volunteer")["items"]
    assert [(item["rule_code"], item["points"], item["source_id"]) for item in items] == [
        ("claim_resolved", 5, ticket["id"])
    ]


def test_a_rule_change_applies_from_then_on_and_leaves_written_entries(party):
    world = party.world
    world.resolved()
    changed = world.client.patch(f"{RULES}/ticket_on_time", json={"points": 8}, headers=world.headers["admin"])
    assert changed.status_code == 200
    assert changed.get_json()["effective_from"] == "2026-12-10"
    world.resolved()
    assert [item["points"] for item in party.ledger()["items"]] == [5, 8]


def test_a_rule_added_for_a_later_day_takes_over_on_that_day(party):
    world = party.world
    body = {"code": "on_time_2027", "name": "按时办结(2027)", "points": 7, "trigger": "ticket.resolved_on_time"}
    assert party.post(RULES, **body, effective_from="2026-12-11").status_code == 201
    world.resolved()
    clock.travel(MOMENT + timedelta(days=1) - datetime.now(UTC))
    world.resolved()
    assert [item["rule_code"] for item in party.ledger()["items"]] == ["ticket_on_time", "on_time_2027"]


def test_a_member_who_left_earns_nothing(app, party):
    world = party.world
    left = world.client.patch(
        f"/api/v1/party/members/{party.members['worker']}",
        json={"left_on": "2026-12-01", "active": False},
        headers=world.headers["admin"],
    )
    assert left.status_code == 200
    world.resolved()
    assert entries(app) == 0


def test_a_resolution_by_an_assignee_who_is_no_member_asks_the_party_tables_nothing(app, party):
    world = party.world
    ticket = world.ticket("supervisor", grid_id=str(world.tree["G1b"].id))
    world.act("supervisor", ticket, "dispatch", assignee_id=world.id_of("other_worker"))
    world.act("other_worker", ticket, "accept")
    with statements_sent(app) as seen:
        world.act("other_worker", ticket, "resolve", note="已清运")
        rate(world, ticket, 5)
    party_tables = ("party_points", "party_point_rules", "party_members")
    assert seen and not [statement for statement in seen if any(table in statement for table in party_tables)]


# --- rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "staff", "supervisor"])
def test_party_readers_read_the_rules(party, who):
    response = party.get(RULES, who, trigger="ticket.reopened")
    assert response.status_code == 200
    assert [(rule["code"], rule["points"]) for rule in response.get_json()["items"]] == [("ticket_reopened", -5)]


@pytest.mark.parametrize("who", ["worker", "volunteer"])
def test_others_do_not_read_the_rules(party, who):
    assert_error(party.get(RULES, who), 403, "forbidden")


def test_only_admins_write_rules(party):
    body = {"code": "good_deed", "name": "好人好事", "points": 2, "trigger": "manual"}
    assert_error(party.post(RULES, "staff", **body), 403, "forbidden")
    patched = party.world.client.patch(f"{RULES}/manual", json={"name": "x"}, headers=party.headers["staff"])
    assert_error(patched, 403, "forbidden")
    created = party.post(RULES, **body)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["effective_from"] == "2026-12-10"
    assert_error(party.post(RULES, **body), 409, "conflict")


@pytest.mark.parametrize(
    "fields",
    [
        {"trigger": "ticket.closed"},
        {"code": "Bad Code"},
        {"points": "5"},
        {"monthly_cap": 0},
        {"effective_from": "2026-12-09"},
        {"name": " "},
    ],
)
def test_a_bad_rule_is_422_and_nothing_is_written(app, party, fields):
    body = {"code": "good_deed", "name": "好人好事", "points": 2, "trigger": "manual", **fields}
    assert_error(party.post(RULES, **body), 422, "validation_error")
    assert party.get(f"{RULES}/good_deed").status_code == 404


def test_a_rule_cannot_change_retroactively(party):
    response = party.world.client.patch(
        f"{RULES}/ticket_on_time", json={"points": 9, "effective_from": "2026-01-01"}, headers=party.headers["admin"]
    )
    assert_error(response, 422, "validation_error")
    assert party.get(f"{RULES}/ticket_on_time").get_json()["points"] == 5


# --- manual entries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_admins_and_the_staff_over_the_member_write_manual_entries(party, who):
    entry = party.manual(who)
    assert (entry["points"], entry["source_type"], entry["note"]) == (2, "manual", "社区志愿服务")
    assert party.ledger()["total"] == 2


def test_staff_of_another_organisation_do_not_see_the_member(app, party):
    assert_error(
        party.post(
            ENTRIES, "far_staff", member_id=party.members["worker"], points=2, rule_code="manual", note="社区志愿服务"
        ),
        404,
        "not_found",
    )
    assert entries(app) == 0


@pytest.mark.parametrize("who", ["supervisor", "worker", "volunteer"])
def test_others_write_no_manual_entries(app, party, who):
    party.manual(who, expect=403)
    assert entries(app) == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"note": None},
        {"note": ""},
        {"points": 0},
        {"points": "2"},
        {"rule_code": "ticket_on_time"},
        {"rule_code": "no_such_rule"},
        {"member_id": 7},
        {"corrects_id": "999999"},
        {"extra": 1},
    ],
)
def test_a_bad_manual_entry_is_422_and_nothing_is_written(app, party, fields):
    body = {"member_id": party.members["worker"], "points": 2, "rule_code": "manual", "note": "社区志愿服务", **fields}
    body = {key: value for key, value in body.items() if value is not None}
    assert_error(party.post(ENTRIES, **body), 422, "validation_error")
    assert entries(app) == 0


# --- reading the ledger ------------------------------------------------------------------------------


def test_a_member_reads_their_own_points(party):
    party.manual()
    mine = party.get("/api/v1/party/me/points", "worker")
    assert mine.status_code == 200
    assert (mine.get_json()["member_id"], mine.get_json()["total"]) == (party.members["worker"], 2)
    own = party.get(f"/api/v1/party/members/{party.members['worker']}/points", "worker")
    assert own.get_json()["total"] == 2


def test_a_caller_without_a_member_record_has_no_points(party):
    assert_error(party.get("/api/v1/party/me/points", "other_worker"), 404, "not_found")


@pytest.mark.parametrize("who", ["volunteer", "far_staff", "far_supervisor", "other_worker"])
def test_the_ledger_of_a_member_out_of_sight_is_404(party, who):
    assert_error(party.get(f"/api/v1/party/members/{party.members['worker']}/points", who), 404, "not_found")


@pytest.mark.parametrize("who", ["admin", "staff", "supervisor"])
def test_readers_in_scope_read_a_members_ledger(party, who):
    assert party.get(f"/api/v1/party/members/{party.members['worker']}/points", who).status_code == 200


def test_the_ledger_between_two_days_brings_the_balance_forward(party):
    party.manual(points=3)
    clock.travel(MOMENT + timedelta(days=2) - datetime.now(UTC))
    party.manual(points=4)
    url = f"/api/v1/party/members/{party.members['worker']}/points"
    body = party.get(url, **{"from": "2026-12-11", "to": "2026-12-12"}).get_json()
    assert (body["brought_forward"], body["total"]) == (3, 7)
    assert [(item["points"], item["running_total"]) for item in body["items"]] == [(4, 7)]
    assert_error(party.get(url, **{"from": "2026-12-12", "to": "2026-12-11"}), 422, "validation_error")


# --- rankings --------------------------------------------------------------------------------------------


def test_rankings_share_ties(app, party):
    third = register_member(app, party.orgs["C1"], "赵党员")
    party.manual(points=5)
    party.manual(member="volunteer", points=5)
    party.manual(member="far", points=1)
    response = party.get("/api/v1/party/rankings", period="month")
    assert response.status_code == 200
    body = response.get_json()
    assert [(row["rank"], row["member_id"], row["points"]) for row in body["members"]] == [
        (1, party.members["worker"], 5),
        (1, party.members["volunteer"], 5),
        (3, party.members["far"], 1),
        (4, third, 0),
    ]
    assert [(row["rank"], row["name"], row["points"]) for row in body["orgs"]] == [
        (1, "C1党支部", 10),
        (2, "C2党支部", 1),
    ]
    scoped = party.get("/api/v1/party/rankings", "staff").get_json()
    assert [row["name"] for row in scoped["orgs"]] == ["C1党支部"]
    next_year = party.get("/api/v1/party/rankings", period="year", at="2027-01-01").get_json()
    assert {row["points"] for row in next_year["members"]} == {0}


def test_rankings_refuse_whom_they_should(party):
    assert_error(party.get("/api/v1/party/rankings", "worker"), 403, "forbidden")
    assert_error(party.get("/api/v1/party/rankings", "far_staff", org_id=party.orgs["C1"].id), 404, "not_found")
    assert_error(party.get("/api/v1/party/rankings", period="week"), 422, "validation_error")


# --- disputes --------------------------------------------------------------------------------------------


def test_a_member_disputes_an_entry_and_the_secretary_corrects_it(app, party):
    entry = party.manual(points=2)
    opened = party.post(f"{ENTRIES}/{entry['id']}/disputes", "worker", reason="少记了一次服务")
    assert opened.status_code == 201, opened.get_json()
    dispute = opened.get_json()
    assert dispute["status"] == "open"
    assert_error(party.post(f"{ENTRIES}/{entry['id']}/disputes", "worker", reason="再次申诉"), 409, "conflict")
    url = f"/api/v1/party/disputes/{dispute['id']}/resolve"
    assert_error(party.post(url, "worker", outcome="corrected", note="自己改", points=5), 403, "forbidden")
    assert_error(party.post(url, "far_staff", outcome="upheld", note="维持原分"), 404, "not_found")
    assert_error(party.post(url, "volunteer", outcome="corrected", note="补记"), 422, "validation_error")
    resolved = party.post(url, "volunteer", outcome="corrected", note="核实后补记 2 分", points=2)
    assert resolved.status_code == 200, resolved.get_json()
    settled = resolved.get_json()
    assert (settled["status"], settled["resolved_by"]) == ("corrected", party.world.id_of("volunteer"))
    items = party.ledger()["items"]
    assert [(item["points"], item["corrects_id"], item["running_total"]) for item in items] == [
        (2, None, 2),
        (2, entry["id"], 4),
    ]
    assert settled["correction_id"] == items[1]["id"]
    assert_error(party.post(url, "staff", outcome="upheld", note="维持原分"), 409, "conflict")


def test_staff_uphold_a_dispute_and_it_stays_on_record(app, party):
    entry = party.manual(points=-2, note="未按时参加组织生活")
    dispute = party.post(f"{ENTRIES}/{entry['id']}/disputes", "worker", reason="当天请过假").get_json()
    response = party.post(
        f"/api/v1/party/disputes/{dispute['id']}/resolve", "staff", outcome="upheld", note="无请假记录"
    )
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["correction_id"]) == ("upheld", None)
    assert party.ledger()["total"] == -2
    with app.app_context():
        stored = db.session.get(PointDispute, int(dispute["id"]))
        assert (stored.reason, stored.resolution_note) == ("当天请过假", "无请假记录")


def test_only_the_member_disputes_their_entry(app, party):
    entry = party.manual()
    assert_error(party.post(f"{ENTRIES}/{entry['id']}/disputes", "staff", reason="代为申诉"), 403, "forbidden")
    assert_error(party.post(f"{ENTRIES}/{entry['id']}/disputes", "volunteer", reason="代为申诉"), 404, "not_found")
    assert_error(party.post(f"{ENTRIES}/{entry['id']}/disputes", "worker", reason=""), 422, "validation_error")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PointDispute)) == 0


def test_a_rule_keeps_its_versions_and_a_second_change_on_one_day_replaces_that_days(party):
    admin = party.headers["admin"]
    client = party.world.client
    assert client.patch(f"{RULES}/ticket_on_time", json={"points": 8}, headers=admin).status_code == 200
    again = client.patch(f"{RULES}/ticket_on_time", json={"monthly_cap": 20}, headers=admin)
    scheduled = client.patch(
        f"{RULES}/ticket_on_time", json={"active": False, "effective_from": "2027-01-01"}, headers=admin
    )
    assert again.status_code == scheduled.status_code == 200
    rule = scheduled.get_json()
    assert [(v["effective_from"], v["points"], v["monthly_cap"], v["active"]) for v in rule["versions"]] == [
        ("2026-01-01", 5, None, True),
        ("2026-12-10", 8, 20, True),
        ("2027-01-01", 8, 20, False),
    ]
    assert (rule["points"], rule["active"], rule["effective_from"]) == (8, False, "2027-01-01")  # the latest
    party.world.resolved()
    assert [item["points"] for item in party.ledger()["items"]] == [8]  # today's version, not the scheduled one


def test_a_rule_not_yet_in_force_is_changed_as_scheduled(party):
    body = {"code": "on_time_2027", "name": "按时办结(2027)", "points": 7, "trigger": "ticket.resolved_on_time"}
    assert party.post(RULES, **body, effective_from="2026-12-20").status_code == 201
    changed = party.world.client.patch(f"{RULES}/on_time_2027", json={"points": 9}, headers=party.headers["admin"])
    assert [(v["effective_from"], v["points"]) for v in changed.get_json()["versions"]] == [("2026-12-20", 9)]
    party.world.resolved()
    assert [item["rule_code"] for item in party.ledger()["items"]] == ["ticket_on_time"]


@pytest.mark.parametrize("at", ["0001-01-01", "9999-12-31"])
def test_rankings_of_a_day_out_of_range_is_422_not_500(party, at):
    # Found by schemathesis: the first and last years have no Beijing-time year around them to count in.
    for period in ("month", "quarter", "year"):
        response = party.get("/api/v1/party/rankings", period=period, at=at)
        assert_error(response, 422, "validation_error")
        assert "at" in response.get_json()["error"]["details"]
