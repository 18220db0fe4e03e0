"""Site claims (kosher, rule 3) and what the page, sheet and labels say of a claim (rule 2):
defects found by helper-68 (tests/functional/test_zz_helper68.py), fixed by helper-70.

- A site certificate kept one listing per certificate and site (`coverage.set_site` found
  the row and rewrote its dates), so listing a mill again for a new period overwrote the
  old period, and a lot processed then, shipped or not, lost kosher with a reason saying
  the mill was not covered. A listing is now a period of its own, named by its start.
- `claim_text.lot_qualifications` qualified a mass-balance claim against the lot's harvest
  dates: the claim rests on the certificate's ledger, not on the lot's kilos, yet the page
  and sheet said "not valid on every harvest date" and the labels left it out. It is now
  qualified by today's standing only (as EPCIS already did), resting on the ledger.
- `claim_text.processing_dates` counted every processing day at any site the certificate
  listed, whatever the listing's dates and whichever certificate gave the claim: a lot
  kosher under a renewal was judged on a day processed under the one before. The dates are
  now those of the steps the claim rests on (`LotContext.site_days`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tracker.services import claims, coverage, lots, printing, provenance
from tracker.services.claims import massbalance

PUBLIC = "https://trace.example"


@pytest.fixture(autouse=True)
def oct1():
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        yield


def lot_types(db, lot) -> set[tuple[str, str]]:
    return {(c.type, c.basis) for c in claims.lot_claims(db, [lot])[lot.id]}


def process(db, lot, site, on, process="hulling", per_mille=800):
    return lots.process_lot(
        db,
        lot=lot,
        process=process,
        output_form="green",
        output_g=lot.available_g * per_mille // 1000,
        site_id=site.id,
        occurred_on=on,
    )


def kosher_cert(db, coop, number, start, end):
    return f.make_certificate(
        db,
        coop,
        type="kosher",
        forms="green,roasted",
        standard="Kosher",
        number=number,
        valid_from=start,
        valid_until=end,
    )


def test_listing_a_kosher_site_again_later_takes_kosher_off_lots_processed_before(db, world):
    """A mill listed under the kosher certificate from 1 Jan to 31 Jul, then again from
    1 Sep: the lot hulled there on 1 Jul was processed at a covered site under an active
    certificate (rule 3) and stays kosher; one hulled in August, between the periods, is
    not. `set_site` kept one window per (certificate, site), so listing again from 1 Sep
    rewrote history (helper-68)."""
    a = world.a
    cert = kosher_cert(db, a, "OU-K-1", date(2026, 1, 1), date(2026, 12, 31))
    mill = f.make_site(db, a)
    coverage.set_site(db, cert, site_id=mill.id, since=date(2026, 1, 1))
    green = process(db, f.make_lot(db, a, kg=100), mill, on=date(2026, 7, 1))
    assert lot_types(db, green) == {("kosher", "segregated")}
    coverage.set_site(db, cert, site_id=mill.id, since=date(2026, 1, 1), until=date(2026, 7, 31))
    assert lot_types(db, green) == {("kosher", "segregated")}
    coverage.set_site(db, cert, site_id=mill.id, since=date(2026, 9, 1))
    assert lot_types(db, green) == {("kosher", "segregated")}, [
        r.text for r in claims.explain_lot(db, green).missing
    ]
    # The listing's history: two periods, the first one kept with its end.
    periods = [(c.since, c.until) for c, _site in coverage.sites(db, cert)]
    assert periods == [(date(2026, 1, 1), date(2026, 7, 31)), (date(2026, 9, 1), None)]
    gap = process(db, f.make_lot(db, a, kg=100), mill, on=date(2026, 8, 15))
    assert lot_types(db, gap) == set()
    later = process(db, f.make_lot(db, a, kg=100), mill, on=date(2026, 9, 15))
    assert lot_types(db, later) == {("kosher", "segregated")}


def test_the_sites_api_and_page_list_each_period(client, db, world, api_token, auth):
    """The API's and the page's site lists show each period; posting the same start again
    ends that period, another start adds one; the certificates list counts one site."""
    a = world.a
    cert = kosher_cert(db, a, "OU-K-7", date(2026, 1, 1), date(2026, 12, 31))
    mill = f.make_site(db, a)
    db.commit()
    headers = api_token("manager.a@example.org")
    url = f"/api/v1/certificates/{cert.id}/sites"
    for body in (
        {"since": "2026-01-01"},
        {"since": "2026-01-01", "until": "2026-07-31"},
        {"since": "2026-09-01"},
    ):
        posted = client.post(url, json={"site_id": str(mill.id)} | body, headers=headers)
        assert posted.status_code == 201, posted.get_json()
        assert posted.get_json()["since"] == body["since"]
        assert posted.get_json()["until"] == body.get("until")
    listed = [(p["since"], p["until"]) for p in client.get(url, headers=headers).get_json()]
    assert listed == [("2026-01-01", "2026-07-31"), ("2026-09-01", None)]
    auth.login("manager.a@example.org")
    page = client.get(f"/certificates/{cert.id}", headers={"Accept-Language": "en"}).text
    assert page.count(f"<td>{mill.code} · {mill.name}</td>") == 2
    listing = client.get("/c/COOPA/certificates", headers={"Accept-Language": "en"}).text
    assert '<td class="right">1</td>' in listing


def test_a_mass_balance_claim_is_not_dropped_from_labels_for_its_lots_harvest_dates(db, world):
    """A mass-balance Fairtrade certificate, suspended 15 Jul to 20 Aug, has 1,000 kg of
    credit from June. A lot of conventional coffee delivered on 1 Aug is allocated on
    1 Oct: the engine gives it "fairtrade (mass balance)" (rule 2: the claim rests on the
    ledger, not on the lot's kilos) and EPCIS says "mass balance: ...; valid today". The
    public page and sheet said in red "not valid on every harvest date" and the sack
    labels left the claim out (helper-68)."""
    a = world.a
    cert = f.make_certificate(db, a, type="fairtrade", basis="mass_balance", number="FLO-MB-9")
    family = f.make_family(db, a)
    plot = f.make_plot(db, family, area_ha=10.0, expected_yield_kg_ha=900)
    f.cover(db, cert, family)
    f.make_delivery(db, a, family, plot, kg=1000, form="green", on=date(2026, 6, 1))
    f.set_status(db, cert, "suspended", date(2026, 7, 15))
    f.set_status(db, cert, "active", date(2026, 8, 20), reason="Acción correctiva cerrada")
    lot = f.make_lot(db, a, kg=100, form="green", on=date(2026, 8, 1))
    massbalance.allocate(db, lot=lot, certificate=cert, user_id=None)
    assert lot_types(db, lot) == {("fairtrade", "mass_balance")}
    facts = provenance.facts(db, lot, public_url=PUBLIC)
    [fact] = facts.claims[0].certificates
    [label] = printing.lot_label_claims(db, lot)
    assert (fact.qualification.tone, label.in_force) == ("", True), (
        fact.qualification.text("en"),
        label.left_out_text(),
    )
    assert fact.qualification.text("en") == "valid today"
    assert fact.qualification.as_json()["dates"] == {"rests_on": "ledger", "from": None, "to": None}


def test_kosher_after_a_renewal_is_not_dropped_for_an_earlier_processing_day(db, world):
    """Kosher certificates OU-K-2025 (to 30 Jun) and OU-K-2026 (from 1 Jul) both list the
    mill. A lot hulled there on 15 Jun (kosher under the first) is sorted there on 10 Jul:
    the engine gives it kosher under OU-K-2026 (rule 3). `processing_dates` counted 15 Jun
    for OU-K-2026 too (it lists the mill), so the page said in red "not valid on every
    processing date" and the sack labels left kosher out (helper-68). The claim rests on
    the sorting of 10 Jul only."""
    a = world.a
    old = kosher_cert(db, a, "OU-K-2025", date(2025, 7, 1), date(2026, 6, 30))
    new = kosher_cert(db, a, "OU-K-2026", date(2026, 7, 1), date(2027, 6, 30))
    mill = f.make_site(db, a)
    coverage.set_site(db, old, site_id=mill.id, since=date(2025, 7, 1))
    coverage.set_site(db, new, site_id=mill.id, since=date(2026, 7, 1))
    green = process(db, f.make_lot(db, a, kg=100, on=date(2026, 6, 2)), mill, on=date(2026, 6, 15))
    assert lot_types(db, green) == {("kosher", "segregated")}
    again = process(db, green, mill, on=date(2026, 7, 10), process="sorting", per_mille=950)
    assert lot_types(db, again) == {("kosher", "segregated")}
    facts = provenance.facts(db, again, public_url=PUBLIC)
    [fact] = facts.claims[0].certificates
    [label] = printing.lot_label_claims(db, again)
    assert (fact.qualification.held, label.in_force) == (True, True), (
        fact.qualification.text("en"),
        label.left_out_text(),
    )
    assert fact.qualification.dates == (date(2026, 7, 10),)


def test_a_merge_of_kosher_lots_rests_on_the_steps_that_gave_the_claim(db, world):
    """Two lots merged: one hulled at the north mill on 10 Jun; the other hulled at the
    south mill on 5 Jul, after the south mill's listing ended (no kosher), then sorted at
    the north mill on 8 Jul (kosher). The merged lot's kosher rests on 10 Jun and 8 Jul;
    the hulling of 5 Jul gave no claim and is not one of its dates (it was counted, since
    the certificate lists the south mill at some time)."""
    a = world.a
    cert = kosher_cert(db, a, "OU-K-9", date(2026, 1, 1), date(2026, 12, 31))
    north, south = f.make_site(db, a), f.make_site(db, a)
    coverage.set_site(db, cert, site_id=north.id, since=date(2026, 1, 1))
    coverage.set_site(db, cert, site_id=south.id, since=date(2026, 1, 1), until=date(2026, 6, 30))
    first = process(db, f.make_lot(db, a, kg=100), north, on=date(2026, 6, 10))
    hulled = process(db, f.make_lot(db, a, kg=100), south, on=date(2026, 7, 5))
    assert lot_types(db, hulled) == set()
    second = process(db, hulled, north, on=date(2026, 7, 8), process="sorting", per_mille=950)
    merged = lots.merge_lots(
        db, coop=a, lot_ids=[first.id, second.id], occurred_on=date(2026, 7, 10)
    )
    assert lot_types(db, merged) == {("kosher", "segregated")}
    [fact] = provenance.facts(db, merged, public_url=PUBLIC).claims[0].certificates
    assert fact.qualification.dates == (date(2026, 6, 10), date(2026, 7, 8))


def test_a_site_period_inside_an_open_one_is_refused_not_silently_shadowed(db, world):
    """A mill listed from 1 Jan (open); the manager then lists it 'from 1 Mar until
    30 Jun'. set_site adds a second, overlapping period and keeps the open one, so the
    certificate page shows '1 Jan - open' beside '1 Mar - 30 Jun' and a lot hulled there
    on 1 Aug was still kosher: the end the manager typed ended nothing (helper-73). Such a
    period is refused, naming the one it overlaps."""
    from tracker.services import coverage
    from tracker.services.errors import ValidationFailed

    a = world.a
    cert = kosher_cert(db, a, "K-73", date(2026, 1, 1), date(2026, 12, 31))
    mill = f.make_site(db, a)
    coverage.set_site(db, cert, site_id=mill.id, since=date(2026, 1, 1))
    with pytest.raises(ValidationFailed):
        coverage.set_site(
            db, cert, site_id=mill.id, since=date(2026, 3, 1), until=date(2026, 6, 30)
        )


def test_the_certificates_list_counts_sites_covered_today_as_it_counts_families(db, world):
    """The list's 'Covers' column gives a family certificate's families certified today,
    but gave a kosher certificate's sites ever listed: a mill whose only period ended on
    31 Mar still counted on 1 Oct (helper-73)."""
    from tracker.services import certificate_pages, coverage

    a = world.a
    cert = kosher_cert(db, a, "K-74", date(2026, 1, 1), date(2026, 12, 31))
    mill = f.make_site(db, a)
    coverage.set_site(db, cert, site_id=mill.id, since=date(2026, 1, 1), until=date(2026, 3, 31))
    page = certificate_pages.listing_page(db, a, date(2026, 10, 1))
    assert page["counts"][cert.id] == 0
