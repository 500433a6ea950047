"""The party member register: who reads, registers and changes which members, their classes, the phone.

The party side of conftest's `tree`: S1's 大工委 (on street S1) › C1's branch (on community C1) › a group, and a
school's branch (a host organisation) under S1's 大工委; C2's branch (on community C2) stands alone.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from auth.models import Account
from kernel.extensions import db
from party.members.models import PartyMember
from party.orgs.models import HostKind, OrgKind, PartyOrg
from tasks.tickets.models import PersonalDataRead
from tests.support.http import assert_error
from tests.support.party import make_org, place_staff, register_member, seed_classes
from tests.support.workforce import add_profile

URL = "/api/v1/party/members"
PHONE = "13900001111"


@dataclass
class Party:
    orgs: dict[str, PartyOrg]
    accounts: dict[str, Account]
    members: dict[str, str]  # name: id

    def org_id(self, name: str) -> str:
        return str(self.orgs[name].id)


@pytest.fixture
def party(app, tree, make_account) -> Party:
    seed_classes(app)
    s1 = make_org(app, "S1大工委", grid=tree["S1"], kind=OrgKind.PARTY_COMMITTEE)
    c1 = make_org(app, "C1党支部", grid=tree["C1"], parent=s1)
    group = make_org(app, "C1第一党小组", parent=c1, kind=OrgKind.GROUP)
    school = make_org(app, "实验小学党支部", parent=s1, host=HostKind.SCHOOL)
    c2 = make_org(app, "C2党支部", grid=tree["C2"])
    orgs = {"s1": s1, "c1": c1, "group": group, "school": school, "c2": c2}
    accounts = {
        "admin": make_account("admin"),
        "staff_s1": make_account("party_staff"),
        "staff_c1": make_account("party_staff"),
        "staff_unplaced": make_account("party_staff"),
        "supervisor_s1": make_account("supervisor", unit=tree["S1"]),
        "supervisor_c1": make_account("supervisor", unit=tree["C1"]),
        "supervisor_s2": make_account("supervisor", unit=tree["S2"]),
        "worker": make_account("worker", unit=tree["C1"], cells=[tree["G1a"]]),
        "volunteer": make_account("volunteer", unit=tree["C1"]),
        "far_volunteer": make_account("volunteer", unit=tree["C2"]),
    }
    place_staff(app, accounts["staff_s1"], s1)
    place_staff(app, accounts["staff_c1"], c1)
    members = {
        "李网格员": register_member(app, c1, "李网格员", account=accounts["worker"], home=tree["G1a"]),
        "组员": register_member(app, group, "组员", class_code="retired", home=tree["G1b"]),
        "王老师": register_member(app, school, "王老师", account=accounts["volunteer"], class_code="mobile"),
        "赵大姐": register_member(app, c2, "赵大姐", account=accounts["far_volunteer"], home=tree["G2a"]),
        "老党员": register_member(app, c1, "老党员", class_code="retired", active=False),
    }
    return Party(orgs, accounts, members)


def names(response: Any) -> set[str]:
    assert response.status_code == 200, response.get_json()
    return {item["name"] for item in response.get_json()["items"]}


def new_member(party: Party, **fields: Any) -> dict[str, Any]:
    return {"name": "新党员", "phone": "13700002222", "org_id": party.org_id("c1"), "class": "serving", **fields}


def stored_members(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(PartyMember.id)).all())


# --- member classes ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "staff_s1", "supervisor_s1", "worker", "volunteer"])
def test_every_role_reads_the_member_classes(client, auth, party, who):
    response = client.get("/api/v1/party/member-classes", headers=auth(party.accounts[who]))
    assert response.status_code == 200
    assert [item["code"] for item in response.json["items"]] == ["serving", "retired", "mobile", "difficulty"]


def test_an_admin_adds_a_member_class(client, auth, party):
    response = client.post(
        "/api/v1/party/member-classes",
        json={"code": "pioneer", "name": "先锋党员", "position": 5},
        headers=auth(party.accounts["admin"]),
    )
    assert response.status_code == 201, response.json
    assert response.json == {"code": "pioneer", "name": "先锋党员", "position": 5, "active": True}
    created = client.post(URL, json=new_member(party, **{"class": "pioneer"}), headers=auth(party.accounts["admin"]))
    assert created.status_code == 201 and created.json["class"] == "pioneer"


def test_a_taken_class_code_is_409(client, auth, party):
    response = client.post(
        "/api/v1/party/member-classes", json={"code": "retired", "name": "x"}, headers=auth(party.accounts["admin"])
    )
    assert_error(response, 409, "conflict")


@pytest.mark.parametrize("body", [{"code": "Bad Code", "name": "x"}, {"code": "ok"}, {"code": "ok", "name": " "}])
def test_a_malformed_class_is_422(client, auth, party, body):
    response = client.post("/api/v1/party/member-classes", json=body, headers=auth(party.accounts["admin"]))
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("who", ["staff_s1", "supervisor_s1", "worker"])
def test_only_admins_edit_member_classes(client, auth, party, who):
    headers = auth(party.accounts[who])
    assert_error(
        client.post("/api/v1/party/member-classes", json={"code": "x", "name": "x"}, headers=headers), 403, "forbidden"
    )
    patched = client.patch("/api/v1/party/member-classes/retired", json={"name": "x"}, headers=headers)
    assert_error(patched, 403, "forbidden")


def test_an_inactive_class_stays_on_its_members_but_is_refused_for_new_ones(client, auth, party):
    admin = auth(party.accounts["admin"])
    response = client.patch("/api/v1/party/member-classes/retired", json={"active": False}, headers=admin)
    assert response.status_code == 200 and response.json["active"] is False
    assert client.get(f"{URL}/{party.members['组员']}", headers=admin).json["class"] == "retired"
    error = assert_error(
        client.post(URL, json=new_member(party, **{"class": "retired"}), headers=admin), 422, "validation_error"
    )
    assert "class" in error["details"]


def test_a_class_patch_with_a_stale_etag_is_412(client, auth, party):
    admin = auth(party.accounts["admin"])
    etag = client.get("/api/v1/party/member-classes/mobile", headers=admin).headers["ETag"]
    client.patch("/api/v1/party/member-classes/mobile", json={"position": 9}, headers=admin)
    response = client.patch(
        "/api/v1/party/member-classes/mobile", json={"name": "x"}, headers={**admin, "If-Match": etag}
    )
    assert_error(response, 412, "precondition_failed")


def test_an_unknown_class_is_404(client, auth, party):
    response = client.get("/api/v1/party/member-classes/nosuch", headers=auth(party.accounts["admin"]))
    assert_error(response, 404, "not_found")


# --- reading members ------------------------------------------------------------------------------

EVERYONE = {"李网格员", "组员", "王老师", "赵大姐", "老党员"}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin", EVERYONE),
        ("staff_s1", {"李网格员", "组员", "王老师", "老党员"}),
        ("staff_c1", {"李网格员", "组员", "老党员"}),
        ("staff_unplaced", set()),
        ("supervisor_s1", {"李网格员", "组员", "王老师", "老党员"}),  # the host org hangs under S1's 大工委
        ("supervisor_c1", {"李网格员", "组员", "老党员"}),
        ("supervisor_s2", {"赵大姐"}),
    ],
)
def test_each_reader_lists_the_members_of_their_scope(client, auth, party, who, expected):
    assert names(client.get(f"{URL}?limit=100", headers=auth(party.accounts[who]))) == expected


@pytest.mark.parametrize("who", ["worker", "volunteer"])
def test_members_with_an_account_may_not_list_members(client, auth, party, who):
    assert_error(client.get(URL, headers=auth(party.accounts[who])), 403, "forbidden")


@pytest.mark.parametrize(
    ("who", "member", "status"),
    [
        ("admin", "赵大姐", 200),
        ("staff_s1", "王老师", 200),
        ("staff_c1", "王老师", 404),
        ("staff_c1", "组员", 200),
        ("staff_unplaced", "李网格员", 404),
        ("supervisor_s1", "王老师", 200),
        ("supervisor_c1", "王老师", 404),
        ("supervisor_s2", "李网格员", 404),
        ("worker", "李网格员", 200),
        ("worker", "组员", 404),
        ("volunteer", "王老师", 200),
        ("volunteer", "李网格员", 404),
    ],
)
def test_who_reads_one_member(client, auth, party, who, member, status):
    response = client.get(f"{URL}/{party.members[member]}", headers=auth(party.accounts[who]))
    assert response.status_code == status, response.json
    if status == 404:
        assert_error(response, 404, "not_found")


def test_a_member_reads_their_own_phone_in_full(client, auth, party):
    own = client.get(f"{URL}/{party.members['李网格员']}", headers=auth(party.accounts["worker"])).json
    assert own["phone"] == PHONE
    assert own["account_id"] == str(party.accounts["worker"].id)


@pytest.mark.parametrize("who", ["admin", "staff_s1", "supervisor_s1"])
def test_everyone_else_sees_the_phone_masked(client, auth, party, who):
    headers = auth(party.accounts[who])
    assert client.get(f"{URL}/{party.members['李网格员']}", headers=headers).json["phone"] == "139****1111"
    assert {item["phone"] for item in client.get(URL, headers=headers).json["items"]} == {"139****1111"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("org_id={c1}", {"李网格员", "组员", "老党员"}),
        ("org_id={group}", {"组员"}),
        ("class=retired", {"组员", "老党员"}),
        ("active=false", {"老党员"}),
        ("q=老", {"王老师", "老党员"}),
        ("home_grid_id={C1}", {"李网格员", "组员"}),
        ("has_account=true", {"李网格员", "王老师", "赵大姐"}),
        ("has_account=false", {"组员", "老党员"}),
    ],
)
def test_the_list_filters(client, auth, party, tree, query, expected):
    ids = {**{name: org.id for name, org in party.orgs.items()}, **{code: unit.id for code, unit in tree.items()}}
    response = client.get(f"{URL}?" + query.format(**ids), headers=auth(party.accounts["admin"]))
    assert names(response) == expected


def test_an_org_filter_outside_the_readers_scope_is_404(client, auth, party):
    response = client.get(f"{URL}?org_id={party.org_id('c2')}", headers=auth(party.accounts["staff_s1"]))
    assert_error(response, 404, "not_found")


def test_the_list_pages_with_a_cursor(client, auth, party):
    admin, seen, cursor = auth(party.accounts["admin"]), [], None
    while True:
        body = client.get(f"{URL}?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=admin).json
        seen += [item["id"] for item in body["items"]]
        if (cursor := body["next_cursor"]) is None:
            break
    assert seen == sorted(party.members.values(), key=int)


# --- the full phone, logged ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "staff_c1"])
def test_admins_and_the_staff_over_a_member_read_the_full_phone_and_the_read_is_logged(app, client, auth, party, who):
    member = party.members["组员"]
    response = client.get(f"{URL}/{member}/contact?reason=通知参加主题党日", headers=auth(party.accounts[who]))
    assert response.status_code == 200, response.json
    assert response.json == {"name": "组员", "phone": PHONE}
    with app.app_context():
        reads = db.session.scalars(select(PersonalDataRead)).all()
        assert [(r.account_id, r.subject, r.subject_id, r.ticket_id, r.reason) for r in reads] == [
            (party.accounts[who].id, "party_member_phone", int(member), None, "通知参加主题党日")
        ]


def test_party_staff_out_of_scope_do_not_find_the_member_contact(client, auth, party):
    response = client.get(
        f"{URL}/{party.members['王老师']}/contact?reason=核实", headers=auth(party.accounts["staff_c1"])
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("who", ["supervisor_s1", "worker"])
def test_supervisors_and_members_do_not_read_full_phones(app, client, auth, party, who):
    response = client.get(f"{URL}/{party.members['李网格员']}/contact?reason=核实", headers=auth(party.accounts[who]))
    assert_error(response, 403, "forbidden")
    with app.app_context():
        assert db.session.scalars(select(PersonalDataRead)).all() == []


def test_a_full_phone_read_needs_a_reason(client, auth, party):
    response = client.get(f"{URL}/{party.members['组员']}/contact", headers=auth(party.accounts["admin"]))
    assert "reason" in assert_error(response, 422, "validation_error")["details"]


# --- registering members --------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "org"), [("admin", "c2"), ("staff_s1", "school"), ("staff_c1", "group")])
def test_admins_and_party_staff_register_members_in_their_scope(client, auth, party, tree, who, org):
    body = new_member(party, org_id=party.org_id(org), joined_on="2019-07-01", home_grid_id=str(tree["G1a"].id))
    response = client.post(URL, json=body, headers=auth(party.accounts[who]))
    assert response.status_code == 201, response.json
    created = response.json
    assert (created["name"], created["phone"], created["org_id"], created["class"]) == (
        "新党员",
        "137****2222",
        party.org_id(org),
        "serving",
    )
    assert (created["joined_on"], created["left_on"], created["account_id"], created["active"]) == (
        "2019-07-01",
        None,
        None,
        True,
    )
    assert client.get(f"{URL}/{created['id']}", headers=auth(party.accounts["admin"])).json == created


@pytest.mark.parametrize(
    ("who", "org"), [("staff_c1", "s1"), ("staff_c1", "school"), ("staff_s1", "c2"), ("staff_unplaced", "c1")]
)
def test_party_staff_may_not_register_members_outside_their_scope(app, client, auth, party, who, org):
    response = client.post(URL, json=new_member(party, org_id=party.org_id(org)), headers=auth(party.accounts[who]))
    assert_error(response, 403, "forbidden")
    assert stored_members(app) == 5


@pytest.mark.parametrize("who", ["supervisor_s1", "worker", "volunteer"])
def test_other_roles_may_not_register_members(client, auth, party, who):
    assert_error(client.post(URL, json=new_member(party), headers=auth(party.accounts[who])), 403, "forbidden")


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"class": "nosuch"}, "class"),
        ({"org_id": "999999"}, "org_id"),
        ({"account_id": "999999"}, "account_id"),
        ({"home_grid_id": "999999"}, "home_grid_id"),
        ({"joined_on": "2020-01-01", "left_on": "2019-01-01", "active": False}, "left_on"),
        ({"left_on": "2024-01-01"}, "active"),
        ({"phone": "12345"}, "phone"),
        ({"name": ""}, "name"),
        ({"joined_on": "yesterday"}, "joined_on"),
        ({"org_id": 5}, "org_id"),
        ({"active": "yes"}, "active"),
        ({"salary": 1}, "salary"),
    ],
)
def test_a_bad_member_is_422_with_details_and_nothing_is_written(app, client, auth, party, fields, bad):
    response = client.post(URL, json=new_member(party, **fields), headers=auth(party.accounts["admin"]))
    assert bad in assert_error(response, 422, "validation_error")["details"]
    assert stored_members(app) == 5


def test_an_inactive_organisation_takes_no_new_members(app, client, auth, party):
    closed = make_org(app, "撤销的支部", parent=party.orgs["s1"], active=False)
    response = client.post(URL, json=new_member(party, org_id=str(closed.id)), headers=auth(party.accounts["admin"]))
    assert "org_id" in assert_error(response, 422, "validation_error")["details"]


def test_an_account_linked_to_another_member_is_409_and_nothing_is_written(app, client, auth, party):
    body = new_member(party, account_id=str(party.accounts["worker"].id))
    response = client.post(URL, json=body, headers=auth(party.accounts["admin"]))
    assert "account_id" in assert_error(response, 409, "conflict")["details"]
    assert stored_members(app) == 5


# --- changing members ----------------------------------------------------------------------------


def test_a_member_leaves_by_a_dated_state_and_is_kept(client, auth, party):
    headers = auth(party.accounts["staff_c1"])
    url = f"{URL}/{party.members['组员']}"
    response = client.patch(url, json={"left_on": "2026-06-30", "active": False}, headers=headers)
    assert response.status_code == 200, response.json
    assert (response.json["left_on"], response.json["active"]) == ("2026-06-30", False)
    assert client.get(url, headers=headers).json == response.json
    assert "组员" in names(client.get(f"{URL}?active=false", headers=headers))


def test_leaving_without_going_inactive_is_422(client, auth, party):
    response = client.patch(
        f"{URL}/{party.members['组员']}", json={"left_on": "2026-06-30"}, headers=auth(party.accounts["admin"])
    )
    assert "active" in assert_error(response, 422, "validation_error")["details"]


def test_staff_move_a_member_within_their_scope(client, auth, party):
    response = client.patch(
        f"{URL}/{party.members['组员']}",
        json={"org_id": party.org_id("school"), "class": "difficulty"},
        headers=auth(party.accounts["staff_s1"]),
    )
    assert response.status_code == 200, response.json
    assert (response.json["org_id"], response.json["class"]) == (party.org_id("school"), "difficulty")


def test_staff_may_not_move_a_member_out_of_their_scope(client, auth, party):
    url = f"{URL}/{party.members['组员']}"
    response = client.patch(url, json={"org_id": party.org_id("c2")}, headers=auth(party.accounts["staff_c1"]))
    assert_error(response, 403, "forbidden")
    assert client.get(url, headers=auth(party.accounts["admin"])).json["org_id"] == party.org_id("group")


@pytest.mark.parametrize(
    ("who", "status"), [("staff_c1", 404), ("staff_unplaced", 404), ("supervisor_s1", 403), ("volunteer", 403)]
)
def test_who_may_not_change_a_member(client, auth, party, who, status):
    response = client.patch(f"{URL}/{party.members['王老师']}", json={"name": "x"}, headers=auth(party.accounts[who]))
    assert response.status_code == status


def test_a_member_patch_with_a_stale_etag_is_412_and_changes_nothing(client, auth, party):
    headers, url = auth(party.accounts["admin"]), f"{URL}/{party.members['组员']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    client.patch(url, json={"class": "difficulty"}, headers=headers)
    response = client.patch(url, json={"name": "改名"}, headers={**headers, "If-Match": etag})
    assert_error(response, 412, "precondition_failed")
    assert client.get(url, headers=headers).json["name"] == "组员"


def test_linking_an_account_already_linked_is_409(client, auth, party):
    response = client.patch(
        f"{URL}/{party.members['组员']}",
        json={"account_id": str(party.accounts["worker"].id)},
        headers=auth(party.accounts["admin"]),
    )
    assert_error(response, 409, "conflict")


# --- the account's party_member flag (worker profiles, ticket assignees) ---------------------------


@pytest.fixture
def profile(app, party) -> str:
    return add_profile(app, party.accounts["worker"])


def worker_flag(client, auth, party, profile) -> bool:
    return client.get(f"/api/v1/workers/{profile}", headers=auth(party.accounts["admin"])).json["party_member"]


def test_a_workers_profile_shows_the_active_member_record_linked_to_the_account(client, auth, party, profile):
    assert worker_flag(client, auth, party, profile) is True


def test_a_member_leaving_clears_the_workers_flag(client, auth, party, profile):
    client.patch(
        f"{URL}/{party.members['李网格员']}",
        json={"left_on": "2026-06-30", "active": False},
        headers=auth(party.accounts["admin"]),
    )
    assert worker_flag(client, auth, party, profile) is False


def test_unlinking_and_relinking_the_account_moves_the_flag(app, client, auth, party, profile):
    admin, worker = auth(party.accounts["admin"]), party.accounts["worker"]
    client.patch(f"{URL}/{party.members['李网格员']}", json={"account_id": None}, headers=admin)
    assert worker_flag(client, auth, party, profile) is False
    response = client.patch(f"{URL}/{party.members['组员']}", json={"account_id": str(worker.id)}, headers=admin)
    assert response.status_code == 200, response.json
    assert worker_flag(client, auth, party, profile) is True
    with app.app_context():
        flags = dict(db.session.execute(select(Account.username, Account.party_member)).all())
    assert flags[worker.username] is True and flags[party.accounts["volunteer"].username] is True
    assert flags[party.accounts["supervisor_s1"].username] is False


def test_the_worker_list_filters_on_the_register(client, auth, party, profile, make_account, app, tree):
    other = add_profile(app, make_account("worker", unit=tree["C1"], cells=[tree["G1b"]]))
    admin = auth(party.accounts["admin"])
    assert [item["id"] for item in client.get("/api/v1/workers?party_member=true", headers=admin).json["items"]] == [
        profile
    ]
    assert [item["id"] for item in client.get("/api/v1/workers?party_member=false", headers=admin).json["items"]] == [
        other
    ]
