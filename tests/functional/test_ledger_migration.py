"""Migration b2c4f81a9d03 on a database with data: factors seeded for every cooperative,
old premium rules kept as they were (per kg as weighed, every form of their crop), coffee
ledger allocations converted from dry parchment to green-coffee equivalent; and back."""

from __future__ import annotations

from datetime import date

from alembic import command
from sqlalchemy import create_engine, inspect

from tests import factories as f
from tracker.cli import alembic_config
from tracker.services.claims import massbalance

BEFORE = "a1b7c3d9e2f4"  # the revision before the conversion factors


def test_the_migration_keeps_and_converts_existing_records(db, world, database_url):
    a = world.a
    cert = f.make_certificate(db, a, type="fairtrade", basis="mass_balance", number="FLO-1")
    family = f.make_family(db, a)
    plot = f.make_plot(db, family, area_ha=3.0)
    f.cover(db, cert, family)
    f.make_delivery(db, a, family, plot, kg=500, on=date(2026, 6, 1))
    lot = f.make_lot(db, a, kg=100)
    massbalance.allocate(db, lot=lot, certificate=cert, user_id=None, today=date(2026, 6, 3))
    f.make_premium_rule(db, a, per_kg_minor=165, crop="coffee")
    f.make_premium_rule(
        db, a, name="Mujeres", per_kg_minor=20, claim_type=None, woman_led_only=True
    )
    db.commit()
    assert f.raw_rows(database_url, "SELECT grams FROM mass_balance_debit") == [(80_000,)]
    db.close()

    config = alembic_config(database_url)
    command.downgrade(config, BEFORE)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        columns = {c["name"] for c in inspect(conn).get_columns("premium_rule")}
    engine.dispose()
    assert "conversion_factor" not in tables and "fixed_premium" not in tables
    assert "per_kg_minor" in columns and "unit" not in columns
    assert f.raw_rows(database_url, "SELECT grams FROM mass_balance_debit") == [(100_000,)]

    command.upgrade(config, "head")
    assert f.raw_rows(database_url, "SELECT COUNT(*) FROM conversion_factor") == [(10,)]
    assert f.raw_rows(
        database_url,
        "SELECT ppm FROM conversion_factor WHERE from_form = 'wet_beans' GROUP BY ppm",
    ) == [(375_000,)]
    rules = f.raw_rows(
        database_url, "SELECT name, rate_minor, unit, forms FROM premium_rule ORDER BY name"
    )
    assert rules == [
        (
            "Mujeres",
            20,
            "kg_delivered",
            "cherry,dry_beans,dry_parchment,green,roasted,wet_beans,wet_parchment",
        ),
        (
            "Prima Fairtrade",
            165,
            "kg_delivered",
            "cherry,dry_parchment,green,roasted,wet_parchment",
        ),
    ]
    # 100 kg of dry parchment were allocated: 80 kg of green-coffee equivalent.
    assert f.raw_rows(database_url, "SELECT grams FROM mass_balance_debit") == [(80_000,)]
