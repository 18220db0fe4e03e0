"""A federation on PostgreSQL: 50 cooperatives, 5 seasons, 200,000 families, N deliveries.

`python -m bench.federation --deliveries 1000000 --url postgresql+psycopg://postgres@127.0.0.1:5432/fed`
creates the database (Alembic, as `tracker init`), builds the demo's two cooperatives
(their users, lots, shipments and public pages are what the measurements open), adds the
federation's other cooperatives, and then tops every cooperative up to its share of the
families and deliveries with plots, organic coverage, claims, lots (every delivery of a
closed season is lotted), final payments and the per-season sums (`season_volume`).

The bulk rows are made inside PostgreSQL, one cooperative at a time: `INSERT ... SELECT`
from `generate_series`, every pseudo-random value a hash of the row's index (so a build
is the same on every run), with foreign-key triggers off for the session (the rows are
valid by construction). Python makes no row: 10 M deliveries build in minutes where the
COPY of Python tuples took hours. Each table's new rows of a cooperative are logged as
`audit.record_rows` logs a bulk insert (one `create_rows` entry in the cooperative's
chain; each row's values, as JSON, in `audit_row`; the entry carrying their SHA-256 in id
order), with PostgreSQL writing the JSON and the digest, so `tracker audit verify` proves
them like any imported delivery (tests/slow/test_federation.py checks it at a tiny size).
`--measure` then runs bench.federation_measure on the result. Not part of `make test`:
`make bench-federation`.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import date
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


def build(
    url: str, deliveries: int, *, families: int = FAMILIES, demo_families: int = DEMO_FAMILIES
) -> None:
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
        try:
            with Session(engine, expire_on_commit=False) as session:
                from tracker.services import audit, demo

                audit.set_actor(session, None, "bench")
                summary = demo.build(session, families=demo_families, progress=lambda _m: None)
                session.commit()
                log(summary)
                _federation(session, deliveries, families)
        finally:
            # Closed on failure too: a pooled connection left open warns in the next test.
            engine.dispose()
    with app.app_context():
        import psycopg

        plain = url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    log(f"federation built in {time.perf_counter() - started:.0f} s")


def _hash(index: str, salt: int) -> str:
    """SQL for a pseudo-random non-negative integer drawn from a row's index: the same
    for the same cooperative, index and salt, on every run."""
    return f"(hashint8((CAST(:salt AS bigint) << 32) + ({index}) * 16 + {salt}) & 2147483647)"


def _id(kind: str, *parts: str) -> str:
    """SQL for a row's UUID, derived from the cooperative's code, a kind and indexes."""
    return f"md5(concat_ws('/', CAST(:code AS text), '{kind}', {', '.join(parts)}))::uuid"


def _temp(session: Any, name: str, query: str, params: dict[str, Any]) -> None:
    session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    session.execute(text(f"CREATE TEMP TABLE {name} AS {query}"), params)


def _bulk(
    session: Any, table: Table, coop_id: uuid.UUID, relation: str, same: dict[str, Any]
) -> None:
    """Insert the rows of a temporary `relation` (which has the table's columns not in
    `same`) with the values in `same` shared by all, and log them as `audit.record_rows`
    logs a bulk insert: one `create_rows` entry in the cooperative's chain naming the
    columns, the shared values and the SHA-256 over the rows in id order, and each row's
    values in audit_row. PostgreSQL writes the rows' JSON and their digest; only the
    entry (and its hash) is made in Python, by `audit.record`."""
    from tracker.services import audit

    varying = [c.name for c in table.columns if c.name not in same]
    dialect = session.get_bind().dialect
    shared = ", ".join(
        f"CAST(:same_{name} AS {table.c[name].type.compile(dialect=dialect)})" for name in same
    )
    session.execute(
        text(
            f"INSERT INTO {table.name} ({', '.join(varying + list(same))}) "
            f"SELECT {', '.join(varying)}, {shared} FROM {relation}"
        ),
        {f"same_{name}": value for name, value in same.items()},
    )
    if table.name in audit.UNAUDITED:
        return
    logged = [name for name in varying if name != "id"]
    data = f"json_build_array({', '.join(logged)})::text"
    rows, digest = session.execute(
        text(
            "SELECT count(*), encode(sha256(convert_to(coalesce(string_agg("
            f"id::text || E'\\t' || {data} || E'\\n', '' ORDER BY id::text COLLATE \"C\"), ''),"
            f" 'UTF8')), 'hex') FROM {relation}"
        )
    ).one()
    if not rows:
        return
    entry = audit.record(
        session,
        cooperative_id=coop_id,
        action="create_rows",
        entity=table.name,
        after={
            "bench": "federation",
            "rows": rows,
            "columns": logged,
            "same": {name: audit.logged(name, value) for name, value in same.items()},
            "sha256": digest,
        },
    )
    session.execute(
        text(
            "INSERT INTO audit_row (entity, entity_id, chain, seq, data) "
            f"SELECT :entity, id::text, :chain, :seq, {data} FROM {relation}"
        ),
        {"entity": table.name, "chain": entry.chain, "seq": entry.seq},
    )


def _federation(session: Any, deliveries: int, families: int) -> None:
    from sqlmodel import col

    from tracker.models import Certificate, CollectionCentre, Community, Cooperative, utcnow
    from tracker.services import cooperatives, season_volumes

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
    session.execute(text("SET session_replication_role = replica"))
    for number, coop in enumerate(coops):
        crop = "cacao" if coop.code == "CHU" else "coffee"
        counted = {
            name: session.scalar(
                text(f"SELECT count(*) FROM {name} WHERE cooperative_id = :c"), {"c": coop.id}
            )
            for name in ("family", "delivery")
        }
        centres = (
            session.exec(
                select(CollectionCentre)
                .where(CollectionCentre.cooperative_id == coop.id)
                .order_by(CollectionCentre.code)
            )
            .scalars()
            .all()
        )
        cert = (
            session.exec(
                select(Certificate.id)
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
        params: dict[str, Any] = {
            "code": coop.code,
            "salt": number,
            "coop": coop.id,
            "crop": crop,
            "form": "dry_beans" if crop == "cacao" else "dry_parchment",
            "families": max(0, families // len(coops) - counted["family"]),
            "deliveries": max(0, deliveries // len(coops) - counted["delivery"]),
            "communities": list(
                session.exec(select(Community.id).where(Community.cooperative_id == coop.id))
                .scalars()
                .all()
            ),
            "centres": [c.id for c in centres],
            "centre_codes": [c.code for c in centres],
            "seqs": [c.last_receipt_seq for c in centres],
            "month": max(coop.season_start_month, 1),
            "today": date.today(),
            "now": utcnow(),
            "cert": cert,
        }
        _families(session, coop.id, params)
        if params["families"] and params["deliveries"]:
            _deliveries(session, coop.id, params)
            _lots_and_payments(session, coop.id, params)
        # The cooperative's per-season sums, from everything it now holds: the service's
        # own INSERT ... SELECT per slice, as the claims engine keeps them.
        season_volumes.refresh(session, coop)
        session.commit()
        log(f"{coop.code}: +{params['families']} families, +{params['deliveries']} deliveries")
    session.execute(text("SET session_replication_role = DEFAULT"))
    session.commit()


def _tables() -> dict[str, Table]:
    from tracker import models

    names = (
        "Family",
        "Plot",
        "CoverageEntry",
        "Delivery",
        "LotOperation",
        "Lot",
        "LotInput",
        "Payment",
        "PaymentAllocation",
    )
    return {name: getattr(models, name).__table__ for name in names}


def _families(session: Any, coop_id: uuid.UUID, p: dict[str, Any]) -> None:
    """The cooperative's new families, a plot each and organic coverage of them."""
    if not p["families"]:
        return
    tables, now = _tables(), p["now"]
    stamp = {"created_at": now, "cooperative_id": coop_id}
    _temp(
        session,
        "fed_family",
        f"""SELECT {_id("f", "k")} AS id, CAST(:code AS text) || '-F' || lpad(k::text, 6, '0') AS member_code,
            (CAST(:given AS text[]))[1 + {_hash("k", 1)} % 10] || ' '
            || (CAST(:surnames AS text[]))[1 + {_hash("k", 2)} % 8] || ' '
            || (CAST(:surnames AS text[]))[1 + {_hash("k", 3)} % 8] AS head_name,
            {_hash("k", 4)} % 100 < 34 AS woman_led,
            (CAST(:communities AS uuid[]))[1 + k % cardinality(CAST(:communities AS uuid[]))]
                AS community_id,
            (40000000 + {_hash("k", 5)} % 9000000)::text AS national_id,
            {_hash("k", 6)} % 100 < 80 AS public_name_consent
        FROM generate_series(0, :families - 1) AS k""",
        {**p, "given": _GIVEN, "surnames": _FAMILY},
    )
    _bulk(
        session,
        tables["Family"],
        coop_id,
        "fed_family",
        {**stamp, "phone": None, "active": True, "left_on": None, "updated_at": now},
    )
    # A point near Moyobamba; far more yield than delivered, so no delivery is over the cap.
    _temp(
        session,
        "fed_plot",
        f"""SELECT id, family_id, area_m2, altitude_m,
            format('{{"type":"Point","coordinates":[%s,%s]}}', lon, lat) AS geometry_geojson,
            lon::float8 AS centroid_lon, lat::float8 AS centroid_lat
        FROM (SELECT {_id("p", "k")} AS id, {_id("f", "k")} AS family_id,
                5000 + {_hash("k", 7)} % 35001 AS area_m2, 900 + {_hash("k", 8)} % 901 AS altitude_m,
                round((-76900000 + {_hash("k", 9)} % 800001)::numeric / 1000000, 6) AS lon,
                round((-7600000 + {_hash("k", 10)} % 800001)::numeric / 1000000, 6) AS lat
            FROM generate_series(0, :families - 1) AS k) AS plots""",
        p,
    )
    _bulk(
        session,
        tables["Plot"],
        coop_id,
        "fed_plot",
        {
            **stamp,
            "name": "Parcela 1",
            "crop": p["crop"],
            "expected_yield_kg_ha": 3000,
            "geodesic_area_m2": None,
            "updated_at": now,
        },
    )
    if p["cert"] is None:
        return
    _temp(
        session,
        "fed_coverage",
        f"SELECT {_id('v', 'k')} AS id, {_id('f', 'k')} AS family_id "
        "FROM generate_series(0, :families - 1) AS k",
        p,
    )
    _bulk(
        session,
        tables["CoverageEntry"],
        coop_id,
        "fed_coverage",
        {
            **stamp,
            "certificate_id": p["cert"],
            "status": "certified",
            "since": date(LAST_SEASON - SEASONS, 1, 1),
            "created_by_id": None,
        },
    )


