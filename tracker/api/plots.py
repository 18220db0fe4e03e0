"""Plots of a family (GeoJSON in `geometry`), their flags, and the protected area."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l

from .. import guard
from ..db import get_session
from ..idempotency import idempotent
from ..schemas.plot import PlotPatchSchema, PlotSchema, ResolveFlagSchema
from ..services import geo, imports, plots
from ..services.access import Permission
from ..services.errors import NotFound, ValidationFailed
from ._common import (
    PlotPage,
    csv_body,
    plot_views,
    resource_blueprint,
    user_id,
)

blp = resource_blueprint("plots", __name__, "Plots and flags")


@blp.route("/families/<family_id>/plots")
class FamilyPlots(MethodView):
    @blp.listing(PlotSchema(many=True), PlotPage)
    def get(self, family_id: str) -> Any:
        family = guard.record("family_id")
        return plots.family_plots_query(family)

    @blp.write(PlotSchema, 201, PlotSchema)
    def post(self, data: dict[str, Any], family_id: str) -> Any:
        """Add a plot; a plot inside the protected area is flagged (rule 5)."""
        family = guard.record("family_id", Permission.INTAKE)
        plot = plots.create(get_session(), family, data, user_id=user_id())
        return plot_views([plot])[0]


@blp.route("/plots/<plot_id>")
class PlotItem(MethodView):
    @blp.response(200, PlotSchema)
    def get(self, plot_id: str) -> Any:
        return plot_views([guard.record("plot_id")])[0]

    @blp.change(PlotPatchSchema(partial=True), PlotSchema)
    def patch(self, data: dict[str, Any], plot_id: str) -> Any:
        plot = guard.record("plot_id", Permission.INTAKE)
        return plot_views([plots.update(get_session(), plot, data, user_id=user_id())])[0]


@blp.route("/plots/<plot_id>/resolve")
class PlotResolve(MethodView):
    @blp.write(ResolveFlagSchema, 200, PlotSchema)
    def post(self, data: dict[str, Any], plot_id: str) -> Any:
        """A manager resolves a plot's open flag (`kind`) with a reason."""
        plot = guard.record("plot_id", Permission.MANAGE)
        plots.resolve_flag(
            get_session(), plot, kind=data["kind"], reason=data["reason"], user_id=user_id()
        )
        return plot_views([plot])[0]


@blp.route("/cooperatives/<code>/protected-area")
class ProtectedArea(MethodView):
    @blp.response(200)
    def get(self, code: str) -> Any:
        """The protected area's boundary (GeoJSON), or 404 when none is loaded."""
        coop = guard.record("code")
        if not coop.protected_area_geojson:
            raise NotFound(_l("No protected area is loaded."))
        return json.loads(coop.protected_area_geojson)

    @idempotent
    @blp.response(200)
    def put(self, code: str) -> Any:
        """Load the boundary (Polygon, MultiPolygon, Feature or FeatureCollection) and
        check every plot: {"plots", "flagged", "cleared"}."""
        coop = guard.record("code", Permission.MANAGE)
        geo.check_area_size(request.content_length or 0)  # before the JSON is parsed
        body = request.get_json(silent=True)
        if body is None:
            raise ValidationFailed({"geometry": [str(_l("Send the boundary as GeoJSON."))]})
        check = plots.set_protected_area(get_session(), coop, body, user_id=user_id())
        answer: dict[str, Any] = {
            "plots": check.plots,
            "flagged": check.flagged,
            "cleared": check.cleared,
        }
        if check.tolerance_m is not None:
            answer["simplified"] = {
                "points_before": check.positions_before,
                "points_kept": check.positions_kept,
                "tolerance_m": check.tolerance_m,
            }
        return answer


@blp.route("/cooperatives/<code>/plots/import")
class PlotImport(MethodView):
    @idempotent
    @blp.response(201)
    def post(self, code: str) -> Any:
        """Import plots from CSV (all or nothing), by the families' member codes."""
        coop = guard.record("code", Permission.INTAKE)
        data, name = csv_body()
        result = imports.import_plots(
            get_session(), coop, data, user_id=user_id(), original_name=name
        )
        return result.as_json()
