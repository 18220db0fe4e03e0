"""Two managers spending the same mass-balance credit at the same moment: exactly one does.

Runs on SQLite and PostgreSQL (TRACKER_TEST_DB). Each manager has their own session in
their own thread; both read the ledger with enough credit before either writes, so it is
the lock on the certificate's row (PostgreSQL) or the writer's BEGIN IMMEDIATE (SQLite)
that decides, and the ledger never goes below zero.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import time_machine
from sqlmodel import Session, select

from tests import factories as f
from tracker.db import engine_for, writing
from tracker.models import Certificate, Lot, MassBalanceDebit
from tracker.services import audit, claims
from tracker.services.claims import massbalance
from tracker.services.errors import Conflict


def _race(app, lot_ids, cert_id):
    """Each manager reads the ledger (credit enough for one), waits for the other, then
    allocates to their own lot and commits. Returns the outcomes."""
    engine = engine_for(app)
    barrier = threading.Barrier(len(lot_ids), timeout=30)
    outcomes: list = [None] * len(lot_ids)

    def run(index, lot_id):
        with app.app_context(), Session(engine, expire_on_commit=False) as session:
            audit.set_actor(session, None, f"manager {index}")
            lot = session.get(Lot, lot_id)
            cert = session.get(Certificate, cert_id)
            seen = massbalance.ledger(session, cert).balance_g
            session.commit()  # the read is over; both saw the same balance
            barrier.wait()
            try:
                with writing():
                    debit = massbalance.allocate(session, lot=lot, certificate=cert, user_id=None)
                    session.commit()
                outcomes[index] = ("won", seen, debit.grams)
            except Conflict as error:
                session.rollback()
                outcomes[index] = ("lost", seen, error.text())

    threads = [threading.Thread(target=run, args=(i, x)) for i, x in enumerate(lot_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def test_two_managers_spend_the_same_credit_and_exactly_one_succeeds(app, db, world):
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        coop = world.a
        cert = f.make_certificate(db, coop, type="fairtrade", basis="mass_balance")
        family = f.make_family(db, coop)
        plot = f.make_plot(db, family, area_ha=5)
        f.cover(db, cert, family)
        f.make_delivery(db, coop, family, plot, kg=500, on=date(2026, 6, 1))
        other = f.make_family(db, coop)
        other_plot = f.make_plot(db, other)
        first = f.make_lot(
            db, coop, [f.make_delivery(db, coop, other, other_plot, kg=300, on=date(2026, 6, 2))]
        )
        second = f.make_lot(
            db, coop, [f.make_delivery(db, coop, other, other_plot, kg=300, on=date(2026, 6, 3))]
        )
        db.commit()
        outcomes = _race(app, [first.id, second.id], cert.id)
    assert sorted(o[0] for o in outcomes) == ["lost", "won"], outcomes
    # In green-coffee equivalent: 500 kg of dry parchment in (400 kg), 300 kg a lot (240 kg).
    assert all(o[1] == 400_000 for o in outcomes), "both saw enough credit for their lot"
    (loss,) = [o[2] for o in outcomes if o[0] == "lost"]
    assert loss == (
        f"The ledger of certificate {cert.number} holds 160 kg of green-coffee equivalent; "
        "this lot needs 240."
    )
    db.expire_all()
    debits = db.exec(select(MassBalanceDebit)).all()
    assert len(debits) == 1 and debits[0].grams == 240_000
    book = massbalance.ledger(db, db.get(Certificate, cert.id))
    assert book.balance_g == 160_000 >= 0
    found = claims.lot_claims(db, [db.get(Lot, first.id), db.get(Lot, second.id)])
    assert sorted(len(c) for c in found.values()) == [0, 1]
