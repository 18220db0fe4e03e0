"""Plot maps drawn as SVG, with no tile service: one drawing for pages and PDFs.

WeasyPrint runs no JavaScript and the public page fetches nothing from outside, so a
map is plain SVG: the plots (polygons, or dots for points) in an equirectangular
projection scaled by the cosine of the latitude, the protected area's edge clipped to
the view, a light graticule with degree labels, a scale bar and a north arrow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape
from shapely.geometry import box, mapping, shape

from .. import formatting

GREEN = "#1f6f4a"
RED = "#b3261e"
MIN_SPAN_DEG = 0.02  # about 2 km: one plot alone is not blown up to fill the map
SCALE_STEPS_M = (100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)


@dataclass(frozen=True)
class Shape:
    """Something to draw: a GeoJSON Point or Polygon, flagged (red) or not."""

    geometry: dict[str, Any]
    flagged: bool = False


@dataclass(frozen=True)
class Labels:
    """The words on the map, already translated by the caller."""

    title: str
    plot: str = "Plot"
    flagged: str = "Plot in the protected area"
    protected_area: str = "Protected area"
    north: str = "N"
    # The graticule's hemispheres and numbers, in the reader's language ("76,44°O").
    south: str = "S"
    east: str = "E"
    west: str = "W"
    locale: str | None = None


class _Projection:
    """Lon/lat to SVG pixels for a bounding box, keeping distances true at its middle."""

    def __init__(
        self, bounds: tuple[float, float, float, float], width: int, height: int, pad: int
    ) -> None:
        west, south, east, north = bounds
        mid = math.radians((south + north) / 2)
        self.kx = math.cos(mid)
        span_x = max((east - west) * self.kx, 1e-9)
        span_y = max(north - south, 1e-9)
        self.scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
        self.cx, self.cy = (west + east) / 2, (south + north) / 2
        self.width, self.height = width, height

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        x = self.width / 2 + (lon - self.cx) * self.kx * self.scale
        y = self.height / 2 - (lat - self.cy) * self.scale
        return round(x, 1), round(y, 1)

    def visible(self) -> tuple[float, float, float, float]:
        """West, south, east and north of all the picture shows (more than the bounds)."""
        west, north = self.inverse(0, 0)
        east, south = self.inverse(self.width, self.height)
        return west, south, east, north

    def inverse(self, x: float, y: float) -> tuple[float, float]:
        lon = self.cx + (x - self.width / 2) / (self.kx * self.scale)
        lat = self.cy - (y - self.height / 2) / self.scale
        return lon, lat

    def metres_per_px(self) -> float:
        return 111_320 / self.scale


def _positions(geometry: dict[str, Any]) -> Iterable[Sequence[float]]:
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        yield coords  # type: ignore[misc]
    elif kind == "Polygon":
        for ring in coords or []:
            yield from ring
    elif kind == "MultiPolygon":
        for polygon in coords or []:
            for ring in polygon:
                yield from ring


def _bounds(shapes: Sequence[Shape]) -> tuple[float, float, float, float] | None:
    lons, lats = [], []
    for item in shapes:
        for position in _positions(item.geometry):
            lons.append(float(position[0]))
            lats.append(float(position[1]))
    if not lons:
        return None
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    # Pad by 12 %, and never show less than MIN_SPAN_DEG either way.
    pad_x = max((east - west) * 0.12, (MIN_SPAN_DEG - (east - west)) / 2, 0)
    pad_y = max((north - south) * 0.12, (MIN_SPAN_DEG - (north - south)) / 2, 0)
    return west - pad_x, south - pad_y, east + pad_x, north + pad_y


def _ring_path(ring: Sequence[Sequence[float]], project: _Projection) -> str:
    points = [project(float(p[0]), float(p[1])) for p in ring]
    return "M" + "L".join(f"{x} {y}" for x, y in points) + "Z"


def _path(geometry: dict[str, Any], project: _Projection) -> str:
    if geometry["type"] == "Polygon":
        return "".join(_ring_path(ring, project) for ring in geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return "".join(
            _ring_path(ring, project) for polygon in geometry["coordinates"] for ring in polygon
        )
    return ""


def _dot(x: float, y: float, r: float) -> str:
    """A circle as path data (two arcs), so many dots fit in one path."""
    return f"M{round(x - r, 1)} {y}a{r} {r} 0 1 0 {2 * r} 0a{r} {r} 0 1 0 {-2 * r} 0Z"


def _nice_step(span: float) -> float:
    """A round graticule step (degrees) giving 2 to 5 lines across `span`."""
    for step in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0):
        if span / step <= 5:
            return step
    return 10.0


def _degrees(value: float, positive: str, negative: str, step: float, locale: str | None) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    hemisphere = positive if value >= 0 else negative
    pattern = "0." + "0" * decimals if decimals else "0"
    text = formatting.number(Decimal(str(round(abs(value), decimals))), pattern, locale=locale)
    return f"{escape(text)}°{escape(hemisphere)}"


def plots_svg(
    shapes: Sequence[Shape],
    labels: Labels,
    *,
    protected_area: dict[str, Any] | None = None,
    width: int = 640,
    height: int = 400,
    dot_radius: float = 4.0,
) -> Markup:
    """An accessible, self-contained SVG map of the plots (safe to embed as-is)."""
    title = escape(labels.title)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{title}" class="plot-map" '
        f'font-family="Noto Sans, sans-serif" font-size="11">'
        f"<title>{title}</title>"
        f'<rect width="{width}" height="{height}" fill="#f4f7f2"/>'
    )
    bounds = _bounds(shapes)
    if bounds is None:
        return Markup(head + "</svg>")  # noqa: S704 - built from numbers and escaped text
    project = _Projection(bounds, width, height, pad=14)
    parts = [head]
    parts.append(_graticule(project, labels))
    if protected_area:
        parts.append(_protected(protected_area, project, project.visible(), labels))
    # One path per colour and kind, however many plots: a lot of 2,000 plots is 4 elements
    # to parse and paint, not 2,000 (WeasyPrint's time goes into elements, not path data).
    dots: dict[str, list[str]] = {GREEN: [], RED: []}
    areas: dict[str, list[str]] = {GREEN: [], RED: []}
    for item in shapes:
        colour = RED if item.flagged else GREEN
        kind = item.geometry.get("type")
        if kind == "Point":
            x, y = project(*map(float, item.geometry["coordinates"][:2]))
            dots[colour].append(_dot(x, y, dot_radius))
        elif kind in ("Polygon", "MultiPolygon"):
            points = [project(float(p[0]), float(p[1])) for p in _positions(item.geometry)]
            xs, ys = [x for x, _y in points], [y for _x, y in points]
            if max(max(xs) - min(xs), max(ys) - min(ys)) < 2 * dot_radius:
                # Smaller than a dot at this scale: drawn as one, so it can be seen.
                x, y = round(sum(xs) / len(xs), 1), round(sum(ys) / len(ys), 1)
                dots[colour].append(_dot(x, y, dot_radius))
            else:
                areas[colour].append(_path(item.geometry, project))
    for colour in (GREEN, RED):  # flagged plots drawn on top
        if areas[colour]:
            parts.append(
                f'<path class="plots" d="{"".join(areas[colour])}" fill="{colour}" '
                f'fill-opacity="0.45" stroke="{colour}" stroke-width="1.2"/>'
            )
    for colour in (GREEN, RED):
        if dots[colour]:
            # A white halo under the dots, then the dots: where dots overlap they merge
            # instead of drawing outlines across each other.
            path = "".join(dots[colour])
            parts.append(f'<path d="{path}" fill="none" stroke="#fff" stroke-width="2"/>')
            parts.append(f'<path class="dots" d="{path}" fill="{colour}"/>')
    parts.append(_scale_bar(project, height))
    parts.append(_north(width, labels))
    parts.append(
        _legend(labels, width, height, any(s.flagged for s in shapes), bool(protected_area))
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from numbers and escaped text


def _graticule(project: _Projection, labels: Labels) -> str:
    """Lines every round step of degrees; longitudes labelled along the bottom right of the
    scale bar, latitudes along the right edge below the north arrow (the legend keeps the
    top left), so no label sits under another mark."""
    west, south, east, north = project.visible()
    width, height = project.width, project.height
    step = _nice_step(max(east - west, north - south))
    scale_right = 14 + _scale_length(project) + 8
    lines = []
    lon = math.ceil(west / step) * step
    while lon < east:
        x, _ = project(lon, north)
        lines.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{height}"/>')
        if x > scale_right and x < width - 40:
            lines.append(
                f'<text x="{x + 3}" y="{height - 4}" fill="#6b756d" stroke="none">'
                f"{_degrees(lon, labels.east, labels.west, step, labels.locale)}</text>"
            )
        lon += step
    lat = math.ceil(south / step) * step
    while lat < north:
        _, y = project(west, lat)
        lines.append(f'<line x1="0" y1="{y}" x2="{width}" y2="{y}"/>')
        if 56 < y < height - 16:
            lines.append(
                f'<text x="{width - 3}" y="{y - 3}" text-anchor="end" fill="#6b756d" stroke="none">'
                f"{_degrees(lat, labels.north, labels.south, step, labels.locale)}</text>"
            )
        lat += step
    return f'<g stroke="#d5dfd6" stroke-width="0.6" font-size="9">{"".join(lines)}</g>'


def _protected(
    area: dict[str, Any],
    project: _Projection,
    view: tuple[float, float, float, float],
    labels: Labels,
) -> str:
    """The protected area, clipped to the view and simplified to the map's resolution."""
    try:
        geometry = shape(area)
    except (ValueError, TypeError, KeyError, AttributeError):
        return ""
    visible = geometry.intersection(box(*view))
    if visible.is_empty:
        return ""
    visible = visible.simplify(project.metres_per_px() / 111_320 / 2, preserve_topology=True)
    polygons = [g for g in getattr(visible, "geoms", [visible]) if g.geom_type == "Polygon"]
    path = "".join(_path(mapping(p), project) for p in polygons)
    if not path:
        return ""
    return (
        f'<path d="{path}" fill="#e8c9a0" fill-opacity="0.35" stroke="#b07a2a" '
        f'stroke-width="1" stroke-dasharray="5 3"><title>{escape(labels.protected_area)}</title></path>'
    )


