"""The season report of the demo's coffee cooperative (the 5,000-family demo: 3,000 of
them, about 20,000 deliveries), the manager's dashboard with its panel, and the EUDR
package of the demo's shipments.

Floors, measured in the same run on the same database file:
- the figures: one raw sqlite3 GROUP BY family over the season's deliveries (the widest
  single query the report needs);
- the PDF: WeasyPrint alone on the very HTML the report renders (no PDF/A, no fetcher);
- the EUDR GeoJSON: json.dumps of the same features.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from bench.common import Bench, median, sqlite_app

REPEAT = 5
COOP = "CAZ"
SEASON = 2026


def _floor_group_by(path: str, coop_id: str, start: str, end: str) -> float:
    conn = sqlite3.connect(path)
    sql = (
        "SELECT family_id, count(*), sum(net_g), sum(amount_minor), sum(premium_minor) "
        "FROM delivery WHERE cooperative_id = ? AND voided_at IS NULL "
        "AND delivered_on BETWEEN ? AND ? GROUP BY family_id"
    )
    try:
        return median(lambda: conn.execute(sql, (coop_id, start, end)).fetchall())
    finally:
        conn.close()


def run(bench: Bench) -> None:
    import time_machine
    from sqlmodel import select

    from tracker.db import get_session
    from tracker.documents import pdf, season_report
    from tracker.models import Cooperative, Shipment
    from tracker.services import reports
    from tracker.services.cooperatives import season_bounds
    from tracker.services.demo import DEMO_PASSWORD

    path = str(bench.copy_db(bench.demo_db(), "reports.db"))
    app = sqlite_app(path, bench.workdir / "data")
    # Figures as of the end of the demo season's harvest, whatever today is.
    with time_machine.travel(datetime(2026, 11, 23, 15, tzinfo=UTC), tick=True):
        with app.test_request_context(headers={"Accept-Language": "es"}):
            session = get_session()
            coop = session.exec(select(Cooperative).where(Cooperative.code == COOP)).one()
            start, end = season_bounds(coop, SEASON)
            report = reports.season_report(session, coop, SEASON)
            families, deliveries = report.totals.families, report.totals.deliveries
            figures = median(lambda: reports.season_report(session, coop, SEASON))
            remembered = median(lambda: reports.cached_season_report(session, coop, SEASON))
            floor = _floor_group_by(path, coop.id.hex, start.isoformat(), end.isoformat())
            bench.report(
                f"season figures, {families:,} families, {deliveries:,} deliveries",
                figures,
                "s",
                floor=("raw GROUP BY family", floor),
                aim="< 1 s",
            )
            bench.report(
                "season figures remembered (no change since)",
                remembered,
                "s",
                floor=("raw GROUP BY family", floor),
            )
            from flask import render_template

            html = render_template(
                "pdf/season_report.html",
                coop=coop,
                **season_report.context(report, chart_prefix="pdf"),
            )
            pdf_time = median(lambda: season_report.pdf_bytes(report, coop), repeat=3)
            weasy = bench.floor_weasyprint(html, base_url=pdf.BASE_URL)
            bench.report(
                "season report PDF/A (figures done), A4",
                pdf_time,
                "s",
                floor=("WeasyPrint alone, same HTML", weasy),
            )
            shipments = list(
                session.exec(
                    select(Shipment.id).where(
                        Shipment.cooperative_id == coop.id,
                        Shipment.voided_at.is_(None),  # type: ignore[union-attr]
                    )
                )
            )
        client = app.test_client()
        token = client.post(
            "/api/v1/auth/token",
            json={"email": f"manager.{COOP.lower()}@demo.tracker.pe", "password": DEMO_PASSWORD},
        ).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "es"}
        url = f"/api/v1/cooperatives/{COOP}/reports/season.pdf?season={SEASON}"

        def whole() -> None:
            reports._CACHE.clear()  # the figures are computed, not remembered
            answer = client.get(url, headers=headers)
            assert answer.status_code == 200, answer.status_code

        bench.report(
            "GET season.pdf through the API (figures computed + PDF/A)",
            median(whole, repeat=3),
            "s",
            floor=("WeasyPrint alone, same HTML", weasy),
            aim="a few seconds",
        )
        web = app.test_client()
        login = web.post(
            "/login",
            data={"email": f"manager.{COOP.lower()}@demo.tracker.pe", "password": DEMO_PASSWORD},
        )
        assert login.status_code == 302, login.status_code

        def dashboard(cold: bool) -> None:
            if cold:
                reports._CACHE.clear()
            answer = web.get(f"/c/{COOP}/")
            assert answer.status_code == 200, answer.status_code

        bench.report(
            "manager's dashboard (whole page), season panel computed",
            median(lambda: dashboard(True)),
            "s",
            floor=("season figures", figures),
            aim="< 1 s",
        )
        bench.report(
            "manager's dashboard (whole page), season panel remembered",
            median(lambda: dashboard(False)),
            "s",
            floor=("season figures", figures),
            aim="< 0.1 s",
        )
        for shipment_id in shipments:
            answer = client.get(f"/api/v1/shipments/{shipment_id}/eudr.geojson", headers=headers)
            if answer.status_code != 200:
                print(
                    f"(EUDR package of shipment {shipment_id} refused: "
                    f"{answer.get_json().get('message')})",
                    flush=True,
                )
                continue
            features = json.loads(answer.data)["features"]

            def package(shipment_id: Any = shipment_id) -> None:
                assert (
                    client.get(
                        f"/api/v1/shipments/{shipment_id}/eudr.geojson", headers=headers
                    ).status_code
                    == 200
                )

            bench.report(
                f"EUDR GeoJSON of a shipment, {len(features):,} plots",
                median(package),
                "s",
                floor=(
                    "json.dumps of the features",
                    median(
                        lambda f=features: json.dumps({"type": "FeatureCollection", "features": f})
                    ),
                ),
            )
            break
