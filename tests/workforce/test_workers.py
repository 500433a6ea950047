"""Worker profiles through the HTTP API: creating, reading and changing them, by role and scope."""

import pytest

from tests.support.http import assert_error
from tests.support.workforce import LAT, LNG, build_staff, iso, now


@pytest.fixture
def staff(app, tree, make_account):
    return build_staff(app, tree, make_account)


@pytest.fixture
def newcomer(make_account, tree):
    """A worker account in community C1 (street S1) without a profile yet."""
    return make_account("worker", unit=tree["C1"], display_name="新网格员", phone="13800000009")


def create(client, headers, **fields):
    return client.post("/api/v1/workers", json=fields, headers=headers)


def profile_of(client, auth, staff, worker_id):
    return client.get(f"/api/v1/workers/{worker_id}", headers=auth(staff.admin)).json


# --- creating -------------------------------------------------------------------------------------


def test_an_admin_creates_the_profile_of_a_worker_account(client, auth, staff, newcomer, tree):
    response = create(
        client,
        auth(staff.admin),
        user_id=str(newcomer.id),
        employment="part_time",
        grid_ids=[str(tree["G1a"].id)],
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["user_id"] == str(newcomer.id)
    assert (body["name"], body["phone"], body["username"]) == ("新网格员", "13800000009", newcomer.username)
    assert (body["employment"], body["party_member"], body["on_duty"]) == ("part_time", False, False)
    assert body["grid_ids"] == [str(tree["G1a"].id)]
    assert body["last_position"] is None
    assert client.get(f"/api/v1/workers/{body['id']}", headers=auth(staff.admin)).json == body


def test_a_supervisor_creates_a_profile_for_a_worker_of_their_subtree(client, auth, staff, newcomer, tree):
    cells = [str(tree["G1a"].id), str(tree["G1b"].id)]
    response = create(
        client, auth(staff.supervisor_in), user_id=str(newcomer.id), employment="full_time", grid_ids=cells
    )
    assert response.status_code == 201, response.json
    assert response.json["grid_ids"] == sorted(cells, key=int)


def test_a_profile_created_without_grid_ids_keeps_the_accounts_cells(client, auth, staff, make_account, tree):
    account = make_account("worker", unit=tree["C1"], cells=[tree["G1b"]])
    response = create(client, auth(staff.admin), user_id=str(account.id), employment="full_time")
    assert response.status_code == 201
    assert response.json["grid_ids"] == [str(tree["G1b"].id)]


def test_a_second_profile_for_the_same_account_is_409(client, auth, staff):
    response = create(client, auth(staff.admin), user_id=str(staff.worker.id), employment="full_time")
    error = assert_error(response, 409, "conflict")
    assert "user_id" in error["details"]


@pytest.mark.parametrize("who", ["worker_self", "volunteer_in"])
def test_workers_and_volunteers_may_not_create_profiles(client, auth, staff, newcomer, who):
    response = create(client, auth(staff[who]), user_id=str(newcomer.id), employment="full_time")
    assert_error(response, 403, "forbidden")


def test_a_supervisor_may_not_create_a_profile_for_a_worker_outside_their_subtree(client, auth, staff, newcomer):
    response = create(client, auth(staff.supervisor_out), user_id=str(newcomer.id), employment="full_time")
    assert_error(response, 403, "forbidden")
    assert len(client.get("/api/v1/workers", headers=auth(staff.admin)).json["items"]) == 3


def test_a_supervisor_may_not_assign_a_cell_outside_their_scope(client, auth, staff, newcomer, tree):
    response = create(
        client,
        auth(staff.supervisor_in),
        user_id=str(newcomer.id),
        employment="full_time",
        grid_ids=[str(tree["G2a"].id)],
    )
    error = assert_error(response, 403, "forbidden")
    assert "grid_ids" in error["details"]
    assert len(client.get("/api/v1/workers", headers=auth(staff.admin)).json["items"]) == 3


@pytest.mark.parametrize("unit", ["C1", "inactive", "missing"])
def test_only_existing_active_cells_can_be_assigned_and_nothing_is_half_written(
    client, auth, staff, newcomer, tree, make_unit, unit
):
    admin = auth(staff.admin)
    if unit == "inactive":
        cell = make_unit("grid", tree["C1"])
        client.patch(f"/api/v1/grids/{cell.id}", json={"active": False}, headers=admin)
        grid_id = str(cell.id)
    else:
        grid_id = "999999" if unit == "missing" else str(tree[unit].id)
    response = create(client, admin, user_id=str(newcomer.id), employment="full_time", grid_ids=[grid_id])
    error = assert_error(response, 422, "validation_error")
    assert "grid_ids" in error["details"]
    assert len(client.get("/api/v1/workers", headers=admin).json["items"]) == 3


@pytest.mark.parametrize("role", ["volunteer", "supervisor"])
def test_a_profile_is_only_for_a_worker_account(client, auth, staff, make_account, tree, role):
    account = make_account(role, unit=tree["C1"])
    response = create(client, auth(staff.admin), user_id=str(account.id), employment="full_time")
    error = assert_error(response, 422, "validation_error")
    assert "user_id" in error["details"]


def test_a_profile_for_an_unknown_account_is_422(client, auth, staff):
    error = assert_error(
        create(client, auth(staff.admin), user_id="999999", employment="full_time"), 422, "validation_error"
    )
    assert "user_id" in error["details"]


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"employment": "sometimes"}, "employment"),
        ({"employment": "full_time", "party_member": True}, "party_member"),
        ({"employment": "full_time", "grid_ids": "G1a"}, "grid_ids"),
        ({"employment": "full_time", "salary": 3000}, "salary"),
        ({}, "employment"),
    ],
)
def test_a_malformed_profile_is_422_per_field(client, auth, staff, newcomer, fields, bad):
    response = create(client, auth(staff.admin), user_id=str(newcomer.id), **fields)
    error = assert_error(response, 422, "validation_error")
    assert bad in error["details"]


