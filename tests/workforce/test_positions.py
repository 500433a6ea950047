"""Workers' positions through the HTTP API: batches of pings, the track, and purging old positions."""

import logging
from datetime import timedelta

import pytest

from grid.coords import CoordSystem, from_wgs84, wgs84_to_gcj02
from kernel import clock
from tests.support.http import assert_error
from tests.support.workforce import LAT, LNG, build_staff, iso, now

LOCATION = "/api/v1/workers/me/location"


@pytest.fixture
def staff(app, tree, make_account):
    return build_staff(app, tree, make_account)


def ping(lat=LAT, lng=LNG, ago=timedelta(0), **fields):
    return {"lat": lat, "lng": lng, "recorded_at": iso(now() - ago), **fields}


def report(client, headers, *pings, **extra_headers):
    return client.post(LOCATION, json={"pings": list(pings)}, headers={**headers, **extra_headers})


def track(client, headers, worker_id, since=timedelta(hours=1), query="", around=None):
    """The track from `since` ago (or before `around`) to ten minutes after now (or after `around`)."""
    middle = around or now()
    window = f"from={iso(middle - since)}&to={iso(middle + timedelta(minutes=10))}"
    return client.get(f"/api/v1/workers/{worker_id}/track?{window}{query}", headers=headers)


def last_position(client, auth, staff):
    return client.get(f"/api/v1/workers/{staff.worker_id}", headers=auth(staff.admin)).json["last_position"]


# --- reporting ------------------------------------------------------------------------------------


def test_a_ping_becomes_the_last_position(client, auth, staff):
    sent = ping(accuracy=8.5)
    response = report(client, auth(staff.worker), sent)
    assert response.status_code == 200, response.json
    assert response.json["accepted"] == 1
    assert response.json["rejected"] == []
    expected = {"lat": LAT, "lng": LNG, "coord_system": "wgs84", "accuracy": 8.5, "recorded_at": sent["recorded_at"]}
    assert response.json["last_position"] == expected
    assert last_position(client, auth, staff) == expected


def test_a_gcj02_ping_is_stored_as_wgs84(client, auth, staff):
    gcj_lat, gcj_lng = wgs84_to_gcj02(LAT, LNG)
    assert abs(gcj_lat - LAT) + abs(gcj_lng - LNG) > 0.003  # the shift is hundreds of metres here
    report(client, auth(staff.worker), ping(gcj_lat, gcj_lng, coord_system="gcj02"))
    stored = last_position(client, auth, staff)
    assert stored["coord_system"] == "wgs84"
    assert stored["lat"] == pytest.approx(LAT, abs=1e-7)
    assert stored["lng"] == pytest.approx(LNG, abs=1e-7)


def test_a_bd09_ping_is_stored_as_wgs84(client, auth, staff):
    bd_lat, bd_lng = from_wgs84(LAT, LNG, CoordSystem.BD09)
    report(client, auth(staff.worker), ping(bd_lat, bd_lng, coord_system="bd09"))
    stored = last_position(client, auth, staff)
    assert (stored["lat"], stored["lng"]) == (pytest.approx(LAT, abs=1e-7), pytest.approx(LNG, abs=1e-7))


def test_the_last_position_can_be_read_in_gcj02(client, auth, staff):
    report(client, auth(staff.worker), ping())
    body = client.get(f"/api/v1/workers/{staff.worker_id}?coord_system=gcj02", headers=auth(staff.admin)).json
    gcj_lat, gcj_lng = wgs84_to_gcj02(LAT, LNG)
    assert body["last_position"]["coord_system"] == "gcj02"
    assert (body["last_position"]["lat"], body["last_position"]["lng"]) == (
        pytest.approx(gcj_lat),
        pytest.approx(gcj_lng),
    )


