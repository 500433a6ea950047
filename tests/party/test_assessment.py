"""考评: the party summary of a subtree and period against a hand-worked example, who may read it, and an
alliance's year as JSON and as a workbook.

The small world (tests/support/assessment.py) sits on the alliances' party (tests/support/alliances.py): the
summary is asked for street S1 (communities C1 › cells G1a, G1b) over November 2026 (Beijing days); S2 and its
community C2 are outside. Each figure is worked out by hand in the comments of `hand_world`.
"""

from collections.abc import Iterator
from datetime import date
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from party.activities.models import ActivityStatus
from party.alliances.models import AllianceStatus
from party.checkins.models import CheckInStatus
from party.lists.models import NeedKind, NeedStatus, ProjectStatus, RatingSource
from tests.support.activities import build_party
from tests.support.alliances import ALLIANCES, Alliances, build_alliances
from tests.support.assessment import Rows, at
from tests.support.http import assert_error
from tests.support.party import register_member

SUMMARY = "/api/v1/party/stats/summary"
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def al(app, world, make_account, auth) -> Iterator[Alliances]:
    for party in build_party(app, world, make_account, auth):
        yield build_alliances(app, party, make_account, auth)


@pytest.fixture
def hand(app, al) -> dict[str, Any]:
    return hand_world(app, al)


