"""The drawn territory: no unit's boundary over another's (unless one holds the other), every boundary inside the
nearest boundary above it, on create, PATCH, move and import; and `flask grid check` for what is already stored."""

import json
import threading

import pytest
from sqlalchemy import func, select

from grid import geometry, territory
from grid import service as grid_service
from grid.models import GridLevel, GridUnit
from kernel.extensions import db
from tests.support.geometry import LAT, LNG, collection, feature, square
from tests.support.http import assert_error

# Street B's own area, inside district D; street C has no boundary of its own.
INSIDE_B = square(LNG + 0.005, LAT + 0.005, 0.002)
OUTSIDE_B = square(LNG + 0.05, LAT + 0.05, 0.002)  # still inside D


@pytest.fixture
def admin(make_account, auth):
    return auth(make_account("admin"))


def create(client, headers, **fields):
    response = client.post("/api/v1/grids", json=fields, headers=headers)
    return response


def created(client, headers, **fields):
    response = create(client, headers, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["id"]


@pytest.fixture
def district(client, admin):
    """District D (boundary) › street B (boundary) › community BK (boundary); street C without a boundary, with
    its supervisor, who has made community K (no boundary)."""
    ids = {"D": created(client, admin, code="D", name="宛城区", level="district", boundary=square(LNG, LAT, 0.1))}
    ids["B"] = created(
        client, admin, code="B", name="仲景街道", level="street", parent_id=ids["D"], boundary=square(LNG, LAT, 0.02)
    )
    ids["BK"] = created(
        client,
        admin,
        code="BK",
        name="医圣祠社区",
        level="community",
        parent_id=ids["B"],
        boundary=square(LNG, LAT, 0.01),
    )
    ids["C"] = created(client, admin, code="C", name="东关街道", level="street", parent_id=ids["D"])
    return ids


@pytest.fixture
def c_supervisor(district, make_account, auth):
    return auth(make_account("supervisor", unit=district["C"]))


@pytest.fixture
def community_k(client, district, c_supervisor):
    return created(client, c_supervisor, code="K", name="新华社区", level="community", parent_id=district["C"])


def stored_units(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(GridUnit))


# --- the scenario --------------------------------------------------------------------------


def test_a_supervisor_of_a_street_without_boundary_cannot_draw_a_cell_inside_another_street(
    app, client, district, c_supervisor, community_k
):
    before = stored_units(app)
    response = create(
        client, c_supervisor, code="K-01", name="越界网格", level="grid", parent_id=community_k, boundary=INSIDE_B
    )
    error = assert_error(response, 422, "validation_error")
    assert error["details"] == {"boundary": ["overlaps another unit"]}
    text = response.get_data(as_text=True)
    for hidden in ("仲景街道", "医圣祠社区", '"B"', "BK", str(district["B"]), str(district["BK"])):
        assert hidden not in text
    assert stored_units(app) == before


def test_the_street_that_owns_the_place_then_draws_its_own_cell_and_locate_finds_it(
    client, admin, district, c_supervisor, community_k
):
    create(client, c_supervisor, code="K-01", name="越界网格", level="grid", parent_id=community_k, boundary=INSIDE_B)
    own = created(
        client, admin, code="BK-01", name="第一网格", level="grid", parent_id=district["BK"], boundary=INSIDE_B
    )
    located = client.get(f"/api/v1/grids/locate?lat={LAT + 0.006}&lng={LNG + 0.006}", headers=admin)
    assert located.json["cell"]["id"] == own


def test_an_admin_is_told_which_unit_the_boundary_overlaps(client, admin, district, community_k):
    response = create(
        client, admin, code="K-01", name="越界网格", level="grid", parent_id=community_k, boundary=INSIDE_B
    )
    error = assert_error(response, 422, "validation_error")
    reasons = error["details"]["boundary"]
    assert reasons[0] in error["message"]
    assert any("BK" in reason and "医圣祠社区" in reason and district["BK"] in reason for reason in reasons)
    assert any("仲景街道" in reason and district["B"] in reason for reason in reasons)


def test_a_supervisor_is_told_the_name_of_a_unit_of_their_own_they_overlap(client, district, c_supervisor, community_k):
    created(client, c_supervisor, code="K-01", name="第一网格", level="grid", parent_id=community_k, boundary=OUTSIDE_B)
    response = create(
        client, c_supervisor, code="K-02", name="第二网格", level="grid", parent_id=community_k, boundary=OUTSIDE_B
    )
    error = assert_error(response, 422, "validation_error")
    assert "K-01" in error["details"]["boundary"][0] and "第一网格" in error["details"]["boundary"][0]


def test_a_supervisor_without_a_boundary_draws_inside_the_nearest_one_above(
    client, district, c_supervisor, community_k
):
    assert (
        create(
            client, c_supervisor, code="K-01", name="第一网格", level="grid", parent_id=community_k, boundary=OUTSIDE_B
        ).status_code
        == 201
    )


def test_a_boundary_outside_the_nearest_boundary_above_is_refused_naming_it(
    client, district, c_supervisor, community_k
):
    far = square(LNG + 0.5, LAT, 0.002)  # outside the district; street C and community K have no boundary
    response = create(client, c_supervisor, code="K-01", name="远方", level="grid", parent_id=community_k, boundary=far)
    error = assert_error(response, 422, "validation_error")
    assert "inside" in error["details"]["boundary"][0] and "宛城区" in error["details"]["boundary"][0]


def test_a_supervisor_with_a_boundary_draws_only_inside_it(client, admin, district, make_account, auth):
    supervisor = auth(make_account("supervisor", unit=district["B"]))
    community = created(client, supervisor, code="BK2", name="张衡社区", level="community", parent_id=district["B"])
    response = create(
        client, supervisor, code="BK2-01", name="外面", level="grid", parent_id=community, boundary=OUTSIDE_B
    )
    error = assert_error(response, 422, "validation_error")
    assert "inside" in error["details"]["boundary"][0] and "仲景街道" in error["details"]["boundary"][0]


def test_units_of_different_levels_in_different_subtrees_may_not_overlap(client, admin, district):
    response = create(
        client, admin, code="E", name="新街道", level="street", parent_id=district["D"], boundary=square(LNG, LAT, 0.03)
    )
    error = assert_error(response, 422, "validation_error")
    assert "仲景街道" in error["details"]["boundary"][0]


def test_neighbours_sharing_an_edge_or_a_sliver_are_accepted(client, admin, district):
    beside = square(LNG + 0.02 - 0.000005, LAT, 0.02)  # about half a metre over street B's edge
    assert (
        create(
            client, admin, code="E", name="邻街", level="street", parent_id=district["D"], boundary=beside
        ).status_code
        == 201
    )


# --- PATCH and moves ---------------------------------------------------------------------------------


def test_redrawing_a_boundary_over_another_subtree_is_refused(client, district, c_supervisor, community_k):
    cell = created(
        client, c_supervisor, code="K-01", name="第一网格", level="grid", parent_id=community_k, boundary=OUTSIDE_B
    )
    response = client.patch(f"/api/v1/grids/{cell}", json={"boundary": INSIDE_B}, headers=c_supervisor)
    assert assert_error(response, 422, "validation_error")["details"] == {"boundary": ["overlaps another unit"]}
    assert client.get(f"/api/v1/grids/{cell}", headers=c_supervisor).json["boundary"] == OUTSIDE_B


def test_giving_a_boundary_to_a_unit_above_drawn_units_must_hold_them_all(
    client, admin, district, c_supervisor, community_k
):
    created(client, c_supervisor, code="K-01", name="第一网格", level="grid", parent_id=community_k, boundary=OUTSIDE_B)
    response = client.patch(
        f"/api/v1/grids/{district['C']}", json={"boundary": square(LNG + 0.06, LAT, 0.03)}, headers=admin
    )
    error = assert_error(response, 422, "validation_error")
    assert "K-01" in error["details"]["boundary"][0]


def test_moving_a_unit_over_its_former_street_is_refused_and_changes_nothing(client, admin, district):
    cell = created(
        client, admin, code="BK-01", name="第一网格", level="grid", parent_id=district["BK"], boundary=INSIDE_B
    )
    community = created(client, admin, code="CK", name="东关社区", level="community", parent_id=district["C"])
    response = client.patch(f"/api/v1/grids/{cell}", json={"parent_id": community}, headers=admin)
    error = assert_error(response, 422, "validation_error")
    assert "仲景街道" in error["details"]["parent_id"][0]
    assert client.get(f"/api/v1/grids/{cell}", headers=admin).json["parent_id"] == district["BK"]


def test_moving_a_subtree_checks_the_units_under_it(client, admin, district):
    created(client, admin, code="BK-01", name="第一网格", level="grid", parent_id=district["BK"], boundary=INSIDE_B)
    other = created(client, admin, code="F", name="新区", level="district", boundary=square(LNG + 1, LAT, 0.1))
    response = client.patch(f"/api/v1/grids/{district['BK']}", json={"parent_id": district["C"]}, headers=admin)
    error = assert_error(response, 422, "validation_error")
    assert "仲景街道" in error["details"]["parent_id"][0]
    street = created(client, admin, code="FS", name="新街道", level="street", parent_id=other)
    response = client.patch(f"/api/v1/grids/{district['BK']}", json={"parent_id": street}, headers=admin)
    assert "inside" in assert_error(response, 422, "validation_error")["details"]["parent_id"][0]


# --- import ------------------------------------------------------------------------------------------


def test_an_import_over_a_stored_unit_of_another_subtree_is_refused_whole(app, client, admin, district):
    before = stored_units(app)
    body = collection(
        feature("CK", "community", "C", None),
        feature("CK-01", "grid", "CK", OUTSIDE_B),
        feature("CK-02", "grid", "CK", INSIDE_B),
    )
    error = assert_error(client.post("/api/v1/grids/import", json=body, headers=admin), 422, "validation_error")
    assert set(error["details"]) == {"features.2"}
    assert any("BK" in reason for reason in error["details"]["features.2"])
    assert stored_units(app) == before


def test_an_import_of_overlapping_units_of_two_streets_is_refused(app, client, admin):
    body = collection(
        feature("D", "district", None, square(LNG, LAT, 0.1)),
        feature("S1", "street", "D", square(LNG, LAT, 0.02)),
        feature("S2", "street", "D"),
        feature("S2-K", "community", "S2", square(LNG + 0.01, LAT + 0.01, 0.02)),
    )
    error = assert_error(client.post("/api/v1/grids/import", json=body, headers=admin), 422, "validation_error")
    assert "S1" in json.dumps(error["details"], ensure_ascii=False)
    assert stored_units(app) == 0


def test_an_import_checks_against_the_nearest_boundary_above_not_only_the_parent(app, client, admin):
    body = collection(
        feature("D", "district", None, square(LNG, LAT, 0.1)),
        feature("S", "street", "D"),
        feature("K", "community", "S", square(LNG + 0.5, LAT, 0.01)),
    )
    error = assert_error(client.post("/api/v1/grids/import", json=body, headers=admin), 422, "validation_error")
    assert "inside" in error["details"]["features.2"][0]
    assert stored_units(app) == 0


# --- flask grid check --------------------------------------------------------------------------------


def store_overlap(app, district):
    """What older versions let through: a cell of community K drawn inside street B (written without the checks)."""
    with app.app_context():
        street_c = db.session.get(GridUnit, int(district["C"]))
        community = grid_service.create_unit(code="K", name="新华社区", level=GridLevel.COMMUNITY, parent=street_c)
        cell = grid_service.create_unit(
            code="K-01", name="越界网格", level=GridLevel.GRID, parent=community, boundary=geometry.dump(INSIDE_B)
        )
        db.session.commit()
        return cell.id, cell.path


def test_grid_check_finds_nothing_in_a_clean_territory(app, district):
    result = app.test_cli_runner().invoke(args=["grid", "check"])
    assert result.exit_code == 0, result.output
    assert "no overlaps" in result.output


def test_grid_check_lists_stored_overlaps_with_ids_names_and_paths_and_fails(app, district):
    cell_id, cell_path = store_overlap(app, district)
    result = app.test_cli_runner().invoke(args=["grid", "check"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "越界网格" in line]
    assert len(lines) == 2  # the cell over street B, and over community BK
    for line in lines:
        assert str(cell_id) in line and cell_path in line
    assert any("仲景街道" in line and f"/{district['D']}/{district['B']}/" in line for line in lines)
    assert any("医圣祠社区" in line for line in lines)


# --- at the same moment --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_of_cells_redrawn_over_one_place_at_the_same_moment_one_is_stored(app, client, admin, district, monkeypatch):
    """Every request is held after writing its new boundary and before its check until all have written theirs, so
    none sees another's unless the check waits for the others' commits: it does, under the lock it takes."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            pytest.skip("SQLite has one writer: the second request cannot write before the first commits")
    cells = []
    for n in range(4):
        community = created(client, admin, code=f"CK{n}", name=f"社区{n}", level="community", parent_id=district["C"])
        place = square(LNG + 0.05 + 0.003 * n, LAT + 0.08, 0.002)
        cells.append(
            created(client, admin, code=f"CK{n}-01", name="网格", level="grid", parent_id=community, boundary=place)
        )
    barrier = threading.Barrier(len(cells))
    lock = territory.lock_boundaries

    def held_lock() -> None:
        barrier.wait(timeout=30)
        lock()

    monkeypatch.setattr(territory, "lock_boundaries", held_lock)
    outcomes: list[int] = []

    def redraw(cell: str) -> None:
        response = app.test_client().patch(f"/api/v1/grids/{cell}", json={"boundary": OUTSIDE_B}, headers=admin)
        outcomes.append(response.status_code)

    threads = [threading.Thread(target=redraw, args=(cell,)) for cell in cells]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == [200] + [422] * (len(cells) - 1)
    boundaries = [client.get(f"/api/v1/grids/{cell}", headers=admin).json["boundary"] for cell in cells]
    assert boundaries.count(OUTSIDE_B) == 1


def test_the_demo_territory_passes_the_grid_check(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo"])
    result = runner.invoke(args=["grid", "check"])
    assert result.exit_code == 0, result.output
    assert "no overlaps" in result.output