# --- reading --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "supervisor_in", "worker_self", "volunteer_in"])
def test_a_profile_is_readable_in_scope(client, auth, staff, who):
    response = client.get(f"/api/v1/workers/{staff.worker_id}", headers=auth(staff[who]))
    assert response.status_code == 200
    assert response.json["name"] == "李网格员"
    assert response.headers["ETag"]


@pytest.mark.parametrize("who", ["supervisor_out", "worker_other", "volunteer_out"])
def test_a_profile_outside_the_callers_scope_is_404(client, auth, staff, who):
    response = client.get(f"/api/v1/workers/{staff.worker_id}", headers=auth(staff[who]))
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("who", ["admin", "supervisor_in", "worker_self"])
def test_managers_and_the_worker_see_the_phone(client, auth, staff, who):
    body = client.get(f"/api/v1/workers/{staff.worker_id}", headers=auth(staff[who])).json
    assert body["phone"] == "13800000002"


def test_volunteers_never_see_a_workers_phone_or_position(client, auth, staff):
    worker = auth(staff.worker)
    ping = {"lat": LAT, "lng": LNG, "recorded_at": iso(now())}
    assert client.post("/api/v1/workers/me/location", json={"pings": [ping]}, headers=worker).json["accepted"] == 1
    seen = client.get(f"/api/v1/workers/{staff.worker_id}", headers=auth(staff.volunteer_in)).json
    assert (seen["phone"], seen["last_position"]) == (None, None)
    listed = client.get("/api/v1/workers", headers=auth(staff.volunteer_in)).json["items"]
    assert listed and all(item["phone"] is None and item["last_position"] is None for item in listed)
    assert client.get(f"/api/v1/workers/{staff.worker_id}", headers=auth(staff.supervisor_in)).json["last_position"]


def test_a_worker_reads_their_own_profile_at_me(client, auth, staff):
    response = client.get("/api/v1/workers/me", headers=auth(staff.worker))
    assert response.status_code == 200
    assert response.json["id"] == staff.worker_id
    assert response.json["party_member"] is True


@pytest.mark.parametrize("who", ["admin", "supervisor_in", "volunteer_in"])
def test_me_is_for_workers_only(client, auth, staff, who):
    assert_error(client.get("/api/v1/workers/me", headers=auth(staff[who])), 403, "forbidden")


def test_a_worker_without_a_profile_gets_404_at_me(client, auth, newcomer):
    error = assert_error(client.get("/api/v1/workers/me", headers=auth(newcomer)), 404, "not_found")
    assert "profile" in error["message"]


def test_reading_workers_needs_a_token(client, staff):
    assert_error(client.get(f"/api/v1/workers/{staff.worker_id}"), 401, "unauthorized")