def hand_world(app: Any, al: Alliances) -> dict[str, Any]:
    """The rows below, each with what it adds to S1's November summary."""
    rows = Rows(app, al.party.world.tree)
    c1, c2, street = al.orgs["C1"].id, al.orgs["C2"].id, al.orgs["street"].id
    group, hospital = al.orgs["group"].id, al.orgs["hospital"].id
    # Needs (kind need) raised in S1 in November: n1, n2, n3, n4, n5, n8 = 6; withdrawn: n5 = 1, so 5 live.
    # Matched (given to someone, or met): n1, n2, n3 = 3 of 5. Met: n1, n2 = 2 of 5. On time: n1 (met 18th, due
    # 20th); n2 was met on the 25th, due the 15th: 1 of 2.
    n1 = rows.need("G1a", at("2026-11-03"), NeedStatus.MET, due_on=date(2026, 11, 20), met_at=at("2026-11-18"))
    n2 = rows.need("C1", at("2026-11-10"), NeedStatus.MET, due_on=date(2026, 11, 15), met_at=at("2026-11-25"))
    n3 = rows.need("G1b", at("2026-11-12"), NeedStatus.IN_PROJECT)
    rows.need("G1a", at("2026-11-20"), NeedStatus.PUBLISHED)  # n4: not given to anyone yet
    rows.need("G1a", at("2026-11-21"), NeedStatus.WITHDRAWN)  # n5
    n6 = rows.need("G1a", at("2026-10-30"), NeedStatus.MET, met_at=at("2026-11-02"))  # raised in October: out
    n7 = rows.need("G2a", at("2026-11-05"), NeedStatus.MET, met_at=at("2026-11-06"))  # in S2: out
    rows.need("S1", at("2026-11-30", 23, 30), NeedStatus.OPEN)  # n8: the last half hour of November, Beijing
    rows.need("S1", at("2026-12-01", 0, 10), NeedStatus.OPEN)  # n9: 16:10 UTC on 30 November, but December here
    # Wishes: w1 met (no due day: on time), w2 claimed: raised 2, matched 2 of 2, met 1 of 2, on time 1 of 1.
    rows.need("G1a", at("2026-11-08"), NeedStatus.MET, kind=NeedKind.WISH, met_at=at("2026-11-09"))
    rows.need("G1a", at("2026-11-09"), NeedStatus.CLAIMED, kind=NeedKind.WISH)
    # Projects opened in November in S1: p1 done, p2 done, p3 under way = 3 (p4 opened in October, p5 in S2).
    p1 = rows.project(n1, "G1a", at("2026-11-04"), ProjectStatus.DONE, c1)
    p2 = rows.project(n2, "C1", at("2026-11-11"), ProjectStatus.DONE, c1)
    rows.project(n3, "G1b", at("2026-11-13"), ProjectStatus.UNDER_WAY, c1)
    p4 = rows.project(n6, "G1a", at("2026-10-20"), ProjectStatus.DONE, c1)
    p5 = rows.project(n7, "G2a", at("2026-11-05"), ProjectStatus.DONE, c2)
    # Resources offered in November in S1, active: r1 (hours 40, 10 reserved), r2 (seats 30, none), r3 (hours 20,
    # all reserved) = 3; used r1, r3 = 2 of 3. Hours: 2 offered, 60 capacity, 30 reserved; seats: 1, 30, 0.
    rows.resource("G1a", at("2026-11-02"), c1, unit="hours", capacity=40, reserved=10)
    rows.resource("C1", at("2026-11-05"), hospital, unit="seats", capacity=30, reserved=0)
    rows.resource("S1", at("2026-11-06"), street, unit="hours", capacity=20, reserved=20)
    rows.resource("C1", at("2026-11-07"), c1, unit="yuan", capacity=500, reserved=0, active=False)  # withdrawn
    rows.resource("C1", at("2026-10-01"), c1, unit="hours", capacity=8, reserved=8)  # offered in October
    rows.resource("G2a", at("2026-11-03"), c2, unit="hours", capacity=8, reserved=0)  # in S2
    # Ratings given in November to S1's projects: residents' and visits' 5 (p1), 3 (p1, visit), 2 (p2), 4 (p4,
    # opened in October but rated now) = 4, sum 14, average 3.5, satisfied (4 or 5) 2 of 4. Member
    # organisations': 4 (p1) = 1, average 4.0. Out: p5's (S2), and p2's given on 1 December.
    rows.rating(n1, p1, 5, RatingSource.RESIDENT, at("2026-11-20"))
    rows.rating(n1, p1, 3, RatingSource.VISIT, at("2026-11-21"))
    rows.rating(n1, p1, 4, RatingSource.MEMBER_ORG, at("2026-11-22"), rater_org_id=hospital)
    rows.rating(n2, p2, 2, RatingSource.RESIDENT, at("2026-11-26"))
    rows.rating(n6, p4, 4, RatingSource.RESIDENT, at("2026-11-05"))
    rows.rating(n7, p5, 5, RatingSource.RESIDENT, at("2026-11-07"))
    rows.rating(n2, p2, 5, RatingSource.VISIT, at("2026-12-01", 9))
    # Alliances serving S1: a1 active (S1), a2 proposed (C1), a4 dissolved (G1a); a3 serves S2.
    a1 = rows.alliance("S1", street, AllianceStatus.ACTIVE, at("2026-03-01"))
    rows.alliance("C1", c1, AllianceStatus.PROPOSED, at("2026-11-15"))
    a3 = rows.alliance("S2", c2, AllianceStatus.ACTIVE, at("2026-03-01"))
    a4 = rows.alliance("G1a", c1, AllianceStatus.DISSOLVED, at("2026-04-01"))
    # Meetings held in November by S1's alliances: m1 (a1), m4 (a4) = 2. Out: m2 cancelled, m3 in October, m5 a3's.
    rows.meeting(a1, street, at("2026-11-10", 14))
    rows.meeting(a1, street, at("2026-11-20", 14), ActivityStatus.CANCELLED)
    rows.meeting(a1, street, at("2026-10-25", 14))
    rows.meeting(a4, c1, at("2026-11-02", 14))
    rows.meeting(a3, c2, at("2026-11-15", 14))
    # 双报到 with C1, checked in at some time in November: mem1 (since October), mem2 (confirmed the 15th), mem4
    # (ended the 10th) = 3. Out: mem3 (ended 31 October), mem5 (pending), mem6 (C2), mem7 (confirmed in December).
    members = [register_member(app, al.orgs["C1"], f"报到党员{i}") for i in range(1, 8)]
    mem1, mem2, mem3, mem4, mem5, mem6, mem7 = members
    ci1 = rows.check_in(mem1, c1, "C1", CheckInStatus.CONFIRMED, at("2026-10-01"))
    ci2 = rows.check_in(mem2, c1, "C1", CheckInStatus.CONFIRMED, at("2026-11-15"))
    rows.check_in(mem3, c1, "C1", CheckInStatus.ENDED, at("2026-09-01"), ended_on=date(2026, 10, 31))
    rows.check_in(mem4, c1, "C1", CheckInStatus.ENDED, at("2026-09-01"), ended_on=date(2026, 11, 10))
    rows.check_in(mem5, c1, "C1", CheckInStatus.PENDING, None)
    ci6 = rows.check_in(mem6, c1, "C2", CheckInStatus.CONFIRMED, at("2026-10-01"))
    rows.check_in(mem7, c1, "C1", CheckInStatus.CONFIRMED, at("2026-12-05"))
    # Their service in November: 2.5 h (mem1) + 1.5 h (mem2) = 2 records, 4.0 h. Out: a withdrawn 3 h, 2 h in
    # October, 1 h in C2.
    rows.service(ci1, mem1, "2.5", at("2026-11-05"))
    rows.service(ci2, mem2, "1.5", at("2026-11-20"))
    rows.service(ci1, mem1, "3", at("2026-11-06"), withdrawn=True)
    rows.service(ci1, mem1, "2", at("2026-10-30"))
    rows.service(ci6, mem6, "1", at("2026-11-07"))
    # Points dated in November for members of C1's branch and below (the organisations built on S1's units; the
    # street committee too, but it has no entry): +5 and -5 (the worker's member), +2 (the volunteer's, in the
    # group) = awarded 7, deducted -5, net 2, 2 members. Out: October's +3, C2's +4, the hospital's +7.
    worker, volunteer = al.party.members["worker"], al.party.members["volunteer"]
    rows.points(worker, c1, 5, at("2026-11-03"))
    rows.points(worker, c1, -5, at("2026-11-15"))
    rows.points(volunteer, group, 2, at("2026-11-20"))
    rows.points(worker, c1, 3, at("2026-10-31"))
    rows.points(al.party.members["far"], c2, 4, at("2026-11-04"))
    hospital_member = register_member(app, al.orgs["hospital"], "医生党员")
    rows.points(hospital_member, hospital, 7, at("2026-11-04"))
    return {"a1": a1}


