"""Patrols (巡查) through the HTTP API: start, track points, visits, end, and who sees them."""

from datetime import timedelta

import pytest

from grid.coords import CoordSystem, distance_m, from_wgs84, wgs84_to_gcj02
from tests.support.http import assert_error
from tests.support.workforce import LAT, LNG, build_staff, iso, now

PATROLS = "/api/v1/patrols"


@pytest.fixture
def staff(app, tree, make_account):
    return build_staff(app, tree, make_account)


@pytest.fixture
def worker(auth, staff):
    return auth(staff.worker)


@pytest.fixture
def patrol(client, worker, tree):
    """The worker's open patrol of their cell G1a."""
    response = client.post(PATROLS, json={"grid_id": str(tree["G1a"].id), "note": "例行巡查"}, headers=worker)
    assert response.status_code == 201, response.json
    return response.json


def point(lat=LAT, lng=LNG, ago=timedelta(0), **fields):
    return {"lat": lat, "lng": lng, "recorded_at": iso(now() - ago), **fields}


def add_points(client, headers, patrol_id, *points):
    return client.post(f"{PATROLS}/{patrol_id}/points", json={"points": list(points)}, headers=headers)


def visit(client, headers, patrol_id, **fields):
    return client.post(f"{PATROLS}/{patrol_id}/visits", json={"note": "独居老人，身体良好", **fields}, headers=headers)


def end(client, headers, patrol_id, **fields):
    return client.post(f"{PATROLS}/{patrol_id}/end", json=fields, headers=headers)


# --- starting -------------------------------------------------------------------------------------


def test_a_worker_starts_a_patrol_in_their_own_cell(client, staff, tree, patrol):
    assert patrol["worker_id"] == staff.worker_id
    assert patrol["worker_name"] == "李网格员"
    assert (patrol["grid_id"], patrol["grid"]["code"]) == (str(tree["G1a"].id), "G1a")
    assert (patrol["note"], patrol["open"], patrol["ended_at"]) == ("例行巡查", True, None)
    assert (patrol["length_m"], patrol["duration_s"], patrol["points_count"], patrol["visits"]) == (None, None, 0, [])


@pytest.mark.parametrize("unit", ["G1b", "G2a", "C1"])
def test_a_worker_may_not_patrol_a_unit_that_is_not_their_cell(client, worker, tree, unit):
    response = client.post(PATROLS, json={"grid_id": str(tree[unit].id)}, headers=worker)
    error = assert_error(response, 403, "forbidden")
    assert "grid_id" in error["details"]


def test_a_worker_may_not_patrol_an_unknown_unit(client, worker):
    assert_error(client.post(PATROLS, json={"grid_id": "999999"}, headers=worker), 403, "forbidden")


def test_a_second_open_patrol_is_409(client, worker, tree, patrol):
    response = client.post(PATROLS, json={"grid_id": str(tree["G1a"].id)}, headers=worker)
    error = assert_error(response, 409, "conflict")
    assert error["details"]["patrol_id"] == [patrol["id"]]


def test_after_ending_a_patrol_the_worker_may_start_another(client, worker, tree, patrol):
    end(client, worker, patrol["id"])
    assert client.post(PATROLS, json={"grid_id": str(tree["G1a"].id)}, headers=worker).status_code == 201


@pytest.mark.parametrize("who", ["admin", "supervisor_in", "volunteer_in"])
def test_only_workers_start_patrols(client, auth, staff, tree, who):
    response = client.post(PATROLS, json={"grid_id": str(tree["G1a"].id)}, headers=auth(staff[who]))
    assert_error(response, 403, "forbidden")


