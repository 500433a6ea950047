"""Conversions between WGS-84, GCJ-02 and BD-09: published vectors, round trips, edges."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grid.coords import (
    CoordSystem,
    bd09_to_gcj02,
    distance_m,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    is_in_china,
    to_wgs84,
    wgs84_to_gcj02,
)

CHINESE = [CoordSystem.GCJ02, CoordSystem.BD09]

# googollee/eviltransform, python/test.py (also go/transform_test.go): (WGS-84, GCJ-02) at full precision.
EVILTRANSFORM = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]

# hujiulong/gcoord, test/fixtures/china-cities.json: (WGS-84, GCJ-02, BD-09), 7 decimals, (lat, lng) here.
# Its GCJ-02 figures sit a steady ~5e-6° (0.7 m) from the formula, so they are held to 1e-5° (gcoord
# itself compares them to 4 decimals); its BD-09 figures agree with the formula to 1e-7°.
GCOORD_CITIES = [
    ((33.0133556, 114.0164322), (33.0115324, 114.022306), (33.0176697, 114.0287781)),  # 驻马店
    ((34.7478004, 113.6192856), (34.7466173, 113.6253334), (34.7528605, 113.6317519)),  # 郑州
    ((31.4784436, 92.0499619), (31.4762063, 92.0512438), (31.4824421, 92.0576832)),  # 那曲
    ((41.8032629, 123.4253306), (41.8057023, 123.4314787), (41.8114013, 123.438095)),  # 沈阳
    ((21.9828281, 108.6503952), (21.9799392, 108.6541485), (21.9856319, 108.6607283)),  # 钦州
]

# Well inside China's territory, the box's edges being hundreds of kilometres beyond it.
BEIJING = (39.9087, 116.3975)
NANYANG = (32.99, 112.53)
ABROAD = [(51.5074, -0.1278), (40.7128, -74.006), (-33.8688, 151.2093)]  # London, New York, Sydney


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM)
def test_wgs84_to_gcj02_reproduces_the_eviltransform_vectors(wgs, gcj):
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM)
def test_gcj02_to_wgs84_recovers_the_eviltransform_vectors_within_a_millimetre(wgs, gcj):
    assert distance_m(*gcj02_to_wgs84(*gcj), *wgs) < 0.001


def test_the_coordtransform_vectors_are_reproduced():
    # wandergis/coordtransform, test/app.js, all from (lng 116.404, lat 39.915). Its inverses are the
    # one-step approximations, which an exact inverse differs from by under 1e-6° here.
    point = (39.915, 116.404)
    assert wgs84_to_gcj02(*point) == pytest.approx((39.91640428150164, 116.41024449916938), abs=1e-9)
    assert gcj02_to_bd09(*point) == pytest.approx((39.92133699351021, 116.41036949371029), abs=1e-9)
    assert gcj02_to_wgs84(*point) == pytest.approx((39.91359571849836, 116.39775550083061), abs=1e-6)
    assert bd09_to_gcj02(*point) == pytest.approx((39.90865673957631, 116.39762729119315), abs=1e-6)


@pytest.mark.parametrize(
    ("convert", "expected"),
    [
        # hujiulong/gcoord, test/unit/crs/{WGS84,GCJ02,BD09}.spec.ts, all from (lng 123, lat 45), to 5 decimals.
        (wgs84_to_gcj02, (45.00197815, 123.00607541)),
        (gcj02_to_wgs84, (44.99804071, 122.99395597)),
        (gcj02_to_bd09, (45.00636899, 123.00636499)),
        (bd09_to_gcj02, (44.99365430, 122.99363304)),
        (lambda lat, lng: from_wgs84(lat, lng, CoordSystem.BD09), (45.0083293, 123.0124491)),
        (lambda lat, lng: to_wgs84(lat, lng, CoordSystem.BD09), (44.99171540, 122.98762210)),
    ],
)
def test_the_gcoord_vectors_are_reproduced(convert, expected):
    assert convert(45.0, 123.0) == pytest.approx(expected, abs=5e-6)


@pytest.mark.parametrize(("wgs", "gcj", "bd"), GCOORD_CITIES)
def test_the_gcoord_city_fixtures_are_reproduced(wgs, gcj, bd):
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-5)
    assert gcj02_to_bd09(*gcj) == pytest.approx(bd, abs=1e-6)


@pytest.mark.parametrize("system", CHINESE)
def test_a_round_trip_across_china_lands_within_a_metre(system):
    worst = 0.0
    for i in range(41):
        for j in range(62):
            lat, lng = 18.0 + i * 0.9, 73.5 + j * 1.0  # Hainan to Heilongjiang, Pamir to the Wusuli
            worst = max(worst, distance_m(lat, lng, *to_wgs84(*from_wgs84(lat, lng, system), system)))
    assert worst < 1.0


@pytest.mark.parametrize("system", CHINESE)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)
@given(lat=st.floats(3.0, 53.6), lng=st.floats(73.5, 135.1))  # China's extreme points
def test_any_point_in_china_survives_a_round_trip_within_a_metre(system, lat, lng):
    assert distance_m(lat, lng, *to_wgs84(*from_wgs84(lat, lng, system), system)) < 1.0


@pytest.mark.parametrize(("lat", "lng"), ABROAD)
@pytest.mark.parametrize("system", CHINESE)
def test_no_shift_is_applied_outside_china(system, lat, lng):
    # Baidu documents that its SDK uses WGS-84 outside China (lbs.baidu.com, Android SDK, 坐标转换),
    # so BD-09 is left alone there too, not only GCJ-02.
    assert not is_in_china(lat, lng)
    assert to_wgs84(lat, lng, system) == (lat, lng)
    assert from_wgs84(lat, lng, system) == (lat, lng)


def test_baidus_own_transform_is_a_formula_that_applies_anywhere():
    # Only the GCJ-02 shift is bounded to the box; gcj02_to_bd09 is Baidu's plain formula.
    lat, lng = ABROAD[0]
    assert distance_m(lat, lng, *gcj02_to_bd09(lat, lng)) > 500
    assert distance_m(lat, lng, *bd09_to_gcj02(*gcj02_to_bd09(lat, lng))) < 0.001


@pytest.mark.parametrize("point", [BEIJING, NANYANG])
def test_reading_a_gcj02_point_as_wgs84_misses_by_more_than_a_cell(point):
    """The shift is hundreds of metres in a Chinese city, more than a 100-200 m grid cell."""
    shift = distance_m(*point, *from_wgs84(*point, CoordSystem.GCJ02))
    assert 300 < shift < 700
    assert distance_m(*point, *from_wgs84(*point, CoordSystem.BD09)) > shift


def test_wgs84_is_left_as_it_is():
    assert to_wgs84(*BEIJING, CoordSystem.WGS84) == from_wgs84(*BEIJING, CoordSystem.WGS84) == BEIJING


@pytest.mark.parametrize("lat", [-90.0, 0.0, 90.0])
@pytest.mark.parametrize("lng", [-180.0, 0.0, 180.0])
def test_the_edges_of_the_globe_give_finite_results(lat, lng):
    conversions = [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02]
    results = [convert(lat, lng) for convert in conversions]
    results += [convert(lat, lng, system) for convert in (to_wgs84, from_wgs84) for system in CoordSystem]
    assert all(math.isfinite(value) for result in results for value in result)


def test_distance_is_the_great_circle_on_the_mean_earth_sphere():
    assert distance_m(*NANYANG, *NANYANG) == 0.0
    assert distance_m(32.0, 112.5, 33.0, 112.5) == pytest.approx(111_195.08, abs=0.01)  # 1° of meridian
    assert distance_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * 6_371_008.8)  # antipodes: no domain error


def test_coordinate_systems_are_named_as_on_the_wire():
    assert [system.value for system in CoordSystem] == ["wgs84", "gcj02", "bd09"]