def rate(numerator: int, denominator: int) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator, "rate": round(numerator / denominator, 4)}


def test_the_summary_of_s1_in_november_matches_the_hand_worked_figures(al, hand):
    response = al.get(SUMMARY, "supervisor", grid_id=str(al.party.world.tree["S1"].id), **NOVEMBER)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["grid_id"], body["from"], body["to"]) == (str(al.party.world.tree["S1"].id), *NOVEMBER.values())
    assert body["needs"] == {
        "raised": 6,
        "withdrawn": 1,
        "matched": rate(3, 5),
        "met": rate(2, 5),
        "met_on_time": rate(1, 2),
    }
    assert body["wishes"] == {
        "raised": 2,
        "withdrawn": 0,
        "matched": rate(2, 2),
        "met": rate(1, 2),
        "met_on_time": rate(1, 1),
    }
    assert body["projects"] == {"planned": 0, "under_way": 1, "done": 2, "abandoned": 0, "total": 3}
    assert body["resources"] == {
        "offered": 3,
        "used": rate(2, 3),
        "by_unit": [
            {"unit": "hours", "offered": 2, "capacity": 60, "reserved": 30},
            {"unit": "seats", "offered": 1, "capacity": 30, "reserved": 0},
        ],
    }
    assert body["alliances"] == {"proposed": 1, "active": 1, "dissolved": 1}
    assert body["meetings"] == {"held": 2}
    assert body["ratings"] == {
        "residents": {"count": 4, "average": 3.5, "satisfied": rate(2, 4)},
        "member_orgs": {"count": 1, "average": 4.0},
    }
    assert body["check_ins"] == {"members": 3, "service_records": 2, "service_hours": 4.0}
    assert body["points"] == {"awarded": 7, "deducted": -5, "net": 2, "members": 2}