def test_a_worker_without_a_profile_cannot_start_a_patrol(client, auth, make_account, tree):
    newcomer = make_account("worker", unit=tree["C1"], cells=[tree["G1a"]])
    assert_error(client.post(PATROLS, json={"grid_id": str(tree["G1a"].id)}, headers=auth(newcomer)), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "grid_id"),
        ({"grid_id": "G1a"}, "grid_id"),
        ({"grid_id": "{G1a}", "note": ""}, "note"),
        ({"grid_id": "{G1a}", "started_at": "2999-01-01T00:00:00Z"}, "started_at"),
        ({"grid_id": "{G1a}", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_start_is_422_and_opens_nothing(client, worker, tree, body, field):
    body = {key: value.format(G1a=tree["G1a"].id) if isinstance(value, str) else value for key, value in body.items()}
    error = assert_error(client.post(PATROLS, json=body, headers=worker), 422, "validation_error")
    assert field in error["details"]
    assert client.get(PATROLS, headers=worker).json["items"] == []


# --- track points ---------------------------------------------------------------------------------


def test_points_are_appended_and_counted(client, worker, patrol):
    response = add_points(client, worker, patrol["id"], point(ago=timedelta(seconds=20)), point(LAT + 0.0001))
    assert response.status_code == 200, response.json
    assert response.json == {"accepted": 2, "rejected": [], "points_count": 2}
    more = add_points(client, worker, patrol["id"], point(LAT + 0.0002, ago=-timedelta(seconds=1)))
    assert more.json["points_count"] == 3
    assert client.get(f"{PATROLS}/{patrol['id']}", headers=worker).json["points_count"] == 3


def test_a_point_a_phone_cannot_have_reached_is_refused_as_an_implausible_jump(client, worker, patrol):
    response = add_points(client, worker, patrol["id"], point(ago=timedelta(seconds=20)), point(LAT + 1))
    assert response.json["accepted"] == 1
    assert [(r["index"], r["reason"]) for r in response.json["rejected"]] == [(1, "implausible_jump")]
    assert response.json["points_count"] == 1


def test_gcj02_points_are_stored_as_wgs84(client, auth, staff, worker, patrol):
    gcj_lat, gcj_lng = wgs84_to_gcj02(LAT, LNG)
    add_points(client, worker, patrol["id"], point(gcj_lat, gcj_lng, coord_system="gcj02"))
    feature = client.get(f"{PATROLS}/{patrol['id']}/track", headers=auth(staff.supervisor_in)).json["features"][0]
    lng, lat = feature["geometry"]["coordinates"]
    assert (lat, lng) == (pytest.approx(LAT, abs=1e-7), pytest.approx(LNG, abs=1e-7))


def test_patrol_points_move_the_workers_last_position(client, auth, staff, worker, patrol):
    add_points(client, worker, patrol["id"], point(LAT + 0.001))
    last = client.get("/api/v1/workers/me", headers=worker).json["last_position"]
    assert last["lat"] == pytest.approx(LAT + 0.001)


def test_the_patrol_track_is_a_linestring_by_time(client, worker, patrol):
    add_points(client, worker, patrol["id"], point(LAT + 0.001), point(LAT, ago=timedelta(seconds=30)))
    body = client.get(f"{PATROLS}/{patrol['id']}/track?coord_system=bd09", headers=worker).json
    assert (body["patrol_id"], body["coord_system"], body["count"]) == (patrol["id"], "bd09", 2)
    coordinates = body["features"][0]["geometry"]["coordinates"]
    expected = [from_wgs84(LAT, LNG, CoordSystem.BD09), from_wgs84(LAT + 0.001, LNG, CoordSystem.BD09)]
    assert [(lat, lng) for lng, lat in coordinates] == [tuple(pytest.approx(v) for v in p) for p in expected]


def test_implausible_points_are_refused_one_by_one(client, worker, patrol):
    response = add_points(
        client,
        worker,
        patrol["id"],
        point(lat=100),
        point(ago=timedelta(minutes=10)),  # before the patrol started
        point(ago=-timedelta(hours=1)),
        point(),
    )
    assert response.status_code == 200
    assert response.json["accepted"] == 1
    assert [(r["index"], r["reason"]) for r in response.json["rejected"]] == [
        (0, "out_of_range"),
        (1, "before_start"),
        (2, "in_future"),
    ]


def test_a_malformed_batch_of_points_is_422_and_adds_nothing(client, worker, patrol):
    response = add_points(client, worker, patrol["id"], point(), {"lat": LAT, "lng": LNG})
    assert_error(response, 422, "validation_error")
    assert client.get(f"{PATROLS}/{patrol['id']}", headers=worker).json["points_count"] == 0


def test_points_for_an_ended_patrol_are_409(client, worker, patrol):
    end(client, worker, patrol["id"])
    assert_error(add_points(client, worker, patrol["id"], point()), 409, "conflict")


def test_another_worker_cannot_add_points_to_a_patrol(client, auth, staff, patrol):
    assert_error(add_points(client, auth(staff.other_worker), patrol["id"], point()), 404, "not_found")


@pytest.mark.parametrize("who", ["admin", "supervisor_in"])
def test_managers_do_not_add_points_for_a_worker(client, auth, staff, patrol, who):
    assert_error(add_points(client, auth(staff[who]), patrol["id"], point()), 403, "forbidden")


# --- visits ---------------------------------------------------------------------------------------


def test_a_visit_is_recorded_and_shown_with_the_patrol(client, auth, staff, worker, patrol):
    gcj_lat, gcj_lng = wgs84_to_gcj02(LAT, LNG)
    response = visit(
        client, worker, patrol["id"], household="3栋2单元501", lat=gcj_lat, lng=gcj_lng, coord_system="gcj02"
    )
    assert response.status_code == 201, response.json
    created = response.json
    assert (created["household"], created["place"], created["note"]) == ("3栋2单元501", None, "独居老人，身体良好")
    assert created["position"]["coord_system"] == "wgs84"
    assert (created["position"]["lat"], created["position"]["lng"]) == (
        pytest.approx(LAT, abs=1e-7),
        pytest.approx(LNG, abs=1e-7),
    )
    detail = client.get(f"{PATROLS}/{patrol['id']}?coord_system=gcj02", headers=auth(staff.supervisor_in)).json
    assert detail["visits_count"] == 1
    (shown,) = detail["visits"]
    assert shown["id"] == created["id"]
    assert shown["position"] == {"lat": pytest.approx(gcj_lat), "lng": pytest.approx(gcj_lng), "coord_system": "gcj02"}


def test_a_visit_to_a_place_needs_no_position(client, worker, patrol):
    response = visit(client, worker, patrol["id"], place="东门菜市场")
    assert response.status_code == 201
    assert (response.json["place"], response.json["position"]) == ("东门菜市场", None)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({}, "place"),
        ({"place": "菜市场", "lat": LAT}, "lng"),
        ({"place": "菜市场", "lat": 91, "lng": LNG}, "lat"),
        ({"place": "菜市场", "note": ""}, "note"),
        ({"place": "菜市场", "visited_at": "2999-01-01T00:00:00Z"}, "visited_at"),
    ],
)
def test_a_bad_visit_is_422_and_records_nothing(client, worker, patrol, fields, bad):
    error = assert_error(visit(client, worker, patrol["id"], **fields), 422, "validation_error")
    assert bad in error["details"]
    assert client.get(f"{PATROLS}/{patrol['id']}", headers=worker).json["visits"] == []


