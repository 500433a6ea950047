"""party_staff accounts: created by admins without a grid unit, placed on an organisation subtree by admins."""

import pytest

from tests.support.accounts import PASSWORD
from tests.support.http import assert_error
from tests.support.party_orgs import make_org, place

USERS = "/api/v1/users"


def staff_url(account_id):
    return f"/api/v1/party/staff/{account_id}"


def new_staff(**fields):
    return {"username": "dang.wu", "display_name": "党务 王", "password": PASSWORD, "role": "party_staff", **fields}


@pytest.fixture
def admin(make_account, auth):
    return auth(make_account("admin"))


@pytest.fixture
def committee(app, tree):
    return str(make_org(app, "party_committee", grid=tree["C1"], name="社区大党委"))


@pytest.mark.parametrize("grid", ["omitted", "null"])
def test_an_admin_creates_a_party_staff_account_without_a_grid_unit(client, admin, grid):
    body = new_staff() if grid == "omitted" else new_staff(scope_grid_id=None)
    response = client.post(USERS, json=body, headers=admin)
    assert response.status_code == 201, response.json
    assert (response.json["role"], response.json["scope_grid_id"]) == ("party_staff", None)


def test_a_party_staff_account_with_a_grid_unit_is_422(client, tree, admin):
    response = client.post(USERS, json=new_staff(scope_grid_id=str(tree["C1"].id)), headers=admin)
    assert "scope_grid_id" in assert_error(response, 422, "validation_error")["details"]


def test_an_account_becomes_party_staff_once_its_grid_unit_is_cleared(client, tree, admin, make_account):
    worker = make_account("volunteer", unit=tree["C1"])
    url = f"{USERS}/{worker.id}"
    refused = client.patch(url, json={"role": "party_staff"}, headers=admin)
    assert "scope_grid_id" in assert_error(refused, 422, "validation_error")["details"]
    response = client.patch(url, json={"role": "party_staff", "scope_grid_id": None}, headers=admin)
    assert (response.json["role"], response.json["scope_grid_id"]) == ("party_staff", None)


def test_a_supervisor_may_not_create_party_staff(client, tree, make_account, auth):
    headers = auth(make_account("supervisor", unit=tree["S1"]))
    assert_error(client.post(USERS, json=new_staff(), headers=headers), 403, "forbidden")


def test_party_staff_may_not_create_accounts(client, make_account, auth):
    headers = auth(make_account("party_staff"))
    assert_error(client.post(USERS, json=new_staff(), headers=headers), 403, "forbidden")


def test_a_party_staff_account_logs_in(client, admin):
    client.post(USERS, json=new_staff(), headers=admin)
    response = client.post("/api/v1/auth/login", json={"username": "dang.wu", "password": PASSWORD})
    assert response.status_code == 200, response.json


# --- placements --------------------------------------------------------------------------------------


def test_an_admin_places_party_staff_on_an_organisation(client, committee, admin, make_account, auth):
    staff = make_account("party_staff")
    response = client.put(staff_url(staff.id), json={"org_id": committee}, headers=admin)
    assert response.status_code == 200, response.json
    placement = response.json
    assert (placement["account_id"], placement["org_id"]) == (str(staff.id), committee)
    assert placement["org"] == {"id": committee, "kind": "party_committee", "name": "社区大党委"}
    assert client.get(staff_url(staff.id), headers=admin).json == placement
    assert client.get(staff_url(staff.id), headers=auth(staff)).json == placement
    assert client.get("/api/v1/party/orgs", headers=auth(staff)).json["items"][0]["id"] == committee


def test_a_new_placement_replaces_the_old_one(client, app, committee, admin, make_account):
    staff = make_account("party_staff")
    place(app, staff.id, committee)
    other = str(make_org(app, "party_committee", name="另一党委"))
    assert client.put(staff_url(staff.id), json={"org_id": other}, headers=admin).json["org_id"] == other
    assert client.get(staff_url(staff.id), headers=admin).json["org_id"] == other


def test_an_unplaced_account_has_no_placement(client, admin, make_account):
    staff = make_account("party_staff")
    assert_error(client.get(staff_url(staff.id), headers=admin), 404, "not_found")


def test_party_staff_see_no_other_accounts_placement(client, app, committee, make_account, auth):
    one, other = make_account("party_staff"), make_account("party_staff")
    place(app, other.id, committee)
    assert_error(client.get(staff_url(other.id), headers=auth(one)), 404, "not_found")


@pytest.mark.parametrize("role", ["supervisor", "party_staff", "worker", "volunteer"])
def test_only_admins_place_party_staff(client, app, tree, committee, make_account, auth, role):
    staff = make_account("party_staff")
    actor = make_account(role) if role == "party_staff" else make_account(role, unit=tree["C1"])
    response = client.put(staff_url(staff.id), json={"org_id": committee}, headers=auth(actor))
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("role", ["supervisor", "worker", "volunteer"])
def test_other_roles_may_not_read_placements(client, app, tree, committee, make_account, auth, role):
    staff = make_account("party_staff")
    place(app, staff.id, committee)
    actor = make_account(role, unit=tree["C1"])
    assert_error(client.get(staff_url(staff.id), headers=auth(actor)), 403, "forbidden")


def test_only_party_staff_accounts_are_placed(client, tree, committee, admin, make_account):
    supervisor = make_account("supervisor", unit=tree["C1"])
    response = client.put(staff_url(supervisor.id), json={"org_id": committee}, headers=admin)
    assert "account_id" in assert_error(response, 422, "validation_error")["details"]


def test_a_placement_on_an_unknown_organisation_is_422(client, admin, make_account):
    staff = make_account("party_staff")
    response = client.put(staff_url(staff.id), json={"org_id": "987654"}, headers=admin)
    assert "org_id" in assert_error(response, 422, "validation_error")["details"]


def test_a_placement_of_an_unknown_account_is_404(client, committee, admin):
    assert_error(client.put(staff_url(987654), json={"org_id": committee}, headers=admin), 404, "not_found")


def test_party_staff_see_no_grid_units(client, tree, make_account, auth):
    headers = auth(make_account("party_staff"))
    assert client.get("/api/v1/grids", headers=headers).json["items"] == []
