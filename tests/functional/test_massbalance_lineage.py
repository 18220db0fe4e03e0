"""A mass-balance debit counts each kilo once along a lot's genealogy (found by helper-53
at stop 26): a lot made from lots already allocated under the certificate spends only
the kilos they did not, and their allocation cannot be taken back while it counts on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests import factories as f
from tracker.services import lots
from tracker.services.claims import massbalance
from tracker.services.errors import Conflict

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def mb(db, world):
    """A mass-balance Fairtrade certificate of coffee with 1,000 kg of credit."""
    with time_machine.travel(NOW, tick=False):
        yield f.make_mass_balance_credit(db, world.a)


def _book(client, api_token, cert) -> tuple[float, float, float]:
    answer = client.get(
        f"/api/v1/certificates/{cert.id}/ledger", headers=api_token("manager.a@example.org")
    ).get_json()
    return answer["credit_kg"], answer["debit_kg"], answer["balance_kg"]


def _claims(db, lot) -> set[str]:
    from tracker.services import claims

    found = {c.type for c in claims.lot_claims(db, [lot])[lot.id]}
    db.commit()  # SQLite: end the read before the client writes
    return found


def test_a_merge_of_an_allocated_lot_spends_only_the_other_lots_kilos(
    db, world, mb, api_token, client
):
    """Lot A (100 kg) is allocated; merged with B (100 kg, no claim) into M, and M given
    the claim: 200 kg carry it, so the debit is 200 kg. It was 300: A's kilos twice."""
    a = world.a
    lot_a = f.make_lot(db, a, kg=100, form="green")
    lot_b = f.make_lot(db, a, kg=100, form="green")
    massbalance.allocate(db, lot=lot_a, certificate=mb, user_id=None)
    merged = lots.merge_lots(db, coop=a, lot_ids=[lot_a.id, lot_b.id])
    assert "fairtrade" not in _claims(db, merged)  # B's half carries nothing yet
    debit = massbalance.allocate(db, lot=merged, certificate=mb, user_id=None)
    db.commit()
    assert debit.grams == 100_000
    assert "fairtrade" in _claims(db, merged)
    assert _book(client, api_token, mb) == (1000.0, 200.0, 800.0)


def test_parts_of_a_split_merged_again_are_debited_once(db, world, mb, api_token, client):
    a = world.a
    whole = f.make_lot(db, a, kg=100, form="green")
    first, second = lots.split_lot(db, lot=whole, parts_g=[40_000, 60_000])
    massbalance.allocate(db, lot=first, certificate=mb, user_id=None)
    again = lots.merge_lots(db, coop=a, lot_ids=[first.id, second.id])
    debit = massbalance.allocate(db, lot=again, certificate=mb, user_id=None)
    db.commit()
    assert debit.grams == 60_000
    assert _book(client, api_token, mb) == (1000.0, 100.0, 900.0)


def test_the_allocation_a_later_lot_counts_on_cannot_be_taken_back_first(
    db, world, mb, api_token, client
):
    a = world.a
    lot_a = f.make_lot(db, a, kg=100, form="green")
    lot_b = f.make_lot(db, a, kg=100, form="green")
    massbalance.allocate(db, lot=lot_a, certificate=mb, user_id=None)
    merged = lots.merge_lots(db, coop=a, lot_ids=[lot_a.id, lot_b.id])
    massbalance.allocate(db, lot=merged, certificate=mb, user_id=None)
    db.commit()
    with pytest.raises(Conflict) as refused:
        massbalance.void_allocation(db, lot=lot_a, certificate=mb, reason="error", user_id=None)
    assert merged.code in str(refused.value)
    db.rollback()
    # The later one first, then this one: the credit comes back whole.
    massbalance.void_allocation(db, lot=merged, certificate=mb, reason="error", user_id=None)
    massbalance.void_allocation(db, lot=lot_a, certificate=mb, reason="error", user_id=None)
    db.commit()
    assert _book(client, api_token, mb) == (1000.0, 0.0, 1000.0)


def test_the_lot_page_offers_the_merge_for_what_it_still_needs(db, world, mb, client, auth):
    a = world.a
    lot_a = f.make_lot(db, a, kg=100, form="green")
    lot_b = f.make_lot(db, a, kg=100, form="green")
    massbalance.allocate(db, lot=lot_a, certificate=mb, user_id=None)
    merged = lots.merge_lots(db, coop=a, lot_ids=[lot_a.id, lot_b.id])
    from tracker.services.claims.lots import LotContext

    [option] = massbalance.options_for(db, LotContext(db, a.id, [merged]), merged)
    db.commit()
    assert option.needs_g == 100_000


def test_a_shipped_lot_is_not_given_a_claim_afterwards(db, world, mb, client, api_token):
    """The buyer received the lot with the claims it had when it left (found by helper-58
    at stop 26): credit spent on it afterwards would claim kilos that were never sold
    with the claim. The lot page does not offer it, and the API refuses it, translated,
    spending nothing."""
    a = world.a
    lot = f.make_lot(db, a, kg=100, form="green")
    with time_machine.travel(NOW, tick=False):
        f.make_shipment(db, a, [lot])
    from tracker.services.claims.lots import LotContext

    assert massbalance.options_for(db, LotContext(db, a.id, [lot]), lot) == []
    db.commit()
    answer = client.post(
        f"/api/v1/lots/{lot.id}/mass-balance",
        json={"certificate_id": str(mb.id)},
        headers={**api_token("manager.a@example.org"), "Accept-Language": "es"},
    )
    assert answer.status_code == 409, answer.get_data(as_text=True)
    assert "se embarcó" in answer.get_json()["message"]
    assert _book(client, api_token, mb) == (1000.0, 0.0, 1000.0)
