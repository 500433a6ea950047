"""Party alliances (党建联合体): proposing, approving (审批备案), reading and changing them, their members with
dated removal, and their meetings; each role allowed and refused, in and out of scope.

The world is tests/support/alliances.py: the alliance serves street S1 and is led by S1's 大工委; `supervisor`
covers S1, `far_supervisor` S2; `street_staff` is placed on the 大工委, `staff` on C1's branch (below nothing of
the alliance), `far_staff` on C2's; `secretary` (a worker account) is the 大工委's secretary. Today is
10 December 2026 in Beijing.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from kernel.extensions import db
from party.alliances.models import Alliance, AllianceMember
from party.lists.models import NeedStatus, ProjectStatus
from tests.support.activities import build_party
from tests.support.alliances import ALLIANCES, Alliances, build_alliances
from tests.support.assessment import Rows, at
from tests.support.http import assert_error


@pytest.fixture
def al(app, world, make_account, auth) -> Iterator[Alliances]:
    for party in build_party(app, world, make_account, auth):
        yield build_alliances(app, party, make_account, auth)


def count(app, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- proposing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "supervisor", "street_staff", "secretary"])
def test_admins_supervisors_over_the_territory_and_the_lead_organisation_propose(al, who):
    alliance = al.propose(who)
    assert alliance["status"] == "proposed"
    assert (alliance["theme"], alliance["theme_name"]) == ("grassroots_governance", "基层治理")
    assert (alliance["lead_org_id"], alliance["lead_org_name"]) == (al.org_id("street"), "新华街道大工委")
    assert (alliance["approved_by"], alliance["approved_on"]) == (None, None)
    assert alliance["member_count"] == 1  # the lead organisation, from formed_on
    members = al.get(f"{ALLIANCES}/{alliance['id']}/members", who).get_json()["items"]
    assert [(m["org_id"], m["is_lead"], m["joined_on"]) for m in members] == [(al.org_id("street"), True, "2026-03-01")]


@pytest.mark.parametrize("who", ["far_supervisor", "staff", "far_staff", "worker", "volunteer"])
def test_others_may_not_propose_an_alliance_for_s1_led_by_its_committee(al, who):
    response = al.post(
        ALLIANCES,
        who,
        name="x",
        theme="red_property",
        lead_org_id=al.org_id("street"),
        grid_id=str(al.party.world.tree["S1"].id),
    )
    assert_error(response, 403, "forbidden")
    assert count(al.party.world.client.application, Alliance) == 0


def test_an_unknown_theme_or_an_inactive_organisation_is_422(al):
    error = assert_error(
        al.post(
            ALLIANCES,
            name="x",
            theme="nope",
            lead_org_id=al.org_id("street"),
            grid_id=str(al.party.world.tree["S1"].id),
        ),
        422,
        "validation_error",
    )
    assert "theme" in error["details"]
    error = assert_error(
        al.post(
            ALLIANCES, name="x", theme="red_property", lead_org_id="999999", grid_id=str(al.party.world.tree["S1"].id)
        ),
        422,
        "validation_error",
    )
    assert "lead_org_id" in error["details"]


# --- approving ---------------------------------------------------------------------------------------


def test_a_supervisor_over_the_territory_approves_a_proposed_alliance(al):
    alliance = al.propose("secretary")
    assert "approve" not in alliance["allowed_actions"]
    seen = al.get(f"{ALLIANCES}/{alliance['id']}", "supervisor").get_json()
    assert "approve" in seen["allowed_actions"]
    approved = al.approve(alliance, approved_on="2026-03-15", note="同意备案")
    assert approved["status"] == "active"
    assert (approved["approved_by"], approved["approved_on"]) == (al.party.world.id_of("supervisor"), "2026-03-15")
    assert "record_meeting" in approved["allowed_actions"]
    changes = al.get(f"{ALLIANCES}/{alliance['id']}/changes").get_json()["items"]
    assert [c["action"] for c in changes] == ["create", "approve"]
    assert changes[1]["note"] == "同意备案"


def test_an_approved_alliance_is_not_approved_again(al):
    alliance = al.active()
    error = assert_error(al.post(f"{ALLIANCES}/{alliance['id']}/approve", "supervisor"), 409, "invalid_transition")
    assert error["details"]["status"] == ["active"]


def test_a_supervisor_elsewhere_cannot_see_let_alone_approve_it(al):
    alliance = al.propose()
    assert_error(al.post(f"{ALLIANCES}/{alliance['id']}/approve", "far_supervisor"), 404, "not_found")
    assert_error(al.get(f"{ALLIANCES}/{alliance['id']}", "far_supervisor"), 404, "not_found")


def test_the_lead_organisation_does_not_approve_its_own_alliance(al):
    alliance = al.propose("street_staff")
    assert_error(al.post(f"{ALLIANCES}/{alliance['id']}/approve", "street_staff"), 403, "forbidden")
    assert al.get(f"{ALLIANCES}/{alliance['id']}").get_json()["status"] == "proposed"


def test_an_approval_dated_in_the_future_is_422(al):
    alliance = al.propose()
    assert_error(
        al.post(f"{ALLIANCES}/{alliance['id']}/approve", "supervisor", approved_on="2026-12-11"),
        422,
        "validation_error",
    )


# --- reading -----------------------------------------------------------------------------------------


def test_each_reader_lists_the_alliances_of_its_scope(al):
    alliance = al.active()
    listed = {
        who: [a["id"] for a in al.get(ALLIANCES, who).get_json()["items"]]
        for who in ("admin", "supervisor", "street_staff", "secretary", "far_supervisor", "far_staff", "staff")
    }
    assert listed == {
        "admin": [alliance["id"]],
        "supervisor": [alliance["id"]],
        "street_staff": [alliance["id"]],
        "secretary": [alliance["id"]],
        "far_supervisor": [],
        "far_staff": [],
        "staff": [],
    }


def test_party_staff_see_the_alliances_their_organisation_joined(al):
    alliance = al.active()
    al.join(alliance, "C2")
    assert [a["id"] for a in al.get(ALLIANCES, "far_staff").get_json()["items"]] == [alliance["id"]]
    seen = al.get(f"{ALLIANCES}/{alliance['id']}", "far_staff").get_json()
    assert seen["allowed_actions"] == []  # a member, not the lead


@pytest.mark.parametrize("who", ["worker", "volunteer"])
def test_workers_and_volunteers_without_a_secretary_standing_may_not_list_alliances(al, who):
    al.active()
    assert_error(al.get(ALLIANCES, who), 403, "forbidden")


def test_alliances_filter_by_status_theme_territory_and_member(al):
    first = al.active()
    second = al.propose(name="红色物业联盟", theme="red_property", grid_id=str(al.party.world.tree["C1"].id))
    al.join(first, "hospital")
    ids = lambda **q: [a["id"] for a in al.get(ALLIANCES, **q).get_json()["items"]]  # noqa: E731
    assert ids(status="proposed") == [second["id"]]
    assert ids(theme="grassroots_governance") == [first["id"]]
    assert ids(grid_id=str(al.party.world.tree["C1"].id)) == [second["id"]]
    assert ids(org_id=al.org_id("hospital")) == [first["id"]]
    assert ids(q="物业") == [second["id"]]


# --- changing ----------------------------------------------------------------------------------------


def test_the_lead_organisation_changes_the_charter_with_if_match(al):
    alliance = al.active()
    url = f"{ALLIANCES}/{alliance['id']}"
    etag = al.get(url, "secretary").headers["ETag"]
    response = al.party.patch(url, "secretary", headers={"If-Match": etag}, charter="新章程", note="年度修订")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["charter"] == "新章程"
    stale = al.party.patch(url, "secretary", headers={"If-Match": etag}, charter="又一版")
    assert_error(stale, 412, "precondition_failed")


def test_an_approved_alliance_keeps_its_territory(al):
    alliance = al.active()
    response = al.party.patch(f"{ALLIANCES}/{alliance['id']}", grid_id=str(al.party.world.tree["C1"].id))
    assert_error(response, 409, "invalid_transition")


@pytest.mark.parametrize("who", ["far_staff", "staff"])
def test_others_may_not_change_an_alliance(al, who):
    alliance = al.active()
    al.join(alliance, "C2")
    al.join(alliance, "C1")
    response = al.party.patch(f"{ALLIANCES}/{alliance['id']}", who, charter="x")
    assert_error(response, 403, "forbidden")


def test_a_dissolved_alliance_ends_its_memberships_and_takes_no_more(al):
    alliance = al.active()
    al.join(alliance, "hospital")
    response = al.post(
        f"{ALLIANCES}/{alliance['id']}/dissolve", "secretary", reason="任务完成", dissolved_on="2026-12-01"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.get_json()["status"], response.get_json()["member_count"]) == ("dissolved", 0)
    members = al.get(f"{ALLIANCES}/{alliance['id']}/members", include_left="true").get_json()["items"]
    assert {(m["org_name"], m["left_on"], m["live"]) for m in members} == {
        ("新华街道大工委", "2026-12-01", False),
        ("南阳市第一人民医院党委", "2026-12-01", False),
    }
    al.join(alliance, "school", expect=409)


# --- members -----------------------------------------------------------------------------------------


def test_members_join_with_their_commitment_whatever_their_kind(al):
    alliance = al.active()
    for org in ("hospital", "school", "enterprise", "property", "C1"):
        al.join(alliance, org, "street_staff")
    members = al.get(f"{ALLIANCES}/{alliance['id']}/members", "supervisor").get_json()["items"]
    assert [(m["org_name"], m["host_kind"], m["commitment"]) for m in members][1:] == [
        ("南阳市第一人民医院党委", "hospital", "hospital的共建承诺"),
        ("新华路小学党支部", "school", "school的共建承诺"),
        ("宛城科技公司党支部", "non_public", "enterprise的共建承诺"),
        ("红色物业公司党支部", "non_public", "property的共建承诺"),
        ("C1党支部", None, "C1的共建承诺"),
    ]
    org = al.get(f"/api/v1/party/orgs/{al.org_id('C1')}").get_json()
    assert org["parent_id"] is None  # its own party relations are unchanged


def test_an_organisation_is_a_member_once_at_a_time_and_of_several_alliances(al):
    first, second = al.active(), al.active(name="红色物业联盟", theme="red_property")
    al.join(first, "property")
    error = assert_error(al.post(f"{ALLIANCES}/{first['id']}/members", org_id=al.org_id("property")), 409, "conflict")
    assert error["details"] == {"org_id": ["already a member"]}
    al.join(second, "property")
    mine = [a["id"] for a in al.get(ALLIANCES, org_id=al.org_id("property")).get_json()["items"]]
    assert mine == [first["id"], second["id"]]


def test_removal_is_dated_kept_on_record_and_the_organisation_may_join_again(al):
    alliance = al.active()
    joined = al.join(alliance, "school")
    url = f"{ALLIANCES}/{alliance['id']}/members/{joined['id']}/remove"
    left = al.post(url, "secretary", reason="合作到期", left_on="2026-09-30").get_json()
    assert (left["left_on"], left["left_reason"], left["live"]) == ("2026-09-30", "合作到期", False)
    assert_error(al.post(url, reason="again"), 409, "invalid_transition")
    live = al.get(f"{ALLIANCES}/{alliance['id']}/members").get_json()["items"]
    assert [m["org_name"] for m in live] == ["新华街道大工委"]
    assert al.join(alliance, "school", joined_on="2026-09-01", expect=422)
    again = al.join(alliance, "school", joined_on="2026-11-01")
    assert again["live"] is True
    with_left = al.get(f"{ALLIANCES}/{alliance['id']}/members", include_left="true").get_json()["items"]
    assert [(m["org_name"], m["joined_on"], m["left_on"]) for m in with_left][1:] == [
        ("新华路小学党支部", "2026-04-01", "2026-09-30"),
        ("新华路小学党支部", "2026-11-01", None),
    ]


def test_a_removal_before_joining_or_in_the_future_is_422_and_the_lead_stays(al):
    alliance = al.active()
    joined = al.join(alliance, "school")
    url = f"{ALLIANCES}/{alliance['id']}/members/{joined['id']}/remove"
    assert_error(al.post(url, reason="早了", left_on="2026-03-31"), 422, "validation_error")
    assert_error(al.post(url, reason="未来", left_on="2026-12-11"), 422, "validation_error")
    lead = al.get(f"{ALLIANCES}/{alliance['id']}/members").get_json()["items"][0]
    assert_error(al.post(f"{ALLIANCES}/{alliance['id']}/members/{lead['id']}/remove", reason="退出"), 409, "conflict")


@pytest.mark.parametrize("who", ["far_supervisor", "far_staff", "worker"])
def test_those_who_cannot_read_the_alliance_cannot_add_members(al, who):
    alliance = al.active()
    response = al.post(f"{ALLIANCES}/{alliance['id']}/members", who, org_id=al.org_id("school"))
    assert_error(response, 404, "not_found")
    assert count(al.party.world.client.application, AllianceMember) == 1


def test_a_member_organisation_reads_but_does_not_add_members(al):
    alliance = al.active()
    al.join(alliance, "C2")
    response = al.post(f"{ALLIANCES}/{alliance['id']}/members", "far_staff", org_id=al.org_id("school"))
    assert_error(response, 403, "forbidden")
    assert count(al.party.world.client.application, AllianceMember) == 2


# --- meetings ----------------------------------------------------------------------------------------


def test_a_meeting_records_the_organisations_present_and_its_decisions(al, app):
    alliance = al.active()
    al.join(alliance, "hospital")
    project = a_project(app, al, "C1")
    meeting = al.meet(
        alliance,
        "secretary",
        place="街道党群服务中心",
        decisions=[
            {"text": "开展义诊进社区"},
            {"text": "物业费公示", "project_id": str(project), "project_action": "review"},
        ],
    )
    assert [o["name"] for o in meeting["present_orgs"]] == ["新华街道大工委", "南阳市第一人民医院党委"]
    assert [(d["position"], d["text"], d["project_id"], d["project_action"]) for d in meeting["decisions"]] == [
        (1, "开展义诊进社区", None, None),
        (2, "物业费公示", str(project), "review"),
    ]
    assert meeting["org_id"] == al.org_id("street")
    listed = al.get(f"{ALLIANCES}/{alliance['id']}/meetings", "supervisor").get_json()["items"]
    assert [m["id"] for m in listed] == [meeting["id"]]
    activity = al.get(f"/api/v1/party/activities/{meeting['id']}", "street_staff").get_json()
    assert (activity["kind"], activity["kind_name"]) == ("alliance_meeting", "联席会议")


def test_a_decision_names_a_project_of_the_alliances_territory_with_what_it_does(al, app):
    alliance = al.active()
    elsewhere, here = a_project(app, al, "G2a"), a_project(app, al, "G1a")
    decisions = [
        {"text": "外区项目", "project_id": str(elsewhere), "project_action": "open"},
        {"text": "不说做什么", "project_id": str(here)},
    ]
    error = assert_error(
        al.post(
            f"{ALLIANCES}/{alliance['id']}/meetings",
            title="会",
            held_at="2026-12-05T14:00:00+08:00",
            hours=1,
            present_org_ids=[al.org_id("street")],
            decisions=decisions,
        ),
        422,
        "validation_error",
    )
    assert error["details"]["decisions"] == [
        "2: project_id and project_action go together",
        f"1: no project {elsewhere} of this alliance or its territory",
    ]


def a_project(app, al, code: str) -> int:
    rows = Rows(app, al.party.world.tree)
    need = rows.need(code, at("2026-11-01"), NeedStatus.IN_PROJECT)
    return rows.project(need, code, at("2026-11-02"), ProjectStatus.UNDER_WAY, al.orgs["C1"].id)


def test_only_members_on_the_day_are_present(al):
    alliance = al.active()
    al.join(alliance, "hospital", joined_on="2026-12-06")
    error = assert_error(
        al.post(
            f"{ALLIANCES}/{alliance['id']}/meetings",
            title="会",
            held_at="2026-12-05T14:00:00+08:00",
            hours=1,
            present_org_ids=[al.org_id("hospital")],
        ),
        422,
        "validation_error",
    )
    assert error["details"]["present_org_ids"] == [f"{al.org_id('hospital')}: not a member on 2026-12-05"]


def test_a_proposed_alliance_does_not_meet_yet(al):
    alliance = al.propose()
    al.meet(alliance, present_org_ids=[al.org_id("street")], expect=409)


@pytest.mark.parametrize(("who", "status", "code"), [("far_staff", 403, "forbidden"), ("worker", 404, "not_found")])
def test_members_and_outsiders_cannot_record_a_meeting(al, who, status, code):
    alliance = al.active()
    al.join(alliance, "C2")
    response = al.post(
        f"{ALLIANCES}/{alliance['id']}/meetings",
        who,
        title="会",
        held_at="2026-12-05T14:00:00+08:00",
        hours=1,
        present_org_ids=[al.org_id("street")],
    )
    assert_error(response, status, code)


def test_a_meeting_is_not_recorded_as_a_plain_activity(al):
    response = al.party.post("/api/v1/party/activities", **al.party.body(kind="alliance_meeting"))
    assert_error(response, 422, "validation_error")
