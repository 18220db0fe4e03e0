"""The manager's lot screens promise what the lot will be (found by helper-58 at stop
26): the lot-forming preview counts a certificate's renewal as the formed lot does, and the
kilos typed for each delivery; a used lot offers no mass-balance allocation that its
allocation would refuse."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tracker.services import lots

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
PREVIEW = "/c/COOPA/lots/new/preview"
NEW = "/c/COOPA/lots/new"
EN = {"Accept-Language": "en"}


def text_of(response) -> str:
    body = response.get_data(as_text=True)
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html.unescape(body))


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def mb(db, world):
    """A mass-balance Fairtrade certificate of coffee with 1,000 kg of credit."""
    with time_machine.travel(NOW, tick=False):
        yield f.make_mass_balance_credit(db, world.a)


def test_preview_promises_the_renewal_claim_the_formed_lot_carries(db, world, client, auth, clock):
    """Rosa is certified organic under ORG-2025 and its renewal ORG-2026; she delivers in
    Dec 2025 and Jun 2026. The lot made of both carries organic (segregated, the renewal
    chain); the preview said "No claim; loses Organic: no one certificate ... covers"."""
    a = world.a
    old = f.make_certificate(
        db, a, number="ORG-2025", valid_from=date(2025, 1, 1), valid_until=date(2025, 12, 31)
    )
    new = f.make_certificate(db, a, number="ORG-2026")
    rosa = f.make_family(db, a)
    f.cover(db, old, rosa)
    f.cover(db, new, rosa)
    plot = f.make_plot(db, rosa)
    picked = [
        str(f.make_delivery(db, a, rosa, plot, kg=100, on=date(2025, 12, 10)).id),
        str(f.make_delivery(db, a, rosa, plot, kg=80, on=date(2026, 6, 3)).id),
    ]
    db.commit()
    auth.login("manager.a@example.org")
    form = {"crop": "coffee", "form": "dry_parchment", "delivery": picked}
    preview = text_of(client.post(PREVIEW, data=form, headers=EN))
    made = client.post(NEW, data={**form, "idempotency_key": "h58-renewal"}, headers=EN)
    lot = client.get(made.headers["Location"], headers=EN)
    assert "organic segregated" in text_of(lot)  # what the formed lot carries
    said = re.search(r"What the lot will carry (.*?) \d+ deliveries", preview).group(1)
    assert said == "Organic (segregated)"


def test_preview_kilos_are_the_kilos_of_the_lot_formed(db, world, client, auth, clock):
    """The manager types 40 kg of a 100 kg delivery and takes an 80 kg one whole: the
    preview promises 180.0 kg, the lot made from the same form weighs 120.0 kg."""
    a = world.a
    rosa = f.make_family(db, a)
    plot = f.make_plot(db, rosa)
    d1 = f.make_delivery(db, a, rosa, plot, kg=100, on=date(2026, 6, 2))
    d2 = f.make_delivery(db, a, rosa, plot, kg=80, on=date(2026, 6, 3))
    db.commit()
    auth.login("manager.a@example.org")
    form = {
        "crop": "coffee",
        "form": "dry_parchment",
        "delivery": [str(d1.id), str(d2.id)],
        f"kg_{d1.id}": "40",
    }
    preview = text_of(client.post(PREVIEW, data=form, headers=EN))
    made = client.post(NEW, data={**form, "idempotency_key": "h58-kilos"}, headers=EN)
    assert "dry parchment · 120.0 kg" in text_of(client.get(made.headers["Location"], headers=EN))
    said = re.search(r"What the lot will carry .*? (\d+ deliver\w+ · [\d.,]+ kg)", preview).group(1)
    assert said == "2 deliveries · 120.0 kg"


def test_a_used_lot_offers_no_mass_balance_allocation_it_refuses(
    db, world, client, auth, clock, mb
):
    """A lot processed into another is 'used': its page offers "Allocate 200 kg of credit
    to this lot" (enabled, and says the lot carries the claim once allocated), and the
    button answers "Lot ... was used or voided: allocate to the lot it went into"."""
    a = world.a
    parch = f.make_lot(db, a, kg=[100, 150])
    lots.process_lot(
        db, lot=parch, process="hulling", output_form="green", output_g=200_000, confirm_yield=True
    )
    db.commit()
    lot_id, cert_id = parch.id, mb.id
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{lot_id}", headers=EN).get_data(as_text=True)
    offered = "Allocate 200 kg of credit to this lot" in page
    answer = client.post(
        f"/lots/{lot_id}/mass-balance",
        data={"certificate_id": str(cert_id), "idempotency_key": "h58-mb"},
        headers=EN,
        follow_redirects=True,
    )
    refused = "was used or voided" in answer.get_data(as_text=True)
    assert refused  # the service refuses a used lot...
    assert not offered  # ...so its page must not offer the allocation
