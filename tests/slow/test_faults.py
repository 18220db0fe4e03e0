"""Faults: a process killed with SIGKILL inside its transaction changes nothing, and a
backup taken while clerks keep writing restores to a consistent database.

"Inside its transaction" is checked, not hoped for. The test waits until the doomed
process has written uncommitted data, kills it, then proves the kill came before the
commit:

- SQLite: the log is emptied first (`wal_checkpoint(TRUNCATE)`); the test kills once the
  process holds the write lock and has spilled uncommitted pages into the `-wal` file,
  then reads that file as SQLite's recovery will: valid frames, none of them a commit.
- PostgreSQL: the test kills once pg_stat_activity shows the process's backend running
  the operation's writes with a transaction id, then waits for the backend to go and
  checks with pg_xact_status that this transaction id was aborted.

Then every table is compared with the snapshot taken before, and the app must work:
a new server answers, writes succeed, the interrupted action succeeds when run again
(the import, while clerks save deliveries through the server: on PostgreSQL that also
needs the import to take its locks in the clerks' order, tested on its own below).

The backup test posts deliveries through the server all along `tracker backup`, then
restores the file into a fresh database: every table, foreign keys, the audit chains,
and a delivery count between those before and after the backup, with gapless receipts.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from tests import factories as f
from tests.conftest import BACKEND, PG_ADMIN, _pg_admin_connect, _sqlalchemy_pg_url
from tests.slow.conftest import ROOT
from tracker.models import metadata
from tracker.services.vocabulary import local_today

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
FAMILIES = 60
IMPORT_ROWS = 20_000
LOT_DELIVERIES = 10_000  # lots.MAX_DELIVERIES: the biggest lot one request makes
BACKUP_DELIVERIES = 10_000
# Bytes of uncommitted pages in the emptied -wal file before the kill: well inside the
# writes (an import of IMPORT_ROWS spills megabytes before it commits).
SPILLED = 256 * 1024


# -- snapshots -------------------------------------------------------------------------


def dump_tables(database_url: str, rows: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (Alembic's too), ordered by primary key (or just the
    table names, with no rows)."""
    engine = create_engine(database_url)
    data: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            for table in sorted(inspector.get_table_names()):
                key = inspector.get_pk_constraint(table)["constrained_columns"]
                order = ", ".join(f'"{c}"' for c in key) or "1"
                query = f'SELECT * FROM "{table}" ORDER BY {order}'
                data[table] = [tuple(row) for row in conn.execute(text(query))] if rows else []
    finally:
        engine.dispose()
    assert set(metadata.tables) <= set(data)
    return data


def assert_same_tables(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> None:
    assert set(after) == set(before)
    changed = {t: (len(before[t]), len(after[t])) for t in before if before[t] != after[t]}
    assert not changed, f"tables changed by a killed transaction (rows before, after): {changed}"


def column(database_url: str, sql: str) -> list[Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).scalars())
    finally:
        engine.dispose()


def count(database_url: str, sql: str) -> int:
    [value] = column(database_url, sql)
    return int(value)


# -- processes -------------------------------------------------------------------------


