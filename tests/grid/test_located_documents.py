"""The hand-written lookup document (`grid.schemas.located_document`) against the declared LocatedSchema.

The declared fields are the contract (the OpenAPI document comes from them); `dump` writes the same document by
hand for speed. Here both write the answers for cells with ancestors and without, from points given in every
coordinate system, and must agree to the byte; and what the HTTP API serves is the declared document.
"""

import pytest

from grid import service
from grid.coords import CoordSystem, from_wgs84
from grid.schemas import LocatedSchema
from tests.support.geometry import LAT, LNG, MAP, square

# Inside G1, inside G2, and inside a root cell far from the map (no parent, no ancestors).
POINTS = [(LAT + 0.001, LNG + 0.001), (LAT + 0.0013, LNG + 0.0031), (LAT + 1.0011, LNG + 1.0017)]


@pytest.fixture
def admin(make_account, auth):
    return auth(make_account("admin"))


@pytest.fixture
def mapped(client, admin):
    assert client.post("/api/v1/grids/import", json=MAP, headers=admin).status_code == 200
    lone = {"code": "R1", "name": "独立网格", "level": "grid", "boundary": square(LNG + 1, LAT + 1, 0.002)}
    assert client.post("/api/v1/grids", json=lone, headers=admin).status_code == 201


def lookups():
    return [(point, system) for point in POINTS for system in CoordSystem]


def test_the_hand_written_document_is_the_declared_one(app, mapped):
    schema = LocatedSchema()
    with app.test_request_context():
        found = [service.locate(*from_wgs84(*point, system), system) for point, system in lookups()]
        for located in found:
            assert schema.dump(located) == schema.reference_dump(located), located.cell.code
            assert app.json.dumps(schema.dump(located)) == app.json.dumps(schema.reference_dump(located))
        assert schema.dump(found, many=True) == schema.reference_dump(found, many=True)
    # the control: the comparison covered a cell with ancestors and one without, and every system's point
    assert {len(located.ancestors) for located in found} == {0, 3}
    assert {located.cell.parent_id is None for located in found} == {True, False}
    assert len({(located.point["lat"], located.point["lng"]) for located in found}) > len(POINTS)


def test_the_api_serves_the_declared_document(app, client, admin, mapped):
    for point, system in lookups():
        lat, lng = from_wgs84(*point, system)
        response = client.get(f"/api/v1/grids/locate?lat={lat}&lng={lng}&coord_system={system.value}", headers=admin)
        assert response.status_code == 200
        with app.test_request_context():
            assert response.get_json() == LocatedSchema().reference_dump(service.locate(lat, lng, system))