def _scale_metres(project: _Projection) -> int:
    """The round distance the scale bar shows: the first one at least 60 px long."""
    per_px = project.metres_per_px()
    return next((m for m in SCALE_STEPS_M if m / per_px >= 60), SCALE_STEPS_M[-1])


def _scale_length(project: _Projection) -> float:
    return round(_scale_metres(project) / project.metres_per_px(), 1)


def _scale_bar(project: _Projection, height: int) -> str:
    metres = _scale_metres(project)
    length = _scale_length(project)
    text = f"{metres // 1000} km" if metres >= 1000 else f"{metres} m"
    y = height - 22
    return (
        f'<g transform="translate(14 {y})"><rect x="-4" y="-13" width="{length + 8}" height="22" fill="#fff" fill-opacity="0.8"/>'
        f'<path d="M0 0V5H{length}V0" fill="none" stroke="#333" stroke-width="1.5"/>'
        f'<text x="{length / 2}" y="-3" text-anchor="middle" fill="#333">{text}</text></g>'
    )


def _north(width: int, labels: Labels) -> str:
    x = width - 24
    return (
        f'<g transform="translate({x} 14)"><path d="M0 18L7 0L14 18L7 13Z" fill="#333"/>'
        f'<text x="7" y="30" text-anchor="middle" font-weight="700" fill="#333">{escape(labels.north)}</text></g>'
    )


def _legend(labels: Labels, width: int, height: int, flagged: bool, area: bool) -> str:
    rows = [(GREEN, labels.plot)]
    if flagged:
        rows.append((RED, labels.flagged))
    if area:
        rows.append(("#e8c9a0", labels.protected_area))
    items = []
    for n, (colour, text) in enumerate(rows):
        y = 14 + n * 16
        items.append(
            f'<rect x="0" y="{y - 9}" width="10" height="10" fill="{colour}" stroke="#555" stroke-width="0.5"/>'
            f'<text x="15" y="{y}" fill="#222">{escape(text)}</text>'
        )
    box_width = 20 + max(len(text) for _c, text in rows) * 6
    return (
        f'<g transform="translate(10 4)"><rect x="-4" y="0" width="{box_width}" height="{len(rows) * 16 + 6}" '
        f'fill="#fff" fill-opacity="0.85" rx="3"/>{"".join(items)}</g>'
    )