def tracker_env(database_url: str, data_dir: Path) -> dict[str, str]:
    """The environment of a production `tracker` command on the test database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        TRACKER_ENV="production",
        SECRET_KEY="test-secret-for-a-real-server",
        TRACKER_DATA_DIR=str(data_dir),
        TRACKER_PUBLIC_URL="https://trace.example.org",
        TRACKER_ARGON2_PROFILE="cheapest",
    )
    return env


def tracker(database_url: str, data_dir: Path, *args: str, timeout: float = 120) -> Any:
    """Run the `tracker` command to its end."""
    return subprocess.run(
        [str(BIN / "tracker"), *args],
        cwd=ROOT,
        env=tracker_env(database_url, data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def token(server: Any, email: str) -> dict[str, str]:
    """A bearer token from the real server (its log shown if it refuses)."""
    response = requests.post(
        f"{server.base}/api/v1/auth/token",
        json={"email": email, "password": f.PASSWORD},
        timeout=60,
    )
    assert response.status_code == 201, f"{response.text}\n{server.log()[-3000:]}"
    return {"Authorization": f"Bearer {response.json()['token']}"}


# -- "inside the transaction", proved -------------------------------------------------


def _wal_checksum(buf: bytes, s1: int, s2: int, big_endian: bool) -> tuple[int, int]:
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(buf) // 4}I", buf)
    for i in range(0, len(words), 2):
        s1 = (s1 + words[i] + s2) & 0xFFFFFFFF
        s2 = (s2 + words[i + 1] + s1) & 0xFFFFFFFF
    return s1, s2


def wal_frames(wal: Path) -> tuple[int, int]:
    """(frames, commit frames) of a -wal file that SQLite's recovery would read.

    The format is SQLite's (https://sqlite.org/fileformat.html#the_write_ahead_log): a
    32-byte header, then frames of a 24-byte header and a page; a frame counts while its
    salts match the header's and its cumulative checksum is right; a commit frame has a
    non-zero database size. Recovery replays up to the last commit frame only.
    """
    data = wal.read_bytes() if wal.exists() else b""
    if len(data) < 32:
        return 0, 0
    magic, _version, page_size, _seq, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:32])
    assert magic in (0x377F0682, 0x377F0683), "not a SQLite WAL file"
    big = bool(magic & 1)
    sums = _wal_checksum(data[:24], 0, 0, big)
    assert sums == (c1, c2), "the WAL header is damaged"
    frames = commits = 0
    offset = 32
    while offset + 24 + page_size <= len(data):
        _page, size, f1, f2, k1, k2 = struct.unpack(">6I", data[offset : offset + 24])
        if (f1, f2) != (salt1, salt2):
            break
        sums = _wal_checksum(data[offset : offset + 8], *sums, big)
        sums = _wal_checksum(data[offset + 24 : offset + 24 + page_size], *sums, big)
        if sums != (k1, k2):
            break
        frames += 1
        commits += size != 0
        offset += 24 + page_size
    return frames, commits


class SqliteWatch:
    """Sees a writer inside its transaction: the write lock is taken (BEGIN IMMEDIATE
    fails at once) and uncommitted pages have spilled into the emptied -wal file.

    The probe connection never stays open, so after the kill the first to open the
    database again (the snapshot, then the app) finds the crashed writer's -wal and
    -shm files and recovers from them, as after a power cut.
    """

    def __init__(self, database_url: str) -> None:
        self.path = Path(make_url(database_url).database or "")
        self.wal = self.path.with_name(self.path.name + "-wal")
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0 and (not self.wal.exists() or self.wal.stat().st_size == 0)

    def inside(self) -> bool:
        if not self.wal.exists() or self.wal.stat().st_size < SPILLED:
            return False
        with closing(sqlite3.connect(self.path, timeout=0, isolation_level=None)) as probe:
            try:
                probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                assert "locked" in str(error)
                return True
            probe.execute("ROLLBACK")
        return False

    def after_kill(self) -> str:
        """Prove the killed transaction had written and had not committed."""
        frames, commits = wal_frames(self.wal)
        assert frames > 0, "the -wal file holds no frame of the killed transaction"
        assert commits == 0, "the killed transaction had committed: the kill came too late"
        assert self.path.with_name(self.path.name + "-shm").exists()
        return f"{frames} uncommitted WAL frames"


class PostgresWatch:
    """Sees a backend of the database inside a transaction that has written (it has a
    transaction id) and is running one of the operation's statements."""

    def __init__(self, database_url: str, statement: str) -> None:
        import psycopg

        self.dbname = make_url(database_url).database
        self.statement = statement
        self.conn = psycopg.connect(PG_ADMIN, autocommit=True)
        self.xid: str | None = None
        self.pid: int | None = None

    def inside(self) -> bool:
        row = self.conn.execute(
            "SELECT pid, backend_xid::text FROM pg_stat_activity"
            " WHERE datname = %s AND backend_xid IS NOT NULL"
            " AND state IN ('active', 'idle in transaction') AND query ILIKE %s",
            (self.dbname, self.statement + "%"),
        ).fetchone()
        if row is None:
            return False
        self.pid, self.xid = row
        return True

    def after_kill(self) -> str:
        """Wait for the orphaned backend to end, then check its transaction aborted."""
        assert self.xid is not None
        deadline = time.monotonic() + 30
        while self.conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (self.pid,)
        ).fetchone():
            assert time.monotonic() < deadline, "the killed client's backend lingers"
            time.sleep(0.05)
        # backend_xid is 32 bits; pg_xact_status wants the 64-bit id (epoch, xid).
        (now,) = self.conn.execute(
            "SELECT pg_snapshot_xmax(pg_current_snapshot())::text"
        ).fetchone()
        full = (int(now) >> 32 << 32) | int(self.xid)
        if full > int(now):
            full -= 1 << 32
        (status,) = self.conn.execute(
            "SELECT pg_xact_status(%s::text::xid8)", (str(full),)
        ).fetchone()
        self.conn.close()
        assert status == "aborted", f"the killed transaction is {status}"
        return f"transaction {full} aborted"