def test_a_community_supervisor_sees_only_c1s_part(al, hand):
    body = al.get(SUMMARY, "community_supervisor", **NOVEMBER).get_json()
    # C1's subtree: n1, n2, n3, n4, n5 (n8 is on the street) = 5 raised; the street's resource r3 and the
    # street alliance a1's meeting drop out.
    assert body["grid_id"] == str(al.party.world.tree["C1"].id)
    assert (body["needs"]["raised"], body["resources"]["offered"], body["meetings"]["held"]) == (5, 2, 1)


def test_the_street_committees_staff_read_its_street(al, hand):
    body = al.get(SUMMARY, "street_staff", **NOVEMBER).get_json()
    assert (body["grid_id"], body["needs"]["raised"]) == (str(al.party.world.tree["S1"].id), 6)


def test_a_supervisor_elsewhere_is_refused_s1(al, hand):
    response = al.get(SUMMARY, "far_supervisor", grid_id=str(al.party.world.tree["S1"].id), **NOVEMBER)
    assert_error(response, 404, "not_found")


def test_party_staff_of_a_unit_below_the_street_may_not_read_the_street(al, hand):
    response = al.get(SUMMARY, "staff", grid_id=str(al.party.world.tree["S1"].id), **NOVEMBER)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("who", ["worker", "volunteer", "secretary"])
def test_workers_volunteers_and_secretaries_get_no_summary(al, who):
    assert_error(al.get(SUMMARY, who, **NOVEMBER), 403, "forbidden")


def test_an_empty_subtree_gives_zeros_and_null_rates(al):
    body = al.get(SUMMARY, "far_supervisor", **NOVEMBER).get_json()
    assert body["needs"]["met"] == {"numerator": 0, "denominator": 0, "rate": None}
    assert body["ratings"]["residents"]["average"] is None


# --- an alliance's year ------------------------------------------------------------------------------


@pytest.fixture
def year(al) -> dict[str, Any]:
    """The street alliance through the HTTP API in 2026, with two meetings and the hospital's project."""
    return year_of(al)


def year_of(al: Alliances) -> dict[str, Any]:
    alliance = al.active()
    al.join(alliance, "hospital", joined_on="2026-04-01")
    school = al.join(alliance, "school", joined_on="2026-04-01")
    al.post(f"{ALLIANCES}/{alliance['id']}/members/{school['id']}/remove", reason="到期", left_on="2026-10-01")
    # 5 May: street, hospital and school are members (3); street and hospital present (2).
    al.meet(alliance, held_at="2026-05-05T14:00:00+08:00")
    # 5 December: street and hospital are members (2); street present (1).
    al.meet(alliance, held_at="2026-12-05T14:00:00+08:00", present_org_ids=[al.org_id("street")], decisions=[])
    return alliance


def test_the_report_gives_the_alliances_year(al, year, app):
    rows = Rows(app, al.party.world.tree)
    need = rows.need("C1", at("2026-06-01"), NeedStatus.MET, alliance_id=int(year["id"]), met_at=at("2026-07-01"))
    project = rows.project(
        need,
        "C1",
        at("2026-06-02"),
        ProjectStatus.DONE,
        al.orgs["hospital"].id,
        alliance_id=int(year["id"]),
        deadline=date(2026, 7, 1),
        done_at=at("2026-06-30"),
    )
    rows.rating(need, project, 5, RatingSource.RESIDENT, at("2026-07-02"))
    rows.rating(need, project, 3, RatingSource.MEMBER_ORG, at("2026-07-03"), rater_org_id=al.orgs["street"].id)
    response = al.get(f"{ALLIANCES}/{year['id']}/report", "secretary", year="2026")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["year"], body["alliance"]["name"]) == (2026, "新华街道党建联合体")
    assert [(m["org_name"], m["left_on"], m["meetings_present"], m["projects_owned"]) for m in body["members"]] == [
        ("新华街道大工委", None, 2, 0),
        ("南阳市第一人民医院党委", None, 1, 1),
        ("新华路小学党支部", "2026-10-01", 0, 0),
    ]
    # Attendance: (2 + 1) presences of (3 + 2) member organisations on the days.
    assert body["meetings"]["held"] == 2
    assert body["meetings"]["attendance"] == rate(3, 5)
    assert [(m["present"], m["members"], m["decisions"]) for m in body["meetings"]["items"]] == [(2, 3, 1), (1, 2, 0)]
    assert body["projects"]["by_status"]["done"] == 1
    assert body["projects"]["done_on_time"] == rate(1, 1)
    item = body["projects"]["items"][0]
    assert (item["owner_org_name"], item["on_time"], item["rating_count"], item["rating_average"]) == (
        "南阳市第一人民医院党委",
        True,
        2,
        4.0,
    )
    assert body["needs"] == {"raised": 1, "met": rate(1, 1), "wishes_raised": 0, "wishes_met": 0}
    assert body["ratings"] == {
        "residents": {"count": 1, "average": 5.0, "satisfied": rate(1, 1)},
        "member_orgs": {"count": 1, "average": 3.0},
    }


