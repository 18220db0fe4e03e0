"""The floors themselves, printed so every ratio below can be read against them."""

from __future__ import annotations

from bench.common import Bench


def run(bench: Bench) -> None:
    rows = [
        (
            i,
            "CAZ-1000",
            "coffee",
            "dry_parchment",
            "2026-06-02",
            41300,
            200,
            41100,
            115,
            "A",
            872,
            40,
        )
        for i in range(100_000)
    ]
    bench.report(
        "raw sqlite3 executemany, 100,000 rows x 12 columns",
        bench.floor_sqlite_executemany(rows, 12),
        "s",
    )
    html = (
        "<html><body>"
        + "".join(f"<p>Línea {i}: café de Pólvora</p>" for i in range(200))
        + "</body></html>"
    )
    bench.report("WeasyPrint alone, 200 paragraphs", bench.floor_weasyprint(html), "s")
    db = bench.copy_db(bench.demo_db(), "floor-hello.db")
    with bench.server(f"sqlite:///{db}") as base:
        bench.report(
            "hello-world route /healthz, gunicorn 2 workers", bench.hello_rps(base), "req/s"
        )
