"""The volume cap (rule 4) and the products in scope (rule 1), as helper-68 found them wrong
(tests/functional/test_zz_helper68.py) and helper-71 fixed them:

- the cap counted cherry through SPEC.md's typical yields (vocabulary.REFERENCE_PER_MILLE)
  while the ledger and premiums count through the cooperative's own conversion factors,
  and new factors recomputed no claim;
- the reason of a delivery over the cap after an earlier one went over said "9.6 kg
  allowed, 6 kg already claimed and this delivery adds 1 kg": no reason at all;
- a delivery was judged by its own form against the certificate's products in scope, so a
  certificate for green coffee could back no lot (deliveries are never green); SPEC rule 1
  scopes a delivery by its crop, and the lot is judged by its own form.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tracker.services import claims, conversions, lots
from tracker.services.claims import caps
from tracker.services.cooperatives import season_of


@pytest.fixture(autouse=True)
def oct1():
    with time_machine.travel(datetime(2026, 10, 1, 15, tzinfo=UTC), tick=False):
        yield


def delivery_types(db, delivery) -> set[str]:
    return {c.type for c in claims.delivery_claims(db, [delivery.id])[delivery.id]}


def lot_types(db, lot) -> set[tuple[str, str]]:
    return {(c.type, c.basis) for c in claims.lot_claims(db, [lot])[lot.id]}


def small_farm(db, coop):
    """A certified family whose one plot of 0.01 ha at 800 kg/ha allows 9.6 kg of dry
    parchment a season (x 1.2)."""
    cert = f.make_certificate(db, coop)
    family = f.make_family(db, coop)
    plot = f.make_plot(db, family, area_ha=0.01)
    f.cover(db, cert, family)
    return cert, family, plot


def kg_figures(text: str) -> list[float]:
    """The kilograms a reason names, in order ("9.6 kg", "1,100 kg")."""
    return [float(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*(?:\.\d+)?) kg", text)]


# -- rule 4 across forms: the cooperative's own factors --------------------------------


def test_the_cap_counts_cherry_with_the_cooperatives_own_factors(db, world):
    """The cooperative sets cherry -> wet parchment to 0.30 (6 kg of cherry per kg of dry
    parchment): 55 kg of cherry are 9.17 kg of parchment, within the 9.6 kg cap. The
    engine converted with vocabulary.REFERENCE_PER_MILLE (5 kg per kg: 11 kg) and took the
    claim off, while the ledger and premiums use the cooperative's factors (helper-68)."""
    a = world.a
    conversions.seed(db, a)
    conversions.update(db, coop=a, values={"cherry": "0,30"}, user_id=None)
    _cert, family, plot = small_farm(db, a)
    cherry = f.make_delivery(db, a, family, plot, kg=55, form="cherry", on=date(2026, 6, 1))
    assert conversions.load(db, a.id).convert(55_000, "cherry", "dry_parchment") < 9_600
    assert delivery_types(db, cherry) == {"organic"}, [
        r.text for r in claims.explain_delivery(db, cherry).missing
    ]


def test_new_factors_recompute_the_claims_of_deliveries_already_recorded(db, world):
    """55 kg of cherry at SPEC's typical yield (5 kg per kg of parchment: 11 kg) are over
    the 9.6 kg cap; the manager's factor of 0.30 (9.17 kg) puts them within it, and back
    at 0.36 they are over again: each change recomputes the claims and flags in its own
    transaction (nothing else recomputed them)."""
    a = world.a
    conversions.seed(db, a)
    _cert, family, plot = small_farm(db, a)
    cherry = f.make_delivery(db, a, family, plot, kg=55, form="cherry", on=date(2026, 6, 1))
    assert delivery_types(db, cherry) == set()
    assert claims.delivery_flags(db, [cherry.id])[cherry.id] == [("over_cap", "organic")]
    conversions.update(db, coop=a, values={"cherry": "0,30"}, user_id=None)
    assert delivery_types(db, cherry) == {"organic"}
    assert claims.delivery_flags(db, [cherry.id])[cherry.id] == []
    conversions.update(db, coop=a, values={"cherry": "0,36"}, user_id=None)
    assert delivery_types(db, cherry) == set()
    [reason] = claims.explain_delivery(db, cherry).missing
    assert kg_figures(reason.text)[:3] == [9.6, 0.0, 11.0], reason.text


def test_the_season_reports_over_cap_figures_count_with_the_factors(db, world):
    """The season report's table of families over the cap re-runs the engine: its lost
    kilograms are the cooperative's conversion of the cherry, not SPEC's typical yield."""
    a = world.a
    conversions.seed(db, a)
    conversions.update(db, coop=a, values={"cherry": "0,30"}, user_id=None)
    _cert, family, plot = small_farm(db, a)
    f.make_delivery(db, a, family, plot, kg=60, form="cherry", on=date(2026, 6, 1))
    factors = conversions.load(db, a.id)
    [use] = caps.over_cap(db, a, [family.id], season_of(a, date(2026, 6, 1)))
    assert (use.cap_g, use.claimed_g, use.over_deliveries) == (9_600, 0, 1)
    assert use.over_g == factors.convert(60_000, "cherry", "dry_parchment") == 10_000


