"""Party organisations through the HTTP API: kinds and places, moves, secretaries, the units' summary, scope.

The `tree` fixture: D › S1, S2; C1 in S1, C2 in S2; cells G1a, G1b in C1, G2a in C2. The `orgs` fixture builds
a street committee on S1 › a community committee on C1 › a branch on G1a › a group, and a school's branch under
the community committee; and, apart, a committee on S2.
"""

import pytest
from sqlalchemy import func, select

from kernel.extensions import db
from party.orgs.models import PartyOrg
from tests.support.http import assert_error
from tests.support.party_orgs import make_member, make_org, place

ORGS = "/api/v1/party/orgs"


def url(org_id):
    return f"{ORGS}/{org_id}"


@pytest.fixture
def admin(make_account, auth):
    return auth(make_account("admin"))


@pytest.fixture
def orgs(app, tree):
    ids = {}
    ids["S1"] = make_org(app, "party_committee", grid=tree["S1"], name="街道大工委")
    ids["C1"] = make_org(app, "party_committee", parent=ids["S1"], grid=tree["C1"], name="社区大党委")
    ids["G1a"] = make_org(app, "branch", parent=ids["C1"], grid=tree["G1a"], name="第一网格党支部")
    ids["group"] = make_org(app, "group", parent=ids["G1a"], name="第一党小组")
    ids["school"] = make_org(app, "branch", parent=ids["C1"], host="第一中学", name="第一中学党支部")
    ids["S2"] = make_org(app, "party_committee", grid=tree["S2"], name="二街道大工委")
    return {name: str(org_id) for name, org_id in ids.items()}  # ids as the API writes them


def stored_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PartyOrg))


def stored_path(app, org_id):
    with app.app_context():
        return db.session.get(PartyOrg, int(org_id)).path


# --- creating ----------------------------------------------------------------------------------------


def test_an_admin_creates_a_root_committee_on_a_unit(client, tree, admin):
    response = client.post(
        ORGS, json={"kind": "party_committee", "name": "区委", "grid_id": str(tree["D"].id)}, headers=admin
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {
        "id", "kind", "name", "parent_id", "secretary_id", "grid_id", "host", "active", "member_count",
        "created_at", "updated_at",
    }  # fmt: skip
    assert (body["kind"], body["name"], body["parent_id"], body["grid_id"]) == (
        "party_committee", "区委", None, str(tree["D"].id)
    )  # fmt: skip
    assert (body["host"], body["secretary_id"], body["active"], body["member_count"]) == (None, None, True, 0)
    assert client.get(url(body["id"]), headers=admin).json == body


def test_a_host_organisation_keeps_its_location_in_wgs84_and_shows_it_as_asked(client, app, orgs, admin):
    host = {
        "kind": "hospital",
        "name": "市中心医院",
        "address": "人民路 1 号",
        "location": {"lat": 33.0, "lng": 112.5, "coord_system": "wgs84"},
    }
    body = client.post(
        ORGS, json={"kind": "branch", "name": "医院党支部", "parent_id": orgs["C1"], "host": host}, headers=admin
    ).json
    assert body["host"] == host
    assert body["grid_id"] is None
    gcj = client.get(url(body["id"]) + "?coord_system=gcj02", headers=admin).json["host"]["location"]
    assert gcj["coord_system"] == "gcj02" and gcj["lat"] != 33.0


@pytest.mark.parametrize(
    ("kind", "parent"),
    [
        ("group", "C1"),  # a group sits under a branch
        ("group", "S1"),
        ("branch", "G1a"),  # a branch under a general branch or a committee
        ("general_branch", "G1a"),  # a general branch under a committee
        ("party_committee", "G1a"),
        ("branch", "group"),
    ],
)
def test_a_kind_under_a_wrong_parent_is_422_and_nothing_is_stored(client, app, orgs, admin, kind, parent):
    before = stored_count(app)
    response = client.post(ORGS, json={"kind": kind, "name": "新组织", "parent_id": orgs[parent]}, headers=admin)
    error = assert_error(response, 422, "validation_error")
    assert "parent_id" in error["details"]
    assert stored_count(app) == before


@pytest.mark.parametrize(
    ("kind", "parent"),
    [("group", "G1a"), ("branch", "C1"), ("general_branch", "C1"), ("party_committee", "C1"), ("branch", "school")],
)
def test_each_kind_is_accepted_under_its_parents(client, orgs, admin, kind, parent):
    if parent == "school":  # a branch under a branch is refused; a group under the school's branch is fine
        kind = "group"
    response = client.post(ORGS, json={"kind": kind, "name": "新组织", "parent_id": orgs[parent]}, headers=admin)
    assert response.status_code == 201, response.json
    assert response.json["parent_id"] == str(orgs[parent])


@pytest.mark.parametrize("kind", ["general_branch", "branch", "group"])
def test_only_a_committee_sits_at_the_root(client, admin, kind):
    error = assert_error(client.post(ORGS, json={"kind": kind, "name": "根"}, headers=admin), 422, "validation_error")
    assert "parent_id" in error["details"]


def test_a_unit_outside_the_parent_organisations_unit_is_422(client, app, tree, orgs, admin):
    before = stored_count(app)
    body = {"kind": "branch", "name": "错位支部", "parent_id": orgs["C1"], "grid_id": str(tree["G2a"].id)}
    error = assert_error(client.post(ORGS, json=body, headers=admin), 422, "validation_error")
    assert "grid_id" in error["details"]
    assert stored_count(app) == before


def test_a_unit_inside_the_parent_organisations_unit_is_accepted(client, tree, orgs, admin):
    body = {"kind": "branch", "name": "第二网格党支部", "parent_id": orgs["C1"], "grid_id": str(tree["G1b"].id)}
    assert client.post(ORGS, json=body, headers=admin).status_code == 201


def test_a_unit_and_a_host_together_are_422(client, tree, orgs, admin):
    body = {
        "kind": "branch",
        "name": "两处",
        "parent_id": orgs["C1"],
        "grid_id": str(tree["G1b"].id),
        "host": {"kind": "school", "name": "小学"},
    }
    error = assert_error(client.post(ORGS, json=body, headers=admin), 422, "validation_error")
    assert "host" in error["details"]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "cell", "name": "x"},
        {"kind": "branch", "name": ""},
        {"kind": "branch", "name": "x", "parent_id": "abc"},
        {"kind": "branch", "name": "x", "secretary_id": "1"},  # set with PATCH, once a member is there
        {"kind": "branch", "name": "x", "host": {"kind": "bank", "name": "y"}},
        {"kind": "branch", "name": "x", "host": {"kind": "school", "name": "y", "location": {"lat": 91, "lng": 1}}},
    ],
)
def test_a_malformed_create_is_422(client, orgs, admin, body):
    assert_error(client.post(ORGS, json={"parent_id": str(orgs["C1"]), **body}, headers=admin), 422, "validation_error")


