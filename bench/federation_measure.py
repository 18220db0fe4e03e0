"""What the federation database costs a user: each request through the app (Flask's test
client, in this process), beside floors measured in the same run.

For two cooperatives: the demo's CAZ (its shipments, published lots and public pages) and
FED01, a federated cooperative that holds exactly its share of the bulk rows. Request
latencies are read against the same app's `/healthz`; `audit verify` against a plain
psycopg `SELECT *` of the audited tables. `python -m bench.federation --no-build --url ...`
measures an existing database; the figures are printed and written as JSON beside.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import Bench, percentile

POSTS = 100
WARMUP = 10
REPEAT = 5


def _median(action: Callable[[], Any], repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.status_code, answer.data[:300])
    return answer


def measure(url: str, out: Path | None = None, *, verify_all: bool = False) -> list[dict[str, Any]]:
    from sqlmodel import Session

    from bench.federation import app_for, log
    from tracker.db import engine_for
    from tracker.services import audit, audit_proof, reports
    from tracker.services.demo.base import DEMO_DOMAIN, DEMO_PASSWORD

    bench = Bench()
    app = app_for(url, str(bench.workdir / "data"))
    engine = engine_for(app)
    ms = 1000
    with engine.connect() as conn:
        total = conn.scalar(text("SELECT count(*) FROM delivery"))
        families = conn.scalar(text("SELECT count(*) FROM family"))
        log(f"measuring: {total:,} deliveries, {families:,} families")

        def one(sql: str, **params: Any) -> Any:
            return conn.execute(text(sql), params).first()

        coops = {
            code: one("SELECT id FROM cooperative WHERE code = :c", c=code)[0]
            for code in ("CAZ", "FED01")
        }
        per = {
            code: one("SELECT count(*) FROM delivery WHERE cooperative_id = :c", c=cid)[0]
            for code, cid in coops.items()
        }
        choices = {
            code: conn.execute(
                text(
                    "SELECT f.id, p.id, p.crop FROM family f JOIN plot p ON p.family_id = f.id "
                    "WHERE f.cooperative_id = :c AND f.active ORDER BY f.member_code LIMIT 2000"
                ),
                {"c": cid},
            ).all()
            for code, cid in coops.items()
        }
        names = [
            r[0].split()[-1][:4]
            for r in conn.execute(text("SELECT head_name FROM family LIMIT 200"))
        ]
        # The largest lot of each: CAZ's biggest live lot (a demo green lot and its
        # genealogy), FED01's biggest gathered lot (LOT_SIZE deliveries).
        lots = {
            code: one(
                "SELECT id, public_token, code FROM lot WHERE cooperative_id = :c "
                "AND voided_at IS NULL ORDER BY weight_g DESC LIMIT 1",
                c=cid,
            )
            for code, cid in coops.items()
        }
        shipments = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM shipment WHERE cooperative_id = :c AND voided_at IS NULL"),
                {"c": coops["CAZ"]},
            )
        ]
    client = app.test_client()
    token = _ok(
        client.post(
            "/api/v1/auth/token",
            json={"email": f"admin@{DEMO_DOMAIN}", "password": DEMO_PASSWORD},
        ),
        201,
    ).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}", "Accept-Language": "es"}
    web = app.test_client()
    _ok(web.post("/login", data={"email": f"admin@{DEMO_DOMAIN}", "password": DEMO_PASSWORD}), 302)
    healthz = [0.0] * 0
    for _ in range(200):
        started = time.perf_counter()
        _ok(client.get("/healthz"))
        healthz.append(time.perf_counter() - started)
    hello = statistics.median(healthz[20:]) * ms
    floor = ("healthz p50", hello)
    bench.report("hello-world /healthz latency p50 (test client)", hello, "ms")
    rng = random.Random(11)
    day = (date.today() - timedelta(days=1)).isoformat()
    for code in ("CAZ", "FED01"):
        where = f"{code}, {per[code]:,} of {total:,} deliveries"
        posts, searches = [], []
        for n in range(POSTS + WARMUP):
            family_id, plot_id, crop = choices[code][rng.randrange(len(choices[code]))]
            body = {
                "family_id": str(family_id),
                "plot_id": str(plot_id),
                "crop": crop,
                "form": "dry_parchment" if crop == "coffee" else "dry_beans",
                "delivered_on": day,
                "gross_kg": round(rng.uniform(25, 70), 1),
                "tare_kg": 0.3,
                "moisture_pct": 7.5 if crop == "cacao" else 11.5,
                "grade": "A",
                "centre": "C01",
                "price_per_kg": "9.10",
                "premium_per_kg": "0.40",
            }
            started = time.perf_counter()
            _ok(
                client.post(
                    f"/api/v1/cooperatives/{code}/deliveries",
                    json=body,
                    headers={**auth, "Idempotency-Key": f"fed-{uuid.uuid4()}"},
                ),
                201,
            )
            spent = time.perf_counter() - started
            q = names[n % len(names)]
            started = time.perf_counter()
            _ok(client.get(f"/api/v1/cooperatives/{code}/families?q={q}&page_size=8", headers=auth))
            searched = time.perf_counter() - started
            if n >= WARMUP:
                posts.append(spent)
                searches.append(searched)
        for p in (50, 95):
            bench.report(
                f"delivery POST p{p} ({where})", percentile(posts, p) * ms, "ms", floor=floor
            )
        for p in (50, 95):
            bench.report(
                f"family search ?q= p{p} ({code})", percentile(searches, p) * ms, "ms", floor=floor
            )

        def dashboard(code: str = code) -> None:
            reports._CACHE.clear()
            _ok(web.get(f"/c/{code}/"))

        bench.report(
            f"dashboard, season panel computed ({code})", _median(dashboard) * ms, "ms", floor=floor
        )
        season = 2026 if code == "CAZ" else 2025

        def report(code: str = code, season: int = season) -> None:
            reports._CACHE.clear()
            _ok(
                client.get(
                    f"/api/v1/cooperatives/{code}/reports/season.pdf?season={season}", headers=auth
                )
            )

        bench.report(
            f"season report PDF, season {season} ({code})",
            _median(report, 3) * ms,
            "ms",
            floor=floor,
        )
        lot_id, public_token, lot_code = lots[code]
        bench.report(
            f"lot trace, largest lot {lot_code} ({code})",
            _median(
                lambda lot_id=lot_id: _ok(client.get(f"/api/v1/lots/{lot_id}/trace", headers=auth))
            )
            * ms,
            "ms",
            floor=floor,
        )
        _ok(client.get(f"/l/{public_token}"))
        bench.report(
            f"public page /l/{{token}}, {lot_code}, after its first render ({code})",
            _median(lambda t=public_token: _ok(client.get(f"/l/{t}")), 20) * ms,
            "ms",
            floor=floor,
        )
    for shipment_id in shipments[:2]:
        answer = client.get(f"/api/v1/shipments/{shipment_id}/eudr.geojson", headers=auth)
        if answer.status_code != 200:
            continue
        features = len(json.loads(answer.data)["features"])
        bench.report(
            f"EUDR GeoJSON of a CAZ shipment, {features:,} plots",
            _median(
                lambda s=shipment_id: _ok(
                    client.get(f"/api/v1/shipments/{s}/eudr.geojson", headers=auth)
                )
            )
            * ms,
            "ms",
            floor=floor,
        )
    # audit verify: each measured cooperative's chain (what a cooperative's auditor runs),
    # against reading that cooperative's rows of the audited tables with plain psycopg;
    # the whole database only when asked (it reads every chain).
    import psycopg

    tables = audit_proof.audited_tables()
    plain = (
        make_url(url)
        .render_as_string(hide_password=False)
        .replace("postgresql+psycopg", "postgresql")
    )

    def read(cooperative_id: Any) -> tuple[float, int]:
        started = time.perf_counter()
        with psycopg.connect(plain) as c:
            rows = 0
            for t in tables:
                if cooperative_id is None:
                    rows += len(c.execute(f'SELECT * FROM "{t.name}"').fetchall())
                elif "cooperative_id" in t.c:
                    query = f'SELECT * FROM "{t.name}" WHERE cooperative_id = %s'
                    rows += len(c.execute(query, (cooperative_id,)).fetchall())
        return time.perf_counter() - started, rows

    scopes = [(code, coops[code]) for code in ("CAZ", "FED01")]
    if verify_all:
        scopes.append(("every chain", None))
    with app.app_context(), Session(engine) as session:
        for label, cooperative_id in scopes:
            spent_reading, rows = read(cooperative_id)
            chain = audit.chain_for(cooperative_id) if cooperative_id else None
            started = time.perf_counter()
            found = audit_proof.check(session, chain=chain)
            spent = time.perf_counter() - started
            session.rollback()
            assert found.ok, [p.line() for p in found.problems[:5]]
            bench.report(
                f"audit verify, {label} ({found.records:,} records, {found.entries:,} entries)",
                spent,
                "s",
                floor=(f"SELECT * of its {rows:,} rows", spent_reading),
            )
    engine.dispose()
    figures = [
        {
            "name": r.name,
            "value": r.value,
            "unit": r.unit,
            "floor": r.floor_name,
            "floor_value": r.floor_value,
            "ratio": (r.value / r.floor_value) if r.floor_value else None,
        }
        for r in bench.results
    ]
    target = out or Path(f"/tmp/federation-{total}.json")
    target.write_text(
        json.dumps({"deliveries": total, "families": families, "figures": figures}, indent=1)
    )
    log(f"figures written to {target}")
    shutil.rmtree(bench.workdir, ignore_errors=True)
    return figures
