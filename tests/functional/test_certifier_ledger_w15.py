"""The certificate page's mass-balance ledger when the credit fell after allocations.

A certificate suspended from a past date loses the credit of its later deliveries, and
the newest allocations lose the claim. The season report marked that ("1 allocation not
covered", a red negative balance), but the certificate page a certifier opens showed
"kg allocated out" above the credit in plain figures, the lost claim only in the table
below. The page now marks both, as the report does."""

from __future__ import annotations

import re
from datetime import date

from tests import factories as f
from tests.unit.test_claims_lots import credit_fell, lot_of, weigh
from tracker.services.claims import massbalance


def _article(html: str, name: str) -> str:
    found = re.search(rf"<article data-{name}>(.*?)</article>", html, re.S)
    assert found, name
    return found.group(1)


def test_the_ledger_marks_allocations_the_credit_no_longer_covers(client, auth, db, world):
    coop = world.a
    fairtrade = f.make_certificate(
        db, coop, type="fairtrade", basis="mass_balance", number="FLO-3456-2024"
    )
    credit_fell(db, coop, fairtrade)
    db.commit()
    auth.login("manager.a@example.org")
    html = client.get(f"/certificates/{fairtrade.id}", headers={"Accept-Language": "es"}).get_data(
        as_text=True
    )
    debit = _article(html, "debit")
    assert "400,000" in debit  # two lots of 200 kg green-coffee equivalent
    assert '<span class="badge bad">1 asignación sin cobertura</span>' in debit
    balance = _article(html, "balance")
    assert '<span class="badge bad">-160,000</span>' in balance  # 240 in, 400 out


def test_a_covered_ledger_has_no_warning(client, auth, db, world):
    coop = world.a
    fairtrade = f.make_certificate(
        db, coop, type="fairtrade", basis="mass_balance", number="FLO-3456-2024"
    )
    weigh(db, coop, [fairtrade], kg=600, on=date(2026, 5, 1))
    massbalance.allocate(
        db, lot=lot_of(db, coop, [weigh(db, coop, kg=250)]), certificate=fairtrade, user_id=None
    )
    db.commit()
    auth.login("manager.a@example.org")
    html = client.get(f"/certificates/{fairtrade.id}").get_data(as_text=True)
    assert "badge bad" not in _article(html, "debit") + _article(html, "balance")
