"""A plot's changes and the claims of its family's deliveries (rules 4 and 5).

Found by helper-68 (tests/functional/test_zz_helper68.py), fixed here:

- Rule 5, "until a manager resolves it": `plots.check_flags` looked only at open flags,
  so a plot inside the protected area whose flag a manager had resolved was flagged
  again by any edit (its altitude) or by loading the same boundary again, and its
  deliveries lost their claims again, silently. A resolution now holds for the map it
  was made on (the plot's geometry and the boundary); only a change of either flags
  the plot again.
- Rule 4, the volume cap per crop: `plots.update` recomputed the family's claims when
  the area or the expected yield changed, not the crop, so moving a plot from coffee to
  cacao left the coffee deliveries claimed over the lowered coffee cap.
- Rule 4: `plots.create` (and the plots import, which calls it) recomputed nothing, so
  a delivery over the cap stayed unclaimed and flagged after a new plot raised the cap.
  The import recomputes each family it touched once, after its rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from alembic import command
from sqlalchemy import create_engine, text
from sqlmodel import select

from tests import factories as f
from tests.functional.test_cap_and_scope import delivery_types, small_farm
from tracker.cli import alembic_config
from tracker.models import PlotFlag
from tracker.services import claims, imports, plots


@pytest.fixture(autouse=True)
def oct1():
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        yield


def open_kinds(db, plot) -> list[str]:
    return [
        flag.kind
        for flag in db.exec(
            select(PlotFlag).where(PlotFlag.plot_id == plot.id, PlotFlag.resolved_at.is_(None))  # type: ignore[union-attr]
        ).all()
    ]


# -- rule 5: a manager's resolution holds until the map changes -----------------------------

PARK = f.square(-76.45, -7.55, 2000)


@pytest.fixture
def resolved(db, world):
    """A plot inside the protected area, its flag resolved by a manager after a field
    visit; the family is certified and its delivery carries organic again."""
    a = world.a
    plots.set_protected_area(db, a, PARK)
    cert = f.make_certificate(db, a)
    family = f.make_family(db, a)
    plot = plots.create(
        db,
        family,
        {
            "name": "Alto",
            "crop": "coffee",
            "area_m2": 15_000,
            "expected_yield_kg_ha": 800,
            "geometry": {"type": "Point", "coordinates": [-76.45, -7.55]},
        },
    )
    f.cover(db, cert, family)
    delivery = f.make_delivery(db, a, family, plot, kg=50, on=date(2026, 6, 1))
    assert delivery_types(db, delivery) == set()
    plots.resolve_flag(
        db, plot, kind="protected_area", reason="Visita de campo: fuera del parque", user_id=None
    )
    assert delivery_types(db, delivery) == {"organic"}
    return plot, delivery


def test_editing_a_resolved_plots_altitude_flags_it_again(db, world, resolved):
    """Correcting the plot's altitude (geometry untouched) raised a new protected-area
    flag, and every claim of its deliveries was gone again."""
    plot, delivery = resolved
    plots.update(db, plot, {"altitude_m": 1350})
    assert open_kinds(db, plot) == []
    assert delivery_types(db, delivery) == {"organic"}


def test_loading_the_same_boundary_again_flags_a_resolved_plot_again(db, world, resolved):
    """Loading the same boundary again changes nothing, a manager's resolution included."""
    plot, delivery = resolved
    check = plots.set_protected_area(db, world.a, PARK)
    assert (check.flagged, check.cleared) == (0, 0)
    assert open_kinds(db, plot) == []
    assert delivery_types(db, delivery) == {"organic"}


def test_moving_a_resolved_plot_within_the_area_flags_it_again(db, world, resolved):
    """The resolution was about the map the manager saw: a new point inside is judged again."""
    plot, delivery = resolved
    plots.update(db, plot, {"geometry": {"type": "Point", "coordinates": [-76.451, -7.551]}})
    assert open_kinds(db, plot) == ["protected_area"]
    assert delivery_types(db, delivery) == set()


def test_a_new_boundary_still_over_a_resolved_plot_flags_it_again(db, world, resolved):
    """A different boundary that still covers the plot is a new question for the manager."""
    plot, delivery = resolved
    check = plots.set_protected_area(db, world.a, f.square(-76.45, -7.55, 3000))
    assert check.flagged == 1
    assert open_kinds(db, plot) == ["protected_area"]
    assert delivery_types(db, delivery) == set()


def test_a_flag_cleared_by_a_new_boundary_does_not_hold_when_the_plot_is_inside_again(db, world):
    """Only a manager's resolution holds: a flag cleared because a boundary left the plot
    outside is raised again when a later boundary covers it."""
    a = world.a
    plots.set_protected_area(db, a, PARK)
    plot = plots.create(
        db,
        f.make_family(db, a),
        {
            "name": "Bajo",
            "crop": "coffee",
            "area_m2": 10_000,
            "geometry": {"type": "Point", "coordinates": [-76.45, -7.55]},
        },
    )
    assert open_kinds(db, plot) == ["protected_area"]
    assert plots.set_protected_area(db, a, f.square(-75.0, -7.0, 5_000)).cleared == 1
    assert plots.set_protected_area(db, a, PARK).flagged == 1
    assert open_kinds(db, plot) == ["protected_area"]


