"""`tracker audit verify` on the full demo: the chains and every record proven.

The demo (5,000 families: about 35,000 deliveries, 15,000 coverage rows, 34,000
payments and allocations, 100,000 records in all, most of them inserted in bulk) is
verified in-process with `audit_proof.check`, which recomputes every chain, then reads
every audited table beside its records' entries and bulk rows and compares them column
by column.

The floor, measured in the same run on the same file: a raw sqlite3 `SELECT *` of every
audited table, fetched whole (reading the rows that are proven, and nothing else). The
aim (issue 11.6) is under 10x that.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import Bench

REPEAT = 3


def _app(bench: Bench, path: Path) -> Any:
    from tracker import create_app

    return create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "bench-secret-not-for-production",
            "DATABASE_URL": f"sqlite:///{path}",
            "DATA_DIR": str(bench.workdir / "data"),
            "PUBLIC_URL": "https://trace.example.org",
        }
    )


def _floor(path: Path, tables: list[str]) -> tuple[float, int]:
    """Seconds to read every row of these tables with plain sqlite3, and how many rows."""
    conn = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        rows = sum(len(conn.execute(f'SELECT * FROM "{name}"').fetchall()) for name in tables)
        return time.perf_counter() - started, rows
    finally:
        conn.close()


def run(bench: Bench) -> None:
    from sqlmodel import Session

    from tracker.db import engine_for
    from tracker.services import audit_proof

    path = bench.copy_db(bench.demo_db(), "audit.db")
    tables = [t.name for t in audit_proof.audited_tables()]
    app = _app(bench, path)
    _floor(path, tables)  # warm the page cache for both
    floors, times = [], []
    report = None
    with app.app_context(), Session(engine_for(app)) as session:
        for _ in range(REPEAT):
            spent, rows = _floor(path, tables)
            floors.append(spent)
            started = time.perf_counter()
            report = audit_proof.check(session)
            times.append(time.perf_counter() - started)
            session.rollback()
        spent, _rows = _floor(path, tables)
        floors.append(spent)
    engine_for(app).dispose()
    assert report is not None and report.ok, (
        [p.line() for p in report.problems[:5]] if report else None
    )
    floor = statistics.median(floors)
    bench.report(
        f"raw sqlite3 SELECT * of the {len(tables)} audited tables ({rows:,} rows)", floor, "s"
    )
    bench.report(
        f"audit verify, full demo: {report.entries:,} entries, {report.records:,} records proven",
        statistics.median(times),
        "s",
        floor=("read the rows", floor),
        aim="< 10x",
    )