def watch(database_url: str, statement: str) -> Any:
    if BACKEND == "sqlite":
        return SqliteWatch(database_url)
    return PostgresWatch(database_url, statement)


def kill_inside(
    watcher: Any, alive: Callable[[], bool], kill: Callable[[], None], timeout: float = 60
) -> str:
    """Poll until the watched process is inside its transaction, SIGKILL it, prove it."""
    deadline = time.monotonic() + timeout
    while not watcher.inside():
        assert alive(), "the process ended before it was seen inside its transaction"
        assert time.monotonic() < deadline, "never saw the process inside its transaction"
        time.sleep(0.005)
    kill()
    return watcher.after_kill()


# -- data ------------------------------------------------------------------------------


def members(db: Any, coop: Any, n: int = FAMILIES) -> list[tuple[str, str, str, str]]:
    """n families with one big coffee plot each: (member code, plot name, family id, plot id)."""
    community = f.make_community(db, coop)
    made = []
    for _ in range(n):
        family = f.make_family(db, coop, community=community)
        plot = f.make_plot(db, family, area_ha=500, expected_yield_kg_ha=5000)
        made.append((family.member_code, plot.name, str(family.id), str(plot.id)))
    db.commit()
    return made


def deliveries_csv(people: list[tuple[str, str, str, str]], rows: int, tag: str) -> bytes:
    """A deliveries file in the samples' format, every row distinct (paper receipt)."""
    lines = [
        "member_code,plot,crop,form,delivered_on,gross_kg,tare_kg,moisture_pct,"
        "grade,price_per_kg,premium_per_kg,paper_receipt"
    ]
    start = local_today() - timedelta(days=200)
    for n in range(rows):
        code, plot, _family, _plot = people[n % len(people)]
        day = start + timedelta(days=n % 180)
        lines.append(
            f"{code},{plot},coffee,dry_parchment,{day.isoformat()},{30 + n % 40}.{n % 10},"
            f"0.5,11.5,A,9.20,0.40,{tag}-{n}"
        )
    return ("\n".join(lines) + "\n").encode()


def import_file(runner: Any, path: Path, people: Any, rows: int, tag: str, code: str) -> None:
    """Load deliveries quickly, in this process (arranging data, not under test)."""
    path.write_bytes(deliveries_csv(people, rows, tag))
    result = runner.invoke(args=["import", "deliveries", str(path), "--cooperative", code])
    assert result.exit_code == 0, result.output


class Clerks:
    """Clerks posting deliveries through the server, one after another, until stopped."""

    def __init__(self, server: Any, coop_code: str, people: Any, threads: int = 2) -> None:
        self.url = f"{server.base}/api/v1/cooperatives/{coop_code}/deliveries"
        self.headers = token(server, "clerk.a@example.org")
        self.people = people
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._work, args=(i,)) for i in range(threads)]

    def _work(self, index: int) -> None:
        with requests.Session() as http:
            n = 0
            while not self.done.is_set():
                _code, _plot, family_id, plot_id = self.people[n % len(self.people)]
                response = http.post(
                    self.url,
                    json={
                        "family_id": family_id,
                        "plot_id": plot_id,
                        "crop": "coffee",
                        "form": "dry_parchment",
                        "delivered_on": local_today().isoformat(),
                        "gross_kg": 40 + n % 30,
                        "tare_kg": 0.5,
                        "price_per_kg": "9.20",
                    },
                    headers={**self.headers, "Idempotency-Key": f"clerk{index}-{n}"},
                    timeout=60,
                )
                with self.lock:
                    self.statuses[response.status_code] += 1
                    if response.status_code != 201:
                        self.errors.append(response.text[:500])
                n += 1

    @property
    def posted(self) -> int:
        with self.lock:
            return self.statuses[201]

    def __enter__(self) -> Clerks:
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + 30
        while self.posted < 5:  # they are writing before the test goes on
            assert not self.errors, self.errors
            assert time.monotonic() < deadline, "the clerks could not post"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=60)


