"""Revision a1b7c3d9e2f4 on a database with data: a GTIN two cooperatives already use is
reported and the upgrade refuses to run over it, until the operator names its owner;
shipped lots come out published, the rest not."""

from __future__ import annotations

import uuid

import click
import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from tests import factories as f
from tracker.cli import alembic_config
from tracker.services import lots

BEFORE = "e5a1c0d3b7f2"  # the revision before the GTIN owners
GTIN = f.GREEN_GTIN


def _uuid(connection, value):
    """A UUID as this database stores it in a raw statement."""
    return value.hex if connection.dialect.name == "sqlite" else value


@pytest.fixture
def old_database(app, db, world, database_url):
    """Cooperative A's green coffee (one lot shipped, one not) at the previous revision,
    where cooperative B has since given A's GTIN to a product and a lot of its own."""
    from tracker.db import engine_for

    lots.set_product(db, coop=world.a, crop="coffee", form="green", name="Verde", gtin=GTIN)
    shipped = f.make_lot(db, world.a, kg=30, form="green")
    kept = f.make_lot(db, world.a, kg=20, form="green")
    f.make_shipment(db, world.a, [shipped])
    intruder = f.make_lot(db, world.b, crop="cacao", kg=80)
    ids = {
        "a": world.a.id,
        "b": world.b.id,
        "shipped": shipped.id,
        "kept": kept.id,
        "intruder": intruder.id,
    }
    db.commit()
    db.close()
    engine_for(app).dispose()
    config = alembic_config(database_url)
    command.downgrade(config, BEFORE)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO product (id, created_at, cooperative_id, crop, form, name, gtin) "
                "VALUES (:id, CURRENT_TIMESTAMP, :coop, 'cacao', 'dry_beans', 'Grano', :gtin)"
            ),
            {"id": _uuid(conn, uuid.uuid4()), "coop": _uuid(conn, ids["b"]), "gtin": GTIN},
        )
        conn.execute(
            text("UPDATE lot SET gtin = :gtin WHERE id = :id"),
            {"gtin": GTIN, "id": _uuid(conn, ids["intruder"])},
        )
    yield config, engine, ids
    engine.dispose()


def _column(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_a_shared_gtin_stops_the_upgrade_and_names_the_cooperatives(old_database, monkeypatch):
    config, engine, _ids = old_database
    monkeypatch.delenv("TRACKER_GTIN_OWNERS", raising=False)
    with pytest.raises(click.ClickException) as caught:
        command.upgrade(config, "head")
    report = caught.value.message
    assert f"GTIN {GTIN} is used by COOPA (1 product, 2 lots), COOPB (1 product, 1 lots)" in report
    assert f"TRACKER_GTIN_OWNERS={GTIN}=CODE" in report and "Nothing was changed" in report
    with engine.connect() as conn:  # still the previous revision, untouched
        assert "gtin_owner" not in inspect(conn).get_table_names()
        assert "published_at" not in {c["name"] for c in inspect(conn).get_columns("lot")}
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == BEFORE


def test_naming_the_owner_settles_it_and_shipped_lots_are_published(old_database, monkeypatch):
    config, engine, ids = old_database
    monkeypatch.setenv("TRACKER_GTIN_OWNERS", f"{GTIN}=COOPA")
    command.upgrade(config, "head")
    command.check(config)
    with engine.connect() as conn:
        u = lambda key: _uuid(conn, ids[key])  # noqa: E731
        owners = conn.execute(text("SELECT gtin, cooperative_id FROM gtin_owner")).all()
        assert [(g, str(c).replace("-", "")) for g, c in owners] == [(GTIN, ids["a"].hex)]
        b_products = conn.execute(
            text("SELECT gtin FROM product WHERE cooperative_id = :b"), {"b": u("b")}
        ).all()
        assert b_products == [(None,)]
        lot_gtin = "SELECT gtin FROM lot WHERE id = :id"
        assert conn.execute(text(lot_gtin), {"id": u("intruder")}).scalar() is None
        assert conn.execute(text(lot_gtin), {"id": u("kept")}).scalar() == GTIN
        published = "SELECT published_at FROM lot WHERE id = :id"
        assert conn.execute(text(published), {"id": u("shipped")}).scalar() is not None
        assert conn.execute(text(published), {"id": u("kept")}).scalar() is None
    command.downgrade(config, BEFORE)
    command.upgrade(config, "head")
