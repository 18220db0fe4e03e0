"""The buyer's QR page and the provenance sheet, on the full demo.

- The public page (cached in the worker: one small query a hit) against the same gunicorn
  server's hello-world route: aim at 0.6 of it or better.
- The sheet's cold render (public facts, template, WeasyPrint to PDF/A-3b with fonts
  embedded) against plain WeasyPrint rendering the very same HTML: aim at 1.3x or less.
- The cached sheet served by the same server, against the same floor.
- The GS1 resolver: the largest published green lot's page at its Digital Link and its
  linkset (`?linkType=all`), against the same floor.

The lot is the demo's largest green-coffee lot with a GTIN (thousands of kilos from many
families, several levels of genealogy), so the numbers are for a realistic page.
"""

from __future__ import annotations

import gc
import shutil
import sqlite3
import statistics
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bench.common import Bench

REPEAT = 5
ROUNDS = 5
SECONDS = 2


def _showcase(db: Path) -> tuple[str, str]:
    """(lot id, public token) of the demo's largest live green lot with a GTIN."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT id, public_token FROM lot WHERE gtin IS NOT NULL AND voided_at IS NULL "
            "AND form = 'green' ORDER BY weight_g DESC LIMIT 1"
        ).fetchone()
    if row is None:
        raise RuntimeError("the demo has no green lot with a GTIN")
    return row[0], row[1]


def _published(db: Path) -> str:
    """The Digital Link path of the demo's largest published green lot."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT gtin, code FROM lot WHERE gtin IS NOT NULL AND voided_at IS NULL "
            "AND published_at IS NOT NULL AND form = 'green' ORDER BY weight_g DESC LIMIT 1"
        ).fetchone()
    if row is None:
        raise RuntimeError("the demo has no published green lot with a GTIN")
    return f"/01/{row[0]}/10/{row[1]}"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        return response.read()


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call, as timeit does it: no cyclic garbage
    collection inside the call (a full one costs 0.15 s with the app loaded, and lands on
    whichever side happens to allocate last)."""
    gc.collect()
    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        gc.enable()


def _cold_sheet(bench: Bench, db: Path, lot_id: str) -> dict[str, float]:
    """Median seconds of a cold sheet (cache emptied each time) and of plain WeasyPrint on
    the same HTML, measured in alternation so both see the same machine: wall-clock and
    this process's CPU time (steadier when other work shares the machine); and the size."""
    import uuid

    from weasyprint import HTML

    from tracker import create_app
    from tracker.db import get_session
    from tracker.documents import pdf, sheets
    from tracker.models import Lot
    from tracker.services import printing, provenance

    env = bench.env(f"sqlite:///{db}")
    app = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": env["SECRET_KEY"],
            "DATABASE_URL": env["DATABASE_URL"],
            "PUBLIC_URL": env["TRACKER_PUBLIC_URL"],
            "DATA_DIR": str(bench.workdir / "cold-data"),
        }
    )
    times: dict[str, list[float]] = {"cold": [], "plain": [], "cold_cpu": [], "plain_cpu": []}
    with app.test_request_context(headers={"Accept-Language": "es"}):
        session = get_session()
        lot = session.get(Lot, uuid.UUID(lot_id))
        assert lot is not None
        facts = provenance.facts(session, lot, public_url=app.config["PUBLIC_URL"])
        html = sheets.sheet_html(facts, "es")
        for n in range(REPEAT + 1):
            shutil.rmtree(sheets.cache_dir(), ignore_errors=True)
            cold_wall, cold_cpu = _timed(
                lambda n=n: sheets.provenance_pdf(
                    printing.sheet(
                        session, lot, public_url=app.config["PUBLIC_URL"], version=1000 + n
                    ),
                    locale="es",
                )
            )
            plain_wall, plain_cpu = _timed(
                lambda: HTML(string=html, base_url=pdf.BASE_URL).write_pdf()
            )
            if n:  # the first round warms imports, fonts and the statement cache
                times["cold"].append(cold_wall)
                times["plain"].append(plain_wall)
                times["cold_cpu"].append(cold_cpu)
                times["plain_cpu"].append(plain_cpu)
        size = max(path.stat().st_size for path in sheets.cache_dir().glob("*.pdf"))
    result = {key: statistics.median(values) for key, values in times.items()}
    result["size"] = size
    return result


def run(bench: Bench) -> None:
    db = bench.copy_db(bench.demo_db(), "public.db")
    lot_id, token = _showcase(db)
    link = _published(db)
    with bench.server(f"sqlite:///{db}") as base:
        page = f"{base}/l/{token}"
        sheet = f"{page}/provenance.pdf"
        resolved, linkset = f"{base}{link}", f"{base}{link}?linkType=all"
        for url in (page, sheet, resolved, linkset):
            _get(url)  # rendered once here; later requests are served from the caches
        # Rounds alternate the floor and the measures so a busy machine weighs on both.
        rates: dict[str, list[float]] = {
            "hello": [],
            "html": [],
            "json": [],
            "sheet": [],
            "resolved": [],
            "linkset": [],
        }
        for _round in range(ROUNDS):
            rates["hello"].append(bench.hello_rps(base, SECONDS))
            rates["html"].append(bench.requests_per_second(page, SECONDS))
            rates["json"].append(
                bench.requests_per_second(page, SECONDS, headers={"Accept": "application/json"})
            )
            rates["sheet"].append(bench.requests_per_second(sheet, SECONDS))
            rates["resolved"].append(bench.requests_per_second(resolved, SECONDS))
            rates["linkset"].append(bench.requests_per_second(linkset, SECONDS))
        hello, html, json, cached, by_link, links = (statistics.median(rates[k]) for k in rates)
        floor = ("hello", hello)
        bench.report("hello-world route /healthz, gunicorn 2 workers (median)", hello, "req/s")
        bench.report(
            "public lot page /l/{token}, largest demo green lot",
            html,
            "req/s",
            floor=floor,
            aim=">= 0.6",
        )
        bench.report(
            "public lot page, Accept: application/json", json, "req/s", floor=floor, aim=">= 0.6"
        )
        bench.report(
            "cached provenance sheet /l/{token}/provenance.pdf", cached, "req/s", floor=floor
        )
        bench.report(
            "GS1 resolver /01/{gtin}/10/{lot}, largest published green lot",
            by_link,
            "req/s",
            floor=floor,
            aim=">= 0.5",
        )
        bench.report("its linkset, ?linkType=all", links, "req/s", floor=floor, aim=">= 0.5")
    cold = _cold_sheet(bench, db, lot_id)
    name = f"provenance sheet cold render (facts + template + PDF/A-3b, {cold['size'] // 1024} KB)"
    bench.report(
        name, cold["cold"], "s", floor=("WeasyPrint alone, same HTML", cold["plain"]), aim="<= 1.3"
    )
    bench.report(
        "  the same, CPU time of the process",
        cold["cold_cpu"],
        "s",
        floor=("WeasyPrint alone, same HTML", cold["plain_cpu"]),
        aim="<= 1.3",
    )
