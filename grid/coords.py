"""Coordinate systems of Chinese maps: WGS-84 (GPS), GCJ-02 (Amap, Tencent, WeChat), BD-09 (Baidu).

Points are (lat, lng) in degrees everywhere. GCJ-02 is WGS-84 plus a published, deliberately
irregular shift on the Krasovsky ellipsoid; BD-09 is GCJ-02 plus Baidu's own small rotation and
offset. Neither has a closed-form inverse, so the inverses are solved by iteration (`_invert`):
round trips agree to a millimetre except within the shift (under 1 km) of the box's edges, which
lie well outside China's territory.
Callers validate ranges; every lat in [-90, 90] and lng in [-180, 180] gives a finite result.
"""

import math
from collections.abc import Callable
from enum import StrEnum
from typing import Final

Point = tuple[float, float]

_A: Final = 6378245.0  # Krasovsky 1940 semi-major axis (m), as the GCJ-02 formula uses it
_EE: Final = 0.00669342162296594323  # Krasovsky first eccentricity squared
_X_PI: Final = math.pi * 3000.0 / 180.0
EARTH_RADIUS_M: Final = 6371008.8  # IUGG mean radius

# Inverses stop when the forward image of the guess is this close to the target (about 0.1 mm).
_TOLERANCE_DEG: Final = 1e-9
_MAX_ITERATIONS: Final = 30


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def is_in_china(lat: float, lng: float) -> bool:
    """The rough box the GCJ-02 formulas use; outside it GCJ-02 equals WGS-84."""
    return 72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271


def to_wgs84(lat: float, lng: float, system: CoordSystem) -> Point:
    """The WGS-84 point for a point given in `system`."""
    # Baidu documents that its SDK uses WGS-84 outside China (lbs.baidu.com, Android SDK, 坐标转换),
    # so outside the box BD-09 is left alone like GCJ-02, not put through Baidu's transform.
    if system is CoordSystem.WGS84 or not is_in_china(lat, lng):
        return lat, lng
    if system is CoordSystem.BD09:
        lat, lng = bd09_to_gcj02(lat, lng)
    return gcj02_to_wgs84(lat, lng)


def from_wgs84(lat: float, lng: float, system: CoordSystem) -> Point:
    """The point in `system` for a WGS-84 point; the inverse of `to_wgs84`."""
    if system is CoordSystem.WGS84 or not is_in_china(lat, lng):
        return lat, lng
    lat, lng = wgs84_to_gcj02(lat, lng)
    return gcj02_to_bd09(lat, lng) if system is CoordSystem.BD09 else (lat, lng)


def wgs84_to_gcj02(lat: float, lng: float) -> Point:
    return _gcj02_shift(lat, lng) if is_in_china(lat, lng) else (lat, lng)


def gcj02_to_wgs84(lat: float, lng: float) -> Point:
    # Solved against the unclipped shift so that an iterate stepping over the box edge does not
    # jump; the caller's point decides whether a shift applies at all, as in the forward direction.
    return _invert(_gcj02_shift, lat, lng) if is_in_china(lat, lng) else (lat, lng)


def gcj02_to_bd09(lat: float, lng: float) -> Point:
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lng: float) -> Point:
    # The usual one-step inverse is off by up to ~0.2 m; iterating makes it exact.
    return _invert(gcj02_to_bd09, lat, lng)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in metres on a sphere of the mean Earth radius."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    # Rounding can push h a hair above 1 for antipodal points, outside asin's domain.
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _gcj02_shift(lat: float, lng: float) -> Point:
    x, y = lng - 105.0, lat - 35.0
    rad_lat = math.radians(lat)
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    # Metres of offset to degrees: meridian and parallel radii of curvature of the ellipsoid.
    d_lat = _offset_lat(x, y) * 180.0 / (_A * (1 - _EE) / (magic * math.sqrt(magic)) * math.pi)
    d_lng = _offset_lng(x, y) * 180.0 / (_A / math.sqrt(magic) * math.cos(rad_lat) * math.pi)
    return lat + d_lat, lng + d_lng


def _offset_lat(x: float, y: float) -> float:
    offset = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    offset += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    offset += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    offset += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return offset


def _offset_lng(x: float, y: float) -> float:
    offset = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    offset += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    offset += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    offset += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return offset


def _invert(forward: Callable[[float, float], Point], lat: float, lng: float) -> Point:
    """The point that `forward` maps onto (lat, lng), by fixed-point iteration.

    Both transforms are the identity plus a small, slowly varying offset, so stepping the guess by
    the remaining error converges fast (three or four rounds); the cap only guards the loop.
    """
    guess_lat, guess_lng = lat, lng
    for _ in range(_MAX_ITERATIONS):
        image_lat, image_lng = forward(guess_lat, guess_lng)
        error_lat, error_lng = image_lat - lat, image_lng - lng
        if abs(error_lat) < _TOLERANCE_DEG and abs(error_lng) < _TOLERANCE_DEG:
            break
        guess_lat, guess_lng = guess_lat - error_lat, guess_lng - error_lng
    return guess_lat, guess_lng
