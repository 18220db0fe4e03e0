"""Intake: a 100,000-row CSV import, and a delivery POST with 1,000,000 deliveries stored.

- The import reads the file as a Spanish Excel writes it (BOM, `;`, decimal commas,
  dd/mm/yyyy), checks every row against the demo cooperative's 3,000 families, stores the
  rows with their receipt numbers and recomputes the claims of every family in it, in
  one transaction. The floor is a raw sqlite3 executemany of the same rows (the file's
  12 columns) into a plain table, measured before and after in the same run.
- The same file through the `tracker import deliveries` command, as a whole process
  (wall clock and CPU), against the same floor.
- Checking alone: the same file with its last row wrong (nothing is stored).
- POST /api/v1/cooperatives/CAZ/deliveries through gunicorn with 1,000,000 deliveries in
  the database: p50 and p95 over sequential requests on a kept-alive connection, beside
  the same server's hello-world route; and the family search (?q=) the typeahead uses.
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import statistics
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.common import Bench, percentile

ROWS = 100_000
TOTAL_DELIVERIES = 1_000_000
REQUESTS = 400
WARMUP = 30


def _app(bench: Bench, url: str) -> Any:
    from tracker import create_app

    return create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "bench-secret-not-for-production",
            "DATABASE_URL": url,
            "DATA_DIR": str(bench.workdir / "data"),
            "PUBLIC_URL": "https://trace.example.org",
        }
    )


def _members(db: Path) -> list[str]:
    """Member codes of the coffee cooperative's active families that have a Parcela 1."""
    with sqlite3.connect(db) as con:
        return [
            row[0]
            for row in con.execute(
                "SELECT f.member_code FROM family f JOIN cooperative c ON c.id = f.cooperative_id "
                "JOIN plot p ON p.family_id = f.id "
                "WHERE c.code = 'CAZ' AND p.name = 'Parcela 1' AND f.active ORDER BY f.member_code"
            )
        ]


def _file(codes: list[str], *, bad_last: bool = False) -> tuple[bytes, list[tuple]]:
    """The CSV as a Spanish Excel saves it, and the same rows as tuples for the floor."""
    from tracker.services.deliveries import today

    end = today() - timedelta(days=1)
    header = (
        "codigo_socio;parcela;cultivo;forma;fecha;peso_bruto_kg;tara_kg;humedad_pct;"
        "calidad;precio_kg;prima_kg;recibo"
    )
    lines, rows = [header], []
    for n in range(ROWS):
        day = end - timedelta(days=n % 150)
        gross = 30 + (n * 7 % 400) / 10
        tare = 0.2 + (n % 4) / 10
        moisture = 10.5 + (n % 25) / 10
        price = 8.5 + (n % 150) / 100
        if bad_last and n == ROWS - 1:
            gross = -gross
        row = (
            codes[n % len(codes)],
            "Parcela 1",
            "café",
            "pergamino seco",
            day.strftime("%d/%m/%Y"),
            f"{gross:.1f}".replace(".", ","),
            f"{tare:.1f}".replace(".", ","),
            f"{moisture:.1f}".replace(".", ","),
            "ABC"[n % 3],
            f"{price:.2f}".replace(".", ","),
            "0,40",
            f"P-{n:06d}",
        )
        rows.append(row)
        lines.append(";".join(row))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n\r\n").encode("utf-8"), rows