def test_the_migration_keeps_resolutions_made_before_it(db, world, resolved, database_url):
    """A flag a manager resolved before the upgrade holds for today's map (nothing has
    checked the plot since, or it would be flagged again); a flag a new boundary cleared
    is not a manager's resolution and holds for nothing."""
    plot, _delivery = resolved
    cleared = plots.create(
        db,
        f.make_family(db, world.a),
        {
            "name": "Borde",
            "crop": "coffee",
            "area_m2": 10_000,
            "geometry": {"type": "Point", "coordinates": [-76.451, -7.551]},
        },
    )
    plots.set_protected_area(db, world.a, f.square(-76.4505, -7.5505, 100))
    assert open_kinds(db, cleared) == [] and open_kinds(db, plot) == []
    expected = plots.map_sha256(plot, world.a)
    db.commit()
    db.close()
    config = alembic_config(database_url)
    command.downgrade(config, "c5e9a1d7f3b6-1")
    command.upgrade(config, "head")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        found = {
            str(plot_id).replace("-", ""): sha
            for plot_id, sha in conn.execute(
                text("SELECT plot_id, resolved_map_sha256 FROM plot_flag WHERE kind = :kind"),
                {"kind": "protected_area"},
            ).all()
        }
    engine.dispose()
    assert found == {plot.id.hex: expected, cleared.id.hex: None}


# -- rule 4: the volume cap follows the plots ------------------------------------------------


def test_moving_a_plot_to_cacao_lowers_the_coffee_cap_of_deliveries_already_claimed(db, world):
    """Two coffee plots (0.01 ha each: a 19.2 kg cap); 15 kg of parchment carry organic. The
    second plot, with no deliveries, is corrected to cacao: the coffee cap is now 9.6 kg and
    the delivery is over it."""
    a = world.a
    _cert, family, plot = small_farm(db, a)
    other = f.make_plot(db, family, area_ha=0.01)
    delivery = f.make_delivery(db, a, family, plot, kg=15, on=date(2026, 6, 1))
    assert delivery_types(db, delivery) == {"organic"}
    plots.update(db, other, {"crop": "cacao"})
    assert delivery_types(db, delivery) == set()


def test_a_new_plot_raises_the_cap_of_deliveries_already_over_it(db, world):
    """6 kg then 5 kg of parchment against a 9.6 kg cap: the second is over. The family's
    new 1 ha plot raises the cap to 19.2 kg, so both fit."""
    a = world.a
    _cert, family, plot = small_farm(db, a)
    f.make_delivery(db, a, family, plot, kg=6, on=date(2026, 6, 1))
    second = f.make_delivery(db, a, family, plot, kg=5, on=date(2026, 6, 2))
    assert delivery_types(db, second) == set()
    plots.create(
        db,
        family,
        {
            "name": "Nueva",
            "crop": "coffee",
            "area_m2": 10_000,
            "expected_yield_kg_ha": 800,
            "geometry": {"type": "Point", "coordinates": [-76.40, -7.50]},
        },
    )
    assert delivery_types(db, second) == {"organic"}


def test_imported_plots_raise_the_cap_recomputing_each_family_once(db, world, monkeypatch):
    """Three rows for two families: their claims are recomputed in one pass, once per family."""
    a = world.a
    _cert, family, plot = small_farm(db, a)
    other = f.make_family(db, a)
    f.make_delivery(db, a, family, plot, kg=6, on=date(2026, 6, 1))
    second = f.make_delivery(db, a, family, plot, kg=5, on=date(2026, 6, 2))
    assert delivery_types(db, second) == set()
    calls: list[set] = []
    refresh = claims.refresh_families

    def counted(session, coop, family_ids, **kw):
        calls.append(set(family_ids))
        return refresh(session, coop, family_ids, **kw)

    monkeypatch.setattr(claims, "refresh_families", counted)
    text = (
        "member_code,name,crop,area_ha,expected_yield_kg_ha,latitude,longitude\n"
        f"{family.member_code},Nueva,coffee,0.5,800,-7.50,-76.40\n"
        f"{family.member_code},Otra,coffee,0.5,800,-7.51,-76.41\n"
        f"{other.member_code},Lejos,coffee,1,800,-7.52,-76.42\n"
    )
    assert imports.import_plots(db, a, text.encode()).imported == 3
    assert calls == [{family.id, other.id}]
    assert delivery_types(db, second) == {"organic"}


def test_a_flag_cleared_by_a_new_boundary_reads_in_spanish(client, auth, db, world):
    """A protected-area flag cleared when a manager loads a new boundary got its
    resolution as an English sentence stored in the record, and the Spanish plot page an
    auditor reads showed it as stored (helper-67)."""
    from tracker.services import plots

    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family, lon=-76.45, lat=-7.55)
    db.commit()
    plots.set_protected_area(db, world.a, f.square(-76.45, -7.55, 2000))
    db.commit()
    plots.set_protected_area(db, world.a, f.square(-76.0, -7.0, 2000))
    db.commit()
    auth.login("auditor.a@example.org")
    text = client.get(f"/plots/{plot.id}").get_data(as_text=True)
    import html

    text = html.unescape(text)
    assert "Marcas resueltas" in text
    assert "Outside the protected area's new boundary." not in text
    assert "Fuera del nuevo límite del área protegida." in text
