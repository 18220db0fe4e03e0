"""Family money figures helper-51 found wrong at stop 25 (fixed at stop 26): what is still
owed, money typed with a thousands separator, corrections keeping what was paid on a
delivery, and a payment receipt naming a voided delivery."""

from __future__ import annotations

import csv
import html as htmllib
import io
import re
import subprocess
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import select

from tests import factories as f
from tracker.models import Delivery, Family, Payment
from tracker.services import deliveries, payments, premiums
from tracker.services.errors import Conflict

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


def _form_values(page: str) -> dict[str, str]:
    """The inputs and selected options of a rendered form, as a browser would post them."""
    values: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values[name.group(1)] = htmllib.unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        if chosen:
            values[name] = htmllib.unescape(chosen.group(1))
    return values


def _per_quintal(db, world, fam, plot, **given):
    data = deliveries.DeliveryData.from_input(
        {
            "family_id": fam.id,
            "plot_id": plot.id,
            "crop": "coffee",
            "form": "dry_parchment",
            "delivered_on": date(2026, 6, 2),
            "gross_g": 100_000,
            "tare_g": 0,
            **given,
        }
    )
    return deliveries.record(
        db, coop=world.a, centre=f.centre_of(db, world.a), clerk_id=None, data=data
    )


def test_a_date_corrected_on_the_page_keeps_a_per_quintal_amount(db, world, client, auth):
    """S/ 550 a quintal of 55.2 kg on 100 kg is S/ 996,38, paid in full. The clerk corrects
    the date only: the replacement was worth 100 kg x S/ 9,96 = S/ 996,00, and the family
    read "paid ahead S/ 0,38" (found by helper-52). The quintal price is kept now, shown
    on the receipt, proposed by the correction form and written in the CSV."""
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    d1 = _per_quintal(db, world, fam, plot, price_per_quintal_minor=550_00)
    assert (d1.amount_minor, d1.price_per_quintal_minor) == (996_38, 550_00)
    f.make_payment(db, fam, amount_minor=996_38, kind="final", paid_on=date(2026, 6, 5))
    db.commit()
    auth.login("clerk.a@example.org")
    receipt = _text(client.get(f"/deliveries/{d1.id}/receipt", headers=ES).get_data(as_text=True))
    assert "Precio por quintal 550,00 Precio por kg 9,96 Importe 996,38" in receipt
    page = client.get(f"/deliveries/{d1.id}/void", headers=ES).get_data(as_text=True)
    form = _form_values(page)
    assert form["price_per_quintal"] == "550,00"
    form.update(reason="fecha equivocada", correct="on", delivered_on="2026-06-01")
    answer = client.post(f"/deliveries/{d1.id}/void", data=form, headers=ES)
    assert answer.status_code == 303, _text(answer.get_data(as_text=True))[:2000]
    new = db.exec(select(Delivery).where(Delivery.replaces_id == d1.id)).one()
    db.commit()
    assert (new.amount_minor, new.price_per_quintal_minor) == (996_38, 550_00)
    assert payments.balance(db, fam, 2026).balance_minor == 0
    db.commit()
    auth.login("manager.a@example.org")
    window = "from=2026-06-01&to=2026-06-30&centre="
    exported = client.get(f"/c/COOPA/deliveries.csv?{window}", headers=ES).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    row = next(r for r in rows if r["numero_recibo_sistema"] == new.receipt_number)
    assert (row["precio_quintal"], row["importe"]) == ("550.00", "996.38")