def test_a_late_ping_is_stored_but_does_not_move_the_last_position_back(client, auth, staff):
    worker = auth(staff.worker)
    newer = ping(LAT + 0.001, ago=timedelta(minutes=1))
    report(client, worker, newer)
    response = report(client, worker, ping(LAT, ago=timedelta(minutes=10)))
    assert response.json["accepted"] == 1
    assert response.json["last_position"]["lat"] == pytest.approx(LAT + 0.001)
    assert last_position(client, auth, staff)["recorded_at"] == newer["recorded_at"]
    assert track(client, auth(staff.admin), staff.worker_id).json["count"] == 2


def test_the_newest_ping_of_a_batch_wins_whatever_its_place_in_the_batch(client, auth, staff):
    newest = ping(LAT + 0.002, ago=timedelta(seconds=5))
    report(
        client,
        auth(staff.worker),
        newest,
        ping(LAT, ago=timedelta(minutes=3)),
        ping(LAT + 0.001, ago=timedelta(minutes=2)),
    )
    assert last_position(client, auth, staff)["recorded_at"] == newest["recorded_at"]


def test_implausible_pings_are_refused_one_by_one_and_the_rest_stored(client, auth, staff):
    response = report(
        client,
        auth(staff.worker),
        ping(ago=timedelta(minutes=2)),
        ping(lat=91),
        ping(lng=-180.5),
        ping(ago=-timedelta(minutes=6)),
        ping(ago=timedelta(days=91)),
        ping(accuracy=-1),
        ping(ago=-timedelta(minutes=4)),  # a phone clock a little ahead is fine
    )
    assert response.status_code == 200
    assert response.json["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in response.json["rejected"]] == [
        (1, "out_of_range"),
        (2, "out_of_range"),
        (3, "in_future"),
        (4, "too_old"),
        (5, "negative_accuracy"),
    ]
    assert all(r["message"] for r in response.json["rejected"])
    assert track(client, auth(staff.admin), staff.worker_id).json["count"] == 2


def test_a_batch_of_only_implausible_pings_stores_nothing_and_leaves_no_position(client, auth, staff):
    response = report(client, auth(staff.worker), ping(lat=-90.0001))
    assert (response.status_code, response.json["accepted"], response.json["last_position"]) == (200, 0, None)


# --- implausible jumps -----------------------------------------------------------------------------

# 0.1° of latitude is about 11.1 km: in one minute that is about 667 km/h, in ten minutes about 67 km/h.
FAR = 0.1


def test_a_ping_too_far_from_the_stored_last_position_is_refused_and_does_not_move_it(client, auth, staff):
    worker = auth(staff.worker)
    first = ping(ago=timedelta(minutes=2))
    report(client, worker, first)
    response = report(client, worker, ping(LAT + 10, ago=timedelta(minutes=1)))  # 1,100 km in a minute
    assert response.status_code == 200
    assert response.json["accepted"] == 0
    assert [(r["index"], r["reason"]) for r in response.json["rejected"]] == [(0, "implausible_jump")]
    assert "km/h" in response.json["rejected"][0]["message"]
    assert response.json["last_position"]["recorded_at"] == first["recorded_at"]
    assert last_position(client, auth, staff)["recorded_at"] == first["recorded_at"]
    assert track(client, auth(staff.admin), staff.worker_id).json["count"] == 1


def test_a_far_ping_after_enough_time_is_accepted(client, auth, staff):
    worker = auth(staff.worker)
    report(client, worker, ping(ago=timedelta(minutes=20)))
    moved = ping(LAT + FAR, ago=timedelta(minutes=10))  # 67 km/h: a car
    response = report(client, worker, moved)
    assert (response.json["accepted"], response.json["rejected"]) == (1, [])
    assert last_position(client, auth, staff)["recorded_at"] == moved["recorded_at"]


