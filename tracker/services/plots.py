"""Plots and the flags that take claims away: protected area (rule 5) and area mismatch.

A plot's geolocation is validated by services/geo.py (EUDR rules). A plot that reaches
inside the cooperative's protected area is flagged; the flag stands until a manager
resolves it with a reason (a clerk moving the point does not clear it). The resolution
holds for the map it was made on (`map_sha256`: the plot's geometry and the boundary):
only a new point or boundary flags the plot again. An area-mismatch flag clears itself
when the declared area or the polygon is corrected. The claims engine reads open
protected-area flags and the plots' areas, yields and crops (the volume cap), so every
change here ends in `deliveries.after_change` for the families concerned.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..models import Cooperative, Delivery, Family, Plot, PlotFlag, utcnow
from ..models.enums import Crop, PlotFlagKind
from . import audit, geo, vocabulary
from .cooperatives import bump_public_version
from .errors import NotFound, ValidationFailed
from .text import fold, given_reason

FIELDS = ("name", "crop", "area_m2", "altitude_m", "expected_yield_kg_ha", "geometry")
MAX_AREA_M2 = 10_000 * 10_000  # 10,000 ha: far beyond any smallholder's plot


def _check(
    session: Session,
    coop: Cooperative,
    family: Family,
    values: Mapping[str, Any],
    plot: Plot | None,
) -> tuple[dict[str, Any], geo.PlotGeometry | None, bool]:
    """Normalise and check a plot's fields; returns (columns, parsed geometry, geometry given)."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {k: values[k] for k in FIELDS if k in values and k != "geometry"}
    if "name" in clean:
        clean["name"] = " ".join(str(clean["name"] or "").split())
        if not clean["name"] or len(clean["name"]) > 100:
            errors["name"] = [str(_l("Give the plot a name of at most 100 characters."))]
        else:
            # Twins that differ only by case or accents ("Parcela 1", "PARCELA 1") would be
            # one plot to a clerk and to the deliveries import: refused as the same name.
            query = select(Plot.id, Plot.name).where(Plot.family_id == family.id)
            if plot is not None:
                query = query.where(Plot.id != plot.id)
            wanted = fold(clean["name"])
            if any(fold(name) == wanted for _id, name in session.exec(query).all()):
                errors["name"] = [str(_l("The family already has a plot with this name."))]
    if "crop" in clean:
        if clean["crop"] not in set(Crop):
            errors["crop"] = [str(_l("Choose coffee or cacao."))]
        elif plot is not None and clean["crop"] != plot.crop and _has_deliveries(session, plot):
            errors["crop"] = [str(_l("The plot has deliveries: its crop cannot change."))]
    if "area_m2" in clean and not 0 < (clean["area_m2"] or 0) <= MAX_AREA_M2:
        errors["area_ha"] = [str(_l("The area must be more than 0 ha."))]
    if clean.get("altitude_m") is not None and not -100 <= clean["altitude_m"] <= 7000:
        errors["altitude_m"] = [str(_l("Altitude must be between -100 and 7,000 m."))]
    if "expected_yield_kg_ha" in clean:
        clean["expected_yield_kg_ha"] = clean["expected_yield_kg_ha"] or 0
        if not 0 <= clean["expected_yield_kg_ha"] <= 20_000:
            errors["expected_yield_kg_ha"] = [
                str(_l("Expected yield must be between 0 and 20,000 kg/ha."))
            ]
    parsed: geo.PlotGeometry | None = None
    given = "geometry" in values
    if given and values["geometry"] not in (None, "", {}):
        try:
            parsed = geo.parse_geometry(values["geometry"], coop.country)
        except ValidationFailed as error:
            errors.update(error.errors())
    elif plot is not None and not given:
        parsed = stored_geometry(plot)
    area_m2 = clean.get("area_m2", plot.area_m2 if plot is not None else None)
    if area_m2 and "geometry" not in errors and "area_ha" not in errors:
        try:
            geo.check_area_rule(parsed, area_m2)
        except ValidationFailed as error:
            errors.update(error.errors())
    if errors:
        raise ValidationFailed(errors)
    return clean, parsed, given


def _has_deliveries(session: Session, plot: Plot) -> bool:
    return (
        session.exec(select(Delivery.id).where(Delivery.plot_id == plot.id).limit(1)).first()
        is not None
    )


def stored_geometry(plot: Plot) -> geo.PlotGeometry | None:
    """The plot's stored geometry as validated data (it was checked when saved)."""
    if not plot.geometry_geojson:
        return None
    shape_ = shapely.geometry.shape(json.loads(plot.geometry_geojson))
    kind = "polygon" if shape_.geom_type == "Polygon" else "point"
    return geo.PlotGeometry(
        plot.geometry_geojson,
        kind,
        plot.geodesic_area_m2,
        plot.centroid_lon or 0.0,
        plot.centroid_lat or 0.0,
        shape_,
    )