def test_a_program_correcting_with_the_price_per_kg_keeps_the_amount(db, world, client, api_token):
    """A delivery stored before its quintal price was kept, or a program that sends back
    only the price per kg: the same kilos at the same price per kg keep their amount."""
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    d1 = _per_quintal(db, world, fam, plot, price_per_quintal_minor=550_00)
    d1.price_per_quintal_minor = None  # as stored before stop 26
    db.add(d1)
    db.commit()
    answer = client.post(
        f"/api/v1/deliveries/{d1.id}/void",
        json={
            "reason": "fecha",
            "corrected": {
                "family_id": str(fam.id),
                "plot_id": str(plot.id),
                "crop": "coffee",
                "form": "dry_parchment",
                "delivered_on": "2026-06-01",
                "gross_kg": "100",
                "price_per_kg": "9.96",
            },
        },
        headers=api_token("clerk.a@example.org"),
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["corrected"]["amount"] == "996.38"


def test_a_premium_replaced_for_one_crop_is_not_paid_again_on_what_was_fixed(db, world):
    """A rule of both crops, fixed by a payment, voided and added again for coffee alone:
    the coffee it had fixed is not paid again (it was: earned 900 + 100 + 80, "owed S/ 80";
    found by helper-52)."""
    fam = f.make_family(db, world.a)
    f.cover(db, f.make_certificate(db, world.a, type="fairtrade"), fam)
    plot = f.make_plot(db, fam)
    f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    rule = f.make_premium_rule(db, world.a, name="Prima FT", per_kg_minor=100)  # both crops
    f.make_payment(db, fam, amount_minor=1000_00, kind="final", paid_on=date(2026, 6, 5))
    premiums.void_premium_rule(db, rule=rule, reason="solo café", user_id=None)
    f.make_premium_rule(db, world.a, name="Prima FT café", per_kg_minor=80, crop="coffee")
    db.commit()
    bal = payments.balance(db, fam, 2026)
    assert (bal.rule_premium_minor, bal.balance_minor) == (100_00, 0)
    # A delivery no payment had fixed earns the new rule.
    f.make_delivery(db, world.a, fam, plot, kg=10, on=date(2026, 6, 9), price=900)
    db.commit()
    assert payments.balance(db, fam, 2026).rule_premium_minor == 100_00 + 8_00


def test_a_live_rule_of_both_crops_and_one_of_coffee_cannot_both_pay(db, world):
    f.make_premium_rule(db, world.a, name="Prima FT", per_kg_minor=100)  # both crops
    with pytest.raises(Conflict) as refused:
        f.make_premium_rule(db, world.a, name="Prima FT café", per_kg_minor=80, crop="coffee")
    assert "Prima FT" in str(refused.value)


def test_a_receipt_printed_again_says_the_day_its_balance_is_of(db, world, client, auth):
    """A copy of receipt P1 printed after a second payment read "Paid (this payment
    included) S/ 900,00 · still owed S/ 0,00", the family's copy S/ 500,00 and S/ 400,00,
    with nothing to tell them apart (found by helper-52). Each copy names its day."""
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    first = f.make_payment(db, fam, amount_minor=500_00, kind="advance", paid_on=date(2026, 6, 5))
    f.make_payment(db, fam, amount_minor=400_00, kind="final", paid_on=date(2026, 6, 10))
    db.commit()
    auth.login("manager.a@example.org")
    pdf = client.get(f"/payments/{first.id}/receipt.pdf", headers=ES).data
    printed = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    assert "La campaña 2026 de la familia al 1 oct 2026" in printed  # as its page writes it
    assert "con lo entregado y pagado después de este pago" in printed
    page = _text(client.get(f"/payments/{first.id}", headers=ES).get_data(as_text=True))
    assert "Saldo por pagar a la familia S/ 0,00 al 1 oct 2026" in page


def test_a_weight_corrected_down_then_back_up_is_settled_again(db, world):
    """Two payments settle D1 (500 + 400). Corrected to 50 kg only 450 carried; corrected
    back to 100 kg the delivery showed 450 unpaid while the balance was 0, and the payment
    form offered to pay it again (helper-52). Each payment's largest allocation along the
    chain of corrections carries now."""
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    d1 = f.make_delivery(db, world.a, fam, plot, kg=100, on=date(2026, 6, 2), price=900)
    f.make_payment(db, fam, amount_minor=500_00, kind="advance", paid_on=date(2026, 6, 5))
    f.make_payment(db, fam, amount_minor=400_00, kind="final", paid_on=date(2026, 6, 9))
    d2 = _correct(db, world, d1, gross_g=50_000, tare_g=0)
    (line,) = payments.delivery_lines(db, fam, 2026)
    assert (line.allocated_minor, line.outstanding_minor) == (450_00, 0)
    _correct(db, world, d2, gross_g=100_000, tare_g=0)
    db.commit()
    (line,) = payments.delivery_lines(db, fam, 2026)
    assert (line.allocated_minor, line.outstanding_minor) == (900_00, 0)
    assert payments.balance(db, fam, 2026).balance_minor == 0


# Corrections along a chain keep each payment with its family and season (helper-57).


def _paid_delivery(db, world, family, plot):
    """50 kg at S/ 9,00 on 2 Jun 2026, settled in full by a payment of 5 Jun."""
    delivery = f.make_delivery(db, world.a, family, plot, kg=50, on=date(2026, 6, 2), price=900)
    pay = f.make_payment(
        db, family, amount_minor=450_00, paid_on=date(2026, 6, 5), allocations=[(delivery, 450_00)]
    )
    db.commit()
    return delivery, pay


def _corrected_twice(client, headers, delivery, first: dict, second: dict) -> str:
    """Correct a delivery through the API, then correct the correction: the last id."""
    current = str(delivery.id)
    for reason, body in (("primera", first), ("segunda", second)):
        answer = client.post(
            f"/api/v1/deliveries/{current}/void",
            json={"reason": reason, "corrected": body},
            headers=headers,
        )
        assert answer.status_code == 200, answer.get_json()
        current = answer.get_json()["corrected"]["id"]
    return current


def _body(family, plot, **kw):
    body = {
        "family_id": str(family.id),
        "plot_id": str(plot.id),
        "crop": plot.crop,
        "form": "dry_parchment",
        "delivered_on": "2026-06-02",
        "gross_kg": 50.5,
        "tare_kg": 0.5,
        "price_per_kg": "9.00",
    }
    body.update(kw)
    return body


def test_a_payment_to_one_family_never_settles_another_familys_delivery(
    db, world, client, api_token
):
    """Family X is paid for delivery D1. D1 is corrected as family Y's (a family moved:
    the payment rightly stays with X), then Y's delivery is corrected again (its weight).
    The second correction reads what was paid along the whole chain, X's payment
    included, and allocates X's payment to Y's delivery."""
    x = f.make_family(db, world.a, head_name="Familia Equis")
    px = f.make_plot(db, x)
    y = f.make_family(db, world.a, head_name="Familia Ye")
    py = f.make_plot(db, y)
    d1, pay = _paid_delivery(db, world, x, px)
    manager = api_token("manager.a@example.org")
    d3 = _corrected_twice(
        client, manager, d1, _body(y, py), _body(y, py, tare_kg=1.5, gross_kg=51.5)
    )
    shown = client.get(f"/api/v1/payments/{pay.id}", headers=manager).get_json()
    families_settled = {a["delivery_id"] for a in shown["allocations"] if not a["delivery_voided"]}
    # X's payment receipt lists Y's delivery D3 as settled by it (S/ 450,00)
    assert d3 not in families_settled
    # Y was never paid, yet its delivery reads as settled: it drops out of "still owed"
    # on Y's payment page, and a payment to Y "oldest first" skips it
    y_lines = payments.delivery_lines(db, db.get(Family, y.id), 2026)
    db.commit()
    assert [
        (str(line.delivery.id), line.allocated_minor)
        for line in y_lines
        if line.delivery.voided_at is None
    ] == [(d3, 0)]


def test_a_payment_of_one_season_never_settles_a_delivery_of_another(db, world, client, api_token):
    """The same walk along the chain crosses seasons: a delivery dated into last season
    (the payment rightly stays with 2026), then corrected again, takes the 2026 payment."""
    x = f.make_family(db, world.a)
    px = f.make_plot(db, x)
    d1, pay = _paid_delivery(db, world, x, px)
    manager = api_token("manager.a@example.org")
    d3 = _corrected_twice(
        client,
        manager,
        d1,
        _body(x, px, delivered_on="2026-03-20"),
        _body(x, px, delivered_on="2026-03-20", gross_kg=51.5, tare_kg=1.5),
    )
    shown = client.get(f"/api/v1/payments/{pay.id}", headers=manager).get_json()
    assert shown["season"] == 2026
    live = {a["delivery_id"] for a in shown["allocations"] if not a["delivery_voided"]}
    assert d3 not in live  # a season-2026 payment settles a season-2025 delivery
