"""A federation on PostgreSQL: 50 cooperatives, 5 seasons, 200,000 families, N deliveries.

`python -m bench.federation --deliveries 1000000 --url postgresql+psycopg://postgres@127.0.0.1:5432/fed`
creates the database (Alembic, as `tracker init`), builds the demo's two cooperatives
(their users, lots, shipments and public pages are what the measurements open), adds the
federation's other cooperatives, and then tops every cooperative up to its share of the
families and deliveries with plots, organic coverage, claims, lots (every delivery of a
closed season is lotted) and final payments.

The bulk rows go in through COPY, with foreign-key triggers off for the session (the rows
are valid by construction), and each batch is logged exactly as the demo logs its own
bulk rows: `audit.record_rows`, one `create_rows` entry in the cooperative's chain with
the rows in `audit_row` (written by COPY too), so `tracker audit verify` proves them like
any imported delivery. `--measure` then runs bench.federation_measure on the result. Not
part of `make test`: `make bench-federation`.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.engine import make_url

COOPERATIVES = 50
FAMILIES = 200_000
SEASONS = 5
LAST_SEASON = 2026
DEMO_FAMILIES = 4000
LOT_SIZE = 200  # deliveries gathered into one lot
BATCH = 50_000  # rows per COPY and per audit entry
CLAIM = "organic"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _create_database(url: str) -> None:
    import psycopg

    name = make_url(url).database
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


def app_for(url: str, data_dir: str = "/tmp/tracker-federation-data") -> Any:
    from tracker import create_app

    return create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "bench-secret-not-for-production",
            "DATABASE_URL": url,
            "DATA_DIR": data_dir,
            "PUBLIC_URL": "https://trace.example.org",
            # Measurements time the work, not the limits or the form tokens.
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None,
        }
    )


@contextmanager
def _copying_audit_rows() -> Iterator[None]:
    """audit.record_rows with its audit_row inserts done by COPY (same rows, same values)."""
    from tracker.services import audit

    original = audit._insert_rows

    def by_copy(session: Any, entity: str, entry: Any, leaves: list[tuple[str, str]]) -> None:
        cursor = session.connection().connection.driver_connection.cursor()
        with cursor.copy("COPY audit_row (entity, entity_id, chain, seq, data) FROM STDIN") as cp:
            for key, data in leaves:
                cp.write_row((entity, key, entry.chain, entry.seq, data))

    audit._insert_rows = by_copy  # type: ignore[assignment]
    try:
        yield
    finally:
        audit._insert_rows = original  # type: ignore[assignment]


def _copy(session: Any, table: Table, coop_id: uuid.UUID, rows: Sequence[tuple]) -> None:
    """COPY the rows (tuples in the table's column order) and log them in the chain."""
    from tracker.services import audit

    columns = [c.name for c in table.columns]
    cursor = session.connection().connection.driver_connection.cursor()
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as cp:
            for row in chunk:
                cp.write_row(row)
        if table.name not in audit.UNAUDITED:
            audit.record_rows(
                session,
                model=table,
                cooperative_id=coop_id,
                rows=chunk,
                columns=columns,
                summary={"bench": "federation"},
            )


def _row(table: Table, **values: Any) -> tuple:
    return tuple(values[c.name] for c in table.columns)


def build(url: str, deliveries: int, *, families: int = FAMILIES, seed: int = 16) -> None:
    from tracker.cli import upgrade_database

    started = time.perf_counter()
    _create_database(url)
    upgrade_database(url)
    log("schema at head")
    app = app_for(url)
    from tracker.db import engine_for

    with app.app_context():
        from sqlmodel import Session

        engine = engine_for(app)
        with Session(engine, expire_on_commit=False) as session:
            from tracker.services import audit, demo

            audit.set_actor(session, None, "bench")
            summary = demo.build(session, families=DEMO_FAMILIES, progress=lambda _m: None)
            session.commit()
            log(summary)
            _federation(session, deliveries, families, random.Random(seed))
        engine.dispose()
    with app.app_context():
        import psycopg

        plain = url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    log(f"federation built in {time.perf_counter() - started:.0f} s")


def _federation(session: Any, deliveries: int, families: int, rng: random.Random) -> None:
    from sqlmodel import col

    from tracker.models import (
        Certificate,
        CollectionCentre,
        Community,
        Cooperative,
        CoverageEntry,
        Delivery,
        DeliveryClaim,
        Family,
        Lot,
        LotInput,
        LotOperation,
        Payment,
        PaymentAllocation,
        Plot,
        utcnow,
    )
    from tracker.services import cooperatives

    # The federation's other cooperatives, each with two centres, ten communities and
    # an organic certificate over its families.
    existing = session.exec(select(Cooperative).order_by(Cooperative.code)).scalars().all()
    for n in range(1, COOPERATIVES - len(existing) + 1):
        coop = cooperatives.create_cooperative(
            session, code=f"FED{n:02d}", name=f"Cooperativa federada {n:02d}"
        )
        cooperatives.add_collection_centre(session, coop, code="C02", name="Centro de acopio 2")
        for k in range(10):
            cooperatives.add_community(session, coop, name=f"Caserío {n:02d}-{k:02d}")
        session.add(
            Certificate(
                cooperative_id=coop.id,
                type=CLAIM,
                standard="EU 2018/848",
                body="Control Union Perú",
                number=f"CU-FED{n:02d}",
                crops="coffee",
                valid_from=date(LAST_SEASON - SEASONS, 1, 1),
                valid_until=date(LAST_SEASON + 1, 12, 31),
            )
        )
    session.commit()
    coops = session.exec(select(Cooperative).order_by(Cooperative.code)).scalars().all()
    log(f"{len(coops)} cooperatives")
    per_coop_families = families // len(coops)
    per_coop_deliveries = deliveries // len(coops)
    now = utcnow()
    tables = {
        m.__name__: m.__table__  # type: ignore[attr-defined]
        for m in (
            Family,
            Plot,
            CoverageEntry,
            Delivery,
            DeliveryClaim,
            LotOperation,
            Lot,
            LotInput,
            Payment,
            PaymentAllocation,
        )
    }
    session.execute(text("SET session_replication_role = replica"))
    with _copying_audit_rows():
        for coop in coops:
            crop = "cacao" if coop.code == "CHU" else "coffee"
            form = "dry_beans" if crop == "cacao" else "dry_parchment"
            counted = {
                name: session.scalar(
                    text(f"SELECT count(*) FROM {name} WHERE cooperative_id = :c"), {"c": coop.id}
                )
                for name in ("family", "delivery")
            }
            add_families = max(0, per_coop_families - counted["family"])
            add_deliveries = max(0, per_coop_deliveries - counted["delivery"])
            centres = (
                session.exec(
                    select(CollectionCentre)
                    .where(CollectionCentre.cooperative_id == coop.id)
                    .order_by(CollectionCentre.code)
                )
                .scalars()
                .all()
            )
            communities = (
                session.exec(select(Community.id).where(Community.cooperative_id == coop.id))
                .scalars()
                .all()
            )
            cert = (
                session.exec(
                    select(Certificate)
                    .where(
                        Certificate.cooperative_id == coop.id,
                        Certificate.type == CLAIM,
                        col(Certificate.crops).contains(crop),
                    )
                    .order_by(Certificate.valid_from)
                )
                .scalars()
                .first()
            )
            fam_rows, plot_rows, cov_rows, plots = [], [], [], []
            for n in range(add_families):
                fid, pid = uuid.uuid4(), uuid.uuid4()
                woman = rng.random() < 0.34
                fam_rows.append(
                    _row(
                        tables["Family"],
                        id=fid,
                        created_at=now,
                        cooperative_id=coop.id,
                        member_code=f"{coop.code}-F{n:06d}",
                        head_name=f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)} {rng.choice(_FAMILY)}",
                        woman_led=woman,
                        community_id=communities[n % len(communities)],
                        national_id=f"{rng.randint(40_000_000, 48_999_999)}",
                        phone=None,
                        public_name_consent=rng.random() < 0.8,
                        active=True,
                        updated_at=now,
                    )
                )
                lon, lat = -76.5 + rng.uniform(-0.4, 0.4), -7.2 + rng.uniform(-0.4, 0.4)
                area = rng.randint(5_000, 40_000)
                plot_rows.append(
                    _row(
                        tables["Plot"],
                        id=pid,
                        created_at=now,
                        cooperative_id=coop.id,
                        family_id=fid,
                        name="Parcela 1",
                        crop=crop,
                        area_m2=area,
                        altitude_m=rng.randint(900, 1800),
                        # Far more yield than delivered: no delivery is over the cap.
                        expected_yield_kg_ha=3000,
                        geometry_geojson=f'{{"type":"Point","coordinates":[{lon:.6f},{lat:.6f}]}}',
                        geodesic_area_m2=None,
                        centroid_lon=round(lon, 6),
                        centroid_lat=round(lat, 6),
                        updated_at=now,
                    )
                )
                plots.append((fid, pid, area))
                if cert is not None:
                    cov_rows.append(
                        _row(
                            tables["CoverageEntry"],
                            id=uuid.uuid4(),
                            created_at=now,
                            cooperative_id=coop.id,
                            certificate_id=cert.id,
                            family_id=fid,
                            status="certified",
                            since=date(LAST_SEASON - SEASONS, 1, 1),
                            created_by_id=None,
                        )
                    )
            _copy(session, tables["Family"], coop.id, fam_rows)
            _copy(session, tables["Plot"], coop.id, plot_rows)
            _copy(session, tables["CoverageEntry"], coop.id, cov_rows)
            if not plots or not add_deliveries:
                session.commit()
                continue
            # Deliveries: spread over the seasons and the centres; receipt numbers continue
            # each centre's counter.
            seq = {c.id: c.last_receipt_seq for c in centres}
            by_season: dict[int, list[tuple]] = defaultdict(list)
            rows, claims = [], []
            for n in range(add_deliveries):
                fid, pid, _area = plots[n % len(plots)]
                season = LAST_SEASON - SEASONS + 1 + n * SEASONS // add_deliveries
                start = date(season, max(coop.season_start_month, 1), 1)
                day = start + timedelta(days=rng.randint(10, 200))
                if day >= date.today():
                    day = date.today() - timedelta(days=1 + rng.randint(0, 30))
                centre = centres[n % len(centres)]
                seq[centre.id] += 1
                net = rng.randint(20_000, 60_000)
                tare = rng.choice((200, 300, 400))
                price = rng.randint(900, 1100)
                premium = 40
                did = uuid.uuid4()
                row = _row(
                    tables["Delivery"],
                    id=did,
                    created_at=now,
                    cooperative_id=coop.id,
                    voided_at=None,
                    voided_by_id=None,
                    void_reason=None,
                    centre_id=centre.id,
                    family_id=fid,
                    plot_id=pid,
                    crop=crop,
                    form=form,
                    delivered_on=day,
                    gross_g=net + tare,
                    tare_g=tare,
                    net_g=net,
                    lotted_g=net if season < LAST_SEASON else 0,
                    moisture_dpct=rng.randint(105, 130),
                    grade=rng.choice("AAB"),
                    price_per_kg_minor=price,
                    premium_per_kg_minor=premium,
                    price_pending=False,
                    amount_minor=(net * price + 500) // 1000,
                    premium_minor=(net * premium + 500) // 1000,
                    receipt_seq=seq[centre.id],
                    receipt_number=f"{centre.code}-{seq[centre.id]:06d}",
                    paper_receipt=None,
                    clerk_id=None,
                    replaces_id=None,
                    import_id=None,
                )
                rows.append(row)
                by_season[season].append((did, fid, day, net, (net * price + 500) // 1000))
                if cert is not None:
                    claims.append((did, cert.id, coop.id, CLAIM))
            _copy(session, tables["Delivery"], coop.id, rows)
            _copy(session, tables["DeliveryClaim"], coop.id, claims)
            del rows, claims
            for centre in centres:
                session.execute(
                    text("UPDATE collection_centre SET last_receipt_seq = :s WHERE id = :i"),
                    {"s": seq[centre.id], "i": centre.id},
                )
            _lots_and_payments(session, tables, coop, crop, form, by_season, now)
            session.commit()
            log(f"{coop.code}: +{add_families} families, +{add_deliveries} deliveries")
    session.execute(text("SET session_replication_role = DEFAULT"))
    session.commit()


def _lots_and_payments(
    session: Any,
    tables: dict[str, Table],
    coop: Any,
    crop: str,
    form: str,
    by_season: dict[int, list[tuple]],
    now: datetime,
) -> None:
    """Closed seasons: every delivery in a lot of LOT_SIZE, and one final payment per
    family settling its deliveries of the season."""
    ops, lots, inputs, payments, allocations = [], [], [], [], []
    prefix = "CAC" if crop == "cacao" else "CAF"
    for season, items in sorted(by_season.items()):
        if season >= LAST_SEASON:
            continue
        items.sort(key=lambda i: i[2])
        for number, start in enumerate(range(0, len(items), LOT_SIZE), start=1):
            chunk = items[start : start + LOT_SIZE]
            grams = sum(i[3] for i in chunk)
            op_id, lot_id = uuid.uuid4(), uuid.uuid4()
            day = max(i[2] for i in chunk)
            ops.append(
                _row(
                    tables["LotOperation"],
                    id=op_id,
                    created_at=now,
                    cooperative_id=coop.id,
                    voided_at=None,
                    voided_by_id=None,
                    void_reason=None,
                    kind="create",
                    process=None,
                    site_id=None,
                    occurred_on=day,
                    input_g=grams,
                    output_g=grams,
                    loss_g=0,
                    yield_confirmed=False,
                    note="",
                    created_by_id=None,
                )
            )
            lots.append(
                _row(
                    tables["Lot"],
                    id=lot_id,
                    created_at=now,
                    cooperative_id=coop.id,
                    voided_at=None,
                    voided_by_id=None,
                    void_reason=None,
                    # Numbered from 5000 on: the demo's own lots keep their numbers.
                    code=f"{prefix}-{season}-{5000 + number:04d}",
                    public_token=secrets.token_urlsafe(18),
                    crop=crop,
                    form=form,
                    weight_g=grams,
                    available_g=grams,
                    gtin=None,
                    status="open",
                    season=season,
                    operation_id=op_id,
                    site_id=None,
                    created_by_id=None,
                    published_at=None,
                )
            )
            for did, _fid, _day, net, _amount in chunk:
                inputs.append(
                    _row(
                        tables["LotInput"],
                        id=uuid.uuid4(),
                        created_at=now,
                        cooperative_id=coop.id,
                        operation_id=op_id,
                        lot_id=lot_id,
                        source_lot_id=None,
                        source_delivery_id=did,
                        grams=net,
                    )
                )
        per_family: dict[uuid.UUID, list[tuple]] = defaultdict(list)
        for item in items:
            per_family[item[1]].append(item)
        for fid, owed in per_family.items():
            pay_id = uuid.uuid4()
            payments.append(
                _row(
                    tables["Payment"],
                    id=pay_id,
                    created_at=now,
                    cooperative_id=coop.id,
                    voided_at=None,
                    voided_by_id=None,
                    void_reason=None,
                    family_id=fid,
                    kind="final",
                    method="bank_transfer",
                    paid_on=max(i[2] for i in owed) + timedelta(days=7),
                    season=season,
                    amount_minor=sum(i[4] for i in owed),
                    reference="",
                    note="",
                    created_by_id=None,
                )
            )
            for did, _fid, _day, _net, amount in owed:
                allocations.append(
                    _row(
                        tables["PaymentAllocation"],
                        id=uuid.uuid4(),
                        created_at=now,
                        cooperative_id=coop.id,
                        payment_id=pay_id,
                        delivery_id=did,
                        amount_minor=amount,
                    )
                )
    for name, rows in (
        ("LotOperation", ops),
        ("Lot", lots),
        ("LotInput", inputs),
        ("Payment", payments),
        ("PaymentAllocation", allocations),
    ):
        _copy(session, tables[name], coop.id, rows)


_GIVEN = ["María", "Rosa", "Juana", "Elena", "José", "Juan", "Luis", "Pedro", "Carlos", "Ana"]
_FAMILY = ["Huamán", "Quispe", "Flores", "Ramírez", "Torres", "Vásquez", "Tuanama", "Pinedo"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.federation", description=__doc__)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--families", type=int, default=FAMILIES)
    parser.add_argument(
        "--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/tracker_federation"
    )
    parser.add_argument("--measure", action="store_true", help="measure after building")
    parser.add_argument("--no-build", action="store_true", help="measure an existing database")
    parser.add_argument(
        "--verify-all", action="store_true", help="also time `audit verify` of every chain"
    )
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args(argv)
    if not args.no_build:
        build(args.url, args.deliveries, families=args.families)
    if args.measure or args.no_build:
        from bench import federation_measure

        federation_measure.measure(args.url, verify_all=args.verify_all)
    if args.drop:
        import psycopg

        name = make_url(args.url).database
        admin = "host=127.0.0.1 user=postgres dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
