"""The federation generator of bench/federation.py (issue 16.3) at a tiny size: its rows,
made inside PostgreSQL with their audit log written by SQL, pass `audit verify`, their
per-season sums equal a recomputation, and the app reads them (a family search, a lot's
trace, its public page). In `make test`, PostgreSQL half: the generator copies every
column of `delivery`, so a new column must reach it too."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from bench import federation
from tests.conftest import BACKEND, PG_ADMIN
from tracker.db import engine_for
from tracker.models import Cooperative
from tracker.services import audit_proof, season_volumes
from tracker.services.demo.base import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(BACKEND != "postgres", reason="the generator writes PostgreSQL's SQL"),
]


def test_a_tiny_federation_verifies_and_the_app_reads_it(tmp_path: Path) -> None:
    name = f"tracker_t_fed_{uuid.uuid4().hex[:10]}"
    url = (
        make_url(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1))
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    try:
        # 20 families and 50 deliveries for each federated cooperative: one lot of 10
        # per closed season, one payment per family and closed season it delivered in.
        federation.build(url, 2500, families=1000, demo_families=200)
        app = federation.app_for(url, str(tmp_path / "data"))
        engine = engine_for(app)
        with app.app_context(), Session(engine) as session:
            found = audit_proof.check(session)
            assert found.ok, [p.line() for p in found.problems[:5]]
            # The per-season sums the generator filled are those of its rows.
            for coop_ in session.exec(select(Cooperative)).all():
                assert season_volumes.stored(session, coop_), coop_.code
                assert season_volumes.differences(session, coop_) == [], coop_.code
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            coop = conn.execute("SELECT id FROM cooperative WHERE code = 'FED01'").fetchone()
            assert coop is not None
            counts = {
                table: conn.execute(
                    f"SELECT count(*) FROM {table} WHERE cooperative_id = %s", coop
                ).fetchone()[0]  # type: ignore[index]
                for table in ("family", "plot", "coverage_entry", "delivery", "lot", "payment")
            }
            lot_id, token, inputs = conn.execute(
                "SELECT l.id, l.public_token, count(*) FROM lot l "
                "JOIN lot_input i ON i.lot_id = l.id WHERE l.cooperative_id = %s "
                "GROUP BY l.id ORDER BY l.code LIMIT 1",
                coop,
            ).fetchone()  # type: ignore[misc]
            receipts = conn.execute(
                "SELECT c.last_receipt_seq, max(d.receipt_seq) FROM collection_centre c "
                "JOIN delivery d ON d.centre_id = c.id WHERE c.cooperative_id = %s "
                "GROUP BY c.id",
                coop,
            ).fetchall()
        assert counts == {
            "family": 20,
            "plot": 20,
            "coverage_entry": 20,
            "delivery": 50,
            "lot": 4,
            "payment": 4 * 10,  # a season's 10 deliveries go to 10 of the 20 families
        }
        assert inputs == 10
        assert all(last == highest for last, highest in receipts)
        client = app.test_client()
        answer = client.post(
            "/api/v1/auth/token", json={"email": f"admin@{DEMO_DOMAIN}", "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 201
        auth = {"Authorization": f"Bearer {answer.get_json()['token']}"}
        answer = client.get("/api/v1/cooperatives/FED01/families?q=FED01-F00000", headers=auth)
        assert answer.status_code == 200, answer.data[:300]
        trace = client.get(f"/api/v1/lots/{lot_id}/trace", headers=auth)
        assert trace.status_code == 200, trace.data[:300]
        assert len(trace.get_json()["backward"]["deliveries"]) == 10
        assert client.get(f"/l/{token}").status_code == 200
        engine.dispose()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
