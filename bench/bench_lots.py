"""A lot formed from 10,000 deliveries, and a clerk saving a delivery meanwhile.

The lot is formed through the lot service (`lots.create_lot`, one transaction, as the
manager's request does), then voided (`lots.void_operation`), on SQLite and PostgreSQL.
The floor is the least the database must do for it, in the same run and database: read
the 10,000 deliveries' (id, net, lotted), set them lotted with one UPDATE, and insert
10,000 edge rows into a plain table with the driver's executemany, in one transaction
(rolled back).

The clerk's wait: while the lot is being formed in another process, a clerk's delivery is
saved (`deliveries.record`, its own transaction), 0.05, 0.25 and 0.45 s after the lot
began (during its reads, then its writes); the longest is reported in ms, against the same
save on an idle database.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
import uuid
from datetime import date, timedelta
from typing import Any

from bench.common import Bench

DELIVERIES = 10_000
FAMILIES = 1_000
PG = "host=127.0.0.1 user=postgres dbname=postgres"
LOT = {"crop": "coffee", "form": "dry_parchment", "occurred_on": date(2026, 8, 1)}


def build(url: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A cooperative with 10,000 deliveries of dry parchment; returns (coop id, ids)."""
    from sqlalchemy import insert
    from sqlmodel import Session, select

    from tracker.cli import upgrade_database
    from tracker.db import make_engine, writing
    from tracker.models import CollectionCentre, Family, Plot, utcnow
    from tracker.services import cooperatives
    from tracker.services.deliveries import DeliveryData, record_many

    upgrade_database(url)
    engine = make_engine(url)
    with writing(), Session(engine, expire_on_commit=False) as session:
        coop = cooperatives.create_cooperative(session, code="BLOT", name="Bench lots")
        community = cooperatives.add_community(session, coop, name="Pólvora")
        centre = session.exec(
            select(CollectionCentre).where(CollectionCentre.cooperative_id == coop.id)
        ).one()
        now = utcnow()
        families = [
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "cooperative_id": coop.id,
                "member_code": f"L-{n}",
                "head_name": f"Familia {n}",
                "woman_led": n % 3 == 0,
                "community_id": community.id,
                "public_name_consent": True,
                "active": True,
            }
            for n in range(FAMILIES)
        ]
        plots = [
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "cooperative_id": coop.id,
                "family_id": family["id"],
                "name": "Parcela 1",
                "crop": "coffee",
                "area_m2": 150_000,
                "expected_yield_kg_ha": 8000,
            }
            for family in families
        ]
        session.execute(insert(Family), families)
        session.execute(insert(Plot), plots)
        first = date(2026, 5, 1)
        rows = [
            (
                DeliveryData(
                    family_id=families[i % FAMILIES]["id"],
                    plot_id=plots[i % FAMILIES]["id"],
                    crop="coffee",
                    form="dry_parchment",
                    delivered_on=first + timedelta(days=i % 90),
                    gross_g=40_000 + (i * 37) % 20_000,
                    tare_g=300,
                    price_per_kg_minor=950,
                ),
                plots[i % FAMILIES]["id"],
            )
            for i in range(DELIVERIES)
        ]
        ids = record_many(session, coop=coop, centre=centre, clerk_id=None, rows=rows)
        session.commit()
        result = coop.id, ids
    engine.dispose()
    return result


def _floor(url: str, coop_id: uuid.UUID) -> float:
    """Seconds for the bare writes a 10,000-delivery lot needs (rolled back)."""
    from tracker.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE floor_edge (a TEXT, b TEXT, g INTEGER)")
        conn.commit()
        times = []
        for _ in range(3):
            started = time.perf_counter()
            trans = conn.begin()
            key = coop_id.hex if engine.dialect.name == "sqlite" else str(coop_id)
            mark = "?" if engine.dialect.name == "sqlite" else "%s"
            found = conn.exec_driver_sql(
                f"SELECT id, net_g, lotted_g FROM delivery WHERE cooperative_id = {mark}", (key,)
            ).all()
            conn.exec_driver_sql(
                f"UPDATE delivery SET lotted_g = net_g WHERE cooperative_id = {mark}", (key,)
            )
            conn.exec_driver_sql(
                f"INSERT INTO floor_edge VALUES ({mark}, {mark}, {mark})",
                [(str(row[0]), key, row[1]) for row in found],
            )
            trans.rollback()
            times.append(time.perf_counter() - started)
            assert len(found) == DELIVERIES
    engine.dispose()
    return statistics.median(times)


