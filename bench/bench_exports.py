"""The staff lists' CSV exports on the full demo (issue 16 point 2): every delivery of the
coffee cooperative (the list's export, all dates and centres) and every payment, through
the manager's session, written (a miss of the content cache) and served again (a hit).

Floors, measured in the same run on the same database file:
- the rows: a raw sqlite3 SELECT of the same rows and joins, written with Python's
  csv.writer (the least any CSV export of them costs);
- the app's hello-world route (/healthz) through the same client, for a cached export.
"""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3

from bench.common import Bench, manager_client, median, sqlite_app

REPEAT = 5
COOP = "CAZ"
EXPORTS = {
    "deliveries": f"/c/{COOP}/deliveries.csv?from=2000-01-01&to=2100-12-31&centre=",
    "payments": f"/c/{COOP}/payments.csv",
}
FLOOR_SQL = {
    "deliveries": (
        "SELECT d.receipt_number, f.member_code, p.name, d.crop, d.form, d.delivered_on, "
        "d.gross_g, d.tare_g, d.net_g, d.moisture_dpct, d.grade, d.price_per_kg_minor, "
        "d.premium_per_kg_minor, d.amount_minor, d.premium_minor, d.paper_receipt, c.code, "
        "d.voided_at, d.void_reason FROM delivery d JOIN family f ON f.id = d.family_id "
        "JOIN plot p ON p.id = d.plot_id JOIN collection_centre c ON c.id = d.centre_id "
        "WHERE d.cooperative_id = ? ORDER BY d.delivered_on DESC, d.receipt_number DESC"
    ),
    "payments": (
        "SELECT p.paid_on, f.member_code, f.head_name, p.season, p.kind, p.method, "
        "p.amount_minor, p.reference, p.voided_at, p.void_reason FROM payment p "
        "JOIN family f ON f.id = p.family_id WHERE p.cooperative_id = ? "
        "ORDER BY p.paid_on DESC, p.created_at DESC"
    ),
}


def _floor(path: str, coop_id: str, sql: str) -> float:
    """The rows read raw and written by csv.writer."""
    conn = sqlite3.connect(path)

    def write() -> None:
        out = io.StringIO()
        csv.writer(out).writerows(conn.execute(sql, (coop_id,)))

    try:
        return median(write)
    finally:
        conn.close()


def run(bench: Bench) -> None:
    path = str(bench.copy_db(bench.demo_db(), "exports.db"))
    data = bench.workdir / "exports-data"
    client = manager_client(sqlite_app(path, data), COOP)
    conn = sqlite3.connect(path)
    coop_id = conn.execute("SELECT id FROM cooperative WHERE code = ?", (COOP,)).fetchone()[0]
    conn.close()
    hello = median(lambda: client.get("/healthz").get_data(), repeat=50)
    headers = {"Accept-Language": "es"}

    def forget() -> None:
        shutil.rmtree(data / "cache" / "documents", ignore_errors=True)

    for kind, url in EXPORTS.items():
        answer = client.get(url, headers=headers)
        rows = answer.get_data().count(b"\n") - 1
        assert answer.status_code == 200, answer.status_code

        def export(url: str = url) -> None:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.status_code
            response.get_data()

        floor = _floor(path, coop_id, FLOOR_SQL[kind])
        written = median(export, repeat=3, before=forget)
        kept = median(export)
        bench.report(
            f"{kind}.csv, {rows:,} rows, written (cache miss)",
            written,
            "s",
            floor=("raw SELECT + csv.writer", floor),
        )
        bench.report(
            f"{kind}.csv, {rows:,} rows, cached (same data and filters)",
            kept,
            "s",
            floor=("raw SELECT + csv.writer", floor),
            aim="well under the floor",
        )
        bench.report(
            f"{kind}.csv cached, against hello-world",
            kept,
            "s",
            floor=("GET /healthz", hello),
        )