def test_within_a_batch_each_ping_is_judged_from_the_previous_accepted_one_and_the_batch_goes_on(client, auth, staff):
    response = report(
        client,
        auth(staff.worker),
        ping(ago=timedelta(minutes=5)),
        ping(LAT + FAR, ago=timedelta(minutes=4)),  # 667 km/h from the first: refused
        ping(LAT + 0.001, ago=timedelta(minutes=3)),  # judged from the first (the jump was not accepted)
        ping(LAT + 0.002, ago=timedelta(minutes=2)),
    )
    assert response.json["accepted"] == 3
    assert [(r["index"], r["reason"]) for r in response.json["rejected"]] == [(1, "implausible_jump")]
    assert response.json["last_position"]["lat"] == pytest.approx(LAT + 0.002)


def test_the_previous_fix_is_the_one_before_in_time_not_in_the_batch(client, auth, staff):
    """An offline queue replays out of order: each ping is judged from the accepted fix just before it in time."""
    late_far = ping(LAT + FAR, ago=timedelta(minutes=1))
    response = report(
        client,
        auth(staff.worker),
        late_far,  # sent first, but 667 km/h from the fix a minute before it
        ping(LAT + 0.001, ago=timedelta(minutes=3)),
        ping(ago=timedelta(minutes=2)),
    )
    assert [(r["index"], r["reason"]) for r in response.json["rejected"]] == [(0, "implausible_jump")]
    assert response.json["accepted"] == 2
    assert response.json["last_position"]["lat"] == pytest.approx(LAT)


def test_a_late_ping_far_from_the_newer_stored_position_is_refused(client, auth, staff):
    """Older than everything known, a ping is judged from the fix just after it: the phone cannot have been there."""
    worker = auth(staff.worker)
    report(client, worker, ping(ago=timedelta(minutes=1)))
    response = report(client, worker, ping(LAT - FAR, ago=timedelta(minutes=2)))
    assert [(r["index"], r["reason"]) for r in response.json["rejected"]] == [(0, "implausible_jump")]
    assert track(client, auth(staff.admin), staff.worker_id).json["count"] == 1


def test_gps_accuracy_is_allowed_for_before_calling_a_jump(client, auth, staff):
    worker = auth(staff.worker)
    report(client, worker, ping(ago=timedelta(seconds=10), accuracy=1500))  # a cell-tower fix
    response = report(client, worker, ping(LAT + 0.01, ago=timedelta(seconds=5), accuracy=5))  # GPS, 1.1 km away
    assert (response.json["accepted"], response.json["rejected"]) == (1, [])


@pytest.mark.parametrize(
    ("pings", "field"),
    [
        ([{"lat": LAT, "lng": LNG}], "pings"),  # no recorded_at
        ([{"lat": "north", "lng": LNG, "recorded_at": "2026-01-01T00:00:00Z"}], "pings"),
        ([{"lat": LAT, "lng": LNG, "recorded_at": "yesterday"}], "pings"),
        ([{"lat": LAT, "lng": LNG, "recorded_at": "2026-01-01T00:00:00Z", "coord_system": "utm"}], "pings"),
        ([{"lat": LAT, "lng": LNG, "recorded_at": "0001-01-01T00:00:00+05:00"}], "pings"),
        ([], "pings"),
        ("here", "pings"),
    ],
)
def test_a_malformed_batch_is_422_and_stores_nothing(client, auth, staff, pings, field):
    good = ping()
    body = {"pings": [good, *pings]} if isinstance(pings, list) and pings else {"pings": pings}
    error = assert_error(client.post(LOCATION, json=body, headers=auth(staff.worker)), 422, "validation_error")
    assert field in error["details"]
    assert last_position(client, auth, staff) is None


def test_a_batch_over_500_pings_is_422(client, auth, staff):
    response = report(client, auth(staff.worker), *[ping(ago=timedelta(seconds=i)) for i in range(501)])
    assert_error(response, 422, "validation_error")


def test_a_batch_of_500_pings_is_stored(client, auth, staff):
    response = report(client, auth(staff.worker), *[ping(LAT + i * 1e-5, ago=timedelta(seconds=i)) for i in range(500)])
    assert response.json["accepted"] == 500
    assert track(client, auth(staff.admin), staff.worker_id).json["count"] == 500


