"""A file is imported once (issue 12.1): the same file again is refused, naming the first
import, whatever the timing: one after the other, two started together, or a re-run
while the first is still committing (a client killed during its COMMIT).

The races are made deterministic as in tests/slow/test_faults.py's lock-order test: the
first import runs in the test's own session and stays uncommitted (its locks held, as
while PostgreSQL commits it); the second starts, and once pg_stat_activity shows it
waiting on a lock, the first commits.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from tests.conftest import BACKEND
from tests.factories import centre_of, intake_sample, make_centre, make_sample_members
from tracker.models import Delivery, Family, ImportBatch, Plot
from tracker.services import delivery_import, imports

DELIVERIES = intake_sample("deliveries.csv")  # 40 rows
FAMILIES = intake_sample("socios-excel-es.csv")  # 12 families
PLOTS = (
    "codigo_socio,nombre,cultivo,area_ha\n"
    + "".join(f"CAZ-{1000 + n},Parcela 3,café,1.5\n" for n in range(12))
).encode()
REFUSAL = "This file was already imported on"


def _count(db: Any, model: Any) -> int:
    found = db.exec(select(func.count()).select_from(model)).one()
    db.commit()
    return found


def _batches(db: Any, kind: str) -> list[ImportBatch]:
    found = list(db.exec(select(ImportBatch).where(ImportBatch.kind == kind)).all())
    db.commit()
    return found


@pytest.fixture
def members(db: Any, world: Any) -> Any:
    """The samples' 12 families with plots Parcela 1 and 2 (committed)."""
    make_sample_members(db, world.a)
    db.commit()
    return world


def test_the_same_deliveries_file_again_is_refused_naming_the_first_import(
    members, db, runner, client, api_token, auth, tmp_path
):
    path = tmp_path / "mid.csv"
    path.write_bytes(DELIVERIES)
    first = runner.invoke(args=["import", "deliveries", str(path), "--cooperative", "COOPA"])
    assert first.exit_code == 0, first.output
    # Re-running "the action again" (as after a crash): refused, the first import named.
    again = runner.invoke(args=["import", "deliveries", str(path), "--cooperative", "COOPA"])
    assert again.exit_code == 1
    assert REFUSAL in again.output and "by the tracker command (40 rows)" in again.output
    # The same bytes under another name, through the API and the web upload: refused.
    clerk = {**api_token("clerk.a@example.org"), "Accept-Language": "en"}
    url = "/api/v1/cooperatives/COOPA/deliveries/import"
    answer = client.post(url, data=DELIVERIES, headers={**clerk, "Content-Type": "text/csv"})
    assert answer.status_code == 409
    body = answer.get_json()
    assert body["message"].startswith(REFUSAL) and body["errors"] == {"file": [body["message"]]}
    auth.login("clerk.a@example.org")
    page = client.post(
        "/c/COOPA/deliveries/import",
        data={"file": (io.BytesIO(DELIVERIES), "otra.csv"), "skip_duplicates": "on"},
    )
    assert page.status_code == 409
    assert "Este archivo ya se importó el" in page.get_data(as_text=True)
    assert _count(db, Delivery) == 40 and len(_batches(db, "deliveries")) == 1


def test_the_same_key_twice_still_replays_the_first_answer(members, db, client, api_token):
    clerk = {**api_token("clerk.a@example.org"), "Idempotency-Key": "import-1"}
    url = "/api/v1/cooperatives/COOPA/deliveries/import"
    answers = [
        client.post(url, data=DELIVERIES, headers={**clerk, "Content-Type": "text/csv"})
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].get_json() == answers[1].get_json() == {"imported": 40}
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert _count(db, Delivery) == 40


def test_families_and_plots_files_again_are_refused_naming_the_first_import(
    db, world, client, api_token
):
    manager = {**api_token("manager.a@example.org"), "Accept-Language": "en"}
    for kind, data in (("families", FAMILIES), ("plots", PLOTS)):
        url = f"/api/v1/cooperatives/COOPA/{kind}/import"
        headers = {**manager, "Content-Type": "text/csv"}
        assert client.post(url, data=data, headers=headers).status_code == 201
        again = client.post(url, data=data, headers=headers)
        assert again.status_code == 409, again.get_data(as_text=True)
        message = again.get_json()["message"]
        assert message.startswith(REFUSAL) and "by Manager (12 rows)." in message, message
        assert len(_batches(db, kind)) == 1
    assert _count(db, Family) == 12 and _count(db, Plot) == 12


# -- two at once (PostgreSQL: SQLite runs one writer at a time, BEGIN IMMEDIATE) ----------


def _wait_for_a_lock_wait(database_url: str, worker: threading.Thread) -> None:
    """Until the second import waits on a lock the first holds (pg_stat_activity)."""
    import psycopg

    from tests.conftest import PG_ADMIN

    dbname = make_url(database_url).database
    with psycopg.connect(PG_ADMIN, autocommit=True) as look:
        deadline = time.monotonic() + 60
        while not look.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (dbname,),
        ).fetchone():
            assert worker.is_alive(), "the second import ended without waiting"
            assert time.monotonic() < deadline, "the second import never waited on a lock"
            time.sleep(0.02)