def _apply_geometry(plot: Plot, parsed: geo.PlotGeometry | None) -> None:
    plot.geometry_geojson = parsed.geojson if parsed else None
    plot.geodesic_area_m2 = parsed.geodesic_area_m2 if parsed else None
    plot.centroid_lon = parsed.centroid_lon if parsed else None
    plot.centroid_lat = parsed.centroid_lat if parsed else None


def create(
    session: Session,
    family: Family,
    values: Mapping[str, Any],
    *,
    user_id: uuid.UUID | None = None,
    area: Any = None,
    recompute: bool = True,
) -> Plot:
    """Add a plot to a family, and flag it if it needs a manager's eye.

    `area` is the protected area already loaded (an import passes it once for all rows).
    The plot raises its family's volume cap (rule 4), so the family's claims are
    recomputed; with `recompute` False the caller does it (`recompute_families`: an
    import, once for all the families of its rows).
    """
    missing = {
        name: [str(_l("This field is required."))]
        for name in ("name", "crop")
        if values.get(name) in (None, "")
    }
    if values.get("area_m2") in (None, ""):
        missing["area_ha"] = [str(_l("This field is required."))]
    if missing:
        raise ValidationFailed(missing)
    coop = _coop(session, family.cooperative_id)
    clean, parsed, _given = _check(session, coop, family, values, None)
    plot = Plot(cooperative_id=coop.id, family_id=family.id, **clean)
    _apply_geometry(plot, parsed)
    session.add(plot)
    session.flush()
    check_flags(session, coop, [plot], user_id=user_id, area=area, recompute=False)
    if recompute:
        recompute_families(session, coop, {family.id})
    return plot


def recompute_families(session: Session, coop: Cooperative, family_ids: set[uuid.UUID]) -> None:
    """New plots change their families' volume caps (rule 4): their claims follow."""
    from .deliveries import after_change

    after_change(session, coop, family_ids)


def update(
    session: Session, plot: Plot, values: Mapping[str, Any], *, user_id: uuid.UUID | None = None
) -> Plot:
    """Change a plot's fields (only those given); flags are checked again."""
    coop = _coop(session, plot.cooperative_id)
    family = session.get(Family, plot.family_id)
    assert family is not None
    clean, parsed, given = _check(session, coop, family, values, plot)
    # Area, yield and crop set the family's volume cap of each crop (rule 4): its claims
    # may change.
    cap_changed = any(
        name in clean and clean[name] != getattr(plot, name)
        for name in ("area_m2", "expected_yield_kg_ha", "crop")
    )
    for name, value in clean.items():
        setattr(plot, name, value)
    if given:
        _apply_geometry(plot, parsed)
    if session.is_modified(plot):
        plot.updated_at = utcnow()
        # Its altitude, map and hectares are on the public pages and sheets.
        bump_public_version(session, coop.id)
    session.add(plot)
    session.flush()
    # A new cap recomputes the family anyway: the flags' changes are in that pass.
    check_flags(session, coop, [plot], user_id=user_id, recompute=not cap_changed)
    if cap_changed:
        _claims_changed(session, coop, {plot.family_id})
    return plot


def _coop(session: Session, cooperative_id: uuid.UUID) -> Cooperative:
    coop = session.get(Cooperative, cooperative_id)
    assert coop is not None
    return coop


