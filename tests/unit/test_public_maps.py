"""The plot map: plain SVG that any browser and WeasyPrint draw, with nothing fetched."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tracker.documents import maps

SVG = "{http://www.w3.org/2000/svg}"
LABELS = maps.Labels(title="Mapa <de> las parcelas", plot="Parcela", flagged="En el área")


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def dots(root: ET.Element) -> list[tuple[str, float, float]]:
    """(colour, x, y) of every dot: dots are arcs in one path per colour."""
    found = []
    for path in root.iter(f"{SVG}path"):
        if path.get("class") != "dots":
            continue
        for part in path.get("d").split("M")[1:]:
            x, rest = part.split(" ", 1)
            y = rest.split("a", 1)[0]
            found.append((path.get("fill"), float(x) + 5, float(y)))
    return found


def areas(root: ET.Element) -> list[ET.Element]:
    return [p for p in root.iter(f"{SVG}path") if p.get("class") == "plots"]


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def square(lon: float, lat: float, side: float) -> dict:
    ring = [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_points_and_polygons_are_drawn_inside_the_view():
    shapes = [
        maps.Shape(point(-76.45, -7.55)),
        maps.Shape(point(-76.40, -7.60)),
        maps.Shape(square(-76.43, -7.58, 0.01)),
    ]
    root = parse(maps.plots_svg(shapes, LABELS, width=400, height=300, dot_radius=5))
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 400 300"
    assert root.get("role") == "img" and root.get("aria-label") == "Mapa <de> las parcelas"
    found = dots(root)
    assert len(found) == 2
    for _colour, x, y in found:
        assert 0 < x < 400 and 0 < y < 300
    [plots] = areas(root)
    assert plots.get("fill") == maps.GREEN and plots.get("d").count("M") == 1
    # West is left and north is up.
    west, east = sorted(found, key=lambda d: d[1])
    assert west[2] < east[2]


def test_flagged_plots_are_red_and_drawn_last_with_a_legend():
    shapes = [maps.Shape(point(-76.0, -7.6), flagged=True), maps.Shape(point(-76.1, -7.5))]
    markup = str(maps.plots_svg(shapes, LABELS, dot_radius=5))
    assert [colour for colour, _x, _y in dots(parse(markup))] == [maps.GREEN, maps.RED]
    assert "En el área" in markup


def test_a_tiny_polygon_is_still_visible_as_a_dot():
    shapes = [maps.Shape(square(-76.45, -7.55, 0.0001)), maps.Shape(point(-75.5, -8.5))]
    root = parse(maps.plots_svg(shapes, LABELS, dot_radius=5))
    assert len(dots(root)) == 2 and not areas(root)


def test_protected_area_is_clipped_to_the_view():
    area = square(-77.0, -9.0, 3.0)  # much larger than the view
    shapes = [maps.Shape(point(-76.45, -7.55)), maps.Shape(point(-76.44, -7.54))]
    markup = str(maps.plots_svg(shapes, LABELS, protected_area=area, width=300, height=200))
    [boundary] = [p for p in parse(markup).iter(f"{SVG}path") if p.get("stroke") == "#b07a2a"]
    numbers = [
        float(n)
        for n in boundary.get("d").replace("M", " ").replace("L", " ").replace("Z", " ").split()
    ]
    assert all(-1 <= n <= 301 for n in numbers)
    assert "Protected area" in markup  # the default legend label


def test_text_is_escaped_and_nothing_is_referenced():
    labels = maps.Labels(title='"><script>alert(1)</script>', plot="<b>")
    markup = str(maps.plots_svg([maps.Shape(point(-76.0, -7.0))], labels))
    assert "<script>" not in markup and "<b>" not in markup
    assert "href" not in markup and "url(" not in markup
    parse(markup)


def test_no_plots_is_an_empty_but_valid_map():
    root = parse(maps.plots_svg([], LABELS))
    assert not dots(root) and root.find(f"{SVG}title").text == LABELS.title


def test_one_point_gets_a_sensible_scale():
    markup = str(maps.plots_svg([maps.Shape(point(-76.45, -7.55))], LABELS))
    assert ">1 km<" in markup or ">500 m<" in markup or ">2 km<" in markup


def test_a_thousand_plots_are_four_elements_at_most():
    shapes = [
        maps.Shape(point(-76 - i / 1000, -7 - i / 2000), flagged=i % 97 == 0) for i in range(1000)
    ] + [maps.Shape(square(-76.2 - i / 10, -7.3, 0.05)) for i in range(10)]
    root = parse(maps.plots_svg(shapes, LABELS, dot_radius=5))
    assert len(dots(root)) == 1000 and len(areas(root)) == 1
