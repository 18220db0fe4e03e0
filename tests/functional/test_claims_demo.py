"""The demo shows each case of the claims engine (issue 4): a fully organic lot, a mixed
lot that lost the claim, a lot from the suspended period, kosher-processed lots, a flagged
over-cap family, a plot in the protected area, and a mass-balance lot."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tracker.models import Delivery, DeliveryFlag, Lot, Plot
from tracker.services import claims, genealogy
from tracker.services import demo as demo_module
from tracker.services.claims import massbalance


@pytest.fixture
def built(app, db):
    captured = {}
    original = demo_module.Demo

    def keep(*args, **kwargs):
        captured["demo"] = original(*args, **kwargs)
        return captured["demo"]

    demo_module.Demo = keep
    try:
        with app.test_request_context(headers={"Accept-Language": "en"}):
            demo_module.build(db, families=400, seed=2026, progress=lambda _text: None)
    finally:
        demo_module.Demo = original
    db.commit()
    return captured["demo"]


def _held(db, lot_id):
    lot = db.get(Lot, lot_id)
    return lot, {
        c.type: (c.basis, set(c.certificate_ids)) for c in claims.lot_claims(db, [lot])[lot.id]
    }


def test_the_demo_shows_every_case_of_the_claims_engine(built, db, app):
    special = built.special
    caz = built.certificates["CAZ"]
    chu = built.certificates["CHU"]
    eu, nop = caz["organic_eu"].id, caz["organic_nop"].id

    _organic, found = _held(db, special["lot_organic_id"])
    assert found["organic"] == ("segregated", {eu, nop}), (
        "certified under both, before the suspension"
    )

    mixed, found = _held(db, special["lot_mixed_id"])
    parts = genealogy.backward(db, [mixed.id])[mixed.id]
    carried = claims.delivery_claims(db, list(parts))
    every_gram = all(any(c.type == "organic" for c in carried[d]) for d in parts)
    assert ("organic" in found) == every_gram, "the engine agrees with its deliveries"
    assert "organic" not in found, "families outside every organic ICS list are in it"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        reasons = [r for r in claims.explain_lot(db, mixed).missing if r.type == "organic"]
    assert "carry no organic claim" in reasons[0].text
    assert any(r.delivery_id and r.certificate_id == eu for r in reasons)

    suspended, found = _held(db, special["lot_nop_suspended_id"])
    assert found["organic"] == ("segregated", {eu}), "USDA NOP suspended from 2026-07-15"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        notes = [r for r in claims.explain_lot(db, suspended).missing if r.certificate_id == nop]
    assert notes and "does not back this claim" in notes[0].text
    assert any("suspended" in r.text and "Jul 15, 2026" in r.text for r in notes)

    _green, found = _held(db, special["lot_kosher_green_id"])
    assert found["kosher"] == ("segregated", {caz["kosher"].id})
    assert found["organic"] == ("segregated", {eu, nop})

    _dried, found = _held(db, special["lot_cacao_dried_id"])
    assert found["kosher"] == ("segregated", {chu["kosher"].id})

    _mb_lot, found = _held(db, special["lot_mass_balance_id"])
    assert found["fairtrade"] == ("mass_balance", {chu["fairtrade"].id})
    book = massbalance.ledger(db, chu["fairtrade"])
    assert 0 <= book.balance_g < book.credit_g and all(a.covered for a in book.allocations)

    over = special["over_cap_family_id"]
    over_flags = db.exec(
        select(DeliveryFlag.claim_type)
        .join(Delivery, Delivery.id == DeliveryFlag.delivery_id)
        .where(Delivery.family_id == over, DeliveryFlag.kind == "over_cap")
    ).all()
    assert {"organic", "fairtrade"} <= set(over_flags)

    plot = db.get(Plot, special["protected_plot_id"])
    inside = db.exec(select(Delivery).where(Delivery.plot_id == plot.id)).all()
    assert inside
    found = claims.delivery_claims(db, [d.id for d in inside])
    assert all(found[d.id] == [] for d in inside)
    flags = claims.delivery_flags(db, [d.id for d in inside])
    assert all(("protected_area", "") in flags[d.id] for d in inside)
    assert any("Cordillera" in note or "claims" in note for note in built.notes)
