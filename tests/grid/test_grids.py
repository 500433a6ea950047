"""Grid units through the HTTP API: the tree, boundaries, scope, moves and deletes."""

import pytest

from tests.support.geometry import LAT, LNG, square
from tests.support.http import assert_error


@pytest.fixture
def admin(make_account, auth):
    return auth(make_account("admin"))


def create(client, headers, **fields):
    return client.post("/api/v1/grids", json=fields, headers=headers)


@pytest.fixture
def mapped(client, admin):
    """A district › street › community with boundaries, and two cells side by side."""
    ids = {}
    for code, level, parent, shape in [
        ("D", "district", None, square(LNG, LAT, 0.1)),
        ("S", "street", "D", square(LNG, LAT, 0.05)),
        ("C", "community", "S", square(LNG, LAT, 0.01)),
        ("G1", "grid", "C", square(LNG, LAT, 0.002)),
        ("G2", "grid", "C", square(LNG + 0.002, LAT, 0.002)),
    ]:
        response = create(
            client, admin, code=code, name=f"{code} 单元", level=level, parent_id=ids.get(parent), boundary=shape
        )
        assert response.status_code == 201, response.json
        ids[code] = response.json["id"]
    return ids


def test_an_admin_creates_a_unit_with_its_boundary_and_figures(client, admin):
    response = create(
        client,
        admin,
        code="411302",
        name="宛城区",
        level="district",
        boundary=square(LNG, LAT, 0.1),
        households=120000,
        population=400000,
    )
    assert response.status_code == 201
    body = response.json
    assert body["boundary"] == square(LNG, LAT, 0.1)
    assert body["party_branch"] is None  # a summary of the organisation built on it (/party/orgs), none yet
    assert (body["households"], body["population"], body["active"]) == (120000, 400000, True)
    assert client.get(f"/api/v1/grids/{body['id']}", headers=admin).json == body


@pytest.mark.parametrize("method", ["create", "update"])
def test_party_branch_is_read_only_on_units(client, admin, mapped, method):
    branch = {"name": "宛城区委", "secretary": "王书记"}
    if method == "create":
        response = create(client, admin, code="X", name="新区", level="district", party_branch=branch)
    else:
        response = client.patch(f"/api/v1/grids/{mapped['D']}", json={"party_branch": branch}, headers=admin)
    error = assert_error(response, 422, "validation_error")
    assert "party_branch" in error["details"]


def test_a_level_jump_is_refused(client, admin, mapped):
    response = create(client, admin, code="X", name="跳级", level="community", parent_id=mapped["D"])
    error = assert_error(response, 422, "validation_error")
    assert "parent_id" in error["details"]


def test_a_duplicate_code_is_409(client, admin, mapped):
    assert_error(create(client, admin, code="D", name="again", level="district"), 409, "conflict")


@pytest.mark.parametrize(
    ("boundary", "reason"),
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "Self-intersection"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "closed"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [181, 1], [0, 1], [0, 0]]]}, "out of range"),
        ({"type": "Point", "coordinates": [112.5, 33.0]}, "Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "four positions"),
        ({"type": "Polygon", "coordinates": "nonsense"}, "list of rings"),
    ],
)
def test_a_bad_boundary_is_422_with_the_reason(client, admin, boundary, reason):
    response = create(client, admin, code="B", name="坏边界", level="district", boundary=boundary)
    error = assert_error(response, 422, "validation_error")
    assert reason in error["details"]["boundary"][0]


def test_a_cell_outside_its_community_is_refused(client, admin, mapped):
    response = create(
        client,
        admin,
        code="G9",
        name="外面",
        level="grid",
        parent_id=mapped["C"],
        boundary=square(LNG + 0.02, LAT, 0.002),
    )
    error = assert_error(response, 422, "validation_error")
    assert "inside" in error["details"]["boundary"][0]


def test_a_cell_a_metre_over_its_communitys_edge_is_accepted(client, admin, mapped):
    shape = square(LNG + 0.004, LAT - 0.00001, 0.002)
    response = create(client, admin, code="G3", name="贴边", level="grid", parent_id=mapped["C"], boundary=shape)
    assert response.status_code == 201, response.json


def test_overlapping_cells_of_one_community_are_refused(client, admin, mapped):
    response = create(
        client,
        admin,
        code="G3",
        name="重叠",
        level="grid",
        parent_id=mapped["C"],
        boundary=square(LNG + 0.001, LAT, 0.002),
    )
    error = assert_error(response, 422, "validation_error")
    assert "G1" in error["details"]["boundary"][0]


def test_a_boundary_change_that_would_leave_a_child_outside_is_refused(client, admin, mapped):
    response = client.patch(f"/api/v1/grids/{mapped['C']}", json={"boundary": square(LNG, LAT, 0.003)}, headers=admin)
    error = assert_error(response, 422, "validation_error")
    assert "G2" in error["details"]["boundary"][0]


