"""Season reports: the figures as JSON and the A4 PDF, for managers and auditors."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from .. import guard
from ..db import get_session
from ..documents import season_report
from ..expensive import document_limit
from ..models import Cooperative
from ..schemas.report import SeasonQuerySchema, SeasonReportSchema
from ..services import payments, reports
from ..services.cooperatives import season_of
from ._common import caller, resource_blueprint

blp = resource_blueprint("reports", __name__, "Season reports (managers, auditors)")


def _report(query: dict[str, Any]) -> tuple[Cooperative, reports.SeasonReport]:
    coop = guard.record("code")
    reports.check_access(caller(), coop.id)
    value = query.get("season")
    season = (
        season_of(coop, payments.today())
        if value in (None, "")
        else payments.check_season(coop, value)
    )
    return coop, reports.cached_season_report(get_session(), coop, season)


@blp.route("/cooperatives/<code>/reports/season")
class SeasonFigures(MethodView):
    @blp.arguments(SeasonQuerySchema, location="query")
    @blp.response(200, SeasonReportSchema)
    def get(self, query: dict[str, Any], code: str) -> reports.SeasonReport:
        """Every figure of the season report (`?season=YYYY`, the current one by default)."""
        return _report(query)[1]


@blp.route("/cooperatives/<code>/reports/season.pdf")
class SeasonPdf(MethodView):
    decorators = [document_limit]  # seconds of CPU on a miss: one budget per user

    @blp.arguments(SeasonQuerySchema, location="query")
    @blp.response(200, content_type="application/pdf")
    def get(self, query: dict[str, Any], code: str) -> Response:
        """The season report as an A4 PDF/A-3b: the same figures as the JSON."""
        coop, report = _report(query)
        response = Response(season_report.pdf_bytes(report, coop), mimetype="application/pdf")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{season_report.filename(report)}"'
        )
        return response