# --- listing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin", {"worker", "other_worker", "far_worker"}),
        ("supervisor_in", {"worker", "other_worker"}),
        ("supervisor_out", {"far_worker"}),
        ("volunteer_in", {"worker", "other_worker"}),
        ("volunteer_out", {"far_worker"}),
    ],
)
def test_the_list_holds_the_workers_in_the_callers_scope(client, auth, staff, who, expected):
    response = client.get("/api/v1/workers", headers=auth(staff[who]))
    assert response.status_code == 200
    assert {item["user_id"] for item in response.json["items"]} == {str(staff[name].id) for name in expected}
    assert response.json["next_cursor"] is None


def test_a_worker_may_not_list_workers(client, auth, staff):
    assert_error(client.get("/api/v1/workers", headers=auth(staff.worker)), 403, "forbidden")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("grid_id={G1b}", {"other_worker"}),
        ("grid_id={C1}", {"worker", "other_worker"}),
        ("employment=part_time", {"other_worker"}),
        ("party_member=true", {"worker"}),
        ("q=赵", {"far_worker"}),
    ],
)
def test_the_list_filters(client, auth, staff, tree, query, expected):
    url = "/api/v1/workers?" + query.format(**{code: unit.id for code, unit in tree.items()})
    response = client.get(url, headers=auth(staff.admin))
    assert response.status_code == 200, response.json
    assert {item["user_id"] for item in response.json["items"]} == {str(staff[name].id) for name in expected}


def test_the_list_filters_by_duty(client, auth, staff):
    client.post("/api/v1/workers/me/duty", json={"on_duty": True}, headers=auth(staff.far_worker))
    items = client.get("/api/v1/workers?on_duty=true", headers=auth(staff.admin)).json["items"]
    assert [item["id"] for item in items] == [staff.far_worker_id]


def test_the_list_pages_with_a_cursor(client, auth, staff):
    admin = auth(staff.admin)
    seen, cursor = [], None
    while True:
        url = "/api/v1/workers?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=admin).json
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([staff.worker_id, staff.other_worker_id, staff.far_worker_id], key=int)


def test_a_grid_filter_outside_the_callers_scope_is_404(client, auth, staff, tree):
    response = client.get(f"/api/v1/workers?grid_id={tree['G2a'].id}", headers=auth(staff.supervisor_in))
    assert_error(response, 404, "not_found")


# --- changing -------------------------------------------------------------------------------------


def test_a_supervisor_changes_employment_and_duty(client, auth, staff):
    response = client.patch(
        f"/api/v1/workers/{staff.worker_id}",
        json={"employment": "part_time", "on_duty": True},
        headers=auth(staff.supervisor_in),
    )
    assert response.status_code == 200, response.json
    assert (response.json["employment"], response.json["on_duty"]) == ("part_time", True)
    assert profile_of(client, auth, staff, staff.worker_id) == response.json


def test_party_membership_is_not_written_through_the_profile(client, auth, staff):
    """It is derived from the party member register: the profile refuses it and says where it is kept."""
    response = client.patch(
        f"/api/v1/workers/{staff.worker_id}", json={"party_member": False}, headers=auth(staff.supervisor_in)
    )
    error = assert_error(response, 422, "validation_error")
    assert "party member register" in error["details"]["party_member"][0]
    assert profile_of(client, auth, staff, staff.worker_id)["party_member"] is True


def test_new_cells_become_the_workers_scope(client, auth, staff, tree):
    response = client.patch(
        f"/api/v1/workers/{staff.worker_id}",
        json={"grid_ids": [str(tree["G1b"].id)]},
        headers=auth(staff.supervisor_in),
    )
    assert response.status_code == 200, response.json
    assert response.json["grid_ids"] == [str(tree["G1b"].id)]
    worker = auth(staff.worker)
    assert client.get(f"/api/v1/grids/{tree['G1b'].id}", headers=worker).status_code == 200
    assert_error(client.get(f"/api/v1/grids/{tree['G1a'].id}", headers=worker), 404, "not_found")