def release_street_s(client, admin, mapped):
    """Street S's boundary holds C: before C may belong to another street, S's boundary is cleared (redrawn)."""
    response = client.patch(f"/api/v1/grids/{mapped['S']}", json={"boundary": None}, headers=admin)
    assert response.status_code == 200, response.json


def test_moving_a_unit_moves_its_subtree(client, admin, mapped, make_account, auth):
    other = create(client, admin, code="S2", name="另一街道", level="street", parent_id=mapped["D"]).json
    supervisor = auth(make_account("supervisor", unit=other["id"]))
    assert client.get(f"/api/v1/grids/{mapped['G1']}", headers=supervisor).status_code == 404
    release_street_s(client, admin, mapped)
    moved = client.patch(f"/api/v1/grids/{mapped['C']}", json={"parent_id": other["id"]}, headers=admin)
    assert moved.status_code == 200, moved.json
    assert moved.json["parent_id"] == other["id"]
    assert client.get(f"/api/v1/grids/{mapped['G1']}", headers=supervisor).status_code == 200
    subtree = client.get(f"/api/v1/grids?parent_id={other['id']}&subtree=true", headers=admin).json["items"]
    assert {unit["code"] for unit in subtree} == {"C", "G1", "G2"}


def test_moving_a_unit_under_its_own_descendant_is_refused(client, admin, mapped):
    response = client.patch(f"/api/v1/grids/{mapped['S']}", json={"parent_id": mapped["C"]}, headers=admin)
    assert_error(response, 422, "validation_error")


def test_deleting_a_unit_with_children_is_409(client, admin, mapped):
    error = assert_error(client.delete(f"/api/v1/grids/{mapped['C']}", headers=admin), 409, "conflict")
    assert "children" in error["details"]["unit"]


def test_deleting_a_cell_with_a_worker_is_409(client, admin, mapped, make_account):
    make_account("worker", unit=mapped["C"], cells=[mapped["G1"]])
    error = assert_error(client.delete(f"/api/v1/grids/{mapped['G1']}", headers=admin), 409, "conflict")
    assert "workers" in error["details"]["unit"]


def test_deleting_a_leaf_unit_works(client, admin, mapped):
    assert client.delete(f"/api/v1/grids/{mapped['G2']}", headers=admin).status_code == 204
    assert_error(client.get(f"/api/v1/grids/{mapped['G2']}", headers=admin), 404, "not_found")


def test_deactivating_is_the_alternative_to_deleting(client, admin, mapped):
    response = client.patch(f"/api/v1/grids/{mapped['C']}", json={"active": False}, headers=admin)
    assert response.json["active"] is False
    inactive = client.get("/api/v1/grids?active=false", headers=admin).json["items"]
    assert [unit["code"] for unit in inactive] == ["C"]


def test_filters_by_level_and_text(client, admin, mapped):
    cells = client.get("/api/v1/grids?level=grid", headers=admin).json["items"]
    assert {unit["code"] for unit in cells} == {"G1", "G2"}
    found = client.get("/api/v1/grids?q=s%20%E5%8D%95", headers=admin).json["items"]
    assert [unit["code"] for unit in found] == ["S"]


def test_children_and_ancestors_walk_the_tree(client, admin, mapped):
    children = client.get(f"/api/v1/grids/{mapped['C']}/children", headers=admin).json["items"]
    assert [unit["code"] for unit in children] == ["G1", "G2"]
    ancestors = client.get(f"/api/v1/grids/{mapped['G1']}/ancestors", headers=admin).json["items"]
    assert [unit["code"] for unit in ancestors] == ["D", "S", "C"]


def test_updated_since_returns_what_changed(client, admin, mapped):
    stamp = client.get(f"/api/v1/grids/{mapped['G2']}", headers=admin).json["updated_at"]
    client.patch(f"/api/v1/grids/{mapped['G1']}", json={"name": "改名"}, headers=admin)
    changed = client.get(f"/api/v1/grids?updated_since={stamp}", headers=admin).json["items"]
    assert "G1" in {unit["code"] for unit in changed}
    assert "D" not in {unit["code"] for unit in changed}


def test_moving_a_unit_counts_as_a_change_of_every_unit_under_it(client, admin, mapped):
    # Their ancestors changed, so an app syncing units by `updated_since` must fetch them again.
    release_street_s(client, admin, mapped)
    other = create(client, admin, code="S2", name="另一街道", level="street", parent_id=mapped["D"]).json
    stamp = client.get(f"/api/v1/grids/{other['id']}", headers=admin).json["updated_at"]
    assert (
        client.patch(f"/api/v1/grids/{mapped['C']}", json={"parent_id": other["id"]}, headers=admin).status_code == 200
    )
    changed = client.get(f"/api/v1/grids?updated_since={stamp}", headers=admin).json["items"]
    assert {"C", "G1", "G2"} <= {unit["code"] for unit in changed}
    assert "S" not in {unit["code"] for unit in changed}