def _deliveries(session: Any, coop_id: uuid.UUID, p: dict[str, Any]) -> None:
    """Deliveries spread over the seasons, the new families and both centres (receipt
    numbers continue each centre's counter), and their organic claims."""
    start = "make_date(season, :month, 1) + 10 + offset_days"
    _temp(
        session,
        "fed_delivery",
        f"""SELECT n, id, family_id, plot_id, centre_id, season,
            CASE WHEN {start} >= :today THEN :today - 1 - back_days ELSE {start} END
                AS delivered_on,
            net_g + tare_g AS gross_g, tare_g, net_g,
            CASE WHEN season < {LAST_SEASON} THEN net_g ELSE 0 END AS lotted_g,
            moisture_dpct, grade, price AS price_per_kg_minor,
            (net_g * price + 500) / 1000 AS amount_minor, (net_g * 40 + 500) / 1000 AS premium_minor,
            receipt_seq,
            centre_code || '-' || CASE WHEN receipt_seq < 1000000
                THEN lpad(receipt_seq::text, 6, '0') ELSE receipt_seq::text END AS receipt_number
        FROM (SELECT n, {_id("d", "n")} AS id,
                {_id("f", "n % :families")} AS family_id, {_id("p", "n % :families")} AS plot_id,
                (CAST(:centres AS uuid[]))[1 + n % cardinality(CAST(:centres AS uuid[]))]
                    AS centre_id,
                (CAST(:centre_codes AS text[]))[1 + n % cardinality(CAST(:centres AS uuid[]))]
                    AS centre_code,
                (CAST(:seqs AS int[]))[1 + n % cardinality(CAST(:centres AS uuid[]))]
                    + n / cardinality(CAST(:centres AS uuid[])) + 1 AS receipt_seq,
                {LAST_SEASON - SEASONS + 1} + (n::bigint * {SEASONS} / :deliveries)::int AS season,
                {_hash("n", 1)} % 191 AS offset_days, {_hash("n", 2)} % 31 AS back_days,
                20000 + {_hash("n", 3)} % 40001 AS net_g, 200 + {_hash("n", 4)} % 3 * 100 AS tare_g,
                900 + {_hash("n", 5)} % 201 AS price, 105 + {_hash("n", 6)} % 26 AS moisture_dpct,
                (ARRAY['A', 'A', 'B'])[1 + {_hash("n", 7)} % 3] AS grade
            FROM generate_series(0, :deliveries - 1) AS n) AS drawn""",
        p,
    )
    _bulk(
        session,
        _tables()["Delivery"],
        coop_id,
        "fed_delivery",
        {
            "created_at": p["now"],
            "cooperative_id": coop_id,
            "voided_at": None,
            "voided_by_id": None,
            "void_reason": None,
            "crop": p["crop"],
            "form": p["form"],
            "premium_per_kg_minor": 40,
            "price_pending": False,
            "price_per_quintal_minor": None,
            "paper_receipt": None,
            "clerk_id": None,
            "replaces_id": None,
            "import_id": None,
            "weighed_at": None,
        },
    )
    session.execute(
        text(
            "UPDATE collection_centre SET last_receipt_seq = last_receipt_seq + counted "
            "FROM (SELECT centre_id, count(*) AS counted FROM fed_delivery GROUP BY centre_id) "
            "AS d WHERE d.centre_id = collection_centre.id"
        )
    )
    if p["cert"] is not None:
        session.execute(
            text(
                "INSERT INTO delivery_claim (delivery_id, certificate_id, cooperative_id, "
                f"claim_type) SELECT id, :cert, :coop, '{CLAIM}' FROM fed_delivery"
            ),
            p,
        )


