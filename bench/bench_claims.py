"""The claims engine on a lot made of 5,000 certified deliveries (4 levels of lots).

Built like bench_trace's lot, then every family is put on an organic certificate's list
and the engine materialises the 5,000 delivery claims. Measured, each against the trace
itself in the same run (the floor: the lot's claims cannot be known without its
deliveries): the lot's claims (every gram must carry the claim), the lot's "why" report,
and the recomputation a clerk's delivery or a certificate change triggers.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import date

from bench.bench_trace import DELIVERIES, _paired, build
from bench.common import Bench


def certify(url: str, coop_id: uuid.UUID) -> tuple[float, float]:
    """An organic certificate listing every family; returns (seconds to materialise all
    delivery claims, seconds to recompute one family)."""
    from sqlalchemy import insert
    from sqlmodel import Session, select

    from tracker.db import make_engine, writing
    from tracker.models import Certificate, Cooperative, CoverageEntry, Family, utcnow
    from tracker.services import claims

    engine = make_engine(url)
    with writing(), Session(engine, expire_on_commit=False) as session:
        coop = session.get(Cooperative, coop_id)
        cert = Certificate(
            cooperative_id=coop_id,
            type="organic",
            number="BENCH-ORG",
            crops="coffee",
            valid_from=date(2026, 1, 1),
            valid_until=date(2026, 12, 31),
        )
        session.add(cert)
        session.flush()
        families = session.scalars(select(Family.id).where(Family.cooperative_id == coop_id)).all()
        now = utcnow()
        session.execute(
            insert(CoverageEntry),
            [
                {
                    "id": uuid.uuid4(),
                    "created_at": now,
                    "cooperative_id": coop_id,
                    "certificate_id": cert.id,
                    "family_id": family,
                    "status": "certified",
                    "since": date(2026, 1, 1),
                }
                for family in families
            ],
        )
        started = time.perf_counter()
        claims.refresh_cooperative(session, coop)
        everything = time.perf_counter() - started
        session.commit()
        times = []
        for family in families[:9]:
            started = time.perf_counter()
            claims.refresh_families(session, coop, {family})
            times.append(time.perf_counter() - started)
            session.commit()
        one = statistics.median(times)
    engine.dispose()
    return everything, one


def measure(bench: Bench, label: str, url: str) -> None:
    from sqlmodel import Session

    from tracker import create_app
    from tracker.db import make_engine
    from tracker.models import Lot
    from tracker.services import claims, genealogy

    coop_id, lot_id = build(url)
    everything, one = certify(url, coop_id)
    app = create_app(
        {"ENV_NAME": "testing", "SECRET_KEY": "bench", "DATABASE_URL": url, "DATA_DIR": "/tmp"}
    )
    engine = make_engine(url)
    with app.test_request_context(), Session(engine) as session:
        lot = session.get(Lot, lot_id)
        found = claims.lot_claims(session, [lot])[lot_id]
        assert [c.type for c in found] == ["organic"], found
        trace_s, claims_s = _paired(
            lambda: genealogy.backward(session, [lot_id]),
            lambda: claims.lot_claims(session, [lot]),
        )
        _trace_s, why_s = _paired(
            lambda: genealogy.backward(session, [lot_id]),
            lambda: claims.explain_lot(session, lot),
            repeat=9,
        )
        bench.report(
            f"{label}: floor, trace back (5,000 deliveries, 4 levels)", trace_s * 1000, "ms"
        )
        bench.report(
            f"{label}: lot claims (every gram of 5,000 deliveries certified)",
            claims_s * 1000,
            "ms",
            floor=("trace", trace_s * 1000),
            aim="<= 3x",
        )
        bench.report(
            f"{label}: lot claims report with reasons (lot page)",
            why_s * 1000,
            "ms",
            floor=("trace", trace_s * 1000),
            aim="<= 5x",
        )
    bench.report(
        f"{label}: materialise {DELIVERIES:,} delivery claims (certificate change)",
        everything * 1000,
        "ms",
    )
    bench.report(
        f"{label}: recompute one family (after a clerk's delivery)", one * 1000, "ms", aim="< 50 ms"
    )
    engine.dispose()


def run(bench: Bench) -> None:
    measure(bench, "SQLite", f"sqlite:///{bench.workdir / 'claims.db'}")
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", connect_timeout=3).close()
    except Exception:
        print("(PostgreSQL not reachable on 127.0.0.1:5432: claims measured on SQLite only)")
        return
    name = f"tracker_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        measure(bench, "PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
