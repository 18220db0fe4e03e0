"""Plot geolocation to EUDR rules: every kind of bad geometry is a clear error."""

import json

import pytest
from shapely.geometry import Point, Polygon

from tests.factories import square
from tracker.services import geo
from tracker.services.errors import ValidationFailed

LON, LAT = -76.45, -7.55


def _error(value, country="PE"):
    with pytest.raises(ValidationFailed) as caught:
        geo.parse_geometry(value, country)
    return caught.value.errors()["geometry"][0]


@pytest.fixture(scope="module", autouse=True)
def _english():
    """Messages in English; these rules need no database."""
    from tracker import create_app

    app = create_app({"ENV_NAME": "testing", "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def test_point_keeps_six_decimals_truncated():
    parsed = geo.parse_geometry({"type": "Point", "coordinates": [-76.123456789, -7.987654321]})
    assert parsed.kind == "point"
    assert json.loads(parsed.geojson)["coordinates"] == [-76.123456, -7.987654]
    assert parsed.geodesic_area_m2 is None


def test_polygon_area_is_geodesic():
    parsed = geo.parse_geometry(square(LON, LAT, 100))
    assert parsed.kind == "polygon"
    assert 9_800 <= parsed.geodesic_area_m2 <= 10_200  # one hectare, near enough
    # A Feature and a one-feature FeatureCollection are accepted too, and JSON text.
    feature = {"type": "Feature", "properties": {}, "geometry": square(LON, LAT, 100)}
    assert geo.parse_geometry(feature).kind == "polygon"
    assert (
        geo.parse_geometry({"type": "FeatureCollection", "features": [feature]}).kind == "polygon"
    )
    assert geo.parse_geometry(json.dumps(square(LON, LAT, 100))).kind == "polygon"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "This is not valid GeoJSON."),
        ("[1, 2]", "This is not valid GeoJSON."),
        (
            {"type": "LineString", "coordinates": [[LON, LAT], [LON, LAT + 0.01]]},
            "Point or Polygon",
        ),
        ({"type": "Point", "coordinates": ["a", "b"]}, "Coordinates must be numbers."),
        ({"type": "Point", "coordinates": [LON]}, "[longitude, latitude]"),
        ({"type": "Point", "coordinates": [200, 10]}, "within ±180"),
        ({"type": "Point", "coordinates": [float("nan"), LAT]}, "Coordinates must be numbers."),
        ({"type": "Point", "coordinates": [LAT, LON]}, "swapped"),
        ({"type": "Point", "coordinates": [2.35, 48.85]}, "outside the cooperative's country"),
        ({"type": "Polygon", "coordinates": []}, "ring of positions"),
        (
            {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.001, LAT], [LON, LAT]]]},
            "at least 4",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[LON, LAT], [LON + 0.001, LAT], [LON + 0.001, LAT + 0.001], [LON, LAT + 0.001]]
                ],
            },
            "not closed",
        ),
        (
            # A bow tie: the ring crosses itself.
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [LON, LAT],
                        [LON + 0.001, LAT + 0.001],
                        [LON + 0.001, LAT],
                        [LON, LAT + 0.001],
                        [LON, LAT],
                    ]
                ],
            },
            "crosses itself",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    square(LON, LAT, 300)["coordinates"][0],
                    square(LON, LAT, 100)["coordinates"][0],
                ],
            },
            "holes",
        ),
        (
            {"type": "FeatureCollection", "features": []},
            "exactly one feature",
        ),
    ],
)
def test_bad_geometry_is_a_clear_error(value, message):
    assert message in _error(value)


def test_a_plot_over_four_hectares_must_be_a_polygon():
    point = geo.parse_geometry({"type": "Point", "coordinates": [LON, LAT]})
    geo.check_area_rule(point, 40_000)  # exactly 4 ha may be a point
    with pytest.raises(ValidationFailed) as caught:
        geo.check_area_rule(point, 40_001)
    assert "polygon" in caught.value.errors()["geometry"][0]
    with pytest.raises(ValidationFailed):
        geo.check_area_rule(None, 50_000)
    geo.check_area_rule(geo.parse_geometry(square(LON, LAT, 250)), 62_500)


def test_area_mismatch_is_either_way():
    polygon = geo.parse_geometry(square(LON, LAT, 100))  # 1 ha
    assert not geo.area_mismatch(polygon, 12_000)
    assert geo.area_mismatch(polygon, 20_000)
    assert geo.area_mismatch(polygon, 5_000)
    assert not geo.area_mismatch(
        geo.parse_geometry({"type": "Point", "coordinates": [LON, LAT]}), 90_000
    )


def test_overlap_means_the_insides_meet():
    park = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])
    assert geo.overlaps(Point(5, 5), park)
    assert not geo.overlaps(Point(20, 5), park)
    assert not geo.overlaps(Point(10, 5), park)  # on the boundary
    assert geo.overlaps(Polygon([(9, 4), (11, 4), (11, 6), (9, 6)]), park)  # straddles it
    assert not geo.overlaps(Polygon([(10, 4), (12, 4), (12, 6), (10, 6)]), park)  # shares an edge


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        {"type": "Point", "coordinates": [0, 0]},
        {"type": "FeatureCollection", "features": []},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
        {"type": "Feature", "geometry": None},
    ],
)
def test_bad_protected_area_is_refused(value):
    with pytest.raises(ValidationFailed):
        geo.parse_area(value)
