"""Two managers reaching for the same kilograms at the same moment: exactly one gets them.

Run on SQLite and on PostgreSQL (TRACKER_TEST_DB). Each side has its own session (or its
own HTTP request) in its own thread; both read the lot as open before either writes, so
it is the conditional UPDATE in the database that decides, not a check in Python.
"""

from __future__ import annotations

import threading
from datetime import date

from sqlmodel import Session, select

from tests.factories import make_delivery, make_family, make_lot, make_plot, make_user
from tracker.db import engine_for, writing
from tracker.models import Delivery, Lot, LotOperation
from tracker.services import audit, lots
from tracker.services.errors import Conflict


def _race(app, actions):
    """Run each action(session) in its own thread and session, released together.

    Each action first reads what it needs (that read's transaction then ends, the objects
    stay in memory as they were), waits for the others, then writes and commits.
    Returns one outcome per action: the result, or the Conflict's message.
    """
    engine = engine_for(app)
    barrier = threading.Barrier(len(actions), timeout=30)
    outcomes: list = [None] * len(actions)

    def run(index, action):
        with app.app_context(), Session(engine, expire_on_commit=False) as session:
            audit.set_actor(session, None, f"manager {index}")
            prepared = action(session, None)
            session.commit()  # end the read; the loaded objects keep their (soon stale) state
            barrier.wait()
            try:
                with writing():
                    result = action(session, prepared)
                    session.commit()
                outcomes[index] = result
            except Conflict as error:
                session.rollback()
                outcomes[index] = error.text()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def test_two_managers_process_and_split_the_same_lot(app, db, world):
    lot = make_lot(db, world.a, kg=500)
    db.commit()

    def hull(session, prepared):
        if prepared is None:
            return session.get(Lot, lot.id)
        return lots.process_lot(
            session, lot=prepared, process="hulling", output_form="green", output_g=400_000
        )

    def split(session, prepared):
        if prepared is None:
            return session.get(Lot, lot.id)
        return lots.split_lot(session, lot=prepared, parts_g=[250_000, 250_000])

    outcomes = _race(app, [hull, split])
    wins = [o for o in outcomes if not isinstance(o, str)]
    losses = [o for o in outcomes if isinstance(o, str)]
    assert len(wins) == 1 and len(losses) == 1, outcomes
    # The loser saw the lot open in memory: the database's conditional UPDATE refused it.
    assert losses[0] == (
        f"Lot {lot.code} no longer has 500 kg available: another manager used it a moment "
        "ago. Reload the page to see what is left."
    )
    db.expire_all()
    assert db.get(Lot, lot.id).status == "consumed"
    assert len(db.exec(select(LotOperation)).all()) == 2  # the lot's creation and the winner
    assert lots.mass_problems(db, world.a.id) == []


def test_two_managers_gather_the_same_delivery(app, db, world):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    delivery = make_delivery(db, world.a, family, plot, kg=80, on=date(2026, 6, 2))
    db.commit()

    def gather(grams):
        def step(session, prepared):
            if prepared is None:
                return session.get(Delivery, delivery.id)
            return lots.create_lot(
                session,
                coop=world.a,
                crop="coffee",
                form="dry_parchment",
                picks=[lots.Pick(delivery.id, grams)],
            )

        return step

    outcomes = _race(app, [gather(50_000), gather(50_000)])
    assert sum(isinstance(o, Lot) for o in outcomes) == 1, outcomes
    (loss,) = [o for o in outcomes if isinstance(o, str)]
    assert loss.startswith(f"Delivery {delivery.receipt_number} no longer has 50 kg left")
    db.expire_all()
    assert db.get(Delivery, delivery.id).lotted_g == 50_000
    assert lots.mass_problems(db, world.a.id) == []


def test_merge_and_shipment_race_for_one_lot(app, db, world):
    from tracker.services import shipments

    shared, other = make_lot(db, world.a, kg=60), make_lot(db, world.a, kg=40)
    db.commit()

    def merge(session, prepared):
        if prepared is None:
            return [session.get(Lot, shared.id), session.get(Lot, other.id)]
        return lots.merge_lots(session, coop=world.a, lot_ids=[shared.id, other.id])

    def ship(session, prepared):
        if prepared is None:
            return session.get(Lot, shared.id)
        return shipments.create_shipment(
            session,
            coop=world.a,
            buyer_name="Roaster",
            buyer_country="US",
            shipped_on=None,
            lot_ids=[shared.id],
        )

    outcomes = _race(app, [merge, ship])
    assert sum(isinstance(o, str) for o in outcomes) == 1, outcomes
    db.expire_all()
    assert db.get(Lot, shared.id).status in ("consumed", "shipped")
    assert lots.mass_problems(db, world.a.id) == []


def test_two_http_requests_one_201_one_clear_409(app, db, world, api_token):
    second = make_user(db, role="manager", coop=world.a, email="manager2.a@example.org")
    lot = make_lot(db, world.a, kg=500)
    db.commit()
    tokens = [
        {**api_token(email), "Accept-Language": "en"}
        for email in ("manager.a@example.org", second.email)
    ]
    barrier = threading.Barrier(2, timeout=30)
    answers: list = [None, None]

    def request(index):
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/lots/{lot.id}/process",
            json={"process": "hulling", "output_form": "green", "output_kg": 400},
            headers=tokens[index],
        )
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=request, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(status for status, _ in answers)
    assert codes == [201, 409], answers
    (conflict,) = [body for status, body in answers if status == 409]
    assert conflict["code"] == 409 and lot.code in conflict["message"]
    assert (
        "another manager used it" in conflict["message"]
        or "cannot be used again" in conflict["message"]
    )
    db.expire_all()
    assert len(db.exec(select(Lot).where(Lot.form == "green")).all()) == 1
