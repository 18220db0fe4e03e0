"""Payments through the API: allocations, balances, premiums from claims, voids, receipts."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pikepdf
import pytest
import time_machine
from sqlmodel import func, select

from tests import factories as f
from tracker.models import Payment, PaymentAllocation, PremiumRule

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def farm(db, world):
    """A woman-led fair-trade family with two deliveries (100 kg @ 9.00, 50.5 kg @ 9.20)."""
    with time_machine.travel(NOW, tick=False):
        a = world.a
        family = f.make_family(db, a, woman_led=True, head_name="Rosa Quispe Huamán")
        plot = f.make_plot(db, family)
        fairtrade = f.make_certificate(db, a, type="fairtrade", number="FLO-1")
        f.cover(db, fairtrade, family)
        d1 = f.make_delivery(db, a, family, plot, kg=100, on=date(2026, 5, 4), price=900)
        d2 = f.make_delivery(db, a, family, plot, kg=50.5, on=date(2026, 5, 6), price=920)
        f.materialise_claims(db, [(d1, [fairtrade]), (d2, [fairtrade])])
        other = f.make_family(db, a, woman_led=False)
        other_plot = f.make_plot(db, other)
        d_other = f.make_delivery(db, a, other, other_plot, kg=10, on=date(2026, 5, 4))
        db.commit()
    return {"family": family, "d1": d1, "d2": d2, "other_delivery": d_other}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def manager(api_token):
    return api_token("manager.a@example.org")


def _count(db, model):
    """Rows in a table; the read ends its transaction so requests can write again (and
    nothing is expired: a lazy refresh would open a writing transaction on SQLite)."""
    count = db.exec(select(func.count()).select_from(model)).one()
    db.commit()  # not rollback(): that would expire the fixture's objects
    return count


def test_a_final_payment_settles_the_oldest_deliveries_first(farm, client, manager, db, frozen):
    url = f"/api/v1/families/{farm['family'].id}/payments"
    answer = client.post(
        url,
        json={
            "kind": "final",
            "method": "bank_transfer",
            "paid_on": "2026-07-01",
            "amount": "1000,00",
        },
        headers={**manager, "Idempotency-Key": "pay-1"},
    )
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["amount"] == "1000.00" and body["season"] == 2026
    assert body["receipt"].startswith("P-") and len(body["receipt"]) == 10
    # D1 earned 900.00, D2 464.60: 900.00 to D1, the other 100.00 to D2.
    assert [(a["receipt_number"], a["amount"]) for a in body["allocations"]] == [
        (farm["d1"].receipt_number, "900.00"),
        (farm["d2"].receipt_number, "100.00"),
    ]
    again = client.post(
        url,
        json={
            "kind": "final",
            "method": "bank_transfer",
            "paid_on": "2026-07-01",
            "amount": "1000,00",
        },
        headers={**manager, "Idempotency-Key": "pay-1"},
    )
    assert again.status_code == 201 and again.get_json()["id"] == body["id"]
    assert _count(db, Payment) == 1 and _count(db, PaymentAllocation) == 2

    balance = client.get(
        f"/api/v1/families/{farm['family'].id}/balance?season=2026", headers=manager
    )
    assert balance.get_json() == {
        "family_id": str(farm["family"].id),
        "season": 2026,
        "deliveries": 2,
        "delivered_kg": 150.5,
        "delivered_by_product": [{"crop": "coffee", "form": "dry_parchment", "net_kg": 150.5}],
        "pending_kg": 0.0,
        "pending_by_product": [],
        "value": "1364.60",
        "scale_premiums": "0.00",
        "rule_premiums": "0.00",
        "earned": "1364.60",
        "paid_by_kind": {"advance": "0.00", "final": "1000.00", "premium": "0.00"},
        "paid": "1000.00",
        "balance": "364.60",
    }
    listed = client.get(url + "?season=2026", headers=manager)
    assert [p["id"] for p in listed.get_json()] == [body["id"]]
    assert "X-Pagination" in listed.headers


def test_premiums_follow_the_claims_and_woman_led_families(farm, client, manager, frozen):
    rules = "/api/v1/cooperatives/COOPA/premium-rules"
    fair = client.post(
        rules,
        json={
            "name": "Prima Fairtrade",
            "season": 2026,
            "per_kg": "1.65",
            "claim_type": "fairtrade",
        },
        headers=manager,
    )
    assert fair.status_code == 201, fair.get_json()
    women = client.post(
        rules,
        json={"name": "Prima mujer", "season": 2026, "per_kg": "0.20", "woman_led_only": True},
        headers=manager,
    )
    assert women.status_code == 201
    twice = client.post(
        rules,
        json={"name": "Otra", "season": 2026, "per_kg": "1", "claim_type": "fairtrade"},
        headers=manager,
    )
    assert twice.status_code == 409
    listed = client.get(rules + "?season=2026", headers=manager).get_json()
    assert [(r["name"], r["rate"], r["unit"]) for r in listed] == [
        ("Prima Fairtrade", "1.65", "kg_delivered"),
        ("Prima mujer", "0.20", "kg_delivered"),
    ]
    balance = client.get(
        f"/api/v1/families/{farm['family'].id}/balance", headers=manager
    ).get_json()
    # 100 kg x 1.65 = 165.00; 50.5 kg x 1.65 = 83.33; women: 20.00 + 10.10
    assert balance["rule_premiums"] == "278.43"
    assert balance["earned"] == "1643.03"
    other = client.get(
        f"/api/v1/families/{farm['other_delivery'].family_id}/balance", headers=manager
    )
    assert other.get_json()["rule_premiums"] == "0.00"  # neither certified nor woman-led


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "season": 2026, "per_kg": "1", "claim_type": "fairtrade"}, "name"),
        ({"name": "X", "season": 1990, "per_kg": "1", "claim_type": "fairtrade"}, "season"),
        ({"name": "X", "season": 2026, "per_kg": "0", "claim_type": "fairtrade"}, "per_kg"),
        ({"name": "X", "season": 2026, "per_kg": "1", "claim_type": "kosher"}, "claim_type"),
        ({"name": "X", "season": 2026, "per_kg": "1"}, "claim_type"),
        ({"name": "X", "season": 2026, "per_kg": "uno", "claim_type": "fairtrade"}, "per_kg"),
    ],
)
def test_a_bad_premium_rule_is_refused(world, client, manager, db, body, field, frozen):
    answer = client.post("/api/v1/cooperatives/COOPA/premium-rules", json=body, headers=manager)
    assert answer.status_code == 422
    assert field in answer.get_json()["errors"]
    assert _count(db, PremiumRule) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "diez"}, "amount"),
        ({"kind": "gift"}, "kind"),
        ({"method": "barter"}, "method"),
        ({"paid_on": "2027-01-01"}, "paid_on"),
        ({"paid_on": "31/02/2026"}, "paid_on"),
        ({"season": 1999}, "season"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_payment_input_is_a_clear_error_and_stores_nothing(
    farm, client, manager, db, change, field, frozen
):
    body = {"kind": "advance", "method": "cash", "paid_on": "2026-05-01", "amount": "50"}
    body.update(change)
    answer = client.post(
        f"/api/v1/families/{farm['family'].id}/payments", json=body, headers=manager
    )
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]
    assert _count(db, Payment) == 0


def test_allocations_are_checked_against_what_is_outstanding(farm, client, manager, db, frozen):
    url = f"/api/v1/families/{farm['family'].id}/payments"
    base = {"kind": "final", "method": "cash", "paid_on": "2026-07-01", "amount": "2000"}
    d1, d2 = str(farm["d1"].id), str(farm["d2"].id)
    cases = [
        [{"delivery_id": d1, "amount": "900.01"}],  # D1 earned 900.00
        [{"delivery_id": str(farm["other_delivery"].id), "amount": "10"}],  # another family's
        [{"delivery_id": d1, "amount": "10"}, {"delivery_id": d1, "amount": "10"}],
    ]
    for allocations in cases:
        answer = client.post(url, json={**base, "allocations": allocations}, headers=manager)
        assert answer.status_code == 422, answer.get_json()
        assert answer.get_json()["errors"]["allocations"]
    too_much = client.post(
        url,
        json={**base, "amount": "100", "allocations": [{"delivery_id": d1, "amount": "150"}]},
        headers=manager,
    )
    assert too_much.status_code == 422
    assert _count(db, Payment) == 0
    ok = client.post(
        url,
        json={**base, "amount": "300", "allocations": [{"delivery_id": d2, "amount": "300"}]},
        headers=manager,
    )
    assert ok.status_code == 201
    advance = client.post(
        url, json={**base, "kind": "advance", "amount": "50", "allocations": []}, headers=manager
    )
    assert advance.get_json()["allocations"] == [] and advance.get_json()["allocated"] == "0.00"
    # D2 has 164.60 left after 300.00: asking for 164.61 is refused.
    left = client.post(
        url,
        json={**base, "amount": "200", "allocations": [{"delivery_id": d2, "amount": "164.61"}]},
        headers=manager,
    )
    assert left.status_code == 422


def test_void_with_a_reason_and_the_receipt(farm, client, manager, api_token, db, frozen):
    url = f"/api/v1/families/{farm['family'].id}/payments"
    payment = client.post(
        url,
        json={
            "kind": "advance",
            "method": "mobile",
            "paid_on": "2026-05-02",
            "amount": "250",
            "reference": "YAPE-77",
        },
        headers=manager,
    ).get_json()
    receipt = client.get(f"/api/v1/payments/{payment['id']}/receipt.pdf", headers=manager)
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    document = pikepdf.open(io.BytesIO(receipt.data))
    with document.open_metadata() as meta:
        assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("3", "B")
    assert round(float(document.pages[0].mediabox[3])) == 595  # A5 portrait: 420 x 595 pt
    from tests.functional.test_reports_season import keep

    keep(receipt.data, "payment-receipt.pdf")

    no_reason = client.post(
        f"/api/v1/payments/{payment['id']}/void", json={"reason": ""}, headers=manager
    )
    assert no_reason.status_code == 422
    clerk = api_token("clerk.a@example.org")
    assert (
        client.post(
            f"/api/v1/payments/{payment['id']}/void", json={"reason": "x"}, headers=clerk
        ).status_code
        == 403
    )
    voided = client.post(
        f"/api/v1/payments/{payment['id']}/void", json={"reason": "Duplicado"}, headers=manager
    )
    assert voided.status_code == 200 and voided.get_json()["voided"] is True
    assert voided.get_json()["void_reason"] == "Duplicado"
    again = client.post(
        f"/api/v1/payments/{payment['id']}/void", json={"reason": "Otra vez"}, headers=manager
    )
    assert again.status_code == 409
    assert _count(db, Payment) == 1  # nothing deleted
    balance = client.get(
        f"/api/v1/families/{farm['family'].id}/balance", headers=manager
    ).get_json()
    assert balance["paid"] == "0.00"


def test_roles_and_other_cooperatives(farm, client, api_token, frozen):
    url = f"/api/v1/families/{farm['family'].id}/payments"
    body = {"kind": "advance", "method": "cash", "paid_on": "2026-05-01", "amount": "10"}
    assert client.post(url, json=body, headers=api_token("clerk.a@example.org")).status_code == 403
    assert (
        client.post(url, json=body, headers=api_token("auditor.a@example.org")).status_code == 403
    )
    assert client.get(url, headers=api_token("auditor.a@example.org")).status_code == 200
    assert client.get(url, headers=api_token("manager.b@example.org")).status_code == 404
    assert (
        client.post(url, json=body, headers=api_token("manager.b@example.org")).status_code == 404
    )
    assert (
        client.get(
            "/api/v1/payments/not-an-id", headers=api_token("manager.a@example.org")
        ).status_code
        == 404
    )


def test_a_voided_payment_settles_nothing(farm, client, manager, frozen):
    """A voided payment's `allocated` still gave what it had settled (stop 26's notes): a
    program summing `allocated` over a family's payments counted it. Its allocations stay
    listed, as history; `allocated` is 0."""
    url = f"/api/v1/families/{farm['family'].id}/payments"
    body = {"kind": "final", "method": "cash", "paid_on": "2026-07-01", "amount": "1000"}
    paid = client.post(url, json=body, headers=manager).get_json()
    assert paid["allocated"] == "1000.00"
    voided = client.post(
        f"/api/v1/payments/{paid['id']}/void", json={"reason": "Duplicado"}, headers=manager
    ).get_json()
    assert voided["voided"] is True and voided["allocated"] == "0.00"
    assert len(voided["allocations"]) == 2
    listed = client.get(url, headers=manager).get_json()
    [shown] = [p for p in listed if p["id"] == paid["id"]]
    assert shown["allocated"] == "0.00"