def _import(bench: Bench, db: Path, data: bytes) -> tuple[float, float, int]:
    """Seconds for the whole import (committed), seconds of it spent by the claims engine
    recomputing the families of the file (timed around `deliveries.after_change`), rows
    stored."""
    from sqlmodel import Session, select

    from tracker.db import engine_for, writing
    from tracker.models import CollectionCentre, Cooperative
    from tracker.services import audit, deliveries, delivery_import, imports

    app = _app(bench, f"sqlite:///{db}")
    claims_spent: list[float] = []
    recompute = deliveries.after_change

    def timed(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        recompute(*args, **kwargs)
        claims_spent.append(time.perf_counter() - started)

    deliveries.after_change = timed  # type: ignore[assignment]
    try:
        with (
            app.app_context(),
            writing(),
            Session(engine_for(app), expire_on_commit=False) as session,
        ):
            audit.set_actor(session, None, "bench")
            coop = session.exec(select(Cooperative).where(Cooperative.code == "CAZ")).one()
            centre = session.exec(
                select(CollectionCentre)
                .where(CollectionCentre.cooperative_id == coop.id)
                .order_by(CollectionCentre.code)
            ).first()
            started = time.perf_counter()
            try:
                result = delivery_import.import_deliveries(
                    session, coop, data, centre=centre, clerk_id=None
                )
            except imports.ImportFailed as failure:
                assert [r.line for r in failure.rows] == [ROWS + 1], failure.rows[:3]
                session.rollback()
                return time.perf_counter() - started, 0.0, 0
            session.commit()
            elapsed = time.perf_counter() - started
    finally:
        deliveries.after_change = recompute  # type: ignore[assignment]
    engine_for(app).dispose()
    return elapsed, sum(claims_spent), result.imported


def _cli_import(bench: Bench, db: Path, data: bytes) -> tuple[float, float]:
    """Wall-clock and CPU seconds of `tracker import deliveries FILE --cooperative CAZ` as
    a whole process (start, imports, app, read, check, store, claims, commit)."""
    import os
    import subprocess

    from bench.common import VENV_BIN

    path = bench.workdir / "intake-cli.csv"
    path.write_bytes(data)
    before = os.times()
    started = time.perf_counter()
    subprocess.run(
        [str(VENV_BIN / "tracker"), "import", "deliveries", str(path), "--cooperative", "CAZ"],
        env=bench.env(f"sqlite:///{db}"),
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return elapsed, cpu


def _floor(bench: Bench, rows: list[tuple]) -> float:
    return bench.floor_sqlite_executemany(rows, 12)


def _table_floor(bench: Bench) -> float:
    """Seconds for a raw sqlite3 executemany of 100,000 rows as the delivery table stores
    them (28 columns, random UUID keys) into that table, with its indexes and checks:
    what the schema itself costs, whatever the code around it."""
    from tracker.cli import upgrade_database

    path = bench.workdir / "intake-table-floor.db"
    path.unlink(missing_ok=True)
    upgrade_database(f"sqlite:///{path}")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA cache_size=-65536")
    columns = [r[1] for r in con.execute("PRAGMA table_info(delivery)")]
    families = [uuid.uuid4().hex for _ in range(3000)]
    rows = []
    for n in range(ROWS):
        row = dict.fromkeys(columns)
        family = families[n % len(families)]
        row.update(
            id=uuid.uuid4().hex,
            created_at="2026-11-23 20:51:35.811432",
            cooperative_id="a" * 32,
            centre_id="b" * 32,
            family_id=family,
            plot_id=family,
            crop="coffee",
            form="dry_parchment",
            delivered_on=f"2026-06-{1 + n % 28:02d}",
            gross_g=41_300,
            tare_g=200,
            net_g=41_100,
            lotted_g=0,
            grade="A",
            price_per_kg_minor=872,
            price_pending=0,
            premium_per_kg_minor=40,
            amount_minor=35_839,
            premium_minor=1_644,
            receipt_seq=n,
            receipt_number=f"C01-{n:06d}",
        )
        rows.append(tuple(row[c] for c in columns))
    sql = f"INSERT INTO delivery VALUES ({', '.join('?' * len(columns))})"
    started = time.perf_counter()
    con.execute("BEGIN")
    con.executemany(sql, rows)
    con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def _fill(bench: Bench, source: Path) -> Path:
    """A copy of the demo with 1,000,000 deliveries, their claims computed."""

    def build() -> Path:
        from sqlalchemy import func
        from sqlmodel import Session, select

        from tracker.db import engine_for, writing
        from tracker.models import CollectionCentre, Cooperative, Delivery, Family, Plot
        from tracker.services import audit, deliveries
        from tracker.services.deliveries import DeliveryData, today

        db = bench.copy_db(source, "intake-1m.db")
        app = _app(bench, f"sqlite:///{db}")
        started = time.perf_counter()
        rng = random.Random(7)
        with app.app_context(), writing(), Session(engine_for(app)) as session:
            audit.set_actor(session, None, "bench")
            existing = session.exec(select(func.count()).select_from(Delivery)).one()
            missing = TOTAL_DELIVERIES - existing
            coops = session.exec(select(Cooperative)).all()
            per_coop = missing // len(coops)
            for n, coop in enumerate(coops):
                count = per_coop if n < len(coops) - 1 else missing - per_coop * n
                plots = session.exec(
                    select(Plot.id, Plot.family_id, Plot.crop)
                    .join(Family, Family.id == Plot.family_id)
                    .where(Plot.cooperative_id == coop.id, Family.active.is_(True))  # type: ignore[attr-defined]
                ).all()
                centre = session.exec(
                    select(CollectionCentre).where(CollectionCentre.cooperative_id == coop.id)
                ).first()
                form = "dry_parchment" if plots[0][2] == "coffee" else "wet_beans"
                end = today() - timedelta(days=1)
                for start in range(0, count, 50_000):
                    rows = []
                    for _ in range(min(50_000, count - start)):
                        plot_id, family_id, crop = plots[rng.randrange(len(plots))]
                        gross = rng.randint(20_000, 70_000)
                        rows.append(
                            (
                                DeliveryData(
                                    family_id=family_id,
                                    plot_id=plot_id,
                                    crop=crop,
                                    form=form,
                                    delivered_on=end - timedelta(days=rng.randrange(700)),
                                    gross_g=gross,
                                    tare_g=300,
                                    price_per_kg_minor=rng.randint(850, 1050),
                                    premium_per_kg_minor=40,
                                ),
                                plot_id,
                            )
                        )
                    deliveries.record_many(
                        session, coop=coop, centre=centre, clerk_id=None, rows=rows, refresh=False
                    )
                families = {f for _p, f, _c in plots}
                deliveries.after_change(session, coop, families)
            session.commit()
            total = session.exec(select(func.count()).select_from(Delivery)).one()
        engine_for(app).dispose()
        with sqlite3.connect(db) as con:
            con.execute("ANALYZE")
        print(
            f"(database with {total:,} deliveries built in {time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        return db

    return bench.cached("intake-1m", build)


class _Client:
    """One kept-alive HTTP connection, timing each request."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[float, int, bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})}
        started = time.perf_counter()
        self.connection.request(method, path, body=payload, headers=sent)
        response = self.connection.getresponse()
        data = response.read()
        return time.perf_counter() - started, response.status, data


def _latency(bench: Bench, db: Path) -> None:
    from tracker.services.demo.base import DEMO_DOMAIN, DEMO_PASSWORD

    with sqlite3.connect(db) as con:
        choices = con.execute(
            "SELECT f.id, p.id FROM family f JOIN plot p ON p.family_id = f.id "
            "JOIN cooperative c ON c.id = f.cooperative_id WHERE c.code = 'CAZ' AND f.active "
            "ORDER BY f.member_code"
        ).fetchall()
        names = [
            r[0].split()[-1][:4] for r in con.execute("SELECT head_name FROM family LIMIT 200")
        ]
    rng = random.Random(11)
    with bench.server(f"sqlite:///{db}", workers=2) as base:
        client = _Client(base)
        _spent, status, data = client.call(
            "POST",
            "/api/v1/auth/token",
            {"email": f"clerk.caz@{DEMO_DOMAIN}", "password": DEMO_PASSWORD},
        )
        assert status == 201, data
        auth = {"Authorization": f"Bearer {json.loads(data)['token']}", "Accept-Language": "en"}
        hello, posts, searches = [], [], []
        day = (date.today() - timedelta(days=1)).isoformat()
        for n in range(REQUESTS + WARMUP):
            family_id, plot_id = choices[rng.randrange(len(choices))]
            body = {
                "family_id": str(uuid.UUID(family_id)),
                "plot_id": str(uuid.UUID(plot_id)),
                "crop": "coffee",
                "form": "dry_parchment",
                "delivered_on": day,
                "gross_kg": round(rng.uniform(25, 70), 1),
                "tare_kg": 0.3,
                "moisture_pct": 11.5,
                "grade": "A",
                "price_per_kg": "9.10",
                "premium_per_kg": "0.40",
            }
            spent, status, data = client.call(
                "POST",
                "/api/v1/cooperatives/CAZ/deliveries",
                body,
                {**auth, "Idempotency-Key": f"bench-{n}"},
            )
            assert status == 201, data[:300]
            q = names[n % len(names)]
            searched, status, data = client.call(
                "GET", f"/api/v1/cooperatives/CAZ/families?q={quote(q)}&page_size=8", headers=auth
            )
            assert status == 200, data[:300]
            floor, status, _ = client.call("GET", "/healthz")
            if n >= WARMUP:
                posts.append(spent)
                searches.append(searched)
                hello.append(floor)
    ms = 1000
    hello_p50 = statistics.median(hello) * ms
    bench.report("hello-world /healthz latency p50 (same server, same connection)", hello_p50, "ms")
    bench.report(
        "delivery POST p50, 1,000,000 deliveries stored",
        percentile(posts, 50) * ms,
        "ms",
        floor=("healthz p50", hello_p50),
        aim="well under 100 ms",
    )
    bench.report(
        "delivery POST p95, 1,000,000 deliveries stored",
        percentile(posts, 95) * ms,
        "ms",
        floor=("healthz p50", hello_p50),
        aim="well under 100 ms",
    )
    bench.report(
        "family search ?q= (typeahead) p50, 3,000 families",
        percentile(searches, 50) * ms,
        "ms",
        floor=("healthz p50", hello_p50),
    )
    bench.report(
        "family search ?q= (typeahead) p95, 3,000 families",
        percentile(searches, 95) * ms,
        "ms",
        floor=("healthz p50", hello_p50),
    )


def run(bench: Bench) -> None:
    demo = bench.demo_db()
    codes = _members(demo)
    data, rows = _file(codes)
    bad, _ = _file(codes, bad_last=True)
    floors = [_floor(bench, rows)]
    checked, _refresh, _n = _import(bench, bench.copy_db(demo, "intake-check.db"), bad)
    floors.append(_floor(bench, rows))
    elapsed, refresh, imported = _import(bench, bench.copy_db(demo, "intake-import.db"), data)
    floors.append(_floor(bench, rows))
    cli_wall, cli_cpu = _cli_import(bench, bench.copy_db(demo, "intake-cli.db"), data)
    floors.append(_floor(bench, rows))
    assert imported == ROWS, imported
    floor = statistics.median(floors)
    bench.report("raw sqlite3 executemany of the same 100,000 rows (12 columns)", floor, "s")
    bench.report(
        "raw sqlite3 executemany of 100,000 rows as stored, into the delivery table",
        _table_floor(bench),
        "s",
        floor=("executemany", floor),
    )
    bench.report(
        f"CSV import, {ROWS:,} deliveries (Excel file), all in one transaction",
        elapsed,
        "s",
        floor=("executemany", floor),
        aim="<= 15x",
    )
    bench.report(
        "the same file through `tracker import deliveries`, whole process",
        cli_wall,
        "s",
        floor=("executemany", floor),
        aim="<= 15x",
    )
    bench.report(
        "  its CPU time (the machine's other work left out)",
        cli_cpu,
        "s CPU",
        floor=("executemany", floor),
    )
    bench.report(
        "  of which: the claims engine recomputing the file's families",
        refresh,
        "s",
        floor=("executemany", floor),
    )
    bench.report(
        "  the rest: read, check, store, audit, commit",
        elapsed - refresh,
        "s",
        floor=("executemany", floor),
        aim="<= 15x",
    )
    bench.report(
        f"CSV check only, {ROWS:,} rows, bad last row (nothing stored)",
        checked,
        "s",
        floor=("executemany", floor),
    )
    _latency(bench, _fill(bench, demo))