def test_a_visit_to_an_ended_patrol_is_409(client, worker, patrol):
    end(client, worker, patrol["id"])
    assert_error(visit(client, worker, patrol["id"], place="菜市场"), 409, "conflict")


# --- ending ---------------------------------------------------------------------------------------


def test_ending_fixes_the_length_through_the_points_by_time_and_the_duration(client, worker, tree):
    started = now() - timedelta(minutes=30)
    patrol = client.post(
        PATROLS, json={"grid_id": str(tree["G1a"].id), "started_at": iso(started)}, headers=worker
    ).json
    # Sent out of order: the length follows the time order, 0.001° of latitude (~111 m) each way.
    add_points(
        client,
        worker,
        patrol["id"],
        point(LAT + 0.001, ago=timedelta(minutes=20)),
        point(LAT, ago=timedelta(minutes=25)),
        point(LAT, ago=timedelta(minutes=15)),
    )
    response = end(client, worker, patrol["id"], ended_at=iso(started + timedelta(minutes=20)))
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["open"], body["ended_at"], body["duration_s"]) == (False, iso(started + timedelta(minutes=20)), 1200)
    assert body["length_m"] == pytest.approx(2 * distance_m(LAT, LNG, LAT + 0.001, LNG), abs=0.1)
    assert body["length_m"] == pytest.approx(222.4, abs=0.5)


def test_ending_without_a_body_ends_now(client, worker, patrol):
    response = client.post(f"{PATROLS}/{patrol['id']}/end", headers=worker)
    assert response.status_code == 200, response.json
    assert response.json["open"] is False
    assert response.json["length_m"] == 0
    assert response.json["duration_s"] >= 0


def test_ending_an_ended_patrol_is_409(client, worker, patrol):
    end(client, worker, patrol["id"])
    assert_error(end(client, worker, patrol["id"]), 409, "conflict")


def test_ending_before_the_start_is_422_and_the_patrol_stays_open(client, worker, patrol):
    response = end(client, worker, patrol["id"], ended_at=iso(now() - timedelta(hours=1)))
    error = assert_error(response, 422, "validation_error")
    assert "ended_at" in error["details"]
    assert client.get(f"{PATROLS}/{patrol['id']}", headers=worker).json["open"] is True


