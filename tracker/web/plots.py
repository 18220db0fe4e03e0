"""Plots for clerks (add, edit, map) and the protected area and its flags for managers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE

from .. import guard
from ..db import get_session
from ..formatting import ngettext
from ..idempotency import idempotent
from ..models import Family, Plot
from ..schemas.intake import form_values
from ..schemas.plot import PlotSchema
from ..services import plots, vocabulary
from ..services.access import Permission
from ..services.errors import ValidationFailed
from ..services.geo import AREA_MAX_BYTES
from ..services.vocabulary import CROP_LABELS, PLOT_FLAG_LABELS
from . import nav
from .context import (
    form_page,
    login_required_for,
    may,
    new_key,
    safe_next,
    save_form,
    show_cooperative,
    user_id,
)
from .families import family_map

bp = login_required_for(Blueprint("plots", __name__))

nav.add("plots.protected_area", _l("Protected area"), Permission.READ, order=70)

MAX_GEOJSON_BYTES = 2_000_000


def _values_from_form() -> dict[str, Any]:
    """The form as the plot schema reads it: a point, or a pasted or uploaded polygon."""
    values = form_values(request.form)
    upload = request.files.get("geometry_file")
    if upload is not None and upload.filename:
        text = upload.read(MAX_GEOJSON_BYTES + 1)
        if len(text) > MAX_GEOJSON_BYTES:
            raise ValidationFailed({"geometry": [str(_l("The geometry is too large."))]})
        values["geometry"] = text.decode("utf-8", errors="replace")
    if values.pop("location", "point") == "point":
        values.pop("geometry", None)
    else:
        values.pop("latitude", None)
        values.pop("longitude", None)
    return values


def _form(
    family: Family,
    plot: Plot | None,
    values: dict[str, Any],
    errors: dict[str, Any],
    status: int = 200,
) -> Any:
    return form_page(
        "plots/form.html",
        status,
        family=family,
        plot=plot,
        values=values,
        errors=errors,
        crops=list(CROP_LABELS.items()),
    )


@bp.route("/families/<family_id>/plots/new")
def new(family_id: str) -> Any:
    family = guard.record("family_id", Permission.INTAKE)
    show_cooperative(family)
    return _form(family, None, {"location": "point"}, {})


@bp.route("/families/<family_id>/plots/new", methods=["POST"])
@idempotent
def create(family_id: str) -> Any:
    family = guard.record("family_id", Permission.INTAKE)
    show_cooperative(family)
    return _save(
        family,
        None,
        lambda values: plots.create(get_session(), family, values, user_id=user_id()),
        lambda plot: _("Plot %(name)s added.", name=plot.name),
    )


def _save(
    family: Family,
    plot: Plot | None,
    save: Callable[[dict[str, Any]], Plot],
    done: Callable[[Plot], str],
) -> Any:
    """The plot form, saved: the plot's page after its flags, or the form again with its
    errors."""

    def saved_with_flags(values: dict[str, Any]) -> Plot:
        saved = save(values)
        for flag in plots.open_flags(get_session(), [saved.id])[saved.id]:
            flash(str(PLOT_FLAG_LABELS.get(flag.kind, flag.kind)), "warning")
        return saved

    return save_form(
        PlotSchema(unknown=EXCLUDE),
        _values_from_form(),
        saved_with_flags,
        lambda errors: _form(family, plot, request.form.to_dict(), errors, 422),
        lambda saved: (done(saved), url_for("plots.show", plot_id=saved.id)),
    )


@bp.route("/plots/<plot_id>")
def show(plot_id: str) -> Any:
    plot = guard.record("plot_id")
    coop = show_cooperative(plot)
    session = get_session()
    family = plots.family_of(session, plot)
    flags = plots.open_flags(session, [plot.id])
    return render_template(
        "plots/show.html",
        plot=plot,
        family=family,
        open_flags=flags[plot.id],
        history=plots.flag_history(session, plot),
        map_svg=family_map(coop, [plot], flags),
        geometry=json.loads(plot.geometry_geojson) if plot.geometry_geojson else None,
        crop_labels=CROP_LABELS,
        flag_labels=PLOT_FLAG_LABELS,
        cleared_labels=vocabulary.FLAG_CLEARED_LABELS,
        can_intake=may(Permission.INTAKE, coop),
        can_manage=may(Permission.MANAGE, coop),
        idempotency_key=new_key(),
    )


def _plot_values(plot: Plot) -> dict[str, Any]:
    values = PlotSchema().dump(plot)
    geometry = values.pop("geometry", None)
    if geometry and geometry.get("type") == "Point":
        values.update(
            location="point",
            longitude=geometry["coordinates"][0],
            latitude=geometry["coordinates"][1],
        )
    elif geometry:
        values.update(location="polygon", geometry=json.dumps(geometry))
    else:
        values["location"] = "point"
    return values


@bp.route("/plots/<plot_id>/edit")
def edit(plot_id: str) -> Any:
    plot = guard.record("plot_id", Permission.INTAKE)
    show_cooperative(plot)
    family = plots.family_of(get_session(), plot)
    return _form(family, plot, _plot_values(plot), {})


@bp.route("/plots/<plot_id>/edit", methods=["POST"])
@idempotent
def update(plot_id: str) -> Any:
    plot = guard.record("plot_id", Permission.INTAKE)
    show_cooperative(plot)
    family = plots.family_of(get_session(), plot)

    def save(values: dict[str, Any]) -> Plot:
        plots.update(get_session(), plot, values, user_id=user_id())
        return plot

    return _save(family, plot, save, lambda saved: _("Plot %(name)s saved.", name=saved.name))


@bp.route("/plots/<plot_id>/resolve", methods=["POST"])
@idempotent
def resolve(plot_id: str) -> Any:
    """A manager clears a plot's flag, saying why (kept in the flag and the audit log)."""
    plot = guard.record("plot_id", Permission.MANAGE)
    show_cooperative(plot)
    back = safe_next(request.form.get("next"), url_for("plots.show", plot_id=plot.id))
    try:
        plots.resolve_flag(
            get_session(),
            plot,
            kind=request.form.get("kind", ""),
            reason=request.form.get("reason", ""),
            user_id=user_id(),
        )
    except ValidationFailed as error:
        flash(" ".join(m for ms in error.errors().values() for m in ms), "error")
        return redirect(back, 303)
    flash(_("Flag resolved."), "success")
    return redirect(back, 303)