def test_a_nonexistent_parent_or_unit_is_422(client, orgs, admin):
    for field, body in [
        ("parent_id", {"kind": "branch", "name": "x", "parent_id": "987654"}),
        ("grid_id", {"kind": "branch", "name": "x", "parent_id": str(orgs["C1"]), "grid_id": "987654"}),
    ]:
        error = assert_error(client.post(ORGS, json=body, headers=admin), 422, "validation_error")
        assert field in error["details"]


# --- reading -----------------------------------------------------------------------------------------


def names(response):
    assert response.status_code == 200, response.json
    return {item["name"] for item in response.json["items"]}


def test_the_list_filters_by_parent_subtree_kind_unit_name_and_activity(client, app, tree, orgs, admin):
    make_org(app, "branch", parent=orgs["C1"], name="已撤销支部", active=False)
    assert names(client.get(f"{ORGS}?parent_id={orgs['C1']}", headers=admin)) == {
        "第一网格党支部", "第一中学党支部", "已撤销支部"
    }  # fmt: skip
    assert names(client.get(f"{ORGS}?parent_id={orgs['S1']}&subtree=true", headers=admin)) == {
        "社区大党委", "第一网格党支部", "第一党小组", "第一中学党支部", "已撤销支部"
    }  # fmt: skip
    assert names(client.get(f"{ORGS}?kind=group", headers=admin)) == {"第一党小组"}
    assert names(client.get(f"{ORGS}?grid_id={tree['G1a'].id}", headers=admin)) == {"第一网格党支部"}
    assert names(client.get(f"{ORGS}?q=中学", headers=admin)) == {"第一中学党支部"}
    assert "已撤销支部" not in names(client.get(f"{ORGS}?active=true", headers=admin))
    assert names(client.get(f"{ORGS}?active=false", headers=admin)) == {"已撤销支部"}


