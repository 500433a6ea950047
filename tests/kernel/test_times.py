"""Times without an offset are refused (422 naming the field), in bodies and queries alike, never misread as UTC."""

from urllib.parse import quote

import pytest

from tests.support.http import assert_error
from tests.support.workforce import LAT, LNG

NAIVE = ["2026-12-06 13:40:00", "2026-12-06T13:40:00", "2026-12-06T13:40"]


def _query(value: str) -> str:
    return quote(value, safe="")


@pytest.mark.parametrize("value", NAIVE)
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/tickets?updated_since={}", "updated_since"),
        ("/api/v1/tickets?created_from={}", "created_from"),
        ("/api/v1/tickets?created_to={}", "created_to"),
        ("/api/v1/requests?created_from={}", "created_from"),
        ("/api/v1/grids?updated_since={}", "updated_since"),
        ("/api/v1/categories?updated_since={}", "updated_since"),
        ("/api/v1/patrols?from={}", "from"),
    ],
)
def test_a_query_time_without_an_offset_is_422_naming_the_parameter(world, value, path, field):
    response = world.client.get(path.format(_query(value)), headers=world.headers["admin"])
    error = assert_error(response, 422, "validation_error")
    assert field in str(error["details"]), error


@pytest.mark.parametrize("value", NAIVE)
def test_a_track_window_without_an_offset_is_422(world, value):
    worker_id = world.id_of("worker")
    path = f"/api/v1/workers/{worker_id}/track?from={_query(value)}&to=2026-12-06T14:00:00Z"
    response = world.client.get(path, headers=world.headers["admin"])
    # the worker may have no profile: the window is read (and refused) before anyone is looked up
    error = assert_error(response, 422, "validation_error")
    assert "from" in error["details"], error


@pytest.mark.parametrize("value", NAIVE)
def test_a_ping_without_an_offset_is_422_naming_recorded_at(world, value):
    body = {"pings": [{"lat": LAT, "lng": LNG, "recorded_at": value}]}
    response = world.client.post("/api/v1/workers/me/location", json=body, headers=world.headers["worker"])
    error = assert_error(response, 422, "validation_error")
    assert "recorded_at" in str(error["details"]), error


@pytest.mark.parametrize("value", NAIVE)
def test_an_occurred_at_without_an_offset_is_422(world, value):
    error = assert_error(
        world.client.post(
            "/api/v1/requests",
            json={
                "channel": "app",
                "category_code": "CITY.GARBAGE",
                "description": "楼下垃圾三天没人清运",
                "grid_id": str(world.tree["G1a"].id),
                "occurred_at": value,
            },
            headers=world.headers["worker"],
        ),
        422,
        "validation_error",
    )
    assert "occurred_at" in error["details"], error


def test_an_offset_is_still_read_and_a_z_too(world):
    for value in ("2026-12-06T13:40:00+08:00", "2026-12-06T05:40:00Z", "2026-12-06 13:40:00+08:00"):
        response = world.client.get(f"/api/v1/tickets?updated_since={_query(value)}", headers=world.headers["admin"])
        assert response.status_code == 200, response.get_data(as_text=True)
    filed = world.file(occurred_at="2026-12-06T13:40:00+08:00")
    assert filed["request"]["occurred_at"] == "2026-12-06T05:40:00Z"
