"""Tracing a lot back through 5,000 deliveries across 4 levels, against one indexed SELECT.

The lot is built the way a season builds it, through the lot service: 250 lots of 20
deliveries, merged by 5, hulled, and the 50 green lots merged into one. The floor is one
SELECT of those 5,000 delivery rows through their cooperative index, in the same run and
the same session, returning the same columns the trace answers with.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import date, timedelta

from bench.common import Bench

DELIVERIES = 5000
PER_LOT = 20
PER_MERGE = 5
REPEAT = 25


def _paired(floor, work, repeat: int = REPEAT) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median seconds of floor and work, measured in alternation so that a busy machine
    slows both alike (the ratio is what matters)."""
    floor()
    work()  # warm the statement caches and the database pages
    floors, works = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        floor()
        floors.append(time.perf_counter() - started)
        started = time.perf_counter()
        work()
        works.append(time.perf_counter() - started)
    return statistics.median(floors), statistics.median(works)


def build(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A cooperative with 5,000 deliveries traced into one lot; returns (coop id, lot id)."""
    from sqlalchemy import insert
    from sqlmodel import Session, select

    from tracker.cli import upgrade_database
    from tracker.db import make_engine, writing
    from tracker.models import CollectionCentre, Family, Plot, utcnow
    from tracker.services import cooperatives, lots
    from tracker.services.deliveries import DeliveryData, record_many

    upgrade_database(url)
    engine = make_engine(url)
    with writing(), Session(engine, expire_on_commit=False) as session:
        coop = cooperatives.create_cooperative(session, code="BENCH", name="Bench")
        community = cooperatives.add_community(session, coop, name="Pólvora")
        centre = session.exec(
            select(CollectionCentre).where(CollectionCentre.cooperative_id == coop.id)
        ).one()
        now = utcnow()
        families, plots = [], []
        for n in range(500):
            fid, pid = uuid.uuid4(), uuid.uuid4()
            families.append(
                {
                    "id": fid,
                    "created_at": now,
                    "updated_at": now,
                    "cooperative_id": coop.id,
                    "member_code": f"B-{n}",
                    "head_name": f"Familia {n}",
                    "woman_led": n % 3 == 0,
                    "community_id": community.id,
                    "public_name_consent": True,
                    "active": True,
                }
            )
            plots.append(
                {
                    "id": pid,
                    "created_at": now,
                    "updated_at": now,
                    "cooperative_id": coop.id,
                    "family_id": fid,
                    "name": "Parcela 1",
                    "crop": "coffee",
                    "area_m2": 15_000,
                    "expected_yield_kg_ha": 800,
                }
            )
        session.execute(insert(Family), families)
        session.execute(insert(Plot), plots)
        first = date(2026, 5, 1)
        rows = [
            (
                DeliveryData(
                    family_id=families[i % 500]["id"],
                    plot_id=plots[i % 500]["id"],
                    crop="coffee",
                    form="dry_parchment",
                    delivered_on=first + timedelta(days=i % 90),
                    gross_g=40_000 + (i * 37) % 20_000,
                    tare_g=300,
                    price_per_kg_minor=950,
                ),
                plots[i % 500]["id"],
            )
            for i in range(DELIVERIES)
        ]
        ids = record_many(session, coop=coop, centre=centre, clerk_id=None, rows=rows)
        day = date(2026, 8, 1)
        level1 = [
            lots.create_lot(
                session,
                coop=coop,
                crop="coffee",
                form="dry_parchment",
                picks=[lots.Pick(d) for d in ids[k : k + PER_LOT]],
                occurred_on=day,
            )
            for k in range(0, DELIVERIES, PER_LOT)
        ]
        level2 = [
            lots.merge_lots(
                session,
                coop=coop,
                lot_ids=[lot.id for lot in level1[k : k + PER_MERGE]],
                occurred_on=day,
            )
            for k in range(0, len(level1), PER_MERGE)
        ]
        level3 = [
            lots.process_lot(
                session,
                lot=lot,
                process="hulling",
                output_form="green",
                output_g=lot.weight_g * 4 // 5,
                occurred_on=day,
            )
            for lot in level2
        ]
        final = lots.merge_lots(
            session, coop=coop, lot_ids=[lot.id for lot in level3], occurred_on=day
        )
        session.commit()
        result = coop.id, final.id
    engine.dispose()
    return result


def measure(bench: Bench, label: str, url: str) -> None:
    from sqlalchemy import select
    from sqlmodel import Session

    from tracker.db import make_engine
    from tracker.models import Delivery
    from tracker.services import genealogy

    started = time.perf_counter()
    coop_id, lot_id = build(url)
    print(
        f"({label}: 5,000 deliveries in 4 levels of lots built in "
        f"{time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    engine = make_engine(url)
    with Session(engine) as session:
        traced = genealogy.backward(session, [lot_id])[lot_id]
        assert len(traced) == DELIVERIES, len(traced)
        rows = genealogy.contributions(session, lot_id)
        assert len(rows) == DELIVERIES

        def floor_ids() -> None:
            found = session.execute(
                select(Delivery.id, Delivery.net_g).where(Delivery.cooperative_id == coop_id)
            ).all()
            assert len(found) == DELIVERIES

        def floor_rows() -> None:
            found = session.execute(
                select(
                    Delivery.id,
                    Delivery.family_id,
                    Delivery.plot_id,
                    Delivery.receipt_number,
                    Delivery.delivered_on,
                    Delivery.net_g,
                ).where(Delivery.cooperative_id == coop_id)
            ).all()
            assert len(found) == DELIVERIES

        ids_s, back_s = _paired(floor_ids, lambda: genealogy.backward(session, [lot_id]))
        rows_s, trace_s = _paired(floor_rows, lambda: genealogy.contributions(session, lot_id))
        bench.report(
            f"{label}: floor, indexed SELECT of the 5,000 rows (id, kg)", ids_s * 1000, "ms"
        )
        bench.report(
            f"{label}: trace back {{delivery: kg}} (5,000 deliveries, 4 levels)",
            back_s * 1000,
            "ms",
            floor=("select", ids_s * 1000),
            aim="<= 3x",
        )
        bench.report(
            f"{label}: floor, indexed SELECT of the 5,000 rows (+family, plot, receipt, date)",
            rows_s * 1000,
            "ms",
        )
        bench.report(
            f"{label}: trace back with family, plot, receipt, date (API trace)",
            trace_s * 1000,
            "ms",
            floor=("select", rows_s * 1000),
            aim="<= 3x",
        )
    engine.dispose()


def run(bench: Bench) -> None:
    measure(bench, "SQLite", f"sqlite:///{bench.workdir / 'trace.db'}")
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", connect_timeout=3).close()
    except Exception:
        print("(PostgreSQL not reachable on 127.0.0.1:5432: trace measured on SQLite only)")
        return
    name = f"tracker_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        measure(bench, "PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