def test_the_list_pages_with_a_cursor(client, orgs, admin):
    first = client.get(f"{ORGS}?limit=4", headers=admin).json
    second = client.get(f"{ORGS}?limit=4&cursor={first['next_cursor']}", headers=admin).json
    assert len(first["items"]) == 4 and second["next_cursor"] is None
    assert {i["id"] for i in first["items"] + second["items"]} == {str(i) for i in orgs.values()}


def test_member_count_counts_the_active_members_held_directly(client, app, orgs, admin):
    make_member(app, orgs["G1a"])
    make_member(app, orgs["G1a"])
    make_member(app, orgs["G1a"], active=False)
    make_member(app, orgs["group"])
    assert client.get(url(orgs["G1a"]), headers=admin).json["member_count"] == 2
    listed = {i["id"]: i["member_count"] for i in client.get(ORGS, headers=admin).json["items"]}
    assert (listed[str(orgs["G1a"])], listed[str(orgs["group"])], listed[str(orgs["C1"])]) == (2, 1, 0)


def test_an_unknown_organisation_is_404(client, admin):
    assert_error(client.get(url(987654), headers=admin), 404, "not_found")


# --- changing ----------------------------------------------------------------------------------------


def test_moving_an_organisation_repaths_its_subtree(client, app, tree, orgs, admin):
    target = make_org(app, "party_committee", parent=orgs["S1"], name="另一社区党委")
    response = client.patch(url(orgs["G1a"]), json={"parent_id": str(target)}, headers=admin)
    assert response.status_code == 200, response.json
    assert response.json["parent_id"] == str(target)
    target_path = stored_path(app, target)
    assert stored_path(app, orgs["G1a"]) == f"{target_path}{orgs['G1a']}/"
    assert stored_path(app, orgs["group"]) == f"{target_path}{orgs['G1a']}/{orgs['group']}/"
    assert names(client.get(f"{ORGS}?parent_id={target}&subtree=true", headers=admin)) == {
        "第一网格党支部", "第一党小组"
    }  # fmt: skip


def test_moving_under_its_own_subtree_is_422(client, app, orgs, admin):
    inner = make_org(app, "party_committee", parent=orgs["C1"], name="下级党委")
    response = client.patch(url(orgs["C1"]), json={"parent_id": str(inner)}, headers=admin)
    error = assert_error(response, 422, "validation_error")
    assert error["details"]["parent_id"] == ["would create a cycle"]
    assert stored_path(app, orgs["C1"]) == f"/{orgs['S1']}/{orgs['C1']}/"


def test_moving_a_territorial_organisation_under_another_units_organisation_is_422(client, orgs, admin):
    response = client.patch(url(orgs["C1"]), json={"parent_id": str(orgs["S2"])}, headers=admin)
    assert "grid_id" in assert_error(response, 422, "validation_error")["details"]


def test_moving_to_a_wrong_kind_of_parent_is_422(client, orgs, admin):
    response = client.patch(url(orgs["group"]), json={"parent_id": str(orgs["C1"])}, headers=admin)
    assert "parent_id" in assert_error(response, 422, "validation_error")["details"]


def test_a_unit_that_would_leave_sub_organisations_outside_is_422(client, tree, orgs, admin):
    response = client.patch(url(orgs["C1"]), json={"grid_id": str(tree["G1b"].id)}, headers=admin)
    assert "grid_id" in assert_error(response, 422, "validation_error")["details"]


def test_setting_a_host_clears_the_unit(client, tree, orgs, admin):
    host = {"kind": "organ", "name": "区政府", "address": None, "location": None}
    body = client.patch(url(orgs["group"]), json={"host": host}, headers=admin).json
    assert (body["host"], body["grid_id"]) == (host, None)
    body = client.patch(url(orgs["group"]), json={"grid_id": str(tree["G1a"].id)}, headers=admin).json
    assert (body["host"], body["grid_id"]) == (None, str(tree["G1a"].id))


def test_a_stale_if_match_is_412(client, orgs, admin):
    etag = client.get(url(orgs["G1a"]), headers=admin).headers["ETag"]
    assert client.patch(url(orgs["G1a"]), json={"name": "改名"}, headers={**admin, "If-Match": etag}).status_code == 200
    response = client.patch(url(orgs["G1a"]), json={"name": "再改"}, headers={**admin, "If-Match": etag})
    assert_error(response, 412, "precondition_failed")