@pytest.mark.parametrize("who", ["admin", "supervisor_in", "volunteer_in"])
def test_only_workers_report_positions(client, auth, staff, who):
    assert_error(report(client, auth(staff[who]), ping()), 403, "forbidden")


def test_a_worker_without_a_profile_cannot_report_positions(client, auth, make_account, tree):
    newcomer = make_account("worker", unit=tree["C1"])
    assert_error(report(client, auth(newcomer), ping()), 404, "not_found")


def test_a_replayed_batch_with_the_same_idempotency_key_is_stored_once(client, auth, staff):
    worker = auth(staff.worker)
    sent = ping()
    first = report(client, worker, sent, **{"Idempotency-Key": "batch-1"})
    again = report(client, worker, sent, **{"Idempotency-Key": "batch-1"})
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert track(client, auth(staff.admin), staff.worker_id).json["count"] == 1


# --- the track ------------------------------------------------------------------------------------


def test_the_track_is_a_geojson_linestring_ordered_by_time_with_the_point_times(client, auth, staff):
    late, early, middle = (
        ping(LAT + 0.002, ago=timedelta(minutes=1), accuracy=5.0),
        ping(LAT, ago=timedelta(minutes=20)),
        ping(LAT + 0.001, ago=timedelta(minutes=10), accuracy=12.0),
    )
    report(client, auth(staff.worker), late, early, middle)
    response = track(client, auth(staff.supervisor_in), staff.worker_id)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["type"], body["worker_id"], body["coord_system"], body["count"]) == (
        "FeatureCollection",
        staff.worker_id,
        "wgs84",
        3,
    )
    (feature,) = body["features"]
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "LineString"
    assert feature["geometry"]["coordinates"] == [[LNG, LAT], [LNG, LAT + 0.001], [LNG, LAT + 0.002]]
    assert feature["properties"]["times"] == [early["recorded_at"], middle["recorded_at"], late["recorded_at"]]
    assert feature["properties"]["accuracies"] == [None, 12.0, 5.0]


def test_the_track_keeps_to_its_window(client, auth, staff):
    report(client, auth(staff.worker), ping(ago=timedelta(hours=3)), ping(ago=timedelta(minutes=30)))
    assert track(client, auth(staff.admin), staff.worker_id, since=timedelta(hours=1)).json["count"] == 1


def test_the_track_can_be_given_in_gcj02(client, auth, staff):
    report(client, auth(staff.worker), ping(ago=timedelta(minutes=2)), ping(LAT + 0.001))
    body = track(client, auth(staff.admin), staff.worker_id, query="&coord_system=gcj02").json
    assert body["coord_system"] == "gcj02"
    first_lng, first_lat = body["features"][0]["geometry"]["coordinates"][0]
    assert (first_lat, first_lng) == tuple(pytest.approx(v) for v in wgs84_to_gcj02(LAT, LNG))


