"""A lot formed from 10,000 deliveries while a clerk saves a delivery through the app.

Run on SQLite and on PostgreSQL (TRACKER_TEST_DB). The manager forms the lot through
the API in its own thread (its own transaction); the clerk posts a delivery through the
API at the same moment. Both succeed, and the books add up to the gram. How long each waits is measured
by `python -m bench lots`, not asserted here.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import select

from tests.factories import centre_of, make_family, make_plot
from tracker.models import Delivery, Lot, LotInput, LotOperation
from tracker.services import lots
from tracker.services.deliveries import DeliveryData, record_many

MANY = 10_000


def _many_deliveries(db, coop, count):
    """`count` deliveries of dry parchment from 20 families, stored in bulk."""
    pairs = []
    for _ in range(20):
        family = make_family(db, coop)
        pairs.append((family, make_plot(db, family, area_ha=50)))
    rows = [
        (
            DeliveryData(
                family_id=pairs[i % 20][0].id,
                plot_id=pairs[i % 20][1].id,
                crop="coffee",
                form="dry_parchment",
                delivered_on=date(2026, 5, 1) + timedelta(days=i % 60),
                gross_g=30_000 + (i * 37) % 20_000,
                tare_g=200,
                price_per_kg_minor=900,
            ),
            pairs[i % 20][1].id,
        )
        for i in range(count)
    ]
    ids = record_many(db, coop=coop, centre=centre_of(db, coop), clerk_id=None, rows=rows)
    return ids, pairs[0]


def _form_lot(app, coop_id, ids, headers, started, outcome):
    """The manager's request, in its own thread (so its own transaction), as a browser
    or device sends it: the reads run before SQLite's write lock is taken."""
    started.set()
    response = app.test_client().post(
        "/api/v1/cooperatives/COOPA/lots",
        json={
            "crop": "coffee",
            "form": "dry_parchment",
            "occurred_on": "2026-08-01",
            "deliveries": [{"delivery_id": str(d)} for d in ids],
        },
        headers={**headers, "Idempotency-Key": "lot-10000"},
    )
    outcome["status"] = response.status_code
    outcome["lot"] = uuid.UUID(response.get_json()["id"]) if response.status_code == 201 else None


def test_a_clerk_saves_a_delivery_while_a_10000_delivery_lot_forms(app, db, world, api_token):
    ids, (family, plot) = _many_deliveries(db, world.a, MANY)
    db.commit()
    clerk = {**api_token("clerk.a@example.org"), "Accept-Language": "en"}
    manager = {**api_token("manager.a@example.org"), "Accept-Language": "en"}
    started, outcome = threading.Event(), {}
    thread = threading.Thread(
        target=_form_lot, args=(app, world.a.id, ids, manager, started, outcome)
    )
    thread.start()
    assert started.wait(60)
    response = app.test_client().post(
        "/api/v1/cooperatives/COOPA/deliveries",
        json={
            "family_id": str(family.id),
            "plot_id": str(plot.id),
            "crop": "coffee",
            "form": "dry_parchment",
            "delivered_on": "2026-07-01",
            "gross_kg": 41.3,
            "tare_kg": 0.2,
            "price_per_kg": "8.72",
        },
        headers=clerk,
    )
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert response.status_code == 201, response.get_json()
    assert outcome["status"] == 201, outcome
    db.expire_all()
    lot = db.get(Lot, outcome["lot"])
    saved = uuid.UUID(response.get_json()["id"])
    # Every gram of the 10,000 deliveries is in the lot, none of the clerk's delivery.
    all_net = db.exec(
        select(func.sum(Delivery.net_g)).where(
            Delivery.cooperative_id == world.a.id, Delivery.id != saved
        )
    ).one()
    assert lot.weight_g == lot.available_g == all_net
    assert db.exec(select(func.sum(Delivery.lotted_g))).one() == all_net
    clerks = db.get(Delivery, saved)
    assert clerks.lotted_g == 0 and clerks.net_g == 41_100
    edges = db.exec(select(func.count()).select_from(LotInput)).one()
    assert edges == MANY
    assert lots.mass_problems(db, world.a.id) == []
    # The same request again (a retry): the first answer, no second lot.
    db.rollback()  # this session's transaction is a writer (the fixture's): end it
    again, replayed = threading.Event(), {}
    retry = threading.Thread(
        target=_form_lot, args=(app, world.a.id, ids, manager, again, replayed)
    )
    retry.start()
    retry.join(timeout=300)
    assert replayed == outcome
    assert db.exec(select(func.count()).select_from(Lot)).one() == 1


def test_voiding_a_10000_delivery_lot_gives_every_gram_back(db, world):
    ids, _pair = _many_deliveries(db, world.a, MANY)
    lot = lots.create_lot(
        db,
        coop=world.a,
        crop="coffee",
        form="dry_parchment",
        picks=[lots.Pick(d, 10_000) if n % 2 else lots.Pick(d) for n, d in enumerate(ids)],
    )
    assert lots.mass_problems(db, world.a.id) == []
    operation = db.get(LotOperation, lot.operation_id)
    lots.void_operation(db, operation=operation, reason="wrong season", user_id=None)
    db.flush()  # the audit chain's head too, before its record is expired
    db.expire_all()
    assert db.exec(select(func.sum(Delivery.lotted_g))).one() == 0
    assert db.get(Lot, lot.id).status == "voided"
    assert lots.mass_problems(db, world.a.id) == []
    again = lots.create_lot(
        db,
        coop=world.a,
        crop="coffee",
        form="dry_parchment",
        picks=[lots.Pick(d) for d in ids[:5000]],
    )
    assert (
        again.weight_g
        == db.exec(
            select(func.sum(Delivery.net_g)).where(Delivery.id.in_(ids[:5000]))  # type: ignore[attr-defined]
        ).one()
    )
    assert lots.mass_problems(db, world.a.id) == []
