"""Plot geolocation: validation to EUDR rules, geodesic areas and protected-area checks.

GeoJSON is lon/lat (WGS 84). A plot is a Point or a Polygon without holes; coordinates
keep at most 6 decimals (truncated, as the EU information system does); rings are
closed; polygons do not cross themselves; a plot over 4 ha must be a polygon.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from pyproj import Geod
from shapely.geometry import Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from .errors import ValidationFailed

GEOD = Geod(ellps="WGS84")
POINT_MAX_M2 = 40_000  # 4 ha: above this EUDR wants a polygon
# Bounding boxes of countries we know, to catch lat/lon given in the wrong order.
COUNTRY_BOXES = {"PE": (-81.5, -18.5, -68.5, 0.1)}
MISMATCH_RATIO = 1.5  # geodesic area vs declared area, either way
MAX_VERTICES = 5000
# A protected area's boundary (a park's outline can be long and detailed): bounded like a
# plot, by its size and its positions; a boundary with more than AREA_STORED_VERTICES
# positions is simplified (within AREA_TOLERANCES_M metres, the first that fits) before
# it is stored, so every plot check and public page works on a light geometry.
AREA_MAX_BYTES = 10 * 1024 * 1024
AREA_MAX_VERTICES = 250_000
AREA_STORED_VERTICES = 20_000
AREA_TOLERANCES_M = (0.5, 1.0, 2.0, 5.0, 10.0)
METRES_PER_DEGREE = 111_320  # along a meridian; a degree of longitude is never longer


@dataclass
class PlotGeometry:
    """A validated geometry, ready to store."""

    geojson: str
    kind: str
    geodesic_area_m2: int | None
    centroid_lon: float
    centroid_lat: float
    shape: BaseGeometry


def truncate6(value: float) -> float:
    """At most 6 decimals, truncated toward zero (about 11 cm)."""
    return float(Decimal(repr(float(value))).quantize(Decimal("0.000001"), rounding=ROUND_DOWN))


def _fail(message: Any, field: str = "geometry") -> ValidationFailed:
    return ValidationFailed({field: [str(message)]})


def _position(value: Any, country: str | None) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise _fail(_l("Each position must be [longitude, latitude]."))
    try:
        lon, lat = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise _fail(_l("Coordinates must be numbers.")) from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise _fail(_l("Coordinates must be numbers."))
    if not -180 <= lon <= 180 or not -90 <= lat <= 90:
        raise _fail(_l("Longitude must be within ±180 and latitude within ±90."))
    box = COUNTRY_BOXES.get(country or "")
    if box is not None:
        west, south, east, north = box
        if not (west <= lon <= east and south <= lat <= north):
            if west <= lat <= east and south <= lon <= north:
                raise _fail(_l("The coordinates look swapped: GeoJSON is [longitude, latitude]."))
            raise _fail(_l("The location is outside the cooperative's country."))
    return truncate6(lon), truncate6(lat)


def parse_geometry(value: Any, country: str | None = "PE") -> PlotGeometry:
    """Validate a GeoJSON Point or Polygon (a dict, a JSON string, or a one-feature wrapper)."""
    if isinstance(value, str | bytes):
        if len(value) > 2_000_000:
            raise _fail(_l("The geometry is too large."))
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: [[[[... nested past Python's limit
            raise _fail(_l("This is not valid GeoJSON.")) from None
    if isinstance(value, dict) and value.get("type") == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise _fail(_l("Give exactly one feature for a plot."))
        value = features[0]
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict):
        raise _fail(_l("This is not valid GeoJSON."))
    kind = value.get("type")
    coords = value.get("coordinates")
    if kind == "Point":
        lon, lat = _position(coords, country)
        geom: BaseGeometry = Point(lon, lat)
        return PlotGeometry(json.dumps(mapping(geom)), "point", None, lon, lat, geom)
    if kind != "Polygon":
        raise _fail(_l("A plot must be a GeoJSON Point or Polygon."))
    if not isinstance(coords, list) or not coords:
        raise _fail(_l("A polygon needs a ring of positions."))
    if len(coords) > 1:
        raise _fail(_l("Plot polygons may not have holes."))
    ring = coords[0]
    if not isinstance(ring, list) or len(ring) < 4:
        raise _fail(
            _l("A polygon ring needs at least 4 positions (3 corners and the first again).")
        )
    if len(ring) > MAX_VERTICES:
        raise _fail(_l("The polygon has too many positions."))
    points = [_position(p, country) for p in ring]
    if points[0] != points[-1]:
        raise _fail(_l("The polygon ring is not closed: its last position must repeat the first."))
    polygon = Polygon(points)
    if not polygon.is_valid:
        # GEOS explains in English: say it in the reader's words.
        reason = explain_validity(polygon)
        if "Self-intersection" in reason:
            raise _fail(_l("The polygon crosses itself."))
        if "Too few points" in reason:
            raise _fail(_l("The polygon needs at least 3 different corners."))
        raise _fail(_l("The polygon is not valid: check its corners."))
    if polygon.area == 0:
        raise _fail(_l("The polygon has no area."))
    area = geodesic_area_m2(polygon)
    centre = polygon.representative_point()
    return PlotGeometry(json.dumps(mapping(polygon)), "polygon", area, centre.x, centre.y, polygon)


def geodesic_area_m2(polygon: BaseGeometry) -> int:
    """Area on the WGS 84 ellipsoid, in square metres."""
    area, _perimeter = GEOD.geometry_area_perimeter(polygon)
    return round(abs(area))


def point_from_latlon(lat: Any, lon: Any, country: str | None = "PE") -> PlotGeometry:
    """A point given as separate latitude and longitude fields (as clerks type them)."""
    try:
        return parse_geometry({"type": "Point", "coordinates": [float(lon), float(lat)]}, country)
    except (TypeError, ValueError):
        raise _fail(_l("Coordinates must be numbers.")) from None


def check_area_rule(geometry: PlotGeometry | None, area_m2: int) -> None:
    """EUDR: a plot over 4 ha must be mapped as a polygon."""
    if area_m2 > POINT_MAX_M2 and (geometry is None or geometry.kind != "polygon"):
        raise _fail(_l("A plot over 4 ha must be mapped as a polygon (EUDR)."))


def area_mismatch(geometry: PlotGeometry | None, area_m2: int) -> bool:
    """True when the polygon's measured area is far from the declared area."""
    if geometry is None or geometry.geodesic_area_m2 is None or area_m2 <= 0:
        return False
    ratio = geometry.geodesic_area_m2 / area_m2
    return ratio > MISMATCH_RATIO or ratio < 1 / MISMATCH_RATIO