def test_another_year_is_empty_but_lists_the_members_of_that_year(al, year):
    body = al.get(f"{ALLIANCES}/{year['id']}/report", year="2025").get_json()
    assert body["members"] == []
    assert body["meetings"]["held"] == 0


@pytest.mark.parametrize("who", ["far_supervisor", "far_staff", "worker"])
def test_the_report_is_404_for_those_who_cannot_read_the_alliance(al, year, who):
    assert_error(al.get(f"{ALLIANCES}/{year['id']}/report", who), 404, "not_found")


def test_the_workbook_holds_the_same_year(al, year):
    response = al.party.client.get(
        "/api/v1/exports/alliance-report.xlsx",
        query_string={"alliance_id": year["id"], "year": 2026},
        headers={**al.party.headers["supervisor"], "Accept-Language": "en"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(BytesIO(response.data), read_only=True)
    assert workbook.sheetnames == ["Overview", "Member organisations", "Meetings", "Projects"]
    overview = {row[0]: row[1] for row in workbook["Overview"].iter_rows(min_row=2, values_only=True)}
    assert overview["Alliance"] == "新华街道党建联合体"
    assert (overview["Meetings held"], overview["Attendance rate"], overview["Member organisations"]) == (2, 0.6, 3)
    members = list(workbook["Member organisations"].iter_rows(values_only=True))
    assert members[0][:2] == ("Organisation", "Lead")
    assert [row[0] for row in members[1:]] == ["新华街道大工委", "南阳市第一人民医院党委", "新华路小学党支部"]
    meetings = list(workbook["Meetings"].iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[2], row[3]) for row in meetings] == [("2026-05-05 14:00", 2, 3), ("2026-12-05 14:00", 1, 2)]


def test_the_workbook_is_404_for_an_outsider(al, year):
    response = al.get("/api/v1/exports/alliance-report.xlsx", "far_staff", alliance_id=year["id"])
    assert_error(response, 404, "not_found")


def test_met_on_time_is_judged_by_the_beijing_day(al, app):
    rows = Rows(app, al.party.world.tree)
    due = date(2026, 11, 9)
    # 23:30 on the due day in Beijing: on time. 00:30 the next day in Beijing is still the 9th in UTC: late.
    rows.need("G2a", at("2026-11-01"), NeedStatus.MET, due_on=due, met_at=at("2026-11-09", 23, 30))
    rows.need("G2a", at("2026-11-01"), NeedStatus.MET, due_on=due, met_at=at("2026-11-10", 0, 30))
    body = al.get(SUMMARY, "far_supervisor", **NOVEMBER).get_json()
    assert body["needs"]["met_on_time"] == rate(1, 2)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_period_out_of_range_is_422_not_500(al, day):
    # Found by fuzzing: Beijing midnight of 0001-01-01 is before the first UTC instant Python can hold.
    assert_error(al.get(SUMMARY, "admin", **{"from": day, "to": day}), 422, "validation_error")