def receipts_are_gapless(database_url: str) -> None:
    """Receipt numbers 1..n per collection centre, and each centre's counter at n."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            for centre_id, last in conn.execute(
                text("SELECT id, last_receipt_seq FROM collection_centre")
            ):
                seqs = conn.execute(
                    text("SELECT receipt_seq FROM delivery WHERE centre_id = :c ORDER BY 1"),
                    {"c": centre_id},
                ).scalars()
                seqs = list(seqs)
                assert seqs == list(range(1, len(seqs) + 1)), "receipts with gaps or repeats"
                assert last == len(seqs)
    finally:
        engine.dispose()


# -- the tests -------------------------------------------------------------------------


def test_import_killed_inside_its_transaction_changes_nothing(
    db, world, database_url, tmp_path, serve, runner
):
    people = members(db, world.a)
    db.close()
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    csv_file = tmp_path / "entregas.csv"
    csv_file.write_bytes(deliveries_csv(people, IMPORT_ROWS, "R"))
    command = [
        str(BIN / "tracker"),
        *("import", "deliveries", str(csv_file), "--cooperative", world.a.code),
    ]
    before = dump_tables(database_url)
    watcher = watch(database_url, "INSERT INTO delivery")
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=tracker_env(database_url, data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    proof = kill_inside(
        watcher,
        alive=lambda: process.poll() is None,
        kill=lambda: process.send_signal(signal.SIGKILL),
    )
    output, _ = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert b"Imported" not in output
    print(f"\nimport killed {time.monotonic() - started:.1f} s after its start: {proof}")
    assert_same_tables(before, dump_tables(database_url))

    # The app works: a server takes deliveries while the same file is imported again.
    server = serve(workers=1, threads=4)
    with Clerks(server, world.a.code, people) as clerks:
        result = subprocess.run(
            command,
            cwd=ROOT,
            env=tracker_env(database_url, data_dir),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Imported {IMPORT_ROWS} deliveries" in result.stdout
    log = server.log()
    assert clerks.statuses == Counter({201: clerks.posted}), (clerks.errors[:3], log[-5000:])
    assert "database is locked" not in log
    assert count(database_url, "SELECT count(*) FROM delivery") == IMPORT_ROWS + clerks.posted
    receipts_are_gapless(database_url)
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLite has one writer at a time")
def test_import_queues_behind_a_clerk_instead_of_deadlocking(
    db, world, database_url, tmp_path, runner
):
    """Saving a delivery locks the centre's receipt counter, then the audit chain. An
    import that arrives meanwhile must wait for the centre before it takes the chain,
    or the two deadlock (it used to flush its batch's audit entry first)."""
    import psycopg

    people = members(db, world.a, 5)
    db.close()
    csv_file = tmp_path / "few.csv"
    csv_file.write_bytes(deliveries_csv(people, 50, "Q"))
    libpq = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(libpq) as clerk, psycopg.connect(libpq, autocommit=True) as look:
        # The clerk's save, halfway: the centre is locked, the chain not yet.
        clerk.execute(
            "UPDATE collection_centre SET last_receipt_seq = last_receipt_seq"
            " WHERE cooperative_id = %s",
            (world.a.id,),
        )
        outcome: list[Any] = []
        importing = threading.Thread(
            target=lambda: outcome.append(
                runner.invoke(
                    args=["import", "deliveries", str(csv_file), "--cooperative", world.a.code]
                )
            )
        )
        importing.start()
        deadline = time.monotonic() + 60
        while not look.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (make_url(database_url).database,),
        ).fetchone():
            assert importing.is_alive() and time.monotonic() < deadline, outcome
            time.sleep(0.02)
        # The import waits; the clerk goes on to the chain (deadlock_timeout is 1 s).
        clerk.execute(
            "SELECT seq FROM audit_head WHERE chain = %s FOR UPDATE", (world.a.id.hex,)
        ).fetchone()
        clerk.commit()
        importing.join(timeout=60)
    assert outcome and outcome[0].exit_code == 0, outcome and outcome[0].output
    assert count(database_url, "SELECT count(*) FROM delivery") == 50


def test_lot_request_killed_inside_its_transaction_changes_nothing(
    db, world, database_url, tmp_path, serve, runner
):
    people = members(db, world.a)
    import_file(runner, tmp_path / "lot.csv", people, LOT_DELIVERIES, "L", world.a.code)
    db.close()
    ids = [str(uuid.UUID(str(i))) for i in column(database_url, "SELECT id FROM delivery")]
    server = serve(workers=1, threads=4)
    headers = token(server, "manager.a@example.org")
    url = f"{server.base}/api/v1/cooperatives/{world.a.code}/lots"
    body = {
        "crop": "coffee",
        "form": "dry_parchment",
        "deliveries": [{"delivery_id": i} for i in ids],
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    before = dump_tables(database_url)
    watcher = watch(database_url, "UPDATE delivery")
    outcome: list[Any] = []

    def create() -> None:
        try:
            outcome.append(requests.post(url, json=body, headers={**headers, **key}, timeout=120))
        except requests.ConnectionError as error:
            outcome.append(error)

    request = threading.Thread(target=create)
    started = time.monotonic()
    request.start()
    proof = kill_inside(watcher, alive=request.is_alive, kill=server.kill)
    request.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], requests.ConnectionError), outcome
    print(f"\nlot request killed {time.monotonic() - started:.1f} s after its start: {proof}")
    assert_same_tables(before, dump_tables(database_url))

    # A new server works. The killed request's Idempotency-Key was rolled back with the
    # rest: the key is free again (a kept key would refuse a different body with it).
    server = serve(workers=1, threads=4)
    url = f"{server.base}/api/v1/cooperatives/{world.a.code}/lots"
    body["deliveries"] = body["deliveries"][:100]
    response = requests.post(url, json=body, headers={**headers, **key}, timeout=120)
    assert response.status_code == 201, response.text
    assert "Idempotent-Replayed" not in response.headers
    assert "database is locked" not in server.log()
    assert count(database_url, "SELECT count(*) FROM lot") == 1
    assert count(database_url, "SELECT count(*) FROM lot_input") == 100
    assert count(database_url, "SELECT count(*) FROM delivery WHERE lotted_g = net_g") == 100


