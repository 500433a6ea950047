"""双报到: service areas, check-ins and their lifecycle, and what confirming or ending one does to accounts and to
the tickets a member may claim; each role allowed and refused, in and out of scope. The arrangement is
tests/support/checkins.py."""

from typing import Any

import pytest
from sqlalchemy import func, select

from auth.models import Account, VolunteerArea
from kernel.clock import BEIJING, utcnow
from kernel.extensions import db
from party.checkins.models import CheckIn, ServiceArea
from party.members.models import PartyMember
from tests.support.checkins import AREAS, CHECK_INS, build_party
from tests.support.http import assert_error, bearer


@pytest.fixture
def party(app, world, make_account, auth) -> Any:
    return build_party(app, world, make_account, auth)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- service areas ---------------------------------------------------------------------------------


def test_the_default_service_areas_are_listed_in_order_to_anyone(party):
    response = party.get(AREAS, "worker")
    assert response.status_code == 200
    assert [(area["code"], area["name"]) for area in response.get_json()["items"]] == [
        ("environment", "环境整治"),
        ("elderly", "助老"),
        ("mediation", "矛盾调解"),
        ("civility", "文明劝导"),
        ("patrol", "治安巡逻"),
        ("tutoring", "助学"),
    ]


def test_an_admin_adds_an_area_and_renames_it(party):
    created = party.post(AREAS, code="fire_safety", name="消防宣传", position=7)
    assert created.status_code == 201, created.get_json()
    renamed = party.client.patch(f"{AREAS}/fire_safety", json={"name": "消防安全"}, headers=party.headers["admin"])
    assert renamed.status_code == 200
    assert party.get(f"{AREAS}/fire_safety", "volunteer").get_json()["name"] == "消防安全"


@pytest.mark.parametrize("who", ["staff", "supervisor", "worker"])
def test_only_admins_edit_the_areas(app, party, who):
    assert_error(party.post(AREAS, who, code="fire_safety", name="消防"), 403, "forbidden")
    patched = party.client.patch(f"{AREAS}/elderly", json={"name": "x"}, headers=party.headers[who])
    assert_error(patched, 403, "forbidden")
    assert count(app, ServiceArea) == 6


def test_a_taken_area_code_is_409_and_a_bad_one_422(app, party):
    assert_error(party.post(AREAS, code="elderly", name="助老"), 409, "conflict")
    error = assert_error(party.post(AREAS, code="Bad Code", name=""), 422, "validation_error")
    assert {"code", "name"} <= set(error["details"])
    assert count(app, ServiceArea) == 6


def test_an_inactive_area_cannot_be_chosen(app, party):
    party.client.patch(f"{AREAS}/patrol", json={"active": False}, headers=party.headers["admin"])
    response = party.post(CHECK_INS, member_id=party.members["teacher"], service_areas=["patrol"])
    assert "service_areas" in assert_error(response, 422, "validation_error")["details"]
    assert count(app, CheckIn) == 0


# --- registering ---------------------------------------------------------------------------------


def test_a_member_registers_themself_with_their_home_community(party):
    check_in = party.register("worker", "worker")
    assert check_in["status"] == "pending"
    assert check_in["kind"] == "member"
    assert check_in["community_id"] == str(party.world.tree["C2"].id)  # lives in G2a
    assert check_in["org_id"] == str(party.orgs["C1"].id)
    assert check_in["service_areas"] == ["environment", "elderly"]
    assert check_in["account_id"] is None


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_admins_and_the_party_staff_over_the_member_register_them(party, who):
    assert party.register("teacher", who)["community_id"] == str(party.world.tree["C1"].id)


def test_party_staff_elsewhere_may_not_register_a_member_they_cannot_see(app, party):
    response = party.post(CHECK_INS, "far_staff", member_id=party.members["teacher"], service_areas=["elderly"])
    assert_error(response, 404, "not_found")
    assert count(app, CheckIn) == 0


def test_a_supervisor_who_reads_the_member_may_not_register_them(app, party):
    response = party.post(CHECK_INS, "supervisor", member_id=party.members["teacher"], service_areas=["elderly"])
    assert_error(response, 403, "forbidden")
    assert count(app, CheckIn) == 0


def test_an_account_may_not_register_someone_else(app, party):
    response = party.post(CHECK_INS, "worker", member_id=party.members["teacher"], service_areas=["elderly"])
    assert_error(response, 404, "not_found")
    assert count(app, CheckIn) == 0