def test_a_stale_if_match_is_412_and_changes_nothing(client, admin, mapped):
    etag = client.get(f"/api/v1/grids/{mapped['G1']}", headers=admin).headers["ETag"]
    client.patch(f"/api/v1/grids/{mapped['G1']}", json={"name": "先改"}, headers=admin)
    stale = client.patch(f"/api/v1/grids/{mapped['G1']}", json={"name": "后改"}, headers={**admin, "If-Match": etag})
    assert_error(stale, 412, "precondition_failed")
    assert client.get(f"/api/v1/grids/{mapped['G1']}", headers=admin).json["name"] == "先改"


# --- scope -----------------------------------------------------------------------------------------


@pytest.fixture
def people(mapped, make_account, auth):
    return {
        "supervisor": auth(make_account("supervisor", unit=mapped["S"])),
        "community_supervisor": auth(make_account("supervisor", unit=mapped["C"])),
        "worker": auth(make_account("worker", unit=mapped["C"], cells=[mapped["G1"]])),
        "volunteer": auth(make_account("volunteer", unit=mapped["C"])),
    }


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("supervisor", {"S", "C", "G1", "G2"}),
        ("community_supervisor", {"C", "G1", "G2"}),
        ("worker", {"G1"}),
        ("volunteer", {"C", "G1", "G2"}),
    ],
)
def test_each_role_lists_only_its_scope(client, people, who, visible):
    items = client.get("/api/v1/grids", headers=people[who]).json["items"]
    assert {unit["code"] for unit in items} == visible


@pytest.mark.parametrize("who", ["community_supervisor", "worker", "volunteer"])
def test_a_unit_outside_scope_is_404(client, people, mapped, who):
    assert_error(client.get(f"/api/v1/grids/{mapped['S']}", headers=people[who]), 404, "not_found")


def test_a_worker_reads_the_names_above_their_cell(client, people, mapped):
    ancestors = client.get(f"/api/v1/grids/{mapped['G1']}/ancestors", headers=people["worker"]).json["items"]
    assert [unit["name"] for unit in ancestors] == ["D 单元", "S 单元", "C 单元"]


def test_a_supervisor_creates_a_unit_below_their_own(client, people, mapped):
    response = create(client, people["supervisor"], code="C2", name="新社区", level="community", parent_id=mapped["S"])
    assert response.status_code == 201


def test_a_supervisor_cannot_create_outside_their_subtree(client, admin, people, mapped):
    other = create(client, admin, code="S2", name="别的街道", level="street", parent_id=mapped["D"]).json
    response = create(client, people["supervisor"], code="C2", name="越界", level="community", parent_id=other["id"])
    assert_error(response, 403, "forbidden")


def test_a_supervisor_cannot_change_their_own_unit(client, people, mapped):
    response = client.patch(f"/api/v1/grids/{mapped['S']}", json={"name": "改自己"}, headers=people["supervisor"])
    assert_error(response, 403, "forbidden")


def test_a_supervisor_changes_a_unit_below_their_own(client, people, mapped):
    response = client.patch(f"/api/v1/grids/{mapped['C']}", json={"name": "改下级"}, headers=people["supervisor"])
    assert response.status_code == 200
    assert response.json["name"] == "改下级"


@pytest.mark.parametrize("who", ["worker", "volunteer"])
def test_workers_and_volunteers_cannot_write_units(client, people, mapped, who):
    assert_error(
        create(client, people[who], code="N", name="不行", level="grid", parent_id=mapped["C"]), 403, "forbidden"
    )
    patched = client.patch(f"/api/v1/grids/{mapped['G1']}", json={"name": "不行"}, headers=people[who])
    assert_error(patched, 403, "forbidden")
    assert_error(client.delete(f"/api/v1/grids/{mapped['G1']}", headers=people[who]), 403, "forbidden")


def test_reading_units_needs_a_token(client, mapped):
    assert_error(client.get("/api/v1/grids"), 401, "unauthorized")


def test_a_boundary_can_be_read_in_gcj02_for_chinese_map_sdks(client, admin, mapped):
    from grid.coords import CoordSystem, from_wgs84

    plain = client.get(f"/api/v1/grids/{mapped['G1']}", headers=admin).json["boundary"]
    shifted = client.get(f"/api/v1/grids/{mapped['G1']}?coord_system=gcj02", headers=admin).json["boundary"]
    lng, lat = plain["coordinates"][0][0]
    expected_lat, expected_lng = from_wgs84(lat, lng, CoordSystem.GCJ02)
    assert shifted["coordinates"][0][0] == pytest.approx([expected_lng, expected_lat], abs=1e-6)
    assert shifted["coordinates"][0][0] != plain["coordinates"][0][0]
