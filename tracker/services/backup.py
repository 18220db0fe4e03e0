"""Consistent online backups and restores: SQLite's backup API, pg_dump/pg_restore.

A SQLite backup is itself a SQLite database, copied page by page through SQLite's
online backup API, so it is consistent even while the app is writing. A PostgreSQL
backup is a `pg_dump --format=custom` archive (a snapshot taken in one transaction).

Either is the whole backup: uploaded documents are in the database (file_content), and
TRACKER_DATA_DIR holds only caches each host rebuilds (the provenance sheets). After a
restore, empty every host's DATA_DIR/cache before starting the app again: a restored
database counts its public versions again from the backup's, so a sheet cached after
the backup was taken could carry a version the restored database reaches with other
facts.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why."""


def _sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _conninfo_value(value: object) -> str:
    """A libpq connection-string value, quoted (spaces, quotes and backslashes survive)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore, password passed in the environment."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    params: dict[str, object] = {"dbname": url.database}
    # Query parameters are libpq's too (?host=/run/postgresql for a socket, ?sslmode=...).
    for name, value in url.query.items():
        params[name] = value[-1] if isinstance(value, tuple) else value
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = url.port
    if url.username:
        params["user"] = url.username
    return " ".join(f"{k}={_conninfo_value(v)}" for k, v in params.items() if v), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    return path


def backup(database_url: str, target: Path) -> None:
    """Write a consistent copy of the live database to `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    if make_url(database_url).get_backend_name() == "sqlite":
        path = _sqlite_path(database_url)
        if not path.is_file():  # connecting would create an empty database and back it up
            raise BackupError(f"no SQLite database at {path}")
        source = sqlite3.connect(path, timeout=30)
        destination = sqlite3.connect(partial)
        try:
            with destination:
                # All pages in one step, so in one read transaction: a consistent snapshot
                # that, in WAL mode, never blocks the app's writers. Copying in several
                # steps restarts from the first page whenever another connection commits
                # between two steps, so under steady writes it would never finish.
                source.backup(destination, pages=-1)
            destination.execute("PRAGMA journal_mode=DELETE")
        finally:
            destination.close()
            source.close()
    else:
        dsn, env = _libpq(database_url)
        result = subprocess.run(  # noqa: S603 - fixed argv, URL from our own settings
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial), dsn],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    partial.replace(target)  # only a complete backup ever has the final name


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with the backup in `source` (stop the app first)."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    if make_url(database_url).get_backend_name() == "sqlite":
        with open(source, "rb") as handle:
            header = handle.read(100)
        if header[:16] != b"SQLite format 3\x00":
            raise BackupError(f"{source} is not a SQLite backup")
        _check_sqlite_size(header, source)
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            _check_sqlite_backup(backup_db, source)
            live = sqlite3.connect(_sqlite_path(database_url), timeout=30)
            try:
                # One step: a failure half-way rolls the live database back untouched.
                backup_db.backup(live)
            finally:
                live.close()
        except sqlite3.DatabaseError as error:
            raise BackupError(_incomplete(source, str(error))) from None
        finally:
            backup_db.close()
        return
    dsn, env = _libpq(database_url)
    result = subprocess.run(  # noqa: S603 - fixed argv, URL from our own settings
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            dsn,
            str(source),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        # --single-transaction: whatever failed, nothing of the backup was kept.
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        detail = " ".join((errors or [result.stderr.strip()])[0].split())
        if any(sign in detail for sign in _DAMAGED_ARCHIVE):
            raise BackupError(_incomplete(source, detail))
        raise BackupError(f"pg_restore failed ({detail}). The database was not changed.")


# What pg_restore says of an archive cut short or damaged (not of a refused connection).
_DAMAGED_ARCHIVE = ("end of file", "could not read", "corrupt", "magic string", "unexpected")


def _check_sqlite_size(header: bytes, source: Path) -> None:
    """Refuse a file shorter than its header says (https://sqlite.org/fileformat.html:
    the page size at offset 16, the page count at 28, valid when the change counter at
    24 equals the number at 92): SQLite would read the missing pages as empty."""
    if len(header) < 100:
        raise BackupError(_incomplete(source, f"{len(header)} bytes"))
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and pages:
        expected = pages * page_size
        actual = source.stat().st_size
        if actual < expected:
            raise BackupError(_incomplete(source, f"{actual:,} of {expected:,} bytes"))


def _check_sqlite_backup(backup_db: sqlite3.Connection, source: Path) -> None:
    """Refuse a SQLite file that is cut short or damaged, or is not the tracker's, before
    the live database is touched (a truncated copy reads as "malformed" half-way)."""
    problems = [row[0] for row in backup_db.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise BackupError(_incomplete(source, problems[0]))
    tables = {row[0] for row in backup_db.execute("SELECT name FROM sqlite_master")}
    if "alembic_version" not in tables:
        raise BackupError(f"{source} is not a backup of the tracker's database")


def _incomplete(source: Path, detail: str) -> str:
    """One line: the file is refused, why, and that nothing changed."""
    detail = " ".join(detail.split())
    return (
        f"{source} is not a complete backup ({detail}): it was cut short or damaged. "
        "The database was not changed."
    )