def test_a_secretary_must_be_an_active_member_of_the_organisation(client, app, orgs, admin):
    elsewhere = make_member(app, orgs["C1"])
    gone = make_member(app, orgs["G1a"], active=False)
    for member in (elsewhere, gone, 987654):
        response = client.patch(url(orgs["G1a"]), json={"secretary_id": str(member)}, headers=admin)
        assert "secretary_id" in assert_error(response, 422, "validation_error")["details"]
    own = make_member(app, orgs["G1a"])
    body = client.patch(url(orgs["G1a"]), json={"secretary_id": str(own)}, headers=admin).json
    assert body["secretary_id"] == str(own)


def test_deactivating_an_organisation_with_active_sub_organisations_is_409(client, orgs, admin):
    assert_error(client.patch(url(orgs["G1a"]), json={"active": False}, headers=admin), 409, "conflict")
    assert client.patch(url(orgs["group"]), json={"active": False}, headers=admin).json["active"] is False
    assert client.patch(url(orgs["G1a"]), json={"active": False}, headers=admin).json["active"] is False


def test_a_failed_change_leaves_nothing_behind(client, app, orgs, admin):
    member = make_member(app, orgs["C1"])
    response = client.patch(url(orgs["G1a"]), json={"name": "新名字", "secretary_id": str(member)}, headers=admin)
    assert_error(response, 422, "validation_error")
    assert client.get(url(orgs["G1a"]), headers=admin).json["name"] == "第一网格党支部"


# --- the grid unit's party_branch summary ----------------------------------------------------------


def summary(client, admin, unit):
    return client.get(f"/api/v1/grids/{unit.id}", headers=admin).json["party_branch"]


def test_the_unit_summary_follows_the_organisation_built_on_it(client, app, tree, orgs, admin):
    body = {"kind": "branch", "name": "二网格支部", "parent_id": orgs["C1"], "grid_id": str(tree["G1b"].id)}
    created = client.post(ORGS, json=body, headers=admin).json
    assert summary(client, admin, tree["G1b"]) == {"name": "二网格支部", "secretary": None}
    member = make_member(app, int(created["id"]), name="王书记")
    client.patch(url(created["id"]), json={"name": "第二网格党支部", "secretary_id": str(member)}, headers=admin)
    assert summary(client, admin, tree["G1b"]) == {"name": "第二网格党支部", "secretary": "王书记"}
    client.patch(url(created["id"]), json={"grid_id": str(tree["C1"].id)}, headers=admin)  # moved to another unit
    assert summary(client, admin, tree["G1b"]) is None
    assert summary(client, admin, tree["C1"]) == {"name": "社区大党委", "secretary": None}  # the committee outranks
    client.patch(url(created["id"]), json={"grid_id": str(tree["G1b"].id)}, headers=admin)
    client.patch(url(created["id"]), json={"secretary_id": None}, headers=admin)
    assert summary(client, admin, tree["G1b"]) == {"name": "第二网格党支部", "secretary": None}
    client.patch(url(created["id"]), json={"active": False}, headers=admin)
    assert summary(client, admin, tree["G1b"]) is None


def test_the_unit_summary_follows_its_secretary_renamed_or_gone(client, app, tree, orgs, admin):
    body = {"kind": "branch", "name": "二网格支部", "parent_id": orgs["C1"], "grid_id": str(tree["G1b"].id)}
    created = client.post(ORGS, json=body, headers=admin).json
    member = make_member(app, int(created["id"]), name="王书记")
    client.patch(url(created["id"]), json={"secretary_id": str(member)}, headers=admin)
    renamed = client.patch(f"/api/v1/party/members/{member}", json={"name": "王建国"}, headers=admin)
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    assert summary(client, admin, tree["G1b"]) == {"name": "二网格支部", "secretary": "王建国"}


# --- scope: party staff, supervisors, workers and volunteers -----------------------------------------


@pytest.fixture
def staff(app, make_account, auth, orgs):
    """A party_staff account placed on the community committee (C1)."""
    account = make_account("party_staff")
    place(app, account.id, orgs["C1"])
    return auth(account)


def test_party_staff_read_their_organisations_subtree_only(client, orgs, staff):
    assert names(client.get(ORGS, headers=staff)) == {"社区大党委", "第一网格党支部", "第一党小组", "第一中学党支部"}
    assert client.get(url(orgs["group"]), headers=staff).status_code == 200


@pytest.mark.parametrize("outside", ["S1", "S2"])
def test_party_staff_get_404_outside_their_subtree(client, orgs, staff, outside):
    assert_error(client.get(url(orgs[outside]), headers=staff), 404, "not_found")
    assert_error(client.get(f"{ORGS}?parent_id={orgs[outside]}", headers=staff), 404, "not_found")