def _in_thread(action: Any) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(action())
        except Exception as error:  # the test reports it
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    return worker, outcome


def _api_post(app: Any, token: dict[str, str], url: str, data: bytes) -> tuple[int, str]:
    answer = app.test_client().post(
        url,
        data=data,
        headers={**token, "Content-Type": "text/csv", "Accept-Language": "en"},
    )
    return answer.status_code, answer.get_data(as_text=True)


def _cli(runner: Any, path: Any, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        args=["import", "deliveries", str(path), "--cooperative", "COOPA", *extra]
    )
    return (0 if result.exit_code == 0 else 409), result.output


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLite has one writer at a time")
@pytest.mark.parametrize("second", ["cli same centre", "cli other centre", "api"])
def test_two_imports_of_one_deliveries_file_store_it_once(
    members, db, app, runner, api_token, database_url, tmp_path, second
):
    """Two imports of one file started together (or a re-run while the first is still
    committing): the second waits for the first's locks, then is refused, whatever the
    collection centre."""
    token = api_token("clerk.a@example.org")
    make_centre(db, members.a, "C02")
    db.commit()
    path = tmp_path / "mid.csv"
    path.write_bytes(DELIVERIES)
    # The first import: done, flushed, not committed (its locks held).
    first = delivery_import.import_deliveries(
        db, members.a, DELIVERIES, centre=centre_of(db, members.a), clerk_id=None
    )
    assert first.imported == 40
    if second == "api":
        url = "/api/v1/cooperatives/COOPA/deliveries/import"
        worker, outcome = _in_thread(lambda: _api_post(app, token, url, DELIVERIES))
    else:
        extra = ("--centre", "C02") if second == "cli other centre" else ()
        worker, outcome = _in_thread(lambda: _cli(runner, path, *extra))
    _wait_for_a_lock_wait(database_url, worker)
    db.commit()
    worker.join(timeout=60)
    assert outcome and not isinstance(outcome[0], Exception), outcome
    status, text = outcome[0]
    assert status == 409, text
    assert REFUSAL in text
    assert _count(db, Delivery) == 40 and len(_batches(db, "deliveries")) == 1


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLite has one writer at a time")
@pytest.mark.parametrize("kind", ["families", "plots"])
def test_two_imports_of_one_families_or_plots_file_give_one_import_and_a_refusal(
    db, world, app, api_token, database_url, kind
):
    """Member codes and plot names are unique, so nothing doubles; the second import must
    still be a clear refusal, not a database error."""
    token = api_token("manager.a@example.org")
    data = FAMILIES
    run = imports.import_families
    if kind == "plots":
        make_sample_members(db, world.a)
        db.commit()
        data, run = PLOTS, imports.import_plots
    assert run(db, world.a, data).imported == 12
    url = f"/api/v1/cooperatives/COOPA/{kind}/import"
    worker, outcome = _in_thread(lambda: _api_post(app, token, url, data))
    _wait_for_a_lock_wait(database_url, worker)
    db.commit()
    worker.join(timeout=60)
    assert outcome and not isinstance(outcome[0], Exception), outcome
    status, text = outcome[0]
    assert status == 409, text
    assert REFUSAL in text
    assert len(_batches(db, kind)) == 1


def test_files_imported_twice_before_the_upgrade_stay_and_are_numbered(db, world, database_url):
    """A database of the previous release may hold a file imported twice (the race, or a
    re-import with skip-duplicates): the upgrade keeps both batches, numbers the repeat,
    and from then on the same file is refused by the unique key."""
    import uuid
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from tracker.cli import alembic_config

    coop = world.a.id
    db.close()
    config = alembic_config(database_url)
    command.downgrade(config, "3ad77c6a6c25")
    columns = ["id", "created_at", "cooperative_id", "kind", "original_name", "sha256", "rows"]
    table = sa.table(
        "import_batch",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("cooperative_id", sa.Uuid()),
        *(sa.column(name) for name in columns[3:]),
    )
    start = datetime(2026, 11, 1, tzinfo=UTC)
    batches = [  # (kind, digest, minutes after start): one file imported three times,
        ("deliveries", "a" * 64, 10),  # one twice, and one file as two kinds
        ("deliveries", "a" * 64, 0),
        ("deliveries", "a" * 64, 5),
        ("families", "a" * 64, 1),
        ("plots", "b" * 64, 2),
        ("plots", "b" * 64, 3),
    ]
    ids = [uuid.uuid4() for _ in batches]
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                dict(zip(columns, (i, start + timedelta(minutes=m), coop, k, "", sha, 1)))
                for i, (k, sha, m) in zip(ids, batches, strict=True)
            ],
        )
    engine.dispose()
    command.upgrade(config, "head")
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text("SELECT id, repeat_no FROM import_batch")).all())
    numbers = {uuid.UUID(str(k)): v for k, v in found.items()}
    assert [numbers[i] for i in ids] == [2, 0, 1, 0, 0, 1]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            table.insert(),
            dict(zip(columns, (uuid.uuid4(), start, coop, "plots", "", "b" * 64, 1))),
        )
    engine.dispose()
