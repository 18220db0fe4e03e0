"""tracker backup / tracker restore round-trip every table, on SQLite and PostgreSQL."""

from sqlalchemy import create_engine, inspect, text

from tests.factories import make_community, make_family
from tracker.models import metadata


def _dump(database_url):
    """Every row of every table, as sorted tuples of strings."""
    engine = create_engine(database_url)
    data = {}
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            data[table] = sorted(tuple(str(v) for v in row) for row in rows)
    engine.dispose()
    return data


def test_backup_then_restore_brings_back_every_table(app, db, world, runner, tmp_path, database_url):
    family = make_family(db, world.a, head_name="Rosa Quispe Tananta")
    db.commit()
    before = _dump(database_url)
    target = tmp_path / "backup.bin"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    # Change things after the backup: an update, an insert.
    family.head_name = "Changed"
    db.add(family)
    make_community(db, world.a, name="Nueva comunidad")
    db.commit()
    db.close()
    assert _dump(database_url) != before
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    after = _dump(database_url)
    assert set(metadata.tables) <= set(after)
    assert after == before
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_restore_refuses_a_file_that_is_not_a_backup(runner, tmp_path, database_url):
    bogus = tmp_path / "not-a-backup.bin"
    bogus.write_bytes(b"hello")
    result = runner.invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code == 1
    assert "not" in result.output.lower()