def _lots_and_payments(session: Any, coop_id: uuid.UUID, p: dict[str, Any]) -> None:
    """Closed seasons: every delivery in a lot of LOT_SIZE (in date order), and one final
    payment per family and season settling its deliveries."""
    tables = _tables()
    stamp = {"created_at": p["now"], "cooperative_id": coop_id}
    voided = {"voided_at": None, "voided_by_id": None, "void_reason": None}
    _temp(
        session,
        "fed_lotted",
        f"""SELECT n, id, family_id, season, delivered_on, net_g, amount_minor,
            (row_number() OVER (PARTITION BY season ORDER BY delivered_on, n) - 1) / {LOT_SIZE} + 1
                AS number
        FROM fed_delivery WHERE season < {LAST_SEASON}""",
        p,
    )
    _temp(
        session,
        "fed_lot",
        f"""SELECT season, number, {_id("o", "season", "number")} AS operation_id,
            {_id("l", "season", "number")} AS lot_id, sum(net_g) AS grams,
            max(delivered_on) AS occurred_on
        FROM fed_lotted GROUP BY season, number""",
        p,
    )
    _temp(
        session,
        "fed_operation",
        "SELECT operation_id AS id, occurred_on, grams AS input_g, grams AS output_g FROM fed_lot",
        p,
    )
    _bulk(
        session,
        tables["LotOperation"],
        coop_id,
        "fed_operation",
        {
            **stamp,
            **voided,
            "kind": "create",
            "process": None,
            "site_id": None,
            "loss_g": 0,
            "yield_confirmed": False,
            "note": "",
            "created_by_id": None,
        },
    )
    # Numbered from 5000 on: the demo's own lots keep their numbers. The token: 18 bytes
    # in URL-safe base64, as secrets.token_urlsafe(18) makes them.
    _temp(
        session,
        "fed_lots",
        """SELECT lot_id AS id, CAST(:prefix AS text) || '-' || season || '-' || (5000 + number) AS code,
            translate(encode(decode(md5(concat_ws('/', CAST(:code AS text), 't', season, number))
                || left(md5(concat_ws('/', CAST(:code AS text), 'u', season, number)), 4), 'hex'), 'base64'),
                '+/', '-_') AS public_token,
            grams AS weight_g, grams AS available_g, season, operation_id
        FROM fed_lot""",
        {**p, "prefix": "CAC" if p["crop"] == "cacao" else "CAF"},
    )
    _bulk(
        session,
        tables["Lot"],
        coop_id,
        "fed_lots",
        {
            **stamp,
            **voided,
            "crop": p["crop"],
            "form": p["form"],
            "gtin": None,
            "status": "open",
            "site_id": None,
            "created_by_id": None,
            "published_at": None,
        },
    )
    _temp(
        session,
        "fed_input",
        f"""SELECT {_id("i", "n")} AS id, l.operation_id, l.lot_id, d.id AS source_delivery_id,
            d.net_g AS grams
        FROM fed_lotted AS d JOIN fed_lot AS l USING (season, number)""",
        p,
    )
    _bulk(session, tables["LotInput"], coop_id, "fed_input", {**stamp, "source_lot_id": None})
    _temp(
        session,
        "fed_payment",
        f"""SELECT {_id("pay", "family_id", "season")} AS id, family_id, season,
            max(delivered_on) + 7 AS paid_on, sum(amount_minor)::int AS amount_minor
        FROM fed_lotted GROUP BY family_id, season""",
        p,
    )
    _bulk(
        session,
        tables["Payment"],
        coop_id,
        "fed_payment",
        {
            **stamp,
            **voided,
            "kind": "final",
            "method": "bank_transfer",
            "reference": "",
            "note": "",
            "created_by_id": None,
        },
    )
    _temp(
        session,
        "fed_allocation",
        f"""SELECT {_id("a", "d.n")} AS id, pay.id AS payment_id, d.id AS delivery_id,
            d.amount_minor
        FROM fed_lotted AS d JOIN fed_payment AS pay USING (family_id, season)""",
        p,
    )
    _bulk(session, tables["PaymentAllocation"], coop_id, "fed_allocation", stamp)


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