def _form(url: str, coop_id: uuid.UUID, ids: list[uuid.UUID], started: Any = None) -> float:
    """Form one lot of every delivery as the manager's request does (reads first, then
    the writes in one transaction); returns its seconds."""
    from sqlmodel import Session

    from tracker.db import make_engine
    from tracker.models import Cooperative
    from tracker.services import lots

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        coop = session.get(Cooperative, coop_id)
        session.commit()
        if started is not None:
            started.set()
        begin = time.perf_counter()
        picks = [lots.Pick(d) for d in ids]
        lots.create_lot(session, coop=coop, picks=picks, **LOT)  # reads first, then writes
        session.commit()
        elapsed = time.perf_counter() - begin
    engine.dispose()
    return elapsed


def _void_last(url: str, coop_id: uuid.UUID) -> float:
    """Void the cooperative's live lot operation; returns its seconds."""
    from sqlmodel import Session, select

    from tracker.db import make_engine, writing
    from tracker.models import LotOperation
    from tracker.services import lots

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        operation = session.exec(
            select(LotOperation).where(
                LotOperation.cooperative_id == coop_id,
                LotOperation.voided_at.is_(None),  # type: ignore[union-attr]
            )
        ).one()
        session.commit()
        begin = time.perf_counter()
        with writing():
            lots.void_operation(session, operation=operation, reason="bench", user_id=None)
            session.commit()
        elapsed = time.perf_counter() - begin
    engine.dispose()
    return elapsed


def _clerk(url: str, coop_id: uuid.UUID) -> float:
    """Seconds for a clerk to save one delivery (its own transaction)."""
    from sqlmodel import Session, select

    from tracker.db import make_engine, writing
    from tracker.models import CollectionCentre, Cooperative, Plot
    from tracker.services import deliveries
    from tracker.services.deliveries import DeliveryData

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        coop = session.get(Cooperative, coop_id)
        centre = session.exec(
            select(CollectionCentre).where(CollectionCentre.cooperative_id == coop_id)
        ).one()
        plot = session.exec(select(Plot).where(Plot.cooperative_id == coop_id).limit(1)).one()
        session.commit()
        data = DeliveryData(
            family_id=plot.family_id,
            plot_id=plot.id,
            crop="coffee",
            form="dry_parchment",
            delivered_on=date(2026, 7, 1),
            gross_g=45_000,
            tare_g=300,
            price_per_kg_minor=950,
        )
        begin = time.perf_counter()
        with writing():
            deliveries.record(session, coop=coop, centre=centre, clerk_id=None, data=data)
            session.commit()
        elapsed = time.perf_counter() - begin
    engine.dispose()
    return elapsed


def _form_in_child(url: str, coop_id: uuid.UUID, ids: list[uuid.UUID], started: Any, out: Any):  # type: ignore[no-untyped-def]
    out.put(_form(url, coop_id, ids, started))


def measure(bench: Bench, label: str, url: str) -> None:
    begin = time.perf_counter()
    coop_id, ids = build(url)
    print(f"({label}: 10,000 deliveries built in {time.perf_counter() - begin:.1f} s)")
    floor = _floor(url, coop_id)
    idle_clerk = statistics.median(_clerk(url, coop_id) for _ in range(3))
    forms, voids, waits = [], [], []
    context = multiprocessing.get_context("fork")
    # The clerk arrives during the reads, then later, when the writes may be under way.
    for delay in (0.05, 0.25, 0.45):
        started, out = context.Event(), context.Queue()
        child = context.Process(target=_form_in_child, args=(url, coop_id, ids, started, out))
        child.start()
        started.wait(60)
        time.sleep(delay)  # the manager's request is under way
        waits.append(_clerk(url, coop_id))
        forms.append(out.get(timeout=600))
        child.join(60)
        voids.append(_void_last(url, coop_id))
    bench.report(f"{label}: floor, SELECT+UPDATE 10,000 deliveries, 10,000 edges", floor, "s")
    bench.report(
        f"{label}: lot formed from 10,000 deliveries (create_lot)",
        statistics.median(forms),
        "s",
        floor=("floor", floor),
        aim="<= 2 s",
    )
    bench.report(
        f"{label}: that lot voided (void_operation)",
        statistics.median(voids),
        "s",
        floor=("floor", floor),
        aim="<= 2 s",
    )
    bench.report(
        f"{label}: a clerk's delivery saved while the lot forms",
        max(waits) * 1000,
        "ms",
        floor=("idle save", idle_clerk * 1000),
        aim="<= 1000 ms",
    )


def run(bench: Bench) -> None:
    measure(bench, "SQLite", f"sqlite:///{bench.workdir / 'lots.db'}")
    try:
        import psycopg

        psycopg.connect(PG, connect_timeout=3).close()
    except Exception:
        print("(PostgreSQL not reachable on 127.0.0.1:5432: lots measured on SQLite only)")
        return
    name = f"tracker_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        measure(bench, "PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    finally:
        with psycopg.connect(PG, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