def test_a_supervisor_may_not_take_away_a_cell_outside_their_scope(client, auth, staff, tree):
    both = [str(tree["G1a"].id), str(tree["G2a"].id)]
    assert (
        client.patch(
            f"/api/v1/workers/{staff.worker_id}", json={"grid_ids": both}, headers=auth(staff.admin)
        ).status_code
        == 200
    )
    response = client.patch(
        f"/api/v1/workers/{staff.worker_id}",
        json={"grid_ids": [str(tree["G1a"].id)]},
        headers=auth(staff.supervisor_in),
    )
    assert_error(response, 403, "forbidden")
    assert profile_of(client, auth, staff, staff.worker_id)["grid_ids"] == sorted(both, key=int)


def test_a_supervisor_may_keep_a_cell_outside_their_scope_while_changing_others(client, auth, staff, tree):
    both = [str(tree["G1a"].id), str(tree["G2a"].id)]
    client.patch(f"/api/v1/workers/{staff.worker_id}", json={"grid_ids": both}, headers=auth(staff.admin))
    kept = [str(tree["G1b"].id), str(tree["G2a"].id)]
    response = client.patch(
        f"/api/v1/workers/{staff.worker_id}", json={"grid_ids": kept}, headers=auth(staff.supervisor_in)
    )
    assert response.status_code == 200, response.json
    assert response.json["grid_ids"] == sorted(kept, key=int)


def test_a_bad_cell_in_a_patch_changes_nothing(client, auth, staff, tree):
    response = client.patch(
        f"/api/v1/workers/{staff.worker_id}",
        json={"employment": "part_time", "grid_ids": [str(tree["C1"].id)]},
        headers=auth(staff.admin),
    )
    assert_error(response, 422, "validation_error")
    body = profile_of(client, auth, staff, staff.worker_id)
    assert (body["employment"], body["grid_ids"]) == ("full_time", [str(tree["G1a"].id)])


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("worker_self", 403, "forbidden"), ("volunteer_in", 403, "forbidden"), ("supervisor_out", 404, "not_found")],
)
def test_patching_a_profile_is_refused_outside_management(client, auth, staff, who, status, code):
    response = client.patch(f"/api/v1/workers/{staff.worker_id}", json={"on_duty": True}, headers=auth(staff[who]))
    assert_error(response, status, code)
    assert profile_of(client, auth, staff, staff.worker_id)["on_duty"] is False


def test_a_patch_with_the_current_etag_succeeds(client, auth, staff):
    headers = auth(staff.supervisor_in)
    etag = client.get(f"/api/v1/workers/{staff.worker_id}", headers=headers).headers["ETag"]
    response = client.patch(
        f"/api/v1/workers/{staff.worker_id}", json={"on_duty": True}, headers={**headers, "If-Match": etag}
    )
    assert response.status_code == 200
    assert response.headers["ETag"] != etag


def test_a_patch_with_a_stale_etag_is_412_and_changes_nothing(client, auth, staff):
    headers = auth(staff.supervisor_in)
    etag = client.get(f"/api/v1/workers/{staff.worker_id}", headers=headers).headers["ETag"]
    client.patch(f"/api/v1/workers/{staff.worker_id}", json={"employment": "part_time"}, headers=headers)
    response = client.patch(
        f"/api/v1/workers/{staff.worker_id}", json={"on_duty": True}, headers={**headers, "If-Match": etag}
    )
    assert_error(response, 412, "precondition_failed")
    assert profile_of(client, auth, staff, staff.worker_id)["on_duty"] is False


# --- duty -----------------------------------------------------------------------------------------


def test_a_worker_goes_on_and_off_duty(client, auth, staff):
    worker = auth(staff.worker)
    on = client.post("/api/v1/workers/me/duty", json={"on_duty": True}, headers=worker)
    assert on.status_code == 200
    assert on.json["on_duty"] is True
    assert profile_of(client, auth, staff, staff.worker_id)["on_duty"] is True
    off = client.post("/api/v1/workers/me/duty", json={"on_duty": False}, headers=worker)
    assert off.json["on_duty"] is False


@pytest.mark.parametrize("who", ["admin", "supervisor_in", "volunteer_in"])
def test_only_a_worker_reports_their_own_duty(client, auth, staff, who):
    response = client.post("/api/v1/workers/me/duty", json={"on_duty": True}, headers=auth(staff[who]))
    assert_error(response, 403, "forbidden")


def test_a_duty_report_without_on_duty_is_422(client, auth, staff):
    error = assert_error(
        client.post("/api/v1/workers/me/duty", json={}, headers=auth(staff.worker)), 422, "validation_error"
    )
    assert "on_duty" in error["details"]