def open_flags(session: Session, plot_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[PlotFlag]]:
    """Unresolved flags of these plots."""
    ids = list(plot_ids)
    found: dict[uuid.UUID, list[PlotFlag]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        for flag in session.exec(
            select(PlotFlag).where(
                PlotFlag.plot_id.in_(ids[start : start + 500]),  # type: ignore[attr-defined]
                PlotFlag.resolved_at.is_(None),  # type: ignore[union-attr]
            )
        ).all():
            found[flag.plot_id].append(flag)
    return found


def protected_area(coop: Cooperative) -> Any:
    """The cooperative's boundary, prepared for overlap checks (cached per boundary)."""
    return geo.area_shape(coop.protected_area_geojson) if coop.protected_area_geojson else None


def check_flags(
    session: Session,
    coop: Cooperative,
    plots: list[Plot],
    *,
    user_id: uuid.UUID | None = None,
    area: Any = None,
    clear_outside: bool = False,
    recompute: bool = True,
) -> tuple[int, int]:
    """Raise or clear the flags of these plots; returns (flags raised, flags cleared).

    Protected-area flags are cleared only with `clear_outside` (a manager loading a new
    boundary), and not raised again on the map a manager resolved one on; area-mismatch
    flags clear as soon as the data agrees. With `recompute` False the caller
    recomputes the families' claims.
    """
    if area is None:
        area = protected_area(coop)
    if area is not None:
        shapely.prepare(area)
    flags = open_flags(session, [p.id for p in plots])
    shapes = {plot.id: stored_geometry(plot) for plot in plots}
    inside = {
        plot.id: bool(
            shapes[plot.id] is not None
            and area is not None
            and geo.overlaps(shapes[plot.id].shape, area)  # type: ignore[union-attr]
        )
        for plot in plots
    }
    resolved = resolved_maps(
        session,
        [
            p.id
            for p in plots
            if inside[p.id] and all(f.kind != PlotFlagKind.PROTECTED_AREA for f in flags[p.id])
        ],
    )
    raised = cleared = 0
    changed_families: set[uuid.UUID] = set()
    now = utcnow()
    for plot in plots:
        parsed = shapes[plot.id]
        current = {f.kind: f for f in flags[plot.id]}
        # A manager resolved the flag on this very map: the resolution stands (rule 5).
        is_inside = inside[plot.id] and resolved.get(plot.id) != map_sha256(plot, coop)
        mismatch = geo.area_mismatch(parsed, plot.area_m2)
        wanted = {
            PlotFlagKind.PROTECTED_AREA: (
                is_inside,
                _inside_detail(parsed, area) if is_inside else "",
            ),
            PlotFlagKind.AREA_MISMATCH: (
                mismatch,
                f"declared_m2={plot.area_m2};measured_m2={parsed.geodesic_area_m2}"
                if mismatch and parsed is not None
                else "",
            ),
        }
        for kind, (needed, detail) in wanted.items():
            flag = current.get(kind)
            if needed and flag is None:
                session.add(
                    PlotFlag(cooperative_id=coop.id, plot_id=plot.id, kind=kind, detail=detail)
                )
                raised += 1
                if kind == PlotFlagKind.PROTECTED_AREA:
                    changed_families.add(plot.family_id)
            elif not needed and flag is not None:
                if kind == PlotFlagKind.PROTECTED_AREA and not clear_outside:
                    continue
                _clear(flag, now, user_id)
                cleared += 1
                if kind == PlotFlagKind.PROTECTED_AREA:
                    changed_families.add(plot.family_id)
    session.flush()
    if changed_families and recompute:
        _claims_changed(session, coop, changed_families)
    return raised, cleared


def _clear(flag: PlotFlag, now: Any, user_id: uuid.UUID | None) -> None:
    """The data no longer calls for the flag: it is closed with the reason why."""
    flag.resolved_at = now
    flag.resolved_by_id = user_id
    flag.resolution = vocabulary.FLAG_CLEARED[str(flag.kind)]


def map_sha256(plot: Plot, coop: Cooperative) -> str:
    """The map a protected-area flag is judged on: the plot's geometry and the boundary.

    migrations/versions/*_plot_flag_resolved_map.py computes it the same way."""
    text = f"{plot.geometry_geojson or ''}\n{coop.protected_area_geojson or ''}"
    return hashlib.sha256(text.encode()).hexdigest()


def resolved_maps(session: Session, plot_ids: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """The map each plot's latest protected-area resolution was made on (None: not a
    manager's, e.g. cleared by a new boundary)."""
    found: dict[uuid.UUID, tuple[Any, str | None]] = {}
    for start in range(0, len(plot_ids), 500):
        for plot_id, at, sha in session.exec(
            select(PlotFlag.plot_id, PlotFlag.resolved_at, PlotFlag.resolved_map_sha256).where(
                PlotFlag.plot_id.in_(plot_ids[start : start + 500]),  # type: ignore[attr-defined]
                PlotFlag.kind == PlotFlagKind.PROTECTED_AREA,
                PlotFlag.resolved_at.is_not(None),  # type: ignore[union-attr]
            )
        ).all():
            before = found.get(plot_id)
            # Two resolutions at one moment (frozen clocks in tests): a manager's wins.
            if before is None or at > before[0] or (at == before[0] and sha is not None):
                found[plot_id] = (at, sha)
    return {plot_id: sha for plot_id, (_at, sha) in found.items()}


def _inside_detail(parsed: geo.PlotGeometry | None, area: Any) -> str:
    if parsed is None or parsed.kind != "polygon":
        return "point inside"
    overlap = parsed.shape.intersection(area)
    return f"overlap_m2={geo.geodesic_area_m2(overlap)}"


def _claims_changed(session: Session, coop: Cooperative, family_ids: set[uuid.UUID]) -> None:
    from .deliveries import after_change

    after_change(session, coop, family_ids)
    bump_public_version(session, coop.id)


@dataclass
class AreaCheck:
    """What loading a protected-area boundary did."""

    plots: int
    flagged: int
    cleared: int
    # Set when the boundary was simplified before it was stored.
    positions_before: int | None = None
    positions_kept: int | None = None
    tolerance_m: float | None = None


def set_protected_area(
    session: Session, coop: Cooperative, geojson: Any, *, user_id: uuid.UUID | None = None
) -> AreaCheck:
    """Load the cooperative's protected-area boundary (bounded, and simplified when very
    detailed: services/geo.py) and check every plot against it."""
    simplified = geo.simplify_area(geo.parse_area(geojson))
    coop.protected_area_geojson = json.dumps(shapely.geometry.mapping(simplified.shape))
    session.add(coop)
    # The buyer's map draws the boundary, whether or not a plot is flagged.
    bump_public_version(session, coop.id)
    session.flush()
    check = recheck(session, coop, user_id=user_id)
    if simplified.tolerance_m is not None:
        check.positions_before = simplified.positions_before
        check.positions_kept = int(shapely.get_num_coordinates(simplified.shape))
        check.tolerance_m = simplified.tolerance_m
    return check


def recheck(
    session: Session, coop: Cooperative, *, user_id: uuid.UUID | None = None, area: Any = None
) -> AreaCheck:
    """Check every plot of the cooperative against its protected area (the demo, a new boundary)."""
    area = area if area is not None else protected_area(coop)
    plots = list(session.exec(select(Plot).where(Plot.cooperative_id == coop.id)).all())
    if area is None:
        return AreaCheck(len(plots), 0, 0)
    # Only plots touching the area, or flagged before, can have a flag to raise or clear.
    shapely.prepare(area)
    ids = [p.id for p in plots]
    flagged_ids = {pid for pid, flags in open_flags(session, ids).items() if flags}
    candidates = [p for p in plots if p.id in flagged_ids or _near(area, p)]
    raised, cleared = check_flags(
        session, coop, candidates, user_id=user_id, area=area, clear_outside=True
    )
    audit.record(
        session,
        cooperative_id=coop.id,
        action="protected_area_check",
        entity="plot",
        after={"plots": len(plots), "flagged": raised, "cleared": cleared},
    )
    return AreaCheck(len(plots), raised, cleared)


def _near(area: Any, plot: Plot) -> bool:
    parsed = stored_geometry(plot)
    return parsed is not None and bool(area.intersects(parsed.shape))


def resolve_flag(
    session: Session, plot: Plot, *, kind: str, reason: str, user_id: uuid.UUID | None
) -> PlotFlag:
    """A manager resolves a plot's open flag with a reason (e.g. the GPS point was wrong)."""
    reason = given_reason(reason, _l("Say why the flag is resolved."))
    flag = open_flags(session, [plot.id])[plot.id]
    found = next((f for f in flag if f.kind == kind), None)
    if found is None:
        raise NotFound(_l("This plot has no open flag of this kind."))
    found.resolved_at = utcnow()
    found.resolved_by_id = user_id
    found.resolution = reason
    coop = _coop(session, plot.cooperative_id)
    if kind == PlotFlagKind.PROTECTED_AREA:
        # The resolution holds for this map: a new point or boundary is judged again.
        found.resolved_map_sha256 = map_sha256(plot, coop)
    session.add(found)
    session.flush()
    if kind == PlotFlagKind.PROTECTED_AREA:
        _claims_changed(session, coop, {plot.family_id})
    return found


def flag_history(session: Session, plot: Plot) -> list[PlotFlag]:
    return list(
        session.exec(
            select(PlotFlag).where(PlotFlag.plot_id == plot.id).order_by(PlotFlag.created_at.desc())  # type: ignore[attr-defined]
        ).all()
    )


def for_family(session: Session, family: Family) -> list[Plot]:
    return list(
        session.exec(select(Plot).where(Plot.family_id == family.id).order_by(Plot.name)).all()
    )


def flagged_plots(
    session: Session, coop: Cooperative, kind: str | None = None
) -> list[tuple[PlotFlag, Plot, Family]]:
    """Open flags of the cooperative with their plot and family, for the manager."""
    query = (
        select(PlotFlag, Plot, Family)
        .join(Plot, Plot.id == PlotFlag.plot_id)  # type: ignore[arg-type]
        .join(Family, Family.id == Plot.family_id)  # type: ignore[arg-type]
        .where(PlotFlag.cooperative_id == coop.id, PlotFlag.resolved_at.is_(None))  # type: ignore[union-attr]
        .order_by(Family.member_code, Plot.name)
    )
    if kind:
        query = query.where(PlotFlag.kind == kind)
    return [tuple(row) for row in session.exec(query).all()]  # type: ignore[misc]


def family_of(session: Session, plot: Plot) -> Family:
    """The family that farms the plot."""
    family = session.get(Family, plot.family_id)
    assert family is not None
    return family


def family_plots_query(family: Family) -> Any:
    """The API's list of a family's plots, by name."""
    return select(Plot).where(Plot.family_id == family.id).order_by(Plot.name)
