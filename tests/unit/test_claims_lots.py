"""Lot claims: segregation through the genealogy (rule 2), mass balance (rule 2), kosher
(rule 3), suspension reaching lots (rule 6), and the reasons a lot lacks a claim."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tracker.services import claims, lots, reports
from tracker.services.claims import massbalance
from tracker.services.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        yield


def held(db, lot) -> dict[str, tuple[str, set]]:
    [found] = claims.lot_claims(db, [lot]).values()
    return {c.type: (c.basis, set(c.certificate_ids)) for c in found}


def grower(db, coop, *certs, crop="coffee", status="certified", area_ha=3.0):
    family = f.make_family(db, coop)
    plot = f.make_plot(db, family, crop=crop, area_ha=area_ha)
    for cert in certs:
        f.cover(db, cert, family, status=status)
    return family, plot


def weigh(db, coop, certs=(), *, kg=100, on=date(2026, 6, 2), form="dry_parchment", crop="coffee"):
    family, plot = grower(db, coop, *certs, crop=crop)
    return f.make_delivery(db, coop, family, plot, kg=kg, on=on, form=form)


def lot_of(db, coop, deliveries, **kw):
    return f.make_lot(db, coop, deliveries, **kw)


@pytest.fixture
def organic(db, world):
    return f.make_certificate(db, world.a, number="CU-PE-2026-0871")


# -- segregation ---------------------------------------------------------------------------


def test_a_lot_is_organic_only_when_every_gram_is(db, world, organic):
    coop = world.a
    pure = lot_of(db, coop, [weigh(db, coop, [organic]), weigh(db, coop, [organic])])
    assert held(db, pure) == {"organic": ("segregated", {organic.id})}
    stranger = weigh(db, coop, kg=0.5)
    mixed = lot_of(db, coop, [weigh(db, coop, [organic], kg=500), stranger])
    assert held(db, mixed) == {}
    report = claims.explain_lot(db, mixed)
    assert report.claims == []
    summary, detail = report.missing[:2]
    assert summary.type == "organic" and "1 of 2" in summary.text and "0.5" in summary.text
    assert detail.delivery_id == stranger.id and detail.certificate_id == organic.id
    assert stranger.receipt_number in detail.text and organic.number in detail.text
    assert detail.on == stranger.delivered_on
    assert report.certificates[organic.id].number == organic.number


def test_certificates_of_a_lot_claim_are_those_covering_every_input(db, world, organic):
    coop = world.a
    nop = f.make_certificate(db, coop, standard="USDA NOP", number="NOP-8821")
    both = weigh(db, coop, [organic, nop])
    eu_only = weigh(db, coop, [organic])
    nop_only = weigh(db, coop, [nop])
    backed_by_eu = lot_of(db, coop, [both, eu_only])
    assert held(db, backed_by_eu) == {"organic": ("segregated", {organic.id})}
    notes = claims.explain_lot(db, backed_by_eu).missing
    assert [n.certificate_id for n in notes] == [nop.id, nop.id]
    assert "NOP-8821 does not back this claim: 1 of 2" in notes[0].text
    assert notes[1].delivery_id == eu_only.id and eu_only.receipt_number in notes[1].text
    split_certs = lot_of(db, coop, [weigh(db, coop, [organic]), nop_only])
    assert held(db, split_certs) == {}
    texts = [r.text for r in claims.explain_lot(db, split_certs).missing]
    assert any("no single certificate" in t and "NOP-8821" in t for t in texts)


def test_a_lot_across_a_certificate_renewal_keeps_its_claim(db, world):
    """Every kilo of a lot carrying organic, under CU-2026 until 31 March and its renewal
    CU-2027 from 1 April (same standard and scope), is organic (rule 2): the lot had no
    claim, since no single certificate covered every delivery. Certificates of another
    standard still do not add up (EU + NOP above), and one delivery outside the chain
    still takes the claim off."""
    coop = world.a
    with time_machine.travel(datetime(2027, 4, 2, 15, tzinfo=UTC), tick=False):
        old = f.make_certificate(
            db, coop, number="CU-2026", valid_from=date(2026, 4, 1), valid_until=date(2027, 3, 31)
        )
        new = f.make_certificate(
            db, coop, number="CU-2027", valid_from=date(2027, 4, 1), valid_until=date(2028, 3, 31)
        )
        last = weigh(db, coop, [old, new], on=date(2027, 3, 31))
        first = weigh(db, coop, [old, new], on=date(2027, 4, 1))
        renewed = lot_of(db, coop, [last, first])
        assert held(db, renewed) == {"organic": ("segregated", {old.id, new.id})}
        assert not [n for n in claims.explain_lot(db, renewed).missing if n.type == "organic"]
        merged = lots.merge_lots(
            db,
            coop=coop,
            lot_ids=[
                renewed.id,
                lot_of(db, coop, [weigh(db, coop, [new], on=date(2027, 4, 1))]).id,
            ],
        )
        assert held(db, merged) == {"organic": ("segregated", {old.id, new.id})}
        stranger = weigh(db, coop, on=date(2027, 4, 1))
        tainted = lot_of(db, coop, [weigh(db, coop, [old, new], on=date(2027, 3, 31)), stranger])
        assert held(db, tainted) == {}


def test_merge_split_and_process_carry_the_claim_only_from_all_certified_inputs(db, world, organic):
    coop = world.a
    good = lot_of(db, coop, [weigh(db, coop, [organic], kg=200)])
    also_good = lot_of(db, coop, [weigh(db, coop, [organic], kg=100)])
    bad = lot_of(db, coop, [weigh(db, coop, kg=100)])
    merged = lots.merge_lots(db, coop=coop, lot_ids=[good.id, also_good.id])
    left, right = lots.split_lot(db, lot=merged, parts_g=[150_000, 150_000])
    green = lots.process_lot(db, lot=left, process="hulling", output_form="green", output_g=120_000)
    assert held(db, merged)["organic"][0] == "segregated"
    assert held(db, right)["organic"] == ("segregated", {organic.id})
    assert held(db, green)["organic"] == ("segregated", {organic.id})
    tainted = lots.merge_lots(db, coop=coop, lot_ids=[right.id, bad.id])
    assert "organic" not in held(db, tainted)
    reasons = claims.explain_lot(db, tainted).missing
    assert "1 of 3" in reasons[0].text


def test_suspension_reaches_lots_already_made_and_reinstatement_restores_them(db, world, organic):
    coop = world.a
    before = lot_of(db, coop, [weigh(db, coop, [organic], on=date(2026, 7, 14))])
    after = lot_of(db, coop, [weigh(db, coop, [organic], on=date(2026, 7, 15))])
    version = coop.public_version
    f.set_status(db, organic, "suspended", date(2026, 7, 15))
    assert held(db, before) == {"organic": ("segregated", {organic.id})}
    assert held(db, after) == {}
    db.refresh(coop)
    assert coop.public_version > version
    text = " ".join(r.text for r in claims.explain_lot(db, after).missing)
    assert "suspended" in text and "Jul 15, 2026" in text and organic.number in text
    f.set_status(db, organic, "active", date(2026, 7, 15), reason="Error del certificador")
    assert held(db, after) == {"organic": ("segregated", {organic.id})}


def test_a_plot_in_the_protected_area_takes_the_claim_off_its_lots(db, world, organic):
    coop = world.a
    family, plot = grower(db, coop, organic)
    delivery = f.make_delivery(db, coop, family, plot, kg=50)
    lot = lot_of(db, coop, [delivery, weigh(db, coop, [organic])])
    assert "organic" in held(db, lot)
    f.flag_plot(db, plot)
    assert held(db, lot) == {}
    text = " ".join(r.text for r in claims.explain_lot(db, lot).missing)
    assert "protected area" in text and plot.name in text


# -- kosher (rule 3) -------------------------------------------------------------------------


@pytest.fixture
def kosher(db, world):
    """Kosher for green and roasted coffee at a dry mill; a second, uncovered mill."""
    cert = f.make_certificate(
        db, world.a, type="kosher", forms="green,roasted", number="OU-K-55120", standard="Kosher"
    )
    mill = f.make_site(db, world.a)
    other = f.make_site(db, world.a)
    f.cover_site(db, cert, mill)
    return cert, mill, other


def hull(db, lot, site, on=date(2026, 7, 1)):
    return lots.process_lot(
        db,
        lot=lot,
        process="hulling",
        output_form="green",
        output_g=lot.available_g * 8 // 10,
        site_id=site.id if site else None,
        occurred_on=on,
    )


def test_kosher_comes_from_processing_at_a_covered_site_for_a_product_in_scope(db, world, kosher):
    cert, mill, other = kosher
    coop = world.a
    raw = lot_of(db, coop, [weigh(db, coop)])
    assert held(db, raw) == {}, "gathered from deliveries, never processed"
    green = hull(db, raw, mill)
    assert held(db, green) == {"kosher": ("segregated", {cert.id})}
    elsewhere = hull(db, lot_of(db, coop, [weigh(db, coop)]), other)
    assert held(db, elsewhere) == {}
    [reason] = claims.explain_lot(db, elsewhere).missing
    assert other.code in reason.text and "Jul 1, 2026" in reason.text
    sorted_parchment = lots.process_lot(
        db,
        lot=lot_of(db, coop, [weigh(db, coop)]),
        process="sorting",
        output_form="dry_parchment",
        output_g=95_000,
        site_id=mill.id,
    )
    assert held(db, sorted_parchment) == {}, "dry parchment is not in the certificate's scope"
    [reason] = claims.explain_lot(db, sorted_parchment).missing
    assert "dry parchment" in reason.text


def test_kosher_needs_the_certificate_active_on_the_processing_day(db, world, kosher):
    cert, mill, _other = kosher
    coop = world.a
    f.set_status(db, cert, "suspended", date(2026, 8, 1))
    on_eve = hull(db, lot_of(db, coop, [weigh(db, coop)]), mill, on=date(2026, 7, 31))
    on_day = hull(db, lot_of(db, coop, [weigh(db, coop)]), mill, on=date(2026, 8, 1))
    assert held(db, on_eve) == {"kosher": ("segregated", {cert.id})}
    assert held(db, on_day) == {}
    [reason] = claims.explain_lot(db, on_day).missing
    assert "suspended" in reason.text and cert.number in reason.text


def test_merges_and_splits_keep_kosher_only_if_every_input_is_kosher(db, world, kosher):
    cert, mill, other = kosher
    coop = world.a
    a = hull(db, lot_of(db, coop, [weigh(db, coop)]), mill)
    b = hull(db, lot_of(db, coop, [weigh(db, coop)]), mill)
    c = hull(db, lot_of(db, coop, [weigh(db, coop)]), other)
    both = lots.merge_lots(db, coop=coop, lot_ids=[a.id, b.id], site_id=other.id)
    assert held(db, both) == {"kosher": ("segregated", {cert.id})}
    one, two = lots.split_lot(db, lot=both, parts_g=[100_000, 60_000])
    assert held(db, two) == {"kosher": ("segregated", {cert.id})}
    mixed = lots.merge_lots(db, coop=coop, lot_ids=[one.id, c.id], site_id=mill.id)
    assert held(db, mixed) == {}
    [reason] = claims.explain_lot(db, mixed).missing
    assert c.code in reason.text


# -- mass balance ---------------------------------------------------------------------------


@pytest.fixture
def fairtrade(db, world):
    return f.make_certificate(
        db, world.a, type="fairtrade", basis="mass_balance", number="FLO-3456-2024"
    )


def test_mass_balance_claims_spend_the_ledger_and_never_overdraw_it(db, world, fairtrade):
    coop = world.a
    certified = [weigh(db, coop, [fairtrade], kg=300), weigh(db, coop, [fairtrade], kg=200)]
    others = [weigh(db, coop, kg=400), weigh(db, coop, kg=200)]
    full = lot_of(db, coop, certified)
    assert held(db, full) == {}, "a mass-balance certificate gives no segregated claim"
    report = claims.explain_lot(db, full)
    # The ledger counts green-coffee equivalent: 500 kg of dry parchment are 400 kg of green.
    assert "mass balance" in report.missing[0].text and "400" in report.missing[0].text
    assert "green-coffee equivalent" in report.missing[0].text
    [option] = report.mass_balance
    assert (option.balance_g, option.needs_g, option.allocated) == (400_000, 400_000, False)
    big = lot_of(db, coop, [others[0], weigh(db, coop, kg=200)])  # 600 kg
    small = lot_of(db, coop, [others[1]])  # 200 kg
    with pytest.raises(Conflict) as error:
        massbalance.allocate(db, lot=big, certificate=fairtrade, user_id=None)
    assert "400" in error.value.text() and "480" in error.value.text()
    debit = massbalance.allocate(db, lot=small, certificate=fairtrade, user_id=None)
    assert debit.grams == 160_000
    assert held(db, small) == {"fairtrade": ("mass_balance", {fairtrade.id})}
    with pytest.raises(Conflict):
        massbalance.allocate(db, lot=small, certificate=fairtrade, user_id=None)
    book = massbalance.ledger(db, fairtrade)
    assert (book.credit_g, book.debit_g, book.balance_g) == (400_000, 160_000, 240_000)
    massbalance.void_allocation(
        db, lot=small, certificate=fairtrade, reason="vendido como convencional", user_id=None
    )
    assert held(db, small) == {}
    assert massbalance.ledger(db, fairtrade).balance_g == 400_000


def test_a_certificate_of_both_crops_keeps_a_ledger_per_crop(db, world):
    """Certified cacao never backs a coffee lot: the review's case, 2,000 kg of certified
    dry cacao beans in and 600 kg of uncovered green coffee, gave the coffee lot the claim."""
    coop = world.a
    both = f.make_certificate(
        db, coop, type="fairtrade", basis="mass_balance", crops="coffee,cacao", number="FLO-9"
    )
    weigh(db, coop, [both], kg=2000, crop="cacao", form="dry_beans")
    coffee = lot_of(db, coop, [weigh(db, coop, kg=600, form="green")])
    cacao = lot_of(db, coop, [weigh(db, coop, kg=500, crop="cacao", form="dry_beans")])
    with pytest.raises(Conflict) as error:
        massbalance.allocate(db, lot=coffee, certificate=both, user_id=None)
    assert "green-coffee equivalent" in error.value.text()
    [option] = claims.explain_lot(db, coffee).mass_balance
    assert option.balance_g == 0
    books = {b.crop: b for b in massbalance.certificate_ledgers(db, both)}
    assert (books["coffee"].credit_g, books["cacao"].credit_g) == (0, 2_000_000)
    assert held(db, coffee) == {}
    massbalance.allocate(db, lot=cacao, certificate=both, user_id=None)
    assert held(db, cacao) == {"fairtrade": ("mass_balance", {both.id})}
    books = {b.crop: b for b in massbalance.certificate_ledgers(db, both)}
    assert (books["cacao"].debit_g, books["cacao"].balance_g) == (500_000, 1_500_000)
    assert (books["coffee"].debit_g, books["coffee"].allocations) == (0, [])
    # The season report reads the same two ledgers, one line per crop.
    report = reports.season_report(db, coop, 2026)
    lines = {(line.label, line.crop): line for line in report.ledger}
    assert lines[("FLO-9", "cacao")].credit_g == 2_000_000
    assert lines[("FLO-9", "coffee")].credit_g == 0


def test_mass_balance_follows_splits_and_processing_but_not_mixed_merges(db, world, fairtrade):
    coop = world.a
    weigh(db, coop, [fairtrade], kg=1000)
    lot = lot_of(db, coop, [weigh(db, coop, kg=300)])
    massbalance.allocate(db, lot=lot, certificate=fairtrade, user_id=None)
    part, rest = lots.split_lot(db, lot=lot, parts_g=[100_000, 200_000])
    green = lots.process_lot(db, lot=part, process="hulling", output_form="green", output_g=80_000)
    assert held(db, green) == {"fairtrade": ("mass_balance", {fairtrade.id})}
    plain = lot_of(db, coop, [weigh(db, coop, kg=50)])
    mixed = lots.merge_lots(db, coop=coop, lot_ids=[rest.id, plain.id])
    assert held(db, mixed) == {}
    texts = " ".join(r.text for r in claims.explain_lot(db, mixed).missing)
    assert plain.code in texts
    with pytest.raises(Conflict):
        massbalance.allocate(db, lot=green, certificate=fairtrade, user_id=None)


def credit_fell(db, coop, fairtrade):
    """300 kg certified in May and 300 in August, two lots of 250 kg given credit, then
    the certificate suspended from 1 July: the August credit is gone and the later
    allocation is no longer covered. Returns the May delivery and the two lots."""
    early = weigh(db, coop, [fairtrade], kg=300, on=date(2026, 5, 1))
    weigh(db, coop, [fairtrade], kg=300, on=date(2026, 8, 1))
    first = lot_of(db, coop, [weigh(db, coop, kg=250)])
    second = lot_of(db, coop, [weigh(db, coop, kg=250)])
    massbalance.allocate(db, lot=first, certificate=fairtrade, user_id=None)
    with time_machine.travel(datetime(2026, 10, 1, 16, tzinfo=UTC), tick=False):
        massbalance.allocate(db, lot=second, certificate=fairtrade, user_id=None)
    f.set_status(db, fairtrade, "suspended", date(2026, 7, 1))
    return early, first, second


def test_credit_lost_later_uncovers_the_latest_allocations_first(db, world, fairtrade):
    early, first, second = credit_fell(db, world.a, fairtrade)
    book = massbalance.ledger(db, fairtrade)
    assert book.credit_g == 240_000 and early.net_g == 300_000  # green-coffee equivalent
    assert [a.covered for a in book.allocations] == [True, False]
    assert "fairtrade" in held(db, first)
    assert held(db, second) == {}
    text = claims.explain_lot(db, second).missing[0].text
    assert "no longer covered" in text


def test_allocation_refuses_what_it_cannot_back(db, world, fairtrade, organic):
    coop = world.a
    weigh(db, coop, [fairtrade], kg=1000)
    lot = lot_of(db, coop, [weigh(db, coop, kg=10)])
    with pytest.raises(ValidationFailed):
        massbalance.allocate(db, lot=lot, certificate=organic, user_id=None)
    cacao = lot_of(db, world.a, [weigh(db, coop, kg=10, crop="cacao", form="wet_beans")])
    with pytest.raises(ValidationFailed):
        massbalance.allocate(db, lot=cacao, certificate=fairtrade, user_id=None)
    f.set_status(db, fairtrade, "suspended", date(2026, 9, 1))
    with pytest.raises(Conflict):
        massbalance.allocate(db, lot=lot, certificate=fairtrade, user_id=None)


def test_the_ledger_counts_every_form_in_the_reference_form(db, world, fairtrade):
    coop = world.a
    weigh(db, coop, [fairtrade], kg=1000, form="cherry")  # 160 kg of green-coffee equivalent
    lot = lot_of(db, coop, [weigh(db, coop, kg=160, form="green")])  # 160 kg as well
    assert massbalance.ledger(db, fairtrade).credit_g == 160_000
    massbalance.allocate(db, lot=lot, certificate=fairtrade, user_id=None)
    assert massbalance.ledger(db, fairtrade).balance_g == 0


def test_voiding_a_lot_gives_its_mass_balance_credit_back(db, world, fairtrade):
    """A lot given the mass-balance claim is voided (a mistaken operation): its allocation
    kept spending the ledger, so the credit was lost for good and a lot formed again was
    refused the claim ("holds 0 kg")."""
    from tracker.models import LotOperation

    coop = world.a
    weigh(db, coop, [fairtrade], kg=125)  # 100 kg of green-coffee equivalent
    picked = weigh(db, coop, kg=125)
    lot = lot_of(db, coop, [picked])
    massbalance.allocate(db, lot=lot, certificate=fairtrade, user_id=None)
    assert massbalance.ledger(db, fairtrade).balance_g == 0
    operation = db.get(LotOperation, lot.operation_id)
    lots.void_operation(db, operation=operation, reason="lote equivocado", user_id=None)
    book = massbalance.ledger(db, fairtrade)
    assert (book.debit_g, book.balance_g, book.allocations) == (0, 100_000, [])
    again = lot_of(db, coop, [picked])
    massbalance.allocate(db, lot=again, certificate=fairtrade, user_id=None)
    assert held(db, again) == {"fairtrade": ("mass_balance", {fairtrade.id})}