@bp.route("/c/<code>/protected-area")
def protected_area(code: str) -> Any:
    """The protected area's boundary and every plot flagged by it (rule 5)."""
    coop = show_cooperative(guard.record("code"))
    return _area_page(coop, {})


def _area_page(coop: Any, errors: dict[str, Any], status: int = 200) -> Any:
    session = get_session()
    flagged = plots.flagged_plots(session, coop)
    area = plots.protected_area(coop)
    return form_page(
        "plots/protected_area.html",
        status,
        flagged=flagged,
        area_ha=None if area is None else _area_ha(area),
        errors=errors,
        flag_labels=PLOT_FLAG_LABELS,
        can_manage=may(Permission.MANAGE, coop),
    )


def _area_ha(area: Any) -> float:
    from ..services.geo import geodesic_area_m2

    return geodesic_area_m2(area) / 10_000


@bp.route("/c/<code>/protected-area", methods=["POST"])
@idempotent
def load_protected_area(code: str) -> Any:
    """A manager loads the boundary (GeoJSON file or pasted text); every plot is checked."""
    coop = show_cooperative(guard.record("code", Permission.MANAGE))
    upload = request.files.get("boundary_file")
    text: str | bytes = request.form.get("boundary", "")
    if upload is not None and upload.filename:
        text = upload.read(AREA_MAX_BYTES + 1)
    if not text.strip():
        return _area_page(
            coop, {"boundary": [_("Choose a GeoJSON file or paste the boundary.")]}, 422
        )
    try:
        check = plots.set_protected_area(get_session(), coop, text, user_id=user_id())
    except ValidationFailed as error:
        return _area_page(
            coop, {"boundary": [m for ms in error.errors().values() for m in ms]}, 422
        )
    flash(
        ngettext(
            "Boundary loaded: %(num)s plot checked, %(flagged)s newly flagged, %(cleared)s cleared.",
            "Boundary loaded: %(num)s plots checked, %(flagged)s newly flagged, %(cleared)s cleared.",
            check.plots,
            flagged=check.flagged,
            cleared=check.cleared,
        ),
        "success",
    )
    if check.tolerance_m is not None:
        flash(
            _(
                "The boundary was simplified from %(before)s to %(kept)s points; no point "
                "moved more than %(m)s m.",
                before=format_decimal(check.positions_before),
                kept=format_decimal(check.positions_kept),
                m=format_decimal(check.tolerance_m),
            ),
            "info",
        )
    return redirect(url_for("plots.protected_area", code=coop.code), 303)