def test_backup_while_clerks_write_restores_consistent(
    db, world, database_url, tmp_path, serve, runner
):
    people = members(db, world.a)
    # Enough rows that the database spans thousands of pages, as a real one does.
    import_file(runner, tmp_path / "old.csv", people, BACKUP_DELIVERIES, "B", world.a.code)
    db.close()
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    server = serve(workers=1, threads=4)
    target = tmp_path / "backups" / "tracker.backup"
    with Clerks(server, world.a.code, people):
        first = count(database_url, "SELECT count(*) FROM delivery")
        started = time.monotonic()
        result = tracker(database_url, data_dir, "backup", str(target), timeout=90)
        took = time.monotonic() - started
        last = count(database_url, "SELECT count(*) FROM delivery")
    assert result.returncode == 0, result.stdout + result.stderr
    assert last > first, "the clerks did not write during the backup"
    print(f"\nbackup took {took:.1f} s while {last - first} deliveries were posted")

    restored = fresh_database(tmp_path)
    try:
        with cli_on(restored, tmp_path / "restored") as restored_cli:
            back = restored_cli.invoke(args=["restore", str(target), "--yes"])
            assert back.exit_code == 0, back.output
            verify = restored_cli.invoke(args=["audit", "verify"])
            assert verify.exit_code == 0, verify.output
        copy = dump_tables(restored)  # every table of the app, and Alembic's
        assert set(copy) == set(dump_tables(database_url, rows=False))
        foreign_keys_hold(restored)
        copied = len(copy["delivery"])
        assert first <= copied <= last
        receipts_are_gapless(restored)
        print(f"restored {copied} deliveries ({first} before the backup, {last} after)")
    finally:
        drop_database(restored)


@contextmanager
def cli_on(database_url: str, data_dir: Path) -> Iterator[Any]:
    """The `tracker` commands, run in this process, on another database."""
    from tracker import create_app
    from tracker.db import engine_for

    application = create_app(
        {
            "ENV_NAME": "testing",
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "PUBLIC_URL": "https://trace.example.org",
        }
    )
    try:
        yield application.test_cli_runner()
    finally:
        engine_for(application).dispose()


def fresh_database(tmp_path: Path) -> str:
    """An empty database to restore into: a new file, or a new PostgreSQL database."""
    if BACKEND == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.db'}"
    name = f"tracker_r_{uuid.uuid4().hex[:12]}"
    with _pg_admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _sqlalchemy_pg_url(name)


def drop_database(database_url: str) -> None:
    if BACKEND != "sqlite":
        with _pg_admin_connect() as conn:
            conn.execute(
                f'DROP DATABASE IF EXISTS "{make_url(database_url).database}" WITH (FORCE)'
            )


def foreign_keys_hold(database_url: str) -> None:
    """Every foreign key value has its row (checked by query, whatever the backend enforces)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            checked = 0
            for table in inspector.get_table_names():
                for fk in inspector.get_foreign_keys(table):
                    here = fk["constrained_columns"]
                    there = fk["referred_columns"]
                    join = " AND ".join(f'p."{b}" = c."{a}"' for a, b in zip(here, there))
                    present = " AND ".join(f'c."{a}" IS NOT NULL' for a in here)
                    orphans = conn.execute(
                        text(
                            f'SELECT count(*) FROM "{table}" c WHERE {present} AND NOT EXISTS '
                            f'(SELECT 1 FROM "{fk["referred_table"]}" p WHERE {join})'
                        )
                    ).scalar_one()
                    assert orphans == 0, f"{table}.{here} has {orphans} rows without their row"
                    checked += 1
            assert checked > 10
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    finally:
        engine.dispose()
