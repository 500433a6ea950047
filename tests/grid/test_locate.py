"""Locating the cell that holds a point, in WGS-84, GCJ-02 or BD-09, fresh across processes."""

import pytest

from bootstrap import create_app
from grid.coords import CoordSystem, from_wgs84
from kernel.extensions import db
from tests.support.geometry import LAT, LNG, MAP
from tests.support.http import assert_error
from tests.support.statements import statements_sent

# The middle of cell G1 (a 200 m square at LNG, LAT) in WGS-84.
INSIDE_G1 = (LAT + 0.001, LNG + 0.001)


@pytest.fixture
def admin(make_account, auth):
    return auth(make_account("admin"))


@pytest.fixture
def mapped(client, admin):
    assert client.post("/api/v1/grids/import", json=MAP, headers=admin).status_code == 200


def locate(client, headers, lat, lng, system=None):
    query = f"lat={lat}&lng={lng}" + (f"&coord_system={system}" if system else "")
    return client.get(f"/api/v1/grids/locate?{query}", headers=headers)


def test_a_point_in_a_cell_gives_the_cell_and_its_ancestors(client, admin, mapped):
    response = locate(client, admin, *INSIDE_G1)
    assert response.status_code == 200
    assert response.json["cell"]["code"] == "G1"
    assert [unit["code"] for unit in response.json["ancestors"]] == ["D", "S", "C"]
    assert response.json["point"] == {"lat": INSIDE_G1[0], "lng": INSIDE_G1[1], "coord_system": "wgs84"}


@pytest.mark.parametrize("system", [CoordSystem.GCJ02, CoordSystem.BD09])
def test_a_point_from_a_chinese_map_sdk_is_converted_before_the_lookup(client, admin, mapped, system):
    lat, lng = from_wgs84(*INSIDE_G1, system)
    response = locate(client, admin, lat, lng, system.value)
    assert response.json["cell"]["code"] == "G1"
    assert response.json["point"]["lat"] == pytest.approx(INSIDE_G1[0], abs=1e-6)


def test_the_same_numbers_read_as_wgs84_land_elsewhere(client, admin, mapped):
    """The GCJ-02 shift (hundreds of metres) is bigger than a cell: skipping the conversion misroutes."""
    lat, lng = from_wgs84(*INSIDE_G1, CoordSystem.GCJ02)
    response = locate(client, admin, lat, lng)
    assert response.status_code == 404 or response.json["cell"]["code"] != "G1"


def test_a_point_on_the_shared_edge_goes_to_the_first_created_cell(client, admin, mapped):
    on_edge = locate(client, admin, LAT + 0.001, LNG + 0.002)
    at_shared_vertex = locate(client, admin, LAT, LNG + 0.002)
    assert on_edge.json["cell"]["code"] == at_shared_vertex.json["cell"]["code"] == "G1"


def test_a_point_in_no_cell_is_404(client, admin, mapped):
    assert_error(locate(client, admin, 40.0, 116.4), 404, "not_found")


@pytest.mark.parametrize(("lat", "lng"), [(91, 112.5), (33, 181), ("north", 112.5), ("nan", 112.5), ("", "")])
def test_coordinates_out_of_range_or_not_numbers_are_422(client, admin, lat, lng):
    assert_error(locate(client, admin, lat, lng), 422, "validation_error")


def test_an_unknown_coordinate_system_is_422(client, admin):
    assert_error(locate(client, admin, 33, 112.5, "mars"), 422, "validation_error")


def test_locating_needs_a_token(client):
    assert_error(client.get("/api/v1/grids/locate?lat=33&lng=112.5"), 401, "unauthorized")


def test_a_boundary_change_is_seen_by_the_next_lookup(client, admin, mapped):
    g2 = client.get("/api/v1/grids?q=G2", headers=admin).json["items"][0]
    assert locate(client, admin, LAT + 0.001, LNG + 0.003).json["cell"]["code"] == "G2"
    client.patch(f"/api/v1/grids/{g2['id']}", json={"active": False}, headers=admin)
    assert_error(locate(client, admin, LAT + 0.001, LNG + 0.003), 404, "not_found")


def test_another_process_sees_an_import_on_its_next_request(app, client, admin):
    """Two app instances on one database stand in for two gunicorn workers or two machines."""
    other = create_app({**app.config, "TESTING": True})
    other_client = other.test_client()
    assert_error(locate(other_client, admin, *INSIDE_G1), 404, "not_found")  # builds its (empty) index
    assert client.post("/api/v1/grids/import", json=MAP, headers=admin).status_code == 200
    assert locate(other_client, admin, *INSIDE_G1).json["cell"]["code"] == "G1"
    with other.app_context():
        db.engine.dispose()


def test_the_locators_version_is_read_with_the_token_check_on_postgresql(app, client, admin, mapped):
    """On PostgreSQL, where a query is a round trip, the lookup's check of the index version travels in the token
    check's statement (kernel.token_reads); a change through another instance is still seen at once."""
    with app.app_context():
        server = db.engine.dialect.name != "sqlite"
    locate(client, admin, *INSIDE_G1)  # the index built
    with statements_sent(app) as seen:
        assert locate(client, admin, *INSIDE_G1).json["cell"]["code"] == "G1"
    versions = [sql for sql in seen if "grid_index_state" in sql]
    assert len(versions) == 1, seen
    assert ("login_sessions" in versions[0]) is server
    assert len(seen) == (2 if server else 3), seen
    other = create_app({**app.config, "TESTING": True})
    g1 = other.test_client().get("/api/v1/grids?q=G1", headers=admin).json["items"][0]
    assert (
        other.test_client().patch(f"/api/v1/grids/{g1['id']}", json={"active": False}, headers=admin).status_code == 200
    )
    with other.app_context():
        db.engine.dispose()
    assert_error(locate(client, admin, *INSIDE_G1), 404, "not_found")


def test_a_move_of_the_cells_community_shows_in_the_next_lookups_ancestors(client, admin, mapped):
    """A move changes no boundary, so the index is not rebuilt: the lookup still names the cell's new ancestors."""
    units = {unit["code"]: unit["id"] for unit in client.get("/api/v1/grids", headers=admin).json["items"]}
    assert [unit["code"] for unit in locate(client, admin, *INSIDE_G1).json["ancestors"]] == ["D", "S", "C"]
    other = {"code": "S2", "name": "另一街道", "level": "street", "parent_id": units["D"]}
    s2 = client.post("/api/v1/grids", json=other, headers=admin).json["id"]
    assert client.patch(f"/api/v1/grids/{units['S']}", json={"boundary": None}, headers=admin).status_code == 200
    moved = client.patch(f"/api/v1/grids/{units['C']}", json={"parent_id": s2}, headers=admin)
    assert moved.status_code == 200, moved.json
    response = locate(client, admin, *INSIDE_G1)
    assert response.json["cell"]["code"] == "G1"
    assert [unit["code"] for unit in response.json["ancestors"]] == ["D", "S2", "C"]
    assert response.json["ancestors"][2]["parent_id"] == s2


def test_a_renamed_ancestor_shows_in_the_next_lookup(client, admin, mapped):
    units = {unit["code"]: unit["id"] for unit in client.get("/api/v1/grids", headers=admin).json["items"]}
    assert locate(client, admin, *INSIDE_G1).json["ancestors"][1]["name"] == "S 单元"
    assert client.patch(f"/api/v1/grids/{units['S']}", json={"name": "新街道"}, headers=admin).status_code == 200
    assert locate(client, admin, *INSIDE_G1).json["ancestors"][1]["name"] == "新街道"
