"""Shapes for the grid tests: a place on the map, square boundaries and a small map to import."""

# Around Nanyang (宛城区): 0.01° is about 1 km; cells below are 0.002° (~200 m) squares.
LNG, LAT = 112.53, 32.99


def square(lng: float, lat: float, size: float) -> dict:
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(code, level, parent_code=None, shape=None, name=None, **extra):
    properties = {"code": code, "name": name or f"{code} 单元", "level": level, "parent_code": parent_code, **extra}
    return {"type": "Feature", "geometry": shape, "properties": properties}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


# Children before parents, on purpose: parents may come later in the same file.
MAP = collection(
    feature("G1", "grid", "C", square(LNG, LAT, 0.002), households=300),
    feature("G2", "grid", "C", square(LNG + 0.002, LAT, 0.002), population=900),
    feature("C", "community", "S", square(LNG, LAT, 0.01)),
    feature("S", "street", "D", square(LNG, LAT, 0.05)),
    feature("D", "district", None, square(LNG, LAT, 0.1)),
)
