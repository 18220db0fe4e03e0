"""A protected area's boundary is bounded like a plot (issue 12.10): by its bytes and its
points, with a clear error; a big but legal boundary is simplified before it is stored
(no point moves more than a few metres) and prepared once for the overlap checks."""

from __future__ import annotations

import json
import math

import pytest
import shapely
from sqlmodel import select

from tests import factories as f
from tracker.models import Cooperative, Plot, PlotFlag
from tracker.services import geo, plots

CENTRE = (-76.45, -7.55)


def ring(points: int, radius_m: float = 3000.0, wiggle_m: float = 0.0) -> dict:
    """A closed polygon of `points` positions around CENTRE, 6 decimals, its radius
    wiggling by `wiggle_m` (a surveyed outline, not a perfect circle)."""
    lon0, lat0 = CENTRE
    coords = []
    for n in range(points - 1):
        angle = 2 * math.pi * n / (points - 1)
        r = radius_m + wiggle_m * math.sin(n * 0.7)
        coords.append(
            [
                round(lon0 + r * math.cos(angle) / (111_320 * math.cos(math.radians(lat0))), 6),
                round(lat0 + r * math.sin(angle) / 110_574, 6),
            ]
        )
    coords.append(coords[0])
    return {"type": "Polygon", "coordinates": [coords]}


@pytest.fixture
def manager(api_token, world):
    return api_token("manager.a@example.org")


def _put(client, manager, body: str):
    return client.put(
        "/api/v1/cooperatives/COOPA/protected-area",
        data=body,
        headers=manager | {"Content-Type": "application/json"},
    )


def _stored(db):
    db.expire_all()
    geojson = db.exec(
        select(Cooperative.protected_area_geojson).where(Cooperative.code == "COOPA")
    ).one()
    db.rollback()
    return geojson


def test_a_million_point_boundary_is_refused_by_its_size(client, manager, db):
    # The tester's upload: a million positions, 22.8 MB.
    body = (
        '{"type": "Polygon", "coordinates": [['
        + ", ".join(["[-76.451234, -7.551234]"] * 1_000_000)
        + "]]}"
    )
    assert len(body) > geo.AREA_MAX_BYTES
    answer = _put(client, manager, body)
    # Refused at the door, before 22.8 MB of JSON are parsed.
    assert answer.status_code == 413
    assert "10 MB" in answer.get_json()["errors"]["geometry"][0]
    assert _stored(db) is None


def test_too_many_points_is_refused_with_a_clear_message(client, manager, db, auth):
    body = json.dumps(ring(geo.AREA_MAX_VERTICES + 1, wiggle_m=2))
    assert len(body) <= geo.AREA_MAX_BYTES
    answer = _put(client, manager, body)
    assert answer.status_code == 422
    message = answer.get_json()["errors"]["geometry"][0]
    assert "250.001" in message and "250.000" in message  # Spanish digits, both numbers
    assert _stored(db) is None
    # The form says the same next to the field.
    auth.login("manager.a@example.org")
    page = client.post("/c/COOPA/protected-area", data={"boundary": body})
    assert page.status_code == 422 and "250.001 puntos" in page.get_data(as_text=True)


def test_a_big_legal_boundary_is_simplified_and_checks_plots_right(client, manager, db, world):
    family = f.make_family(db, world.a)
    inside = f.make_plot(db, family, lon=CENTRE[0], lat=CENTRE[1])
    # 60 m outside the 3 km radius: outside whatever a few metres of simplification do.
    outside_lon = CENTRE[0] + 3060 / (111_320 * math.cos(math.radians(CENTRE[1])))
    outside = f.make_plot(db, family, lon=round(outside_lon, 6), lat=CENTRE[1])
    inside_id, outside_id = inside.id, outside.id
    db.commit()
    detailed = ring(120_000, wiggle_m=4)
    answer = _put(client, manager, json.dumps(detailed))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["flagged"] == 1
    simplified = body["simplified"]
    assert simplified["points_before"] == 120_000
    assert simplified["points_kept"] <= geo.AREA_STORED_VERTICES
    assert simplified["tolerance_m"] in geo.AREA_TOLERANCES_M
    stored = shapely.from_geojson(_stored(db))
    assert shapely.get_num_coordinates(stored) == simplified["points_kept"]
    # The original outline is within the tolerance of the stored one (every 60th point
    # checked: the stored points are original points, the dropped ones lie near it).
    sample = shapely.points(detailed["coordinates"][0][::60])
    furthest = shapely.distance(stored.boundary, sample).max() * 111_320
    assert furthest <= simplified["tolerance_m"] + 0.01
    flagged = {flag.plot_id for flag in db.exec(select(PlotFlag)).all()}
    db.rollback()
    assert inside_id in flagged and outside_id not in flagged


def test_the_boundary_is_prepared_once_per_boundary(app, db, world):
    coop = db.get(Cooperative, world.a.id)
    plots.set_protected_area(db, coop, f.square(*CENTRE, 5000))
    first = plots.protected_area(coop)
    assert shapely.is_prepared(first)
    assert plots.protected_area(coop) is first  # the same prepared geometry, not re-parsed
    plots.set_protected_area(db, coop, f.square(*CENTRE, 4000))
    assert plots.protected_area(coop) is not first
    db.rollback()
    assert db.exec(select(Plot)).all() == []