def test_another_worker_cannot_end_a_patrol(client, auth, staff, worker, patrol):
    assert_error(end(client, auth(staff.other_worker), patrol["id"]), 404, "not_found")
    assert client.get(f"{PATROLS}/{patrol['id']}", headers=worker).json["open"] is True


def test_an_ended_patrols_replayed_end_returns_the_first_answer(client, worker, patrol):
    first = client.post(f"{PATROLS}/{patrol['id']}/end", json={}, headers={**worker, "Idempotency-Key": "end-1"})
    again = client.post(f"{PATROLS}/{patrol['id']}/end", json={}, headers={**worker, "Idempotency-Key": "end-1"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json == first.json


# --- reading --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "supervisor_in", "worker_self"])
def test_a_patrol_is_readable_by_its_worker_and_managers_in_scope(client, auth, staff, patrol, who):
    response = client.get(f"{PATROLS}/{patrol['id']}", headers=auth(staff[who]))
    assert response.status_code == 200
    assert response.json["id"] == patrol["id"]
    assert client.get(f"{PATROLS}/{patrol['id']}/track", headers=auth(staff[who])).status_code == 200


@pytest.mark.parametrize("who", ["supervisor_out", "worker_other"])
def test_a_patrol_outside_the_callers_scope_is_404(client, auth, staff, patrol, who):
    assert_error(client.get(f"{PATROLS}/{patrol['id']}", headers=auth(staff[who])), 404, "not_found")
    assert_error(client.get(f"{PATROLS}/{patrol['id']}/track", headers=auth(staff[who])), 404, "not_found")


@pytest.mark.parametrize("who", ["volunteer_in", "volunteer_out"])
def test_volunteers_may_not_read_patrols(client, auth, staff, patrol, who):
    assert_error(client.get(f"{PATROLS}/{patrol['id']}", headers=auth(staff[who])), 403, "forbidden")
    assert_error(client.get(PATROLS, headers=auth(staff[who])), 403, "forbidden")


@pytest.fixture
def patrols(client, auth, staff, tree):
    """Two ended patrols of the worker (G1a), one open of the other worker (G1b), one of the far worker (G2a)."""
    ids = {}
    for name, who, cell in [
        ("first", staff.worker, "G1a"),
        ("second", staff.worker, "G1a"),
        ("other", staff.other_worker, "G1b"),
        ("far", staff.far_worker, "G2a"),
    ]:
        headers = auth(who)
        ids[name] = client.post(PATROLS, json={"grid_id": str(tree[cell].id)}, headers=headers).json["id"]
        if name in {"first", "second"}:
            end(client, headers, ids[name])
    return ids


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin", ["far", "other", "second", "first"]),
        ("supervisor_in", ["other", "second", "first"]),
        ("supervisor_out", ["far"]),
        ("worker_self", ["second", "first"]),
        ("worker_other", ["other"]),
    ],
)
def test_the_list_holds_the_callers_patrols_newest_first(client, auth, staff, patrols, who, expected):
    response = client.get(PATROLS, headers=auth(staff[who]))
    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == [patrols[name] for name in expected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("worker_id={worker}", ["second", "first"]),
        ("grid_id={G1b}", ["other"]),
        ("grid_id={C1}", ["other", "second", "first"]),
        ("open=true", ["far", "other"]),
        ("open=false", ["second", "first"]),
        ("from={later}", []),
        ("to={later}", ["far", "other", "second", "first"]),
    ],
)
def test_the_list_filters(client, auth, staff, tree, patrols, query, expected):
    values = {code: unit.id for code, unit in tree.items()}
    values |= {"worker": staff.worker_id, "later": iso(now() + timedelta(minutes=1))}
    response = client.get(f"{PATROLS}?{query.format(**values)}", headers=auth(staff.admin))
    assert response.status_code == 200, response.json
    assert [item["id"] for item in response.json["items"]] == [patrols[name] for name in expected]


def test_the_list_pages_with_a_cursor(client, auth, staff, patrols):
    admin = auth(staff.admin)
    seen, cursor = [], None
    while True:
        body = client.get(f"{PATROLS}?limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=admin).json
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [patrols[name] for name in ["far", "other", "second", "first"]]


def test_a_cursor_from_another_query_is_400(client, auth, staff, patrols):
    admin = auth(staff.admin)
    cursor = client.get(f"{PATROLS}?limit=1", headers=admin).json["next_cursor"]
    assert_error(client.get(f"{PATROLS}?limit=1&open=true&cursor={cursor}", headers=admin), 400, "bad_request")
