"""Payments in the browser's pages (no JavaScript needed): premium rules, recording against
deliveries with a Spanish decimal comma, errors beside the fields, voiding, the receipt."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import func, select

from tests import factories as f
from tracker.models import Payment, PremiumRule

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def farm(db, world):
    with time_machine.travel(NOW, tick=False):
        family = f.make_family(db, world.a, head_name="Rosa Quispe Huamán", woman_led=True)
        plot = f.make_plot(db, family)
        d1 = f.make_delivery(db, world.a, family, plot, kg=100, on=date(2026, 5, 4), price=900)
        d2 = f.make_delivery(db, world.a, family, plot, kg=50, on=date(2026, 5, 6), price=900)
        db.commit()
    return {"family": family, "d1": d1, "d2": d2}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _count(db, model):
    count = db.exec(select(func.count()).select_from(model)).one()
    db.commit()
    return count


def test_a_manager_records_a_payment_against_chosen_deliveries(farm, client, auth, db):
    auth.login("manager.a@example.org")
    family = farm["family"]
    page = client.get(f"/families/{family.id}/payments?season=2026")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Registrar un pago" in html and "S/\u00a0900,00" in html
    form = {
        "season": "2026",
        "kind": "final",
        "method": "bank_transfer",
        "amount": "1.000,00",
        "paid_on": "01/07/2026",
        "reference": "OP-123456",
        "allocation": "manual",
        f"alloc-{farm['d1'].id}": "900",
        f"alloc-{farm['d2'].id}": "100,00",
        "idempotency_key": "form-key-1",
    }
    answer = client.post(f"/families/{family.id}/payments", data=form)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    again = client.post(f"/families/{family.id}/payments", data=form)  # a double tap
    assert again.status_code == 303 and again.headers["Location"] == answer.headers["Location"]
    assert _count(db, Payment) == 1
    shown = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Pago P-" in shown and "S/\u00a01.000,00" in shown
    assert (
        farm["d1"].receipt_number in shown and "S/\u00a0350,00" in shown
    )  # still owed: 1,350 - 1,000
    receipt = client.get(answer.headers["Location"] + "/receipt.pdf")
    assert receipt.status_code == 200 and receipt.data.startswith(b"%PDF")
    balance = client.get(f"/families/{family.id}/payments?season=2026").get_data(as_text=True)
    assert re.search(r"data-balance>S/\u00a0350,00<", balance)

    refused = client.post(answer.headers["Location"] + "/void", data={"reason": " "})
    assert refused.status_code == 422 and "Indique por qué se anula el pago." in refused.get_data(
        as_text=True
    )
    voided = client.post(answer.headers["Location"] + "/void", data={"reason": "Monto equivocado"})
    assert voided.status_code == 303
    assert "Anulado el" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert _count(db, Payment) == 1


def test_the_familys_page_names_a_payment_by_its_receipt_code(farm, client, auth, db):
    """The family's payments list, the payment's page and its receipt share one code."""
    from tracker.services import payments

    auth.login("manager.a@example.org")
    family = farm["family"]
    form = {
        "season": "2026",
        "kind": "advance",
        "method": "cash",
        "amount": "100,00",
        "paid_on": "01/07/2026",
        "allocation": "auto",
        "idempotency_key": "form-key-code",
    }
    answer = client.post(f"/families/{family.id}/payments", data=form)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    payment = db.exec(select(Payment)).one()
    code = payments.receipt_code(payment)
    db.commit()
    listed = client.get(f"/families/{family.id}/payments?season=2026").get_data(as_text=True)
    assert f">{code}</a>" in listed
    assert f"Pago {code}" in client.get(answer.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": ""}, "No es un número"),
        ({"amount": "0"}, "El monto debe ser mayor que 0"),
        ({"paid_on": "2026-13-40"}, "Indique la fecha como dd/mm/aaaa."),
        ({"allocation": "manual"}, "Indique el monto de al menos una entrega."),
        ({"kind": "regalo"}, "Elija un adelanto, una liquidación o una prima."),
        ({"season": "1890"}, "Elija una campaña del 2000 al"),
    ],
)
def test_form_errors_are_shown_beside_the_fields_and_nothing_is_saved(
    farm, client, auth, db, change, message
):
    auth.login("manager.a@example.org")
    form = {
        "season": "2026",
        "kind": "advance",
        "method": "cash",
        "amount": "50",
        "paid_on": "2026-05-01",
        "allocation": "auto",
    }
    form.update(change)
    answer = client.post(f"/families/{farm['family'].id}/payments", data=form)
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert _count(db, Payment) == 0


def test_premium_rules_from_the_payments_page(world, client, auth, db):
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/payments")
    assert page.status_code == 200 and "Agregar una prima" in page.get_data(as_text=True)
    bad = client.post(
        "/c/COOPA/payments/premium-rules", data={"season": "2026", "name": "", "rate": "abc"}
    )
    assert bad.status_code == 422
    assert _count(db, PremiumRule) == 0
    ok = client.post(
        "/c/COOPA/payments/premium-rules",
        data={
            "season": "2026",
            "name": "Prima Fairtrade",
            "rate": "0,75",
            "unit": "lb_green",
            "claim_type": "fairtrade",
            "crop": "coffee",
        },
    )
    assert ok.status_code == 303
    listed = client.get("/c/COOPA/payments?season=2026").get_data(as_text=True)
    assert "Prima Fairtrade" in listed and "S/\u00a00,75" in listed
    assert "por lb de café verde" in listed


def test_clerks_read_but_do_not_pay(farm, client, auth, db):
    auth.login("clerk.a@example.org")
    page = client.get(f"/families/{farm['family'].id}/payments")
    assert page.status_code == 200 and "Registrar un pago" not in page.get_data(as_text=True)
    form = {
        "season": "2026",
        "kind": "advance",
        "method": "cash",
        "amount": "50",
        "paid_on": "2026-05-01",
    }
    assert client.post(f"/families/{farm['family'].id}/payments", data=form).status_code == 403
    assert client.post("/c/COOPA/payments/premium-rules", data={"name": "x"}).status_code == 403
    assert client.get("/c/COOPA/payments?season=abc").status_code == 422
    assert client.get("/c/COOPA/payments?q=Rosa").status_code == 200
    assert "Rosa Quispe" in client.get("/c/COOPA/payments?q=rosa").get_data(as_text=True)
    assert _count(db, Payment) == 0


def test_a_payment_voided_in_the_evening_is_dated_at_the_cooperative(farm, client, auth, db):
    """The page and the receipt dated a void by its UTC day: voided at 21:00 in Peru on 23
    Nov, they read 24 Nov, the day after, on the paper the family keeps."""
    import subprocess

    payment = f.make_payment(db, farm["family"], paid_on=date(2026, 11, 20))
    db.commit()
    auth.login("manager.a@example.org")
    with time_machine.travel(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), tick=False):
        voided = client.post(f"/payments/{payment.id}/void", data={"reason": "Monto equivocado"})
        assert voided.status_code == 303
        page = client.get(f"/payments/{payment.id}").get_data(as_text=True)
        receipt = client.get(f"/payments/{payment.id}/receipt.pdf").data
    assert "Anulado el 23 nov 2026" in page and "24 nov 2026" not in page
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=receipt, capture_output=True, check=True
    ).stdout.decode()
    assert "ANULADO EL 23 NOV 2026" in text.upper() and "24 NOV" not in text.upper()
