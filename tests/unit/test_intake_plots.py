"""Plots: geolocation rules, and the flags that take claims away (rule 5)."""

import json

import pytest
from sqlmodel import select

from tests.factories import cover, make_certificate, make_delivery, make_family, make_plot, square
from tracker.models import DeliveryClaim, DeliveryFlag, Plot, PlotFlag
from tracker.services import plots
from tracker.services.errors import NotFound, ValidationFailed

PARK = square(-76.0, -7.6, 20_000)  # a 20 km square "park"
INSIDE = {"type": "Point", "coordinates": [-76.0, -7.6]}
OUTSIDE = {"type": "Point", "coordinates": [-76.45, -7.55]}


def _plot(db, family, **kw):
    values = {"name": "Parcela 1", "crop": "coffee", "area_m2": 15_000, "geometry": OUTSIDE, **kw}
    return plots.create(db, family, values)


def _open(db, plot):
    return sorted(f.kind for f in plots.open_flags(db, [plot.id])[plot.id])


def test_point_and_polygon_plots(db, world):
    family = make_family(db, world.a)
    point = _plot(db, family)
    assert json.loads(point.geometry_geojson)["type"] == "Point"
    assert point.centroid_lon == -76.45 and point.geodesic_area_m2 is None
    polygon = _plot(db, family, name="Parcela 2", area_m2=60_000, geometry=square(-76.4, -7.5, 245))
    assert 58_000 < polygon.geodesic_area_m2 < 62_000
    assert _open(db, point) == [] and _open(db, polygon) == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"area_m2": 50_000}, "geometry"),  # over 4 ha as a point
        ({"geometry": {"type": "Point", "coordinates": [-7.55, -76.45]}}, "geometry"),  # swapped
        ({"geometry": "{oops"}, "geometry"),
        ({"crop": "tea"}, "crop"),
        ({"area_m2": 0}, "area_ha"),
        ({"altitude_m": 9000}, "altitude_m"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_plots_are_refused_and_nothing_stored(db, world, values, field):
    family = make_family(db, world.a)
    with pytest.raises(ValidationFailed) as caught:
        _plot(db, family, **values)
    assert field in caught.value.errors()
    assert db.exec(select(Plot).where(Plot.family_id == family.id)).first() is None


def test_plot_names_are_unique_per_family(db, world):
    family = make_family(db, world.a)
    _plot(db, family)
    with pytest.raises(ValidationFailed) as caught:
        _plot(db, family)
    assert "name" in caught.value.errors()
    _plot(db, make_family(db, world.a))


def test_area_mismatch_is_flagged_and_clears_when_corrected(db, world):
    family = make_family(db, world.a)
    plot = _plot(db, family, area_m2=30_000, geometry=square(-76.4, -7.5, 100))  # 1 ha drawn
    assert _open(db, plot) == ["area_mismatch"]
    plots.update(db, plot, {"area_m2": 10_000})
    assert _open(db, plot) == []
    flag = db.exec(select(PlotFlag).where(PlotFlag.plot_id == plot.id)).one()
    assert flag.resolved_at is not None and "agree" in flag.resolution


def test_protected_area_flags_plots_inside_and_takes_their_claims(db, world):
    coop = world.a
    inside_family, outside_family = make_family(db, coop), make_family(db, coop)
    inside = make_plot(db, inside_family, lon=-76.0, lat=-7.6)
    outside = make_plot(db, outside_family)
    cert = make_certificate(db, coop)
    cover(db, cert, inside_family)
    cover(db, cert, outside_family)
    flagged_delivery = make_delivery(db, coop, inside_family, inside)
    clean_delivery = make_delivery(db, coop, outside_family, outside)
    assert db.exec(
        select(DeliveryClaim).where(DeliveryClaim.delivery_id == flagged_delivery.id)
    ).first()

    check = plots.set_protected_area(db, coop, PARK, user_id=world.user("manager_a").id)
    assert (check.flagged, check.cleared) == (1, 0)
    assert _open(db, inside) == ["protected_area"] and _open(db, outside) == []
    # Rule 5: the flagged plot's deliveries carry no claim and are flagged.
    assert (
        db.exec(
            select(DeliveryClaim).where(DeliveryClaim.delivery_id == flagged_delivery.id)
        ).first()
        is None
    )
    assert (
        db.exec(select(DeliveryFlag).where(DeliveryFlag.delivery_id == flagged_delivery.id))
        .one()
        .kind
        == "protected_area"
    )
    assert db.exec(
        select(DeliveryClaim).where(DeliveryClaim.delivery_id == clean_delivery.id)
    ).first()
    # Loading the same boundary again changes nothing.
    assert plots.set_protected_area(db, coop, PARK).flagged == 0


def test_a_new_plot_inside_is_flagged_at_once(db, world):
    plots.set_protected_area(db, world.a, PARK)
    plot = _plot(db, make_family(db, world.a), geometry=INSIDE)
    assert _open(db, plot) == ["protected_area"]
    # A plot straddling the boundary is inside too.
    edge = _plot(db, make_family(db, world.a), geometry=square(-76.09, -7.6, 400), area_m2=160_000)
    assert _open(db, edge) == ["protected_area"]


def test_moving_the_point_does_not_clear_the_flag_only_a_manager_does(db, world):
    plots.set_protected_area(db, world.a, PARK)
    plot = _plot(db, make_family(db, world.a), geometry=INSIDE)
    plots.update(db, plot, {"geometry": OUTSIDE})
    assert _open(db, plot) == ["protected_area"]
    with pytest.raises(ValidationFailed) as caught:
        plots.resolve_flag(db, plot, kind="protected_area", reason="  ", user_id=None)
    assert "reason" in caught.value.errors()
    manager = world.user("manager_a")
    flag = plots.resolve_flag(
        db,
        plot,
        kind="protected_area",
        reason="Punto GPS tomado en la carretera",
        user_id=manager.id,
    )
    assert flag.resolved_by_id == manager.id and _open(db, plot) == []
    with pytest.raises(NotFound):
        plots.resolve_flag(db, plot, kind="protected_area", reason="again", user_id=manager.id)


def test_a_new_boundary_clears_flags_of_plots_now_outside(db, world):
    plots.set_protected_area(db, world.a, PARK)
    plot = _plot(db, make_family(db, world.a), geometry=INSIDE)
    check = plots.set_protected_area(db, world.a, square(-75.0, -7.0, 5_000))
    assert (check.flagged, check.cleared) == (0, 1)
    assert _open(db, plot) == []


def test_a_bad_boundary_changes_nothing(db, world):
    plots.set_protected_area(db, world.a, PARK)
    before = world.a.protected_area_geojson
    with pytest.raises(ValidationFailed):
        plots.set_protected_area(db, world.a, {"type": "Point", "coordinates": [0, 0]})
    assert world.a.protected_area_geojson == before


def test_crop_cannot_change_once_delivered(db, world):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    make_delivery(db, world.a, family, plot)
    with pytest.raises(ValidationFailed) as caught:
        plots.update(db, plot, {"crop": "cacao"})
    assert "crop" in caught.value.errors()
    plots.update(db, plot, {"altitude_m": 1500, "expected_yield_kg_ha": 700})
    assert plot.altitude_m == 1500