def test_party_staff_create_below_their_organisation(client, orgs, staff):
    body = {"kind": "branch", "name": "新支部", "parent_id": str(orgs["C1"])}
    assert client.post(ORGS, json=body, headers=staff).status_code == 201


@pytest.mark.parametrize(("parent", "status"), [("S1", 403), ("S2", 403), (None, 403)])
def test_party_staff_may_not_create_outside_their_subtree(client, app, orgs, staff, parent, status):
    before = stored_count(app)
    body = {"kind": "party_committee", "name": "越界", "parent_id": str(orgs[parent]) if parent else None}
    assert_error(client.post(ORGS, json=body, headers=staff), status, "forbidden")
    assert stored_count(app) == before


def test_party_staff_change_their_own_organisations_details_and_those_below(client, orgs, staff):
    assert client.patch(url(orgs["C1"]), json={"name": "社区党委"}, headers=staff).status_code == 200
    assert client.patch(url(orgs["group"]), json={"name": "一组"}, headers=staff).status_code == 200


def test_party_staff_may_not_move_their_own_organisation(client, app, orgs, staff):
    other = make_org(app, "party_committee", parent=orgs["S1"])
    response = client.patch(url(orgs["C1"]), json={"parent_id": str(other)}, headers=staff)
    assert_error(response, 403, "forbidden")


def test_party_staff_move_within_their_subtree(client, app, orgs, staff):
    response = client.patch(url(orgs["group"]), json={"parent_id": str(orgs["school"])}, headers=staff)
    assert response.status_code == 200, response.json


def test_party_staff_may_not_move_an_organisation_out_of_their_subtree(client, orgs, staff):
    response = client.patch(url(orgs["G1a"]), json={"parent_id": str(orgs["S2"])}, headers=staff)
    assert_error(response, 403, "forbidden")


def test_party_staff_get_404_changing_an_organisation_outside_their_subtree(client, orgs, staff):
    assert_error(client.patch(url(orgs["S1"]), json={"name": "x"}, headers=staff), 404, "not_found")


def test_unplaced_party_staff_see_nothing(client, orgs, make_account, auth):
    headers = auth(make_account("party_staff"))
    assert client.get(ORGS, headers=headers).json["items"] == []
    assert_error(client.get(url(orgs["C1"]), headers=headers), 404, "not_found")
    body = {"kind": "branch", "name": "x", "parent_id": str(orgs["C1"])}
    assert_error(client.post(ORGS, json=body, headers=headers), 403, "forbidden")


@pytest.fixture
def supervisor(make_account, auth, tree, orgs):
    """A supervisor of C1: reads the organisations built on C1 and its cells, and everything below them."""
    return auth(make_account("supervisor", unit=tree["C1"]))


def test_a_supervisor_reads_the_organisations_of_their_grid_subtree(client, orgs, supervisor):
    assert names(client.get(ORGS, headers=supervisor)) == {
        "社区大党委",
        "第一网格党支部",
        "第一党小组",
        "第一中学党支部",
    }


@pytest.mark.parametrize("outside", ["S1", "S2"])
def test_a_supervisor_gets_404_outside_their_grid_subtree(client, orgs, supervisor, outside):
    assert_error(client.get(url(orgs[outside]), headers=supervisor), 404, "not_found")


def test_a_supervisor_may_not_create_or_change_organisations(client, orgs, supervisor):
    body = {"kind": "branch", "name": "x", "parent_id": str(orgs["C1"])}
    assert_error(client.post(ORGS, json=body, headers=supervisor), 403, "forbidden")
    assert_error(client.patch(url(orgs["G1a"]), json={"name": "x"}, headers=supervisor), 403, "forbidden")


@pytest.mark.parametrize("role", ["worker", "volunteer"])
def test_workers_and_volunteers_are_refused_the_organisations(client, tree, orgs, make_account, auth, role):
    headers = auth(
        make_account(role, unit=tree["C1"]) if role == "volunteer" else make_account(role, cells=[tree["G1a"]])
    )
    assert_error(client.get(ORGS, headers=headers), 403, "forbidden")
    assert_error(client.get(url(orgs["G1a"]), headers=headers), 403, "forbidden")
    assert_error(client.post(ORGS, json={"kind": "branch", "name": "x"}, headers=headers), 403, "forbidden")


def test_the_organisations_need_a_token(client, orgs):
    assert_error(client.get(ORGS), 401, "unauthorized")
