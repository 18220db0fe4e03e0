"""Family money figures helper-51 found wrong at stop 25 (fixed at stop 26): what is still
owed, money typed with a thousands separator, corrections keeping what was paid on a
delivery, and a payment receipt naming a voided delivery."""

from __future__ import annotations

import html as htmllib
import re
import subprocess
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import select

from tests import factories as f
from tracker.models import Payment
from tracker.services import deliveries, payments, premiums

NOW = datetime(2026, 10, 1, 15, tzinfo=UTC)
ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _text(page: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_report_still_owed_is_not_netted_against_other_families_advances(
    db, world, client, auth, api_token
):
    owed = f.make_family(db, world.a)
    plot = f.make_plot(db, owed)
    f.make_delivery(db, world.a, owed, plot, kg=100, on=date(2026, 6, 2), price=900)  # owed 900
    ahead = f.make_family(db, world.a)  # an advance before the harvest, nothing delivered yet
    f.make_payment(db, ahead, amount_minor=900_00, paid_on=date(2026, 6, 5), allocations=[])
    db.commit()
    bals = payments.family_balances(db, world.a, 2026)
    assert sorted(b.balance_minor for b in bals.values()) == [-900_00, 900_00]
    db.commit()
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/reports/season?season=2026", headers=ES).get_data(as_text=True)
    dash = client.get("/c/COOPA/", headers=ES).get_data(as_text=True)
    # both read "Saldo por pagar a las familias S/ 0,00" while one family is owed S/ 900,00
    assert "data-outstanding>S/\u00a0900,00<" in page
    assert "data-outstanding>S/\u00a0900,00<" in dash
    assert "data-paid-ahead>S/\u00a0900,00<" in page  # the advance is its own line
    api = client.get(
        "/api/v1/cooperatives/COOPA/reports/season?season=2026",
        headers=api_token("manager.a@example.org"),
    ).get_json()["prices"]
    assert (api["outstanding"], api["paid_ahead"]) == ("900.00", "900.00")


def test_report_still_owed_is_never_negative(db, world, client, auth):
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    f.make_delivery(db, world.a, fam, plot, kg=10, on=date(2026, 6, 2), price=900)
    f.make_payment(db, fam, amount_minor=500_00, paid_on=date(2026, 6, 5))
    db.commit()
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/reports/season?season=2026", headers=EN).get_data(as_text=True)
    assert "data-outstanding>PEN\u00a0-" not in page  # shows "PEN -410.00" under "Still owed"


@pytest.mark.parametrize(
    ("typed", "lang", "meant"), [("1.000", ES, 1000_00), ("1,500", EN, 1500_00)]
)
def test_a_payment_typed_with_a_thousands_separator_is_not_divided_by_1000(
    db, world, client, auth, typed, lang, meant
):
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    f.make_delivery(db, world.a, fam, plot, kg=200, on=date(2026, 6, 2), price=900)
    db.commit()
    auth.login("manager.a@example.org")
    form = {
        "season": "2026",
        "kind": "final",
        "method": "cash",
        "amount": typed,
        "paid_on": "2026-09-30",
        "allocation": "auto",
        "idempotency_key": f"k-{typed}",
    }
    answer = client.post(f"/families/{fam.id}/payments", data=form, headers=lang)
    stored = [p.amount_minor for p in db.exec(select(Payment)).all()]
    db.commit()
    # it was 303 and a payment of S/ 1,00 (or PEN 1.50) recorded; now the clerk is asked
    assert (answer.status_code, stored) == (422, [])
    text = _text(answer.get_data(as_text=True))
    assert typed in text and str(meant // 100) in text  # "¿1.000 es mil o un decimal? … (1000)"


def _correct(db, world, delivery, **changes):
    values = {
        "family_id": delivery.family_id,
        "plot_id": delivery.plot_id,
        "crop": delivery.crop,
        "form": delivery.form,
        "delivered_on": delivery.delivered_on,
        "gross_g": delivery.gross_g,
        "tare_g": delivery.tare_g,
        "price_per_kg_minor": delivery.price_per_kg_minor,
        **changes,
    }
    return deliveries.correct(
        db,
        delivery=delivery,
        reason="corrección",
        data=deliveries.DeliveryData(**values),
        centre=f.centre_of(db, world.a),
        clerk_id=None,
    )


def test_a_correction_keeps_the_premium_a_payment_fixed(db, world):
    fam = f.make_family(db, world.a)
    f.cover(db, f.make_certificate(db, world.a, type="fairtrade"), fam)
    plot = f.make_plot(db, fam)
    d1 = f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    rule = f.make_premium_rule(db, world.a, name="Prima FT", per_kg_minor=100)
    f.make_payment(db, fam, amount_minor=1000_00, kind="final", paid_on=date(2026, 6, 5))
    premiums.void_premium_rule(db, rule=rule, reason="tasa equivocada", user_id=None)
    f.make_premium_rule(db, world.a, name="Prima FT corregida", per_kg_minor=80)
    db.commit()
    assert payments.balance(db, fam, 2026).balance_minor == 0  # paid in full, premium fixed
    _correct(db, world, d1, delivered_on=date(2026, 6, 1))  # the date only
    db.commit()
    # was: earned 980.00, balance -20.00 ("paid ahead"): the fixed S/ 100 became S/ 80
    assert payments.balance(db, fam, 2026).balance_minor == 0


def test_a_corrected_delivery_keeps_what_was_paid_on_it(db, world, client, auth):
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    d1 = f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    f.make_payment(db, fam, amount_minor=900_00, kind="final", paid_on=date(2026, 6, 5))
    _correct(db, world, d1, gross_g=d1.gross_g + 1_000)  # 101 kg
    db.commit()
    assert payments.balance(db, fam, 2026).balance_minor == 9_00
    (line,) = payments.delivery_lines(db, fam, 2026)
    # was: settled 0.00, outstanding 909.00 (the record form offers to pay 909.00 again)
    assert (line.allocated_minor, line.outstanding_minor) == (900_00, 9_00)


def test_a_payment_receipt_says_a_settled_delivery_was_voided(db, world, client, auth):
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    d1 = f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    p = f.make_payment(db, fam, amount_minor=500_00, paid_on=date(2026, 6, 5))
    deliveries.void(db, delivery=d1, reason="error", user_id=None)
    db.commit()
    auth.login("manager.a@example.org")
    text = _text(client.get(f"/payments/{p.id}", headers=ES).get_data(as_text=True))
    assert d1.receipt_number in text
    # was: listed under "Entregas que liquida" as if live; the S/ 500 is credit now
    assert (
        "anulad"
        in text[text.find(d1.receipt_number) - 5 : text.find(d1.receipt_number) + 120].lower()
    )


def test_a_weight_corrected_down_settles_what_it_earns_and_the_rest_is_credit(db, world):
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    d1 = f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    f.make_payment(db, fam, amount_minor=900_00, kind="final", paid_on=date(2026, 6, 5))
    new = _correct(db, world, d1, gross_g=90_000, tare_g=0)  # 90 kg: S/ 810
    db.commit()
    (line,) = payments.delivery_lines(db, fam, 2026)
    assert line.delivery.id == new.id
    assert (line.allocated_minor, line.outstanding_minor) == (810_00, 0)
    assert payments.balance(db, fam, 2026).balance_minor == -90_00  # paid ahead: credit


def test_a_delivery_corrected_to_another_family_leaves_the_payment_as_credit(db, world):
    fam = f.make_family(db, world.a)
    other = f.make_family(db, world.a)
    plot, their_plot = f.make_plot(db, fam), f.make_plot(db, other)
    d1 = f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    f.make_payment(db, fam, amount_minor=900_00, kind="final", paid_on=date(2026, 6, 5))
    _correct(db, world, d1, family_id=other.id, plot_id=their_plot.id)  # wrong family
    db.commit()
    assert payments.balance(db, fam, 2026).balance_minor == -900_00  # their money, on file
    (line,) = payments.delivery_lines(db, other, 2026)
    assert (line.allocated_minor, line.outstanding_minor) == (0, 900_00)  # nobody paid them


def test_voiding_the_payment_after_a_correction_unfixes_the_replacements_premium(db, world):
    fam = f.make_family(db, world.a)
    f.cover(db, f.make_certificate(db, world.a, type="fairtrade"), fam)
    plot = f.make_plot(db, fam)
    d1 = f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    rule = f.make_premium_rule(db, world.a, name="Prima FT", per_kg_minor=100)
    paid = f.make_payment(db, fam, amount_minor=1000_00, kind="final", paid_on=date(2026, 6, 5))
    assert premiums.fixed_count(db, world.a) == 1
    new = _correct(db, world, d1, gross_g=110_000, tare_g=0)  # 110 kg: S/ 990 + S/ 110
    db.commit()
    assert premiums.fixed_count(db, world.a) == 1  # moved to the replacement, not doubled
    assert premiums.delivery_rule_premiums(db, world.a, 2026, [new.id]) == {new.id: 110_00}
    premiums.void_premium_rule(db, rule=rule, reason="tasa equivocada", user_id=None)
    f.make_premium_rule(db, world.a, name="Prima FT corregida", per_kg_minor=80)
    assert payments.balance(db, fam, 2026).balance_minor == 100_00  # fixed: 990 + 110 - 1000
    payments.void_payment(db, payment=paid, reason="error", user_id=None)
    db.commit()
    assert premiums.fixed_count(db, world.a) == 0
    assert payments.balance(db, fam, 2026).earned_minor == 990_00 + 88_00  # floats again


def test_the_receipt_names_the_correction_and_the_api_counts_only_standing_deliveries(
    db, world, client, auth, api_token
):
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    d1 = f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    p = f.make_payment(db, fam, amount_minor=900_00, kind="final", paid_on=date(2026, 6, 5))
    new = _correct(db, world, d1, gross_g=101_000, tare_g=0)
    db.commit()
    auth.login("manager.a@example.org")
    text = _text(client.get(f"/payments/{p.id}", headers=ES).get_data(as_text=True))
    assert f"{d1.receipt_number} anulada: corregida como {new.receipt_number}" in text
    assert new.receipt_number in text.split(f"corregida como {new.receipt_number}")[1]
    pdf = client.get(f"/payments/{p.id}/receipt.pdf", headers=ES)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    printed = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode()
    assert f"anulada: corregida como {new.receipt_number}" in " ".join(printed.split())
    shown = client.get(
        f"/api/v1/payments/{p.id}", headers=api_token("manager.a@example.org")
    ).get_json()
    assert shown["allocated"] == "900.00"  # 900 on the replacement; the voided line is history
    assert [
        (a["receipt_number"], a["delivery_voided"], a["corrected_as"]) for a in shown["allocations"]
    ] == [
        (d1.receipt_number, True, new.receipt_number),
        (new.receipt_number, False, None),
    ]
