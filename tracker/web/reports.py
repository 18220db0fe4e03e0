"""The season report for managers and auditors: a page, the A4 PDF, and a dashboard panel."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import lazy_gettext as _l

from .. import guard
from ..db import get_session
from ..documents import season_report
from ..expensive import document_limit
from ..models import Cooperative
from ..services import payments, reports
from ..services.access import Permission
from ..services.cooperatives import season_of
from . import nav
from .context import login_required_for, principal
from .dashboard import add_panel

bp = login_required_for(Blueprint("reports", __name__))

nav.add("reports.season", _l("Reports"), Permission.AUDIT, order=70)


def _cooperative() -> Cooperative:
    """The URL's cooperative, for a manager or an auditor (shown in the menu)."""
    from flask import g

    coop = guard.record("code")
    reports.check_access(principal(), coop.id)
    g.coop = coop
    return coop


def _season(coop: Cooperative) -> int:
    value = request.args.get("season")
    if value is None or value == "":
        return season_of(coop, payments.today())
    return payments.check_season(coop, value)


@bp.route("/c/<code>/reports/season")
def season(code: str) -> Any:
    coop = _cooperative()
    session = get_session()
    report = reports.cached_season_report(session, coop, _season(coop))
    # The season shown is among the picker's choices, even one without a delivery or a
    # payment (asked by its address), so that the picker names the season on the page.
    seasons = sorted({*payments.seasons_of(session, coop), report.season}, reverse=True)
    return render_template(
        "reports/season.html",
        seasons=seasons,
        **season_report.context(report),
    )


@bp.route("/c/<code>/reports/season.pdf")
@document_limit  # seconds of CPU on a miss: one budget per user
def season_pdf(code: str) -> Response:
    coop = _cooperative()
    report = reports.cached_season_report(get_session(), coop, _season(coop))
    response = Response(season_report.pdf_bytes(report, coop), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{season_report.filename(report)}"'
    )
    return response


def panel_context(coop: Cooperative) -> dict[str, Any]:
    """The current season's figures and charts for the dashboard."""
    report = reports.cached_season_report(get_session(), coop, season_of(coop, payments.today()))
    return season_report.context(report, chart_prefix="panel")


add_panel("reports/panel.html", panel_context, permission=Permission.AUDIT, order=20)