# -- rule 4: the reason of a delivery over the cap -------------------------------------


def test_the_over_cap_reason_does_not_contradict_itself(db, world):
    """6 kg claimed, 5 kg over the 9.6 kg cap, then 1 kg: the engine keeps the cap spent
    and takes the claim off the 1 kg. Its reason read "Its plots allow 9.6 kg of dry
    parchment, 6 kg were already claimed and this delivery adds 1 kg": 7 kg, within the
    cap, so the sentence gave no reason at all (helper-68)."""
    a = world.a
    _cert, family, plot = small_farm(db, a)
    f.make_delivery(db, a, family, plot, kg=6, on=date(2026, 6, 1))
    f.make_delivery(db, a, family, plot, kg=5, on=date(2026, 6, 2))
    last = f.make_delivery(db, a, family, plot, kg=1, on=date(2026, 6, 3))
    assert delivery_types(db, last) == set()
    [reason] = claims.explain_delivery(db, last).missing
    cap, before, adds = kg_figures(reason.text)[:3]
    assert before + adds > cap, reason.text


def test_the_over_cap_reasons_name_what_was_claimed_and_what_used_the_cap_up(db, app, world):
    """The delivery that did not fit says what was claimed before it; one after it says
    what had been delivered for the claim, what of it was claimed, and which delivery
    used the cap up: in English and in Spanish."""
    a = world.a
    _cert, family, plot = small_farm(db, a)
    f.make_delivery(db, a, family, plot, kg=6, on=date(2026, 6, 1))
    first = f.make_delivery(db, a, family, plot, kg=5, on=date(2026, 6, 2))
    last = f.make_delivery(db, a, family, plot, kg=1, on=date(2026, 6, 3))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        [over] = claims.explain_delivery(db, first).missing
        [after] = claims.explain_delivery(db, last).missing
    assert kg_figures(over.text) == [9.6, 6.0, 5.0], over.text
    assert "were already claimed" in over.text
    assert kg_figures(after.text) == [9.6, 11.0, 1.0, 6.0], after.text
    assert first.receipt_number in after.text and "Jun 2, 2026" in after.text, after.text
    with app.test_request_context(headers={"Accept-Language": "es"}):
        [after_es] = claims.explain_delivery(db, last).missing
    assert "ya se entregaron 11 kg" in after_es.text, after_es.text
    assert first.receipt_number in after_es.text and "la primera que no cupo" in after_es.text


# -- rule 1: products in scope ("in scope for the crop") ---------------------------------


def test_a_green_only_certificate_backs_the_green_lot_of_its_families(db, world):
    """SPEC rule 1 scopes a delivery by crop; a cooperative's organic certificate whose
    products in scope are "green coffee" covers what it exports. Every kilo of this green
    lot comes from a certified family, hulled from parchment, and the lot's product is in
    scope, yet the lot carried nothing: deliveries were judged by their own form (never
    green), so no lot of such a certificate could ever carry it (helper-68)."""
    a = world.a
    cert = f.make_certificate(db, a, forms="green")
    family = f.make_family(db, a)
    plot = f.make_plot(db, family)
    f.cover(db, cert, family)
    mill = f.make_site(db, a)
    delivery = f.make_delivery(db, a, family, plot, kg=50, on=date(2026, 6, 1))
    green = lots.process_lot(
        db,
        lot=f.make_lot(db, a, [delivery]),
        process="hulling",
        output_form="green",
        output_g=40_000,
        site_id=mill.id,
        occurred_on=date(2026, 7, 1),
    )
    assert lot_types(db, green) == {("organic", "segregated")}


def test_a_green_only_certificate_gives_no_claim_to_the_parchment_lot(db, world):
    """The form is judged where the lot is: the parchment delivery carries the claim (its
    crop is in scope), the parchment lot made of it does not, and says why."""
    a = world.a
    cert = f.make_certificate(db, a, forms="green")
    family = f.make_family(db, a)
    plot = f.make_plot(db, family)
    f.cover(db, cert, family)
    delivery = f.make_delivery(db, a, family, plot, kg=50, on=date(2026, 6, 1))
    assert delivery_types(db, delivery) == {"organic"}
    assert claims.explain_delivery(db, delivery).missing == []
    parchment = f.make_lot(db, a, [delivery])
    assert lot_types(db, parchment) == set()
    [reason] = claims.explain_lot(db, parchment).missing
    assert "No organic certificate" in reason.text and "parchment" in reason.text, reason.text


