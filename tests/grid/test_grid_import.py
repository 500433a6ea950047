"""Importing and exporting maps: all or nothing, re-import updates, export round-trips."""

import json

import pytest
from sqlalchemy import func, select

from grid.models import GridUnit
from kernel.extensions import db
from tests.support.geometry import LAT, LNG, MAP, collection, feature, square
from tests.support.http import assert_error


@pytest.fixture
def admin(make_account, auth):
    return auth(make_account("admin"))


def post_map(client, headers, body):
    return client.post("/api/v1/grids/import", json=body, headers=headers)


def stored_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(GridUnit))


def test_an_import_creates_the_tree_with_parents_later_in_the_file(client, admin):
    response = post_map(client, admin, MAP)
    assert response.status_code == 200
    assert response.json == {"created": 5, "updated": 0, "unchanged": 0}
    cells = client.get("/api/v1/grids?level=grid", headers=admin).json["items"]
    community = client.get("/api/v1/grids?q=C%20", headers=admin).json["items"][0]
    assert {cell["parent_id"] for cell in cells} == {community["id"]}
    assert {cell["code"]: cell["households"] for cell in cells} == {"G1": 300, "G2": None}


def test_importing_the_same_map_again_changes_nothing(client, admin):
    post_map(client, admin, MAP)
    assert post_map(client, admin, MAP).json == {"created": 0, "updated": 0, "unchanged": 5}


def test_a_re_import_updates_names_and_boundaries_by_code(client, admin):
    post_map(client, admin, MAP)
    changed = json.loads(json.dumps(MAP))
    changed["features"][0]["properties"]["name"] = "第一网格（新）"
    changed["features"][1]["geometry"] = square(LNG + 0.002, LAT + 0.002, 0.002)
    assert post_map(client, admin, changed).json == {"created": 0, "updated": 2, "unchanged": 3}
    names = {u["code"]: u["name"] for u in client.get("/api/v1/grids?level=grid", headers=admin).json["items"]}
    assert names["G1"] == "第一网格（新）"


def test_a_re_import_can_move_a_unit_to_another_parent(client, admin):
    post_map(client, admin, MAP)
    # Street S's boundary holds C: the same file clears it, or C would lie inside a street it no longer belongs to.
    moved = collection(feature("S", "street", "D"), feature("S2", "street", "D"), feature("C", "community", "S2"))
    assert post_map(client, admin, moved).json == {"created": 1, "updated": 2, "unchanged": 0}
    subtree = client.get("/api/v1/grids?q=S2", headers=admin).json["items"][0]
    under = client.get(f"/api/v1/grids?parent_id={subtree['id']}&subtree=true", headers=admin).json["items"]
    assert {u["code"] for u in under} == {"C", "G1", "G2"}


def test_a_file_with_bad_features_is_refused_whole_naming_each_by_index(app, client, admin):
    bad = collection(
        feature("D", "district", None, square(LNG, LAT, 0.1)),
        feature("S", "street", "NOWHERE"),
        feature("C", "village", "S"),
        {"type": "Feature", "geometry": None, "properties": {"name": "no code", "level": "grid"}},
        feature("X", "street", "D", {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
    )
    error = assert_error(post_map(client, admin, bad), 422, "validation_error")
    assert set(error["details"]) == {"features.1", "features.2", "features.3", "features.4"}
    assert "NOWHERE" in error["details"]["features.1"][0]
    assert stored_count(app) == 0


def test_overlapping_cells_in_a_file_are_refused(app, client, admin):
    overlapping = json.loads(json.dumps(MAP))
    overlapping["features"][1]["geometry"] = square(LNG + 0.001, LAT, 0.002)
    error = assert_error(post_map(client, admin, overlapping), 422, "validation_error")
    assert any("overlaps" in reason for reasons in error["details"].values() for reason in reasons)
    assert stored_count(app) == 0


def test_a_cell_outside_its_parent_in_a_file_is_refused(client, admin):
    outside = json.loads(json.dumps(MAP))
    outside["features"][0]["geometry"] = square(LNG + 0.5, LAT, 0.002)
    error = assert_error(post_map(client, admin, outside), 422, "validation_error")
    assert "inside" in error["details"]["features.0"][0]


def test_a_cycle_in_a_file_is_refused(client, admin):
    cyclic = collection(feature("A", "street", "B"), feature("B", "street", "A"))
    assert_error(post_map(client, admin, cyclic), 422, "validation_error")


def test_duplicate_codes_in_a_file_are_refused(client, admin):
    duplicated = collection(feature("D", "district"), feature("D", "district"))
    error = assert_error(post_map(client, admin, duplicated), 422, "validation_error")
    assert "features.1" in error["details"]


def test_only_admins_import(client, make_account, auth, tree):
    supervisor = auth(make_account("supervisor", unit=tree["D"]))
    assert_error(post_map(client, supervisor, MAP), 403, "forbidden")


def test_an_export_imports_back_unchanged(client, admin):
    post_map(client, admin, MAP)
    street = client.get("/api/v1/grids?level=street", headers=admin).json["items"][0]
    exported = client.get(f"/api/v1/grids/{street['id']}/geojson", headers=admin).json
    assert {f["properties"]["code"] for f in exported["features"]} == {"S", "C", "G1", "G2"}
    assert post_map(client, admin, exported).json == {"created": 0, "updated": 0, "unchanged": 4}


def test_an_export_rebuilds_the_same_map_elsewhere(app, client, admin):
    post_map(client, admin, MAP)
    district = client.get("/api/v1/grids?level=district", headers=admin).json["items"][0]
    exported = client.get(f"/api/v1/grids/{district['id']}/geojson", headers=admin).json
    with app.app_context():
        for unit in sorted(db.session.scalars(select(GridUnit)), key=lambda u: -len(u.path)):
            db.session.delete(unit)
        db.session.commit()
    assert post_map(client, admin, exported).json == {"created": 5, "updated": 0, "unchanged": 0}
    again = client.get(
        f"/api/v1/grids/{client.get('/api/v1/grids?level=district', headers=admin).json['items'][0]['id']}/geojson",
        headers=admin,
    ).json
    assert sorted(f["properties"]["code"] for f in again["features"]) == sorted(
        f["properties"]["code"] for f in exported["features"]
    )
    assert {f["properties"]["code"]: f["geometry"] for f in again["features"]} == {
        f["properties"]["code"]: f["geometry"] for f in exported["features"]
    }


def test_the_cli_imports_a_file_and_prints_a_summary(app, tmp_path):
    path = tmp_path / "map.geojson"
    path.write_text(json.dumps(MAP, ensure_ascii=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["grid", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 5, updated 0, unchanged 0" in result.output
    assert stored_count(app) == 5


def test_the_cli_refuses_a_bad_file_and_writes_nothing(app, tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(collection(feature("S", "street", "NOWHERE"))), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["grid", "import", str(path)])
    assert result.exit_code != 0
    assert "NOWHERE" in result.output
    assert stored_count(app) == 0
