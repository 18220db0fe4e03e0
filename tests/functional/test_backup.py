"""tracker backup / tracker restore round-trip every table, on SQLite and PostgreSQL."""

import sqlite3
import threading
import time

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.factories import make_community, make_family
from tracker.models import metadata
from tracker.services import backup


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


def test_backup_then_restore_brings_back_every_table(
    app, db, world, runner, tmp_path, database_url
):
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


def test_restore_refuses_a_truncated_backup_in_one_line_and_changes_nothing(
    app, db, world, runner, tmp_path, database_url
):
    """A backup cut short (a full disk, a copy stopped half-way) used to end in a Python
    traceback on SQLite ("database disk image is malformed"): now one clear line, exit
    status 1, and the database as it was, on SQLite and PostgreSQL."""
    for n in range(40):
        make_family(db, world.a, head_name=f"Familia {n}")
    db.commit()
    target = tmp_path / "backup.bin"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    make_community(db, world.a, name="Después de la copia")  # so a restore would show
    db.commit()
    db.close()
    before = _dump(database_url)
    data = target.read_bytes()
    for keep in (len(data) // 2, len(data) - 512, 4096):
        cut = tmp_path / f"cut-{keep}.bin"
        cut.write_bytes(data[:keep])
        result = runner.invoke(args=["restore", str(cut), "--yes"])
        assert result.exit_code == 1, (keep, result.output)
        assert isinstance(result.exception, SystemExit), (keep, result.exception)
        assert result.output.count("\n") == 1, result.output
        assert f"{cut} is not a complete backup (" in result.output, result.output
        assert result.output.endswith("The database was not changed.\n")
        assert _dump(database_url) == before, keep
    if database_url.startswith("sqlite"):
        # Whole but damaged (pages overwritten), or another program's SQLite file.
        damaged = tmp_path / "damaged.bin"
        damaged.write_bytes(data[:4096] + b"\xff" * 16384 + data[4096 + 16384 :])
        other = tmp_path / "other.db"
        with sqlite3.connect(other) as conn:
            conn.execute("CREATE TABLE notes (text TEXT)")
        conn.close()
        for path, message in (
            (damaged, "is not a complete backup ("),
            (other, "is not a backup of the tracker's database"),
        ):
            result = runner.invoke(args=["restore", str(path), "--yes"])
            assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
            assert message in result.output and result.output.count("\n") == 1
            assert _dump(database_url) == before


@pytest.mark.sqlite_only
def test_sqlite_backup_finishes_while_another_connection_keeps_committing(tmp_path):
    """Copying a few pages per step restarts from the first page whenever another
    connection commits between two steps, so under steady writes it never finished.
    The backup is one step: one read snapshot, which WAL lets writers run beside."""
    live = tmp_path / "live.db"
    conn = sqlite3.connect(live, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t (v) VALUES (zeroblob(3000))", [()] * 8000)  # ~6,000 pages
    conn.execute("COMMIT")
    conn.close()
    stop = threading.Event()
    commits = []

    def writer():
        other = sqlite3.connect(live, isolation_level=None, timeout=30)
        deadline = time.monotonic() + 20
        while not stop.is_set() and time.monotonic() < deadline:
            other.execute("INSERT INTO t (v) VALUES (x'00')")
            commits.append(1)
            time.sleep(0.002)
        other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(commits) < 10:
            time.sleep(0.01)
        first = 8000 + len(commits)
        backup.backup(f"sqlite:///{live}", tmp_path / "copy.db")
        last = 8000 + len(commits)
        assert thread.is_alive(), "the backup only finished once the writes stopped"
    finally:
        stop.set()
        thread.join()
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert first <= copy.execute("SELECT count(*) FROM t").fetchone()[0] <= last
    finally:
        copy.close()


def test_backup_of_a_missing_sqlite_file_fails_instead_of_copying_nothing(tmp_path):
    missing = tmp_path / "nowhere.db"
    with pytest.raises(backup.BackupError, match="no SQLite database"):
        backup.backup(f"sqlite:///{missing}", tmp_path / "copy.db")
    assert not missing.exists()
    assert not (tmp_path / "copy.db").exists()


def test_pg_tools_get_every_part_of_the_url():
    """pg_dump and pg_restore connect as the app does: a socket directory or sslmode in the
    URL's query, and a database name with a space or a quote, all reach libpq."""
    from psycopg.conninfo import conninfo_to_dict

    dsn, env = backup._libpq(
        "postgresql+psycopg://tracker:s3cr%27t@/trace%20db?host=/run/postgresql&sslmode=require"
    )
    assert conninfo_to_dict(dsn) == {
        "dbname": "trace db",
        "host": "/run/postgresql",
        "sslmode": "require",
        "user": "tracker",
    }
    assert env["PGPASSWORD"] == "s3cr't"
    dsn, _env = backup._libpq("postgresql+psycopg://postgres@127.0.0.1:5432/it's")
    assert conninfo_to_dict(dsn) == {
        "dbname": "it's",
        "host": "127.0.0.1",
        "port": "5432",
        "user": "postgres",
    }