def test_a_cacao_certificate_still_backs_no_coffee_delivery(db, world):
    """The crop stays in scope per delivery: a cacao certificate's family delivering coffee
    claims nothing under it, and the reason says no certificate covers coffee."""
    a = world.a
    cert = f.make_certificate(db, a, crops="cacao")
    family = f.make_family(db, a)
    plot = f.make_plot(db, family)
    f.cover(db, cert, family)
    delivery = f.make_delivery(db, a, family, plot, kg=50, on=date(2026, 6, 1))
    assert delivery_types(db, delivery) == set()
    [reason] = claims.explain_delivery(db, delivery).missing
    assert "No organic certificate" in reason.text and "coffee" in reason.text, reason.text


def test_an_upgrade_recomputes_the_claims_stored_by_the_rules_before_it(
    db, world, database_url, runner, monkeypatch
):
    """Claims stored under the release before the cap counted through the cooperative's
    factors kept the old cap's verdict after the upgrade (nothing recomputed them), so a
    delivery over the cap kept its claim on lots and pages, and `audit verify` reported it
    (helper-73). `tracker init` recomputes every cooperative's claims after an upgrade,
    and `tracker claims-refresh` does it on demand."""
    from alembic import command

    from tracker.cli import alembic_config
    from tracker.services import audit_proof, claims, conversions

    a = world.a
    conversions.seed(db, a)
    _cert, family, plot = small_farm(db, a)
    cherry = f.make_delivery(db, a, family, plot, kg=45, form="cherry", on=date(2026, 6, 1))
    monkeypatch.setattr(conversions, "AFTER_UPDATE", [])  # the release before: no recompute
    conversions.update(db, coop=a, values={"cherry": "0,40"}, user_id=None)
    monkeypatch.undo()
    db.commit()
    assert {c.type for c in claims.delivery_claims(db, [cherry.id])[cherry.id]} == {"organic"}
    db.commit()
    db.close()
    command.downgrade(alembic_config(database_url), "-1")
    answer = runner.invoke(args=["init"])
    assert answer.exit_code == 0, answer.output
    assert "Claims recomputed" in answer.output
    db.expire_all()
    assert claims.delivery_claims(db, [cherry.id])[cherry.id] == []  # 10 kg over 9.6 kg
    assert audit_proof.check(db).ok
    db.commit()
    again = runner.invoke(args=["claims-refresh", "--cooperative", a.code])
    assert again.exit_code == 0 and "0 changed" in again.output, again.output


def test_flags_page_counts_over_cap_kilos_with_the_cooperatives_factors(db, world):
    from tracker.services import certificate_pages

    """The manager's flags page says it counts 'as the engine and the season report count
    the cap', but converted with vocabulary.reference_g (SPEC's typical 5:1) while the
    engine and the season report use the cooperative's factors (0.30: 6:1) (helper-73)."""
    a = world.a
    conversions.seed(db, a)
    conversions.update(db, coop=a, values={"cherry": "0,30"}, user_id=None)
    _cert, family, plot = small_farm(db, a)
    f.make_delivery(db, a, family, plot, kg=60, form="cherry", on=date(2026, 6, 1))
    [use] = caps.over_cap(db, a, [family.id], season_of(a, date(2026, 6, 1)))
    [entry] = certificate_pages.flags_page(db, a)["over"]
    assert entry["grams"] == use.over_g == 10_000


def test_a_factor_no_delivery_counts_through_recomputes_no_claim(db, world, monkeypatch):
    """The manager corrects the parchment -> green yield (what the mass-balance ledger
    counts through). Caps count in dry parchment, and the cooperative's deliveries are
    cherry and cacao: no claim can change, yet every delivery of every family of the
    cooperative was recomputed, with row locks, inside the manager's request (helper-73).
    Only the families that delivered a form whose weight in the cap moved are."""
    from tracker.services.claims import deliveries as engine

    a = world.a
    conversions.seed(db, a)
    _cert, family, plot = small_farm(db, a)
    f.make_delivery(db, a, family, plot, kg=5, form="cherry", on=date(2026, 6, 1))
    cacao = f.make_family(db, a)
    beans = f.make_plot(db, cacao, crop="cacao")
    f.make_delivery(db, a, cacao, beans, kg=5, form="wet_beans", on=date(2026, 6, 1))
    seen: list[set] = []
    real = engine.refresh_families
    monkeypatch.setattr(
        engine,
        "refresh_families",
        lambda s, c, ids, **kw: seen.append(set(ids)) or real(s, c, ids, **kw),
    )
    conversions.update(db, coop=a, values={"dry_parchment": "0,78"}, user_id=None)
    assert all(not ids for ids in seen), seen
    conversions.update(db, coop=a, values={"cherry": "0,40"}, user_id=None)
    assert seen[-1] == {family.id}  # the cherry family only, not the cacao one