def test_a_single_position_is_a_point_and_none_is_an_empty_collection(client, auth, staff):
    admin = auth(staff.admin)
    assert track(client, admin, staff.worker_id).json["features"] == []
    report(client, auth(staff.worker), ping())
    (feature,) = track(client, admin, staff.worker_id).json["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [LNG, LAT]}


@pytest.mark.parametrize("who", ["admin", "supervisor_in", "worker_self"])
def test_the_track_is_readable_by_the_worker_and_managers_in_scope(client, auth, staff, who):
    assert track(client, auth(staff[who]), staff.worker_id).status_code == 200


def test_reading_a_track_is_recorded_with_who_read_it(client, auth, staff, caplog):
    caplog.set_level(logging.INFO, logger="grid.workforce")
    track(client, auth(staff.supervisor_in), staff.worker_id)
    (record,) = [r for r in caplog.records if r.name == "grid.workforce"]
    assert record.getMessage() == "worker track read"
    assert (record.worker_id, record.by) == (int(staff.worker_id), staff.supervisor_in.id)


@pytest.mark.parametrize("who", ["supervisor_out", "worker_other"])
def test_the_track_outside_the_callers_scope_is_404(client, auth, staff, who):
    assert_error(track(client, auth(staff[who]), staff.worker_id), 404, "not_found")


@pytest.mark.parametrize("who", ["volunteer_in", "volunteer_out"])
def test_volunteers_may_not_read_tracks(client, auth, staff, who):
    assert_error(track(client, auth(staff[who]), staff.worker_id), 403, "forbidden")


@pytest.mark.parametrize(
    "window",
    [
        "from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:01Z",
        "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "from=2026-01-01T00:00:00Z",
        "to=2026-01-01T00:00:00Z",
        "from=soon&to=later",
    ],
)
def test_a_bad_track_window_is_422(client, auth, staff, window):
    response = client.get(f"/api/v1/workers/{staff.worker_id}/track?{window}", headers=auth(staff.admin))
    assert_error(response, 422, "validation_error")


def test_a_window_of_exactly_seven_days_is_accepted(client, auth, staff):
    window = "from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z"
    assert client.get(f"/api/v1/workers/{staff.worker_id}/track?{window}", headers=auth(staff.admin)).status_code == 200


# --- retention ------------------------------------------------------------------------------------


def purge(app):
    return app.test_cli_runner().invoke(args=["purge-positions"])


def start_patrol_with_points(client, headers, grid_id):
    patrol = client.post("/api/v1/patrols", json={"grid_id": str(grid_id)}, headers=headers).json
    points = [ping(ago=timedelta(minutes=2)), ping(LAT + 0.001, ago=timedelta(minutes=1))]
    client.post(f"/api/v1/patrols/{patrol['id']}/points", json={"points": points}, headers=headers)
    return client.post(f"/api/v1/patrols/{patrol['id']}/end", headers=headers).json


def test_purge_deletes_pings_and_patrol_points_past_the_retention_period(app, client, auth, staff, tree):
    worker = auth(staff.worker)
    report(
        client, worker, ping(ago=timedelta(minutes=5)), ping(ago=timedelta(minutes=4)), ping(ago=timedelta(minutes=3))
    )
    patrol = start_patrol_with_points(client, worker, tree["G1a"].id)
    then = now()
    assert track(client, auth(staff.admin), staff.worker_id, around=then).json["count"] == 5
    clock.travel(timedelta(days=91))
    result = purge(app)
    assert result.exit_code == 0, result.output
    assert "purged 3 position pings and 2 patrol points" in result.output
    assert "cleared 1 last positions" in result.output
    admin = auth(staff.admin)
    assert track(client, admin, staff.worker_id, around=then).json["count"] == 0
    assert last_position(client, auth, staff) is None
    kept = client.get(f"/api/v1/patrols/{patrol['id']}", headers=admin).json
    assert (kept["points_count"], kept["length_m"]) == (0, patrol["length_m"])


def test_purge_keeps_positions_within_the_retention_period(app, client, auth, staff):
    report(client, auth(staff.worker), ping())
    clock.travel(timedelta(days=89))
    result = purge(app)
    assert "purged 0 position pings and 0 patrol points" in result.output
    assert last_position(client, auth, staff) is not None


def test_the_retention_period_is_configurable(app, client, auth, staff, monkeypatch):
    monkeypatch.setitem(app.config, "WORKFORCE_POSITION_RETENTION_DAYS", 7)
    report(client, auth(staff.worker), ping())
    clock.travel(timedelta(days=8))
    assert "purged 1 position pings" in purge(app).output
    clock.travel(timedelta(0))
    response = report(client, auth(staff.worker), ping(ago=timedelta(days=8)))
    assert response.json["rejected"][0]["reason"] == "too_old"
