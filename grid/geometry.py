"""Boundaries: GeoJSON Polygon or MultiPolygon in WGS-84, checked before they are stored.

Shapely works in (lng, lat) like GeoJSON. Tolerances are in degrees: 1e-5° is about 1 m.
"""

import json
from collections.abc import Callable, Mapping
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from kernel.i18n import _

# Drawn boundaries of neighbours never meet exactly: allow about 2 m of slack at the edges.
EDGE_TOLERANCE_DEG = 2e-5
# Units of which neither holds the other may share edges and overlap by slivers, not by more than this share of the
# smaller one (grid.territory).
OVERLAP_TOLERANCE = 0.005
MAX_VERTICES = 100_000


class BoundaryError(ValueError):
    """A boundary that cannot be stored; the message says why, for a 422."""


def parse_boundary(geojson: Any) -> BaseGeometry:
    """A valid shapely geometry from a GeoJSON Polygon or MultiPolygon, or BoundaryError."""
    if not isinstance(geojson, Mapping):
        raise BoundaryError(_("must be a GeoJSON object"))
    kind, coordinates = geojson.get("type"), geojson.get("coordinates")
    if kind not in {"Polygon", "MultiPolygon"}:
        raise BoundaryError(_("must be a GeoJSON Polygon or MultiPolygon"))
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise BoundaryError(_("has no coordinates"))
    vertices = 0
    for polygon in polygons:
        vertices += _check_polygon(polygon)
    if vertices > MAX_VERTICES:
        raise BoundaryError(_("has more than %(MAX_VERTICES)s vertices", MAX_VERTICES=MAX_VERTICES))
    geometry = shape({"type": kind, "coordinates": coordinates})
    if not geometry.is_valid:
        raise BoundaryError(_("is not a valid polygon: %(value)s", value=explain_validity(geometry)))
    if geometry.area == 0:
        raise BoundaryError(_("encloses no area"))
    return geometry


def _check_polygon(polygon: Any) -> int:
    if not isinstance(polygon, list) or not polygon:
        raise BoundaryError(_("each polygon is a list of rings"))
    count = 0
    for ring in polygon:
        if not isinstance(ring, list) or len(ring) < 4:
            raise BoundaryError(_("each ring needs at least four positions"))
        for position in ring:
            _check_position(position)
        if ring[0][:2] != ring[-1][:2]:
            raise BoundaryError(_("each ring must be closed (first and last positions equal)"))
        count += len(ring)
    return count


def _check_position(position: Any) -> None:
    if (
        not isinstance(position, list | tuple)
        or len(position) < 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position[:2])
    ):
        raise BoundaryError(_("each position is [longitude, latitude]"))
    lng, lat = position[0], position[1]
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise BoundaryError(
            _("position [%(lng)s, %(lat)s] is out of range (longitude ±180, latitude ±90)", lng=lng, lat=lat)
        )


def dump(geojson: Mapping[str, Any]) -> str:
    """The stored form: the client's GeoJSON as compact JSON, so an export gives back what came in."""
    return json.dumps({"type": geojson["type"], "coordinates": geojson["coordinates"]}, separators=(",", ":"))


def load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def convert(geojson: dict[str, Any] | None, transform: Callable[[float, float], tuple[float, float]]) -> Any:
    """The same geometry with every [lng, lat] position passed through transform(lat, lng)."""
    if geojson is None:
        return None

    def walk(node: Any) -> Any:
        if node and isinstance(node[0], int | float):
            lat, lng = transform(node[1], node[0])
            return [round(lng, 7), round(lat, 7), *node[2:]]
        return [walk(child) for child in node]

    return {**geojson, "coordinates": walk(geojson["coordinates"])}
