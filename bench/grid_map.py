"""A synthetic district map for the grid benchmarks, the same on every run (no randomness in the map).

One district around lng 112.5, lat 33.0 (WGS-84) holds streets, each street communities, each
community 100 cells of about 0.002° (≈ 190 m × 220 m). Every unit is an axis-aligned square nested in
its parent's square: streets and communities are laid out on a grid with a gap between neighbours,
cells tile their community exactly (neighbours share edges, as drawn maps do). 10,000 cells are
10 streets × 10 communities × 100 cells.

Feature order: the first half of the streets is written children first (cells, then their community,
then the street), the district comes in the middle, the rest parents first, so the importer's
"parents may come later in the file" path is part of every run.

Used by `bench/grid_import.py` and `bench/grid_locate.py`; `python bench/grid_map.py OUT.geojson
[--cells N]` writes the map to a file.
"""

import argparse
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CENTER_LNG, CENTER_LAT = 112.5, 33.0
CELL_SIDE = 0.002  # degrees
GAP = 0.002  # degrees between neighbouring streets and communities
CELLS_PER_COMMUNITY = 100  # a 10 × 10 tiling
COMMUNITIES_PER_STREET = 10
DISTRICT_CODE = "411399"
DIGITS = 7  # coordinates are rounded to 1e-7° (≈ 1 cm), so shared edges stay identical


@dataclass(frozen=True)
class Box:
    west: float
    south: float
    east: float
    north: float

    def holds(self, lng: float, lat: float) -> bool:
        return self.west <= lng <= self.east and self.south <= lat <= self.north

    def polygon(self) -> dict[str, Any]:
        corners = [
            [self.west, self.south],
            [self.east, self.south],
            [self.east, self.north],
            [self.west, self.north],
            [self.west, self.south],
        ]
        return {"type": "Polygon", "coordinates": [corners]}


@dataclass
class Unit:
    code: str
    name: str
    level: str
    parent_code: str | None
    box: Box
    households: int
    population: int
    children: list["Unit"] = field(default_factory=list)
    # How the children are laid out, for finding a point's cell by arithmetic.
    columns: int = 0
    pitch: float = 0.0
    inset: float = 0.0

    def feature(self) -> dict[str, Any]:
        properties = {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "parent_code": self.parent_code,
            "households": self.households,
            "population": self.population,
        }
        return {"type": "Feature", "geometry": self.box.polygon(), "properties": properties}

    def child_at(self, lng: float, lat: float) -> "Unit | None":
        if not self.children:
            return None
        column = math.floor((lng - self.box.west - self.inset) / self.pitch)
        row = math.floor((lat - self.box.south - self.inset) / self.pitch)
        for r in (row, row - 1):  # a point on a shared edge may belong to the lower neighbour
            for c in (column, column - 1):
                if 0 <= r < self.columns and 0 <= c < self.columns:
                    index = r * self.columns + c
                    if index < len(self.children) and self.children[index].box.holds(lng, lat):
                        return self.children[index]
        return None


@dataclass(frozen=True)
class Shape:
    """How many units each level holds, from the requested number of cells."""

    streets: int
    communities: list[int]  # per street
    cells: list[list[int]]  # per street, per community

    @classmethod
    def for_cells(cls, total: int) -> "Shape":
        if total < 1:
            raise ValueError("at least one cell")
        per_community = [min(CELLS_PER_COMMUNITY, total - start) for start in range(0, total, CELLS_PER_COMMUNITY)]
        streets = [
            per_community[start : start + COMMUNITIES_PER_STREET]
            for start in range(0, len(per_community), COMMUNITIES_PER_STREET)
        ]
        return cls(len(streets), [len(s) for s in streets], streets)


def _columns(capacity: int) -> int:
    return math.ceil(math.sqrt(capacity))


def _round(value: float) -> float:
    return round(value, DIGITS)


def _figures(serial: int) -> tuple[int, int]:
    households = 120 + (serial * 37) % 240
    return households, households * 3 - (serial * 11) % 50


