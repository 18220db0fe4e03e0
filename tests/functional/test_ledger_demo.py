"""The demo's premiums follow Fairtrade's published figures, per product form, and its
ledger, premiums, balances and report agree (issue 11.3 and 11.4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlmodel import func, select

from tracker.models import Certificate, Cooperative, FixedPremium
from tracker.services import demo as demo_module
from tracker.services import payments, premiums, reports
from tracker.services.claims import massbalance


@pytest.fixture
def built(app, db):
    with time_machine.travel(datetime(2026, 11, 23, 15, tzinfo=UTC), tick=True):
        with app.test_request_context(headers={"Accept-Language": "en"}):
            demo_module.build(db, families=200, seed=2026, progress=lambda _text: None)
        db.commit()
        yield {c.code: c for c in db.exec(select(Cooperative)).all()}


def test_the_demo_premiums_are_fairtrades_per_form(built, db, app):
    caz, chu = built["CAZ"], built["CHU"]
    coffee = {r.name: r for r in premiums.rules_for(db, caz, 2026)}
    fairtrade = next(r for r in coffee.values() if r.claim_type == "fairtrade")
    # US$ 0.20 per lb of green coffee at S/ 3.75 per US$, on every form delivered.
    assert (fairtrade.crop, fairtrade.unit, fairtrade.rate_minor) == ("coffee", "lb_green", 75)
    assert "US$ 0,20" in fairtrade.name and "3,75" in fairtrade.note
    assert set(premiums.rule_forms(fairtrade)) == {
        "cherry",
        "wet_parchment",
        "dry_parchment",
        "green",
        "roasted",
    }
    cocoa = next(r for r in premiums.rules_for(db, chu, 2026) if r.claim_type == "fairtrade")
    # US$ 240 per tonne of dry beans at S/ 3.75 per US$.
    assert (cocoa.crop, cocoa.unit, cocoa.rate_minor) == ("cacao", "t_dry_beans", 90_000)
    assert "US$ 240" in cocoa.name and "3,75" in cocoa.note
    for coop in (caz, chu):
        with app.test_request_context(headers={"Accept-Language": "es"}):
            report = reports.season_report(db, coop, 2026)
        balances = payments.family_balances(db, coop, 2026)
        total = sum(b.rule_premium_minor for b in balances.values())
        assert total == report.prices.rule_premium_minor > 0
        for line in report.prices.rules:
            # Paid on the green / dry-bean equivalent, less than the kilos as delivered.
            assert line.grams < line.delivered_g
    fixed = db.exec(select(func.count()).select_from(FixedPremium)).one()
    assert fixed > 0, "the demo's final payments settled deliveries: their premiums are fixed"


def test_the_demo_report_ledger_is_the_certificates_ledger(built, db, app):
    chu = built["CHU"]
    with app.test_request_context(headers={"Accept-Language": "es"}):
        report = reports.season_report(db, chu, 2026)
    assert report.ledger, "the cacao cooperative's Fairtrade certificate works by mass balance"
    for line in report.ledger:
        book = massbalance.ledger(db, db.get(Certificate, line.certificate_id))
        assert (line.credit_g, line.debit_g) == (book.credit_g, book.debit_g)
        assert line.ledger_form == "dry_beans" and line.debits >= 1
