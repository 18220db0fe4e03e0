"""Load: 8 clerks each post 1,000 deliveries at once to a real gunicorn with several workers.

Every delivery is stored once, receipt numbers are unique and gapless per collection
centre, no answer is a 5xx and no "database is locked" reaches anyone. Runs on SQLite and
on PostgreSQL (make test runs the suite on both).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func
from sqlmodel import select

from tests import factories as f
from tests.slow.conftest import token_for
from tracker.models import CollectionCentre, Delivery

pytestmark = pytest.mark.slow

CLERKS = 8
PER_CLERK = 1000
FAMILIES = 400


def _payload(family, plot, n):
    return {
        "family_id": str(family.id),
        "plot_id": str(plot.id),
        "crop": "coffee",
        "form": "dry_parchment",
        "delivered_on": "2026-06-02",
        "gross_kg": 40 + (n % 30),
        "tare_kg": 0.5,
        "moisture_pct": 11.5,
        "grade": "A",
        "price_per_kg": "9.20",
        "premium_per_kg": "0.40",
    }


def test_eight_clerks_post_a_thousand_deliveries_each(db, world, serve):
    coop = world.a
    centres = [f.centre_of(db, coop), f.make_centre(db, coop, code="C02")]
    clerks = []
    for i in range(CLERKS):
        centre = centres[i % len(centres)]
        user = f.make_user(db, role="clerk", coop=coop, email=f"load.clerk{i}@example.org")
        from tracker.models import Membership

        membership = db.exec(select(Membership).where(Membership.user_id == user.id)).one()
        membership.collection_centre_id = centre.id
        db.add(membership)
        clerks.append(user)
    # A busy season day: hundreds of families, each delivering a few times (a family's
    # claims are recomputed over its season on each delivery, as in real use).
    families = []
    for _ in range(FAMILIES):
        family = f.make_family(db, coop)
        families.append((family, f.make_plot(db, family, area_ha=50, expected_yield_kg_ha=2000)))
    db.commit()
    server = serve(workers=4, threads=2)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def clerk_day(index: int) -> None:
        headers = token_for(server.base, clerks[index].email)
        with requests.Session() as http:
            for n in range(PER_CLERK):
                family, plot = families[(index * PER_CLERK + n) % len(families)]
                response = http.post(
                    f"{server.base}/api/v1/cooperatives/{coop.code}/deliveries",
                    json=_payload(family, plot, n),
                    headers={**headers, "Idempotency-Key": f"clerk{index}-{n}"},
                    timeout=120,
                )
                with lock:
                    statuses[response.status_code] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(CLERKS) as pool:
        list(pool.map(clerk_day, range(CLERKS)))
    elapsed = time.monotonic() - started
    log = server.log()
    assert statuses == Counter({201: CLERKS * PER_CLERK}), statuses
    assert "database is locked" not in log
    assert "Traceback" not in log, log[-3000:]
    db.expire_all()
    stored = db.exec(
        select(func.count()).select_from(Delivery).where(Delivery.cooperative_id == coop.id)
    ).one()
    assert stored == CLERKS * PER_CLERK
    for centre in centres:
        seqs = db.exec(select(Delivery.receipt_seq).where(Delivery.centre_id == centre.id)).all()
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), (
            f"receipts of {centre.code} have gaps or repeats"
        )
        assert db.get(CollectionCentre, centre.id).last_receipt_seq == len(seqs)
    sent = sum(statuses.values())
    print(f"\nload: {stored} deliveries stored from {sent} requests in {elapsed:.1f} s")


def test_racing_retries_with_one_key_store_one_delivery(db, world, serve):
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    db.commit()
    server = serve(workers=4, threads=2)
    headers = token_for(server.base, "clerk.a@example.org")
    key = str(uuid.uuid4())
    barrier = threading.Barrier(6)

    def retry(_: int):
        barrier.wait()
        return requests.post(
            f"{server.base}/api/v1/cooperatives/{world.a.code}/deliveries",
            json=_payload(family, plot, 1),
            headers={**headers, "Idempotency-Key": key},
            timeout=60,
        )

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(retry, range(6)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    db.expire_all()
    assert db.exec(select(func.count()).select_from(Delivery)).one() == 1