def build_district(cells: int = 10_000) -> Unit:
    """The unit tree: district › streets › communities › cells, every square inside its parent."""
    shape = Shape.for_cells(cells)
    cell_columns = _columns(CELLS_PER_COMMUNITY)
    community_side = cell_columns * CELL_SIDE
    community_columns = _columns(COMMUNITIES_PER_STREET)
    community_pitch = community_side + GAP
    street_side = community_columns * community_pitch + GAP
    street_columns = _columns(shape.streets)
    street_pitch = street_side + GAP
    district_side = street_columns * street_pitch + GAP
    west, south = CENTER_LNG - district_side / 2, CENTER_LAT - district_side / 2

    serial = 0
    district = Unit(
        DISTRICT_CODE,
        "基准区",
        "district",
        None,
        Box(_round(west), _round(south), _round(west + district_side), _round(south + district_side)),
        0,
        0,
        columns=street_columns,
        pitch=street_pitch,
        inset=GAP,
    )
    for s, community_counts in enumerate(shape.cells, start=1):
        row, column = divmod(s - 1, street_columns)
        sw, ss = west + GAP + column * street_pitch, south + GAP + row * street_pitch
        street = Unit(
            f"{DISTRICT_CODE}{s:03d}",
            f"第{s}街道",
            "street",
            district.code,
            Box(_round(sw), _round(ss), _round(sw + street_side), _round(ss + street_side)),
            0,
            0,
            columns=community_columns,
            pitch=community_pitch,
            inset=GAP,
        )
        district.children.append(street)
        for c, cell_count in enumerate(community_counts, start=1):
            row, column = divmod(c - 1, community_columns)
            cw, cs = sw + GAP + column * community_pitch, ss + GAP + row * community_pitch
            community = Unit(
                f"{street.code}{c:03d}",
                f"第{s}街道第{c}社区",
                "community",
                street.code,
                Box(_round(cw), _round(cs), _round(cw + community_side), _round(cs + community_side)),
                0,
                0,
                columns=cell_columns,
                pitch=CELL_SIDE,
                inset=0.0,
            )
            street.children.append(community)
            for k in range(cell_count):
                row, column = divmod(k, cell_columns)
                # Edges from their index, so neighbours share exactly the same coordinates.
                box = Box(
                    _round(cw + column * CELL_SIDE),
                    _round(cs + row * CELL_SIDE),
                    _round(cw + (column + 1) * CELL_SIDE),
                    _round(cs + (row + 1) * CELL_SIDE),
                )
                serial += 1
                households, population = _figures(serial)
                community.children.append(
                    Unit(
                        f"{community.code}-{k + 1:03d}",
                        f"{community.name}第{k + 1}网格",
                        "grid",
                        community.code,
                        box,
                        households,
                        population,
                    )
                )
            community.households = sum(cell.households for cell in community.children)
            community.population = sum(cell.population for cell in community.children)
        street.households = sum(unit.households for unit in street.children)
        street.population = sum(unit.population for unit in street.children)
    district.households = sum(unit.households for unit in district.children)
    district.population = sum(unit.population for unit in district.children)
    return district


def feature_collection(cells: int = 10_000) -> dict[str, Any]:
    """The map as a GeoJSON FeatureCollection; part of it lists children before their parents."""
    district = build_district(cells)
    half = (len(district.children) + 1) // 2
    features: list[dict[str, Any]] = []
    for street in district.children[:half]:  # children first
        for community in street.children:
            features.extend(cell.feature() for cell in community.children)
            features.append(community.feature())
        features.append(street.feature())
    features.append(district.feature())
    for street in district.children[half:]:  # parents first
        features.append(street.feature())
        for community in street.children:
            features.append(community.feature())
            features.extend(cell.feature() for cell in community.children)
    return {"type": "FeatureCollection", "name": f"benchmark district, {cells} cells", "features": features}


def write_map(path: Path, cells: int = 10_000) -> int:
    """Write the map to `path`; returns the number of features."""
    collection = feature_collection(cells)
    path.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return len(collection["features"])


def cell_at(district: Unit, lat: float, lng: float) -> Unit | None:
    """The cell holding the point, found by the layout's arithmetic (no shapely): the expected answer."""
    unit: Unit | None = district if district.box.holds(lng, lat) else None
    while unit is not None and unit.level != "grid":
        unit = unit.child_at(lng, lat)
    return unit


def all_cells(district: Unit) -> list[Unit]:
    return [cell for street in district.children for community in street.children for cell in community.children]


@dataclass(frozen=True)
class QueryPoint:
    lat: float
    lng: float
    cell_code: str | None  # the expected answer: None for a point outside every cell


def query_points(
    count: int, *, cells: int = 10_000, outside_share: float = 0.2, seed: int = 2026
) -> Iterator[QueryPoint]:
    """`count` points inside the district (fixed seed): most inside a cell, `outside_share` in the gaps."""
    district = build_district(cells)
    leaves = all_cells(district)
    rng = random.Random(seed)
    box = district.box
    for _ in range(count):
        if rng.random() < outside_share:
            while True:
                lng, lat = rng.uniform(box.west, box.east), rng.uniform(box.south, box.north)
                if cell_at(district, lat, lng) is None:
                    yield QueryPoint(lat, lng, None)
                    break
        else:
            cell = rng.choice(leaves)
            # Strictly inside, off the shared edges, so the expected cell is unambiguous.
            margin = CELL_SIDE * 0.01
            lng = rng.uniform(cell.box.west + margin, cell.box.east - margin)
            lat = rng.uniform(cell.box.south + margin, cell.box.north - margin)
            yield QueryPoint(lat, lng, cell.code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="where to write the GeoJSON FeatureCollection")
    parser.add_argument("--cells", type=int, default=10_000, help="number of cells (default 10,000)")
    args = parser.parse_args()
    features = write_map(args.out, args.cells)
    print(f"wrote {features} features ({args.cells} cells) to {args.out}")


if __name__ == "__main__":
    main()