def test_only_serving_members_check_in(app, party):
    error = assert_error(party.post(CHECK_INS, member_id=party.members["retired"], service_areas=["elderly"]), 422,
                         "validation_error")  # fmt: skip
    assert error["details"] == {"member_id": ["class retired, not serving"]}
    assert count(app, CheckIn) == 0


def test_a_member_whose_account_takes_no_tickets_is_refused(app, party, make_account):
    staff_member = make_account("party_staff")
    with app.app_context():
        db.session.get(PartyMember, int(party.members["far"])).account_id = staff_member.id
        db.session.commit()
    response = party.post(CHECK_INS, member_id=party.members["far"], service_areas=["elderly"])
    assert assert_error(response, 422, "validation_error")["details"] == {
        "member_id": ["linked to a party_staff account"]
    }


def test_one_live_check_in_per_member(app, party):
    first = party.register("teacher")
    assert_error(party.post(CHECK_INS, member_id=party.members["teacher"], service_areas=["elderly"]), 409, "conflict")
    party.post(f"{CHECK_INS}/{first['id']}/reject", "community_supervisor", note="请先与社区联系")
    assert party.register("teacher")["status"] == "pending"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"community_id": "STREET"}, "community_id"),
        ({"service_areas": []}, "service_areas"),
        ({"service_areas": ["nope"]}, "service_areas"),
        ({"member_id": None}, "member_id"),
        ({"org_id": "SCHOOL"}, "org_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_check_ins_are_422_and_write_nothing(app, party, body, field):
    fields = {"member_id": party.members["teacher"], "service_areas": ["elderly"], **body}
    fields = {
        key: {"STREET": str(party.world.tree["S1"].id), "SCHOOL": str(party.orgs["school"].id)}.get(value, value)
        if isinstance(value, str)
        else value
        for key, value in fields.items()
    }
    fields = {key: value for key, value in fields.items() if value is not None}
    response = party.post(CHECK_INS, **fields)
    assert field in assert_error(response, 422, "validation_error")["details"]
    assert count(app, CheckIn) == 0


def test_a_member_with_no_home_names_the_community(app, party):
    with app.app_context():
        db.session.get(PartyMember, int(party.members["teacher"])).home_grid_id = None
        db.session.commit()
    refused = party.post(CHECK_INS, member_id=party.members["teacher"], service_areas=["elderly"])
    assert "community_id" in assert_error(refused, 422, "validation_error")["details"]
    named = party.register("teacher", community_id=str(party.world.tree["C2"].id))
    assert named["community_id"] == str(party.world.tree["C2"].id)


def test_a_host_organisation_checks_in_as_a_unit(party):
    body = {"kind": "unit", "org_id": str(party.orgs["school"].id), "community_id": str(party.world.tree["C1"].id)}
    response = party.post(CHECK_INS, "staff", service_areas=["tutoring"], **body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["member_id"] is None
    confirmed = party.confirm(response.get_json(), "community_supervisor")
    assert confirmed["check_in"]["status"] == "confirmed"
    assert confirmed["credentials"] is None
    again = party.post(CHECK_INS, "staff", service_areas=["tutoring"], **body)
    assert_error(again, 409, "conflict")


def test_a_territorial_organisation_does_not_check_in_as_a_unit(app, party):
    body = {"kind": "unit", "org_id": str(party.orgs["C1"].id), "community_id": str(party.world.tree["C1"].id)}
    assert "org_id" in assert_error(party.post(CHECK_INS, service_areas=["tutoring"], **body), 422,
                                    "validation_error")["details"]  # fmt: skip
    assert count(app, CheckIn) == 0


def test_party_staff_elsewhere_may_not_check_a_unit_in(app, party):
    body = {"kind": "unit", "org_id": str(party.orgs["school"].id), "community_id": str(party.world.tree["C1"].id)}
    assert_error(party.post(CHECK_INS, "far_staff", service_areas=["tutoring"], **body), 403, "forbidden")
    assert count(app, CheckIn) == 0


# --- reading -----------------------------------------------------------------------------------------


@pytest.fixture
def registered(party) -> dict[str, dict[str, Any]]:
    return {who: party.register(who) for who in ("teacher", "worker", "volunteer", "far")}


@pytest.mark.parametrize(
    ("who", "seen"),
    [
        ("admin", {"teacher", "worker", "volunteer", "far"}),
        ("staff", {"teacher", "worker", "volunteer"}),  # S1's subtree: the school and C1's branch
        ("far_staff", {"far"}),
        ("supervisor", {"teacher", "volunteer"}),  # communities in S1: C1
        ("community_supervisor", {"teacher", "volunteer"}),
        ("far_supervisor", {"worker", "far"}),  # the worker lives in C2
    ],
)
def test_each_reader_lists_the_check_ins_of_their_scope(party, registered, who, seen):
    response = party.get(CHECK_INS, who)
    assert response.status_code == 200
    ids = {item["id"] for item in response.get_json()["items"]}
    assert ids == {registered[name]["id"] for name in seen}


@pytest.mark.parametrize("who", ["worker", "volunteer"])
def test_workers_and_volunteers_do_not_list_check_ins(party, registered, who):
    assert_error(party.get(CHECK_INS, who), 403, "forbidden")


def test_the_list_filters_by_community_org_status_and_kind(party, registered):
    def ids(**params: Any) -> set[str]:
        return {item["id"] for item in party.get(CHECK_INS, **params).get_json()["items"]}

    tree, orgs = party.world.tree, party.orgs
    assert ids(community_id=str(tree["S2"].id)) == {registered["worker"]["id"], registered["far"]["id"]}
    assert ids(org_id=str(orgs["school"].id)) == {registered["teacher"]["id"]}
    party.confirm(registered["far"])
    assert ids(status="confirmed") == {registered["far"]["id"]}
    assert ids(kind="unit") == set()
    assert_error(party.get(CHECK_INS, "far_staff", org_id=str(orgs["school"].id)), 404, "not_found")


def test_the_list_pages_with_a_cursor(party, registered):
    first = party.get(CHECK_INS, limit=3).get_json()
    rest = party.get(CHECK_INS, limit=3, cursor=first["next_cursor"]).get_json()
    assert len(first["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert first["items"][0]["id"] == registered["far"]["id"]  # newest first


@pytest.mark.parametrize(("who", "status"), [("far_staff", 404), ("far_supervisor", 404), ("volunteer", 404)])
def test_a_check_in_outside_the_readers_scope_is_404(party, registered, who, status):
    assert_error(party.get(f"{CHECK_INS}/{registered['teacher']['id']}", who), status, "not_found")


def test_a_member_reads_their_own_check_ins(party, registered):
    own = party.get("/api/v1/party/me/check-ins", "worker").get_json()["items"]
    assert [item["id"] for item in own] == [registered["worker"]["id"]]
    assert party.get(f"{CHECK_INS}/{registered['worker']['id']}", "worker").status_code == 200
    assert_error(party.get("/api/v1/party/me/check-ins", "other_worker"), 404, "not_found")


# --- confirming, rejecting, ending -------------------------------------------------------------------


def test_the_community_supervisor_confirms_and_a_member_without_account_gets_a_volunteer_login(app, party):
    check_in = party.register("teacher", "staff")
    decision = party.confirm(check_in, "community_supervisor", note="欢迎报到")
    confirmed, credentials = decision["check_in"], decision["credentials"]
    assert confirmed["status"] == "confirmed"
    assert confirmed["decision_note"] == "欢迎报到"
    assert credentials["username"] == f"member-{party.members['teacher']}"
    login = party.client.post("/api/v1/auth/login", json=credentials)
    assert login.status_code == 200, login.get_json()
    me = party.client.get("/api/v1/auth/me", headers=bearer(login.get_json()["access_token"])).get_json()
    assert (me["role"], me["scope_grid_id"], me["display_name"]) == (
        "volunteer",
        str(party.world.tree["C1"].id),
        "冯老师",
    )
    assert me["phone"] is None  # the register's number is not copied onto the account
    member = party.get(f"/api/v1/party/members/{party.members['teacher']}").get_json()
    assert member["account_id"] == me["id"] == confirmed["account_id"]
    again = party.get(f"{CHECK_INS}/{check_in['id']}").get_json()
    assert "credentials" not in again and "password" not in str(again)


def test_the_new_volunteer_claims_an_open_ticket_there_and_shows_as_a_party_member(party):
    credentials = party.confirm(party.register("teacher"))["credentials"]
    token = party.client.post("/api/v1/auth/login", json=credentials).get_json()["access_token"]
    world = party.world
    ticket = world.ticket("supervisor", grid_id=str(world.tree["G1b"].id))
    claimed = world.client.post(f"/api/v1/tickets/{ticket['id']}/claim", json={}, headers=bearer(token))
    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["assignee"]["party_member"] is True


@pytest.mark.parametrize(("who", "status", "code"), [
    ("far_supervisor", 404, "not_found"),
    ("staff", 403, "forbidden"),
    ("worker", 403, "forbidden"),
])  # fmt: skip
def test_only_the_communitys_supervisor_or_an_admin_decide(app, party, who, status, code):
    check_in = party.register("teacher")
    assert_error(party.post(f"{CHECK_INS}/{check_in['id']}/confirm", who), status, code)
    assert_error(party.post(f"{CHECK_INS}/{check_in['id']}/reject", who, note="不行"), status, code)
    assert party.get(f"{CHECK_INS}/{check_in['id']}").get_json()["status"] == "pending"
    assert count(app, Account) == len(party.world.accounts) + 2  # no account opened


def test_a_decided_check_in_cannot_be_decided_again(party):
    check_in = party.checked_in("teacher")
    error = assert_error(party.post(f"{CHECK_INS}/{check_in['id']}/reject", note="重复"), 409, "invalid_transition")
    assert error["details"]["allowed_actions"] == ["end"]


def test_a_rejection_needs_a_note(party):
    check_in = party.register("teacher")
    assert "note" in assert_error(party.post(f"{CHECK_INS}/{check_in['id']}/reject"), 422,
                                  "validation_error")["details"]  # fmt: skip
    rejected = party.post(f"{CHECK_INS}/{check_in['id']}/reject", "community_supervisor", note="不在本社区居住")
    assert (rejected.get_json()["status"], rejected.get_json()["decision_note"]) == ("rejected", "不在本社区居住")


def claimable_ticket(world, unit: str) -> dict[str, Any]:
    supervisor = "far_supervisor" if unit.endswith("2a") else "supervisor"
    return world.ticket(supervisor, grid_id=str(world.tree[unit].id))


def test_a_confirmed_worker_volunteers_in_their_home_community_until_the_check_in_ends(app, party):
    world = party.world
    before = claimable_ticket(world, "G2a")
    assert_error(world.get("worker", before), 404, "not_found")
    check_in = party.confirm(party.register("worker", "worker"), "far_supervisor")["check_in"]
    with app.app_context():
        assert [area.grid_id for area in db.session.scalars(select(VolunteerArea))] == [world.tree["C2"].id]
    assert world.get("worker", before).status_code == 200
    assert "claim" in world.get("worker", before).get_json()["allowed_actions"]
    world.act("worker", before, "claim")
    world.act("worker", before, "resolve", note="已清理")
    party.end(check_in, "worker")
    after = claimable_ticket(world, "G2a")
    assert_error(world.get("worker", after), 404, "not_found")
    assert world.get("worker", before).status_code == 200  # the ticket they resolved stays theirs
    assert world.get("worker", world.in_progress()).status_code == 200  # their own cells as before


def test_a_worker_does_not_see_tickets_closed_to_volunteers_in_their_area(party):
    party.confirm(party.register("worker", "worker"), "far_supervisor")
    road = party.world.ticket("far_supervisor", grid_id=str(party.world.tree["G2a"].id), category_code="FACILITY.ROAD")
    assert_error(party.world.get("worker", road), 404, "not_found")


def test_a_volunteer_elsewhere_gains_the_community_and_keeps_their_own(party):
    world = party.world
    party.checked_in("volunteer")  # far_volunteer's member, living in C1
    here, home = claimable_ticket(world, "G1a"), claimable_ticket(world, "G2a")
    world.act("far_volunteer", here, "claim")
    world.act("far_volunteer", home, "claim")
    listed = world.client.get("/api/v1/tickets", headers=world.headers["far_volunteer"]).get_json()["items"]
    assert {item["id"] for item in listed} >= {here["id"], home["id"]}


def test_ending_a_check_in_closes_the_account_made_for_it_and_the_next_reopens_it(app, party):
    check_in = party.register("teacher")
    first = party.confirm(check_in)["credentials"]
    token = party.client.post("/api/v1/auth/login", json=first).get_json()["access_token"]
    party.end(check_in, "staff")
    assert party.client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert party.client.post("/api/v1/auth/login", json=first).status_code == 401
    second = party.confirm(party.register("teacher"))["credentials"]
    assert second["username"] == first["username"] and second["password"] != first["password"]
    assert party.client.post("/api/v1/auth/login", json=second).status_code == 200


def test_an_ended_check_in_is_kept_with_its_day_and_reason(party):
    check_in = party.checked_in("far")
    ended = party.end(check_in, "far_staff", reason="工作调动")
    today = utcnow().astimezone(BEIJING).date().isoformat()
    assert (ended["status"], ended["ended_on"], ended["end_reason"]) == ("ended", today, "工作调动")
    assert party.get(f"{CHECK_INS}/{check_in['id']}").get_json()["status"] == "ended"


@pytest.mark.parametrize("who", ["admin", "staff", "supervisor", "community_supervisor"])
def test_who_may_end_a_check_in(party, who):
    check_in = party.checked_in("teacher")  # the school's (S1's staff), with community C1 (S1's supervisors)
    assert party.end(check_in, who)["status"] == "ended"


@pytest.mark.parametrize("who", ["far_staff", "far_supervisor", "other_worker", "volunteer"])
def test_who_may_not_end_a_check_in(party, who):
    check_in = party.checked_in("teacher")
    assert_error(party.post(f"{CHECK_INS}/{check_in['id']}/end", who, reason="搬家"), 404, "not_found")
    assert party.get(f"{CHECK_INS}/{check_in['id']}").get_json()["status"] == "confirmed"


@pytest.mark.parametrize("ended_on", ["2999-01-01", "2000-01-01"])
def test_a_check_in_ends_between_its_start_and_today(party, ended_on):
    check_in = party.checked_in("teacher")
    response = party.post(f"{CHECK_INS}/{check_in['id']}/end", reason="搬家", ended_on=ended_on)
    assert "ended_on" in assert_error(response, 422, "validation_error")["details"]
    assert party.get(f"{CHECK_INS}/{check_in['id']}").get_json()["status"] == "confirmed"


def test_an_ended_check_in_cannot_end_again(party):
    check_in = party.checked_in("teacher")
    party.end(check_in)
    assert_error(party.post(f"{CHECK_INS}/{check_in['id']}/end", reason="再次"), 409, "invalid_transition")


def test_a_cached_ticket_list_follows_a_new_volunteer_area(party):
    world = party.world
    ticket = claimable_ticket(world, "G2a")

    def listed() -> set[str]:
        response = world.client.get("/api/v1/tickets", headers=world.headers["worker"])
        return {item["id"] for item in response.get_json()["items"]}

    assert ticket["id"] not in listed()
    check_in = party.confirm(party.register("worker", "worker"), "far_supervisor")["check_in"]
    assert ticket["id"] in listed()
    party.end(check_in, "worker")
    assert ticket["id"] not in listed()


def test_a_replayed_confirmation_does_not_show_or_keep_the_one_time_password(app, party):
    check_in = party.register("teacher")
    headers = {**party.headers["admin"], "Idempotency-Key": "confirm-teacher-1"}
    url = f"{CHECK_INS}/{check_in['id']}/confirm"
    first = party.client.post(url, json={}, headers=headers)
    replayed = party.client.post(url, json={}, headers=headers)
    password = first.get_json()["credentials"]["password"]
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.get_json() == {**first.get_json(), "credentials": None}
    with app.app_context():
        from kernel.idempotency import IdempotencyKey

        assert password not in db.session.scalar(select(IdempotencyKey.response_body))


def test_a_supervisor_checked_in_elsewhere_claims_and_resolves_there(app, party):
    with app.app_context():  # 王党员 (C2's branch) is the far supervisor, living in C1
        member = db.session.get(PartyMember, int(party.members["far"]))
        member.account_id = party.world.accounts["far_supervisor"].id
        member.home_grid_id = party.world.tree["G1b"].id
        db.session.commit()
    party.checked_in("far")
    ticket = claimable_ticket(party.world, "G1b")
    claimed = party.world.act("far_supervisor", ticket, "claim")
    assert claimed["assignee"]["id"] == party.world.id_of("far_supervisor")
    assert party.world.act("far_supervisor", ticket, "resolve", note="已处理")["status"] == "resolved"
    road = party.world.ticket("supervisor", grid_id=str(party.world.tree["G1b"].id), category_code="FACILITY.ROAD")
    assert_error(party.world.get("far_supervisor", road), 404, "not_found")


def test_a_community_where_an_account_volunteers_is_not_deleted(party, make_unit):
    c3 = make_unit("community", party.world.tree["S2"], code="C3")
    party.checked_in("volunteer", community_id=str(c3.id))  # far_volunteer's account volunteers in C3 now
    response = party.client.delete(f"/api/v1/grids/{c3.id}", headers=party.headers["admin"])
    assert assert_error(response, 409, "conflict")["details"] == {"unit": ["accounts"]}
