"""Upgrading from the previous release: a database made by release 0.1's migration and
filled with its demo (tests/data/release-0.1.json.gz) upgrades to head with its data,
and `tracker init` adopts its records into the audit log so they are proven from then on."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import MetaData, create_engine, func, select

from tracker.cli import alembic_config

pytestmark = pytest.mark.slow
FIXTURE = Path(__file__).resolve().parents[1] / "data" / "release-0.1.json.gz"


def _coerce(value, column):
    """SQLite's stored text back to Python values for the reflected column type."""
    if value is None:
        return value
        return None
    kind = type(column.type).__name__.upper()
    if "UUID" in kind or (kind in ("CHAR", "NCHAR") and getattr(column.type, "length", None) == 32):
        return uuid.UUID(value)
    if "TIMESTAMP" in kind or "DATETIME" in kind:
        stamp = dt.datetime.fromisoformat(value)
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    if kind == "DATE":
        return dt.date.fromisoformat(value)
    if kind == "BOOLEAN":
        return bool(value)
    return value


def test_release_0_1_database_upgrades_to_head_with_its_data(database_url, runner):
    release = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    command.upgrade(config, release["revision"])
    engine = create_engine(database_url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET CONSTRAINTS ALL DEFERRED")
        for table in meta.sorted_tables:
            rows = release["tables"].get(table.name) or []
            if not rows:
                continue
            if (
                conn.dialect.name == "sqlite"
            ):  # the fixture holds SQLite's own storage: insert it raw
                columns = list(rows[0])
                sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
                conn.exec_driver_sql(sql, [tuple(row[c] for c in columns) for row in rows])
            else:
                conn.execute(
                    table.insert(),
                    [{k: _coerce(v, table.c[k]) for k, v in row.items()} for row in rows],
                )
    command.upgrade(config, "head")
    upgraded = MetaData()
    upgraded.reflect(engine)
    with engine.connect() as conn:
        for name, rows in release["tables"].items():
            count = conn.execute(
                select(func.count()).select_from(upgraded.tables[name])
            ).scalar_one()
            assert count >= len(rows), f"{name}: {count} rows after the upgrade, {len(rows)} before"
    engine.dispose()
    command.check(config)
    # Release 0.1 logged imports and the demo as one summary entry each: its records are
    # not in the log until adopted, which `tracker init` does once after the upgrade.
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "tracker audit baseline" in result.output
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0 and "records adopted into the audit log" in result.output
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    # From then on the records are proven: an edit behind the app's back shows.
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE delivery SET amount_minor = amount_minor + 1")
    engine.dispose()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "(amount_minor: the log says" in result.output
    assert "nothing to adopt" in runner.invoke(args=["audit", "baseline"]).output