def check_area_size(size: int) -> None:
    """Refuse a boundary file or body over AREA_MAX_BYTES before reading it."""
    if size > AREA_MAX_BYTES:
        raise _fail(
            _l(
                "The boundary is larger than %(mb)s MB: simplify it in your GIS first.",
                mb=AREA_MAX_BYTES // (1024 * 1024),
            )
        )


def _positions(value: Any, depth: int = 0) -> int:
    """How many positions a GeoJSON value holds, counted before any geometry is built."""
    if isinstance(value, dict):
        if value.get("type") == "FeatureCollection":
            return sum(_positions(f, depth) for f in value.get("features") or [])
        if value.get("type") == "Feature":
            return _positions(value.get("geometry"), depth)
        return _positions(value.get("coordinates"), depth)
    if isinstance(value, list) and depth < 4:
        if value and not isinstance(value[0], list):
            return 1
        return sum(_positions(item, depth + 1) for item in value)
    return 0


def parse_area(value: Any) -> BaseGeometry:
    """A protected area's boundary: a Polygon, MultiPolygon, Feature or FeatureCollection,
    of at most AREA_MAX_BYTES and AREA_MAX_VERTICES positions."""
    if isinstance(value, str | bytes):
        check_area_size(len(value))
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: [[[[... nested past Python's limit
            raise _fail(_l("This is not valid GeoJSON.")) from None
    if not isinstance(value, dict):
        raise _fail(_l("This is not valid GeoJSON."))
    positions = _positions(value)
    if positions > AREA_MAX_VERTICES:
        raise _fail(
            _l(
                "The boundary has %(n)s points; at most %(max)s are accepted: simplify it "
                "in your GIS first.",
                n=format_decimal(positions, format="#,##0"),
                max=format_decimal(AREA_MAX_VERTICES, format="#,##0"),
            )
        )
    try:
        if value.get("type") == "FeatureCollection":
            from shapely.ops import unary_union

            geoms = [shape(f["geometry"]) for f in value.get("features") or []]
            if not geoms:
                raise _fail(_l("The boundary has no features."))
            geom = unary_union(geoms)
        elif value.get("type") == "Feature":
            geom = shape(value["geometry"])
        else:
            geom = shape(value)
    except ValidationFailed:
        raise
    except Exception:
        raise _fail(_l("This is not valid GeoJSON.")) from None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise _fail(_l("A protected area must be a Polygon or MultiPolygon."))
    west, south, east, north = geom.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise _fail(_l("Longitude must be within ±180 and latitude within ±90."))
    if not geom.is_valid:
        raise _fail(_l("The boundary is not a valid polygon."))
    return geom


@dataclass(frozen=True)
class Simplified:
    """A boundary ready to store, and how it was simplified (None: kept as given)."""

    shape: BaseGeometry
    positions_before: int
    tolerance_m: float | None


def simplify_area(area: BaseGeometry) -> Simplified:
    """Keep a detailed boundary light: above AREA_STORED_VERTICES positions, simplify it
    (Douglas-Peucker keeping its topology valid) with the smallest tolerance in
    AREA_TOLERANCES_M that brings it under, so no point moves by more than that."""
    import shapely

    before = int(shapely.get_num_coordinates(area))
    if before <= AREA_STORED_VERTICES:
        return Simplified(area, before, None)
    for metres in AREA_TOLERANCES_M:
        simpler = area.simplify(metres / METRES_PER_DEGREE, preserve_topology=True)
        if (
            simpler.is_valid
            and not simpler.is_empty
            and shapely.get_num_coordinates(simpler) <= AREA_STORED_VERTICES
        ):
            return Simplified(simpler, before, metres)
    raise _fail(
        _l(
            "The boundary is too detailed: even simplified within %(m)s m it keeps more than "
            "%(max)s points. Simplify it in your GIS first.",
            m=format_decimal(AREA_TOLERANCES_M[-1]),
            max=format_decimal(AREA_STORED_VERTICES, format="#,##0"),
        )
    )


_prepared = threading.local()


def area_shape(geojson: str) -> BaseGeometry:
    """The stored boundary as a prepared geometry, built once per boundary and thread
    (GEOS prepared geometries may not be shared between threads); the text itself is
    the key, so a new boundary is a new entry."""
    import shapely

    cache: OrderedDict[str, BaseGeometry] = getattr(_prepared, "cache", None) or OrderedDict()
    _prepared.cache = cache
    found = cache.get(geojson)
    if found is None:
        found = shape(json.loads(geojson))
        shapely.prepare(found)
        cache[geojson] = found
        while len(cache) > 8:
            cache.popitem(last=False)
    else:
        cache.move_to_end(geojson)
    return found


def overlaps(plot: BaseGeometry, area: BaseGeometry) -> bool:
    """True when the plot reaches the inside of the protected area (rule 5).

    Interiors must meet: a plot that only shares an edge or a corner with the boundary
    is outside; a point exactly on the boundary is outside too.
    """
    return bool(plot.relate_pattern(area, "T********"))


def load_shape(geojson: str | None) -> BaseGeometry | None:
    return shape(json.loads(geojson)) if geojson else None
