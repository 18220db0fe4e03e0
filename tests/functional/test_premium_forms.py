"""Issue 11.4: premium rules per product form, paid on each delivery's equivalent.

Cooperative A (coffee), season 2026. Family F1 is Fairtrade-certified and delivers
D1 1,000 kg of cherry, D2 100 kg of dry parchment and D3 50 kg of green coffee; F2 is not
certified (D4 100 kg of dry parchment). The Fairtrade premium is US$ 0.20 per lb of green
coffee, S/ 0.75 per lb at S/ 3.75 per US$. With SPEC's factors (cherry -> wet parchment
0.36, wet -> dry parchment 0.555556, dry parchment -> green 0.8):

  D1  1,000 kg cherry         = 160.000 kg green = 352.740 lb  x 0.75 = S/ 264.55
  D2    100 kg dry parchment  =  80.000 kg green = 176.370 lb  x 0.75 = S/ 132.28
  D3     50 kg green          =  50.000 kg green = 110.231 lb  x 0.75 = S/  82.67
                                                            F1 in all: S/ 479.50

(the old rule paid S/ 1.65 on each of the 1,150 kg whatever their form: S/ 1,897.50).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlmodel import func, select

from tests import factories as f
from tracker.models import FixedPremium, PremiumRule
from tracker.services import payments, premiums, reports

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
RULES = "/api/v1/cooperatives/COOPA/premium-rules"
FAIRTRADE = {
    "name": "Prima Fairtrade (US$ 0,20/lb de café verde)",
    "season": 2026,
    "claim_type": "fairtrade",
    "crop": "coffee",
    "unit": "lb_green",
    "rate": "0.75",
    "note": "US$ 0,20/lb a S/ 3,75 por US$",
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def coffee(db, world, frozen):
    a = world.a
    fairtrade = f.make_certificate(db, a, type="fairtrade", number="FLO-1")
    f1 = f.make_family(db, a, woman_led=False, head_name="Rosa Quispe Huamán")
    f2 = f.make_family(db, a, woman_led=False)
    p1 = f.make_plot(db, f1, area_ha=5.0)
    p2 = f.make_plot(db, f2)
    f.cover(db, fairtrade, f1)
    d1 = f.make_delivery(db, a, f1, p1, kg=1000, form="cherry", price=200, on=date(2026, 5, 4))
    d2 = f.make_delivery(db, a, f1, p1, kg=100, price=900, on=date(2026, 5, 6))
    d3 = f.make_delivery(db, a, f1, p1, kg=50, form="green", price=1200, on=date(2026, 5, 8))
    d4 = f.make_delivery(db, a, f2, p2, kg=100, price=900, on=date(2026, 5, 8))
    f.materialise_claims(db, [(d1, [fairtrade]), (d2, [fairtrade]), (d3, [fairtrade]), (d4, [])])
    db.commit()
    return {"coop": a, "f1": f1, "f2": f2, "deliveries": (d1, d2, d3, d4)}


@pytest.fixture
def manager(api_token):
    return {**api_token("manager.a@example.org"), "Accept-Language": "es"}


def _count(db, model) -> int:
    count = db.exec(select(func.count()).select_from(model)).one()
    db.commit()
    return int(count)


def _rule_premiums(db, coop, family) -> list[int]:
    lines = payments.delivery_lines(db, family, 2026)
    db.commit()
    return [line.rule_premium_minor for line in lines]


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return " ".join(out.stdout.decode().split())


def test_a_rule_states_its_crop_claim_forms_and_unit(coffee, client, manager):
    created = client.post(RULES, json=FAIRTRADE, headers=manager)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["forms"] == ["cherry", "dry_parchment", "green", "roasted", "wet_parchment"]
    assert (body["crop"], body["claim_type"], body["unit"], body["rate"]) == (
        "coffee",
        "fairtrade",
        "lb_green",
        "0.75",
    )
    assert body["unit_label"] == "por lb de café verde"
    assert body["note"] == "US$ 0,20/lb a S/ 3,75 por US$" and body["voided"] is False
    listed = client.get(RULES + "?season=2026", headers=manager).get_json()
    assert [r["id"] for r in listed] == [body["id"]]


def test_each_delivery_earns_on_its_green_equivalent(coffee, client, manager, db):
    assert client.post(RULES, json=FAIRTRADE, headers=manager).status_code == 201
    assert _rule_premiums(db, coffee["coop"], coffee["f1"]) == [26_455, 13_228, 8_267]
    assert _rule_premiums(db, coffee["coop"], coffee["f2"]) == [0]
    balance = client.get(f"/api/v1/families/{coffee['f1'].id}/balance", headers=manager)
    assert balance.get_json()["rule_premiums"] == "479.50"
    report = client.get("/api/v1/cooperatives/COOPA/reports/season?season=2026", headers=manager)
    [rule] = report.get_json()["prices"]["rule_premiums"]
    assert (rule["delivered_kg"], rule["equivalent_kg"], rule["amount"], rule["unit"]) == (
        1150.0,
        290.0,
        "479.50",
        "lb_green",
    )


def test_a_rule_only_pays_on_its_forms(coffee, client, manager, db):
    body = {**FAIRTRADE, "forms": ["dry_parchment", "green"]}
    assert client.post(RULES, json=body, headers=manager).status_code == 201
    assert _rule_premiums(db, coffee["coop"], coffee["f1"]) == [0, 13_228, 8_267]


def test_cacao_earns_per_tonne_of_dry_beans(db, world, frozen, client, api_token):
    b = world.b
    fairtrade = f.make_certificate(db, b, type="fairtrade", crops="cacao", number="FLO-2")
    family = f.make_family(db, b)
    plot = f.make_plot(db, family, crop="cacao", area_ha=4.0)
    f.cover(db, fairtrade, family)
    wet = f.make_delivery(db, b, family, plot, kg=1000, form="wet_beans", price=450)
    dry = f.make_delivery(db, b, family, plot, kg=200, form="dry_beans", price=1100)
    f.materialise_claims(db, [(wet, [fairtrade]), (dry, [fairtrade])])
    db.commit()
    headers = api_token("manager.b@example.org")
    rule = {
        "name": "Prima Fairtrade cacao (US$ 240/t)",
        "season": 2026,
        "claim_type": "fairtrade",
        "crop": "cacao",
        "unit": "t_dry_beans",
        "rate": "900.00",
    }
    created = client.post("/api/v1/cooperatives/COOPB/premium-rules", json=rule, headers=headers)
    assert created.status_code == 201, created.get_json()
    # 1,000 kg wet = 0.375 t dry x 900 = 337.50; 200 kg dry = 0.2 t x 900 = 180.00
    assert _rule_premiums(db, b, family) == [33_750, 18_000]
    balance = client.get(f"/api/v1/families/{family.id}/balance", headers=headers).get_json()
    assert balance["rule_premiums"] == "517.50"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"unit": "lb_dry_beans"}, "unit", "no existe para este cultivo"),
        ({"unit": "bushel_green"}, "unit", "por lb de café verde"),
        ({"crop": None}, "crop", "un solo cultivo"),
        ({"forms": ["wet_beans"]}, "forms", "cereza"),
        ({"rate": "0"}, "rate", "mayor que 0"),
        ({"rate": "500"}, "rate", "453,59 por lb de café verde"),  # Spanish decimals
        ({"claim_type": "kosher"}, "claim_type", "orgánico"),
        ({"name": "\u0000"}, "name", "caracteres"),
    ],
)
def test_a_bad_rule_is_refused_with_a_clear_message(
    coffee, client, manager, db, change, field, words
):
    answer = client.post(RULES, json={**FAIRTRADE, **change}, headers=manager)
    assert answer.status_code == 422, answer.get_json()
    errors = answer.get_json()["errors"]
    assert field in errors and words in " ".join(errors[field]), errors
    assert _count(db, PremiumRule) == 0


def test_the_older_per_kg_shorthand_is_a_rate_per_kg_as_weighed(coffee, client, manager, db):
    body = {"name": "Prima", "season": 2026, "claim_type": "fairtrade", "per_kg": "0.10"}
    created = client.post(RULES, json=body, headers=manager)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["unit"] == "kg_delivered"
    assert _rule_premiums(db, coffee["coop"], coffee["f1"]) == [10_000, 1_000, 500]
    missing = client.post(RULES, json={**body, "per_kg": None, "name": "x"}, headers=manager)
    assert missing.status_code == 422 and "rate" in missing.get_json()["errors"]


def test_a_premium_fixed_by_a_payment_keeps_its_amount(coffee, client, manager, auth, db):
    assert client.post(RULES, json=FAIRTRADE, headers=manager).status_code == 201
    _d1, d2, _d3, _d4 = coffee["deliveries"]
    f1 = coffee["f1"]
    paid = client.post(
        f"/api/v1/families/{f1.id}/payments",
        json={
            "kind": "final",
            "method": "cash",
            "paid_on": "2026-06-01",
            "amount": "100.00",
            "allocations": [{"delivery_id": str(d2.id), "amount": "100.00"}],
        },
        headers=manager,
    )
    assert paid.status_code == 201, paid.get_json()
    assert _count(db, FixedPremium) == 1
    # The cooperative measures 0.78 kg of green per kg of dry parchment from now on.
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/conversion-factors").get_data(as_text=True)
    assert "1 prima quedó fijada" in page
    saved = client.post("/c/COOPA/conversion-factors", data={"factor-dry_parchment": "0,78"})
    assert saved.status_code == 303
    # D1 follows (156 kg green -> 25,794), D2 keeps what the payment fixed, D3 is green.
    assert _rule_premiums(db, coffee["coop"], f1) == [25_794, 13_228, 8_267]
    balance = client.get(f"/api/v1/families/{f1.id}/balance", headers=manager).get_json()
    assert balance["rule_premiums"] == "472.89"
    report = reports.season_report(db, coffee["coop"], 2026)
    [rule] = report.prices.rules
    assert (rule.amount_minor, rule.fixed_minor) == (47_289, 13_228)
    db.commit()
    # Voiding the only payment that settled D2 lets its premium follow the factors again.
    voided = client.post(
        f"/api/v1/payments/{paid.get_json()['id']}/void",
        json={"reason": "pagado a otra familia"},
        headers=manager,
    )
    assert voided.status_code == 200
    assert _rule_premiums(db, coffee["coop"], f1) == [25_794, 12_897, 8_267]


def test_voiding_a_rule_stops_it_for_unpaid_deliveries_only(coffee, client, manager, db, api_token):
    rule = client.post(RULES, json=FAIRTRADE, headers=manager).get_json()
    d1, *_rest = coffee["deliveries"]
    f1 = coffee["f1"]
    client.post(
        f"/api/v1/families/{f1.id}/payments",
        json={
            "kind": "premium",
            "method": "cash",
            "paid_on": "2026-06-01",
            "amount": "264.55",
            "allocations": [{"delivery_id": str(d1.id), "amount": "264.55"}],
        },
        headers=manager,
    )
    url = f"/api/v1/premium-rules/{rule['id']}/void"
    no_reason = client.post(url, json={"reason": ""}, headers=manager)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    done = client.post(url, json={"reason": "tipo de cambio equivocado"}, headers=manager)
    assert done.status_code == 200 and done.get_json()["voided"] is True
    assert done.get_json()["void_reason"] == "tipo de cambio equivocado"
    assert client.post(url, json={"reason": "otra vez"}, headers=manager).status_code == 409
    # D1 was paid: its premium stays; D2 and D3 no longer earn the voided rule.
    assert _rule_premiums(db, coffee["coop"], f1) == [26_455, 0, 0]
    listed = client.get(RULES + "?season=2026", headers=manager).get_json()
    assert [(r["id"], r["voided"]) for r in listed] == [(rule["id"], True)]
    again = client.post(RULES, json={**FAIRTRADE, "rate": "0.76"}, headers=manager)
    assert again.status_code == 201, again.get_json()
    # The corrected rule does not pay D1 again: its Fairtrade premium was fixed and paid.
    assert _rule_premiums(db, coffee["coop"], f1) == [26_455, 13_404, 8_378]
    stranger = client.post(url, json={"reason": "x"}, headers=api_token("manager.b@example.org"))
    assert stranger.status_code == 404


def test_a_duplicate_rule_is_a_conflict_until_the_first_is_voided(coffee, client, manager):
    assert client.post(RULES, json=FAIRTRADE, headers=manager).status_code == 201
    twice = client.post(RULES, json={**FAIRTRADE, "forms": ["green"]}, headers=manager)
    assert twice.status_code == 409 and "anúlela primero" in twice.get_json()["message"]
    other_forms = {**FAIRTRADE, "crop": "cacao", "unit": "t_dry_beans", "rate": "900"}
    assert client.post(RULES, json=other_forms, headers=manager).status_code == 201


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps")
def test_payments_balances_and_report_agree_to_the_centimo(db, world, frozen, client, api_token):
    """Many deliveries of every form, two rules, payments that fix some premiums and a
    change of factors: every view of the premiums adds up to the same céntimos."""
    a = world.a
    rng = random.Random(11)
    fairtrade = f.make_certificate(db, a, type="fairtrade", number="FLO-9")
    families = [f.make_family(db, a, woman_led=i % 2 == 0) for i in range(6)]
    forms = ["cherry", "wet_parchment", "dry_parchment", "green"]
    for i, family in enumerate(families):
        plot = f.make_plot(db, family, area_ha=20.0)
        if i < 4:
            f.cover(db, fairtrade, family)
        for n in range(5):
            f.make_delivery(
                db,
                a,
                family,
                plot,
                kg=round(rng.uniform(5, 400), 3),
                form=rng.choice(forms),
                price=rng.randint(150, 1200),
                on=date(2026, 5, 4 + n),
            )
    db.commit()
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    assert client.post(RULES, json=FAIRTRADE, headers=headers).status_code == 201
    women = {
        "name": "Prima café de mujeres",
        "season": 2026,
        "woman_led_only": True,
        "crop": "coffee",
        "unit": "kg_green",
        "rate": "0.20",
    }
    assert client.post(RULES, json=women, headers=headers).status_code == 201
    for family in families[:3]:  # pays the oldest deliveries: their premiums get fixed
        answer = client.post(
            f"/api/v1/families/{family.id}/payments",
            json={"kind": "final", "method": "cash", "paid_on": "2026-06-01", "amount": "700"},
            headers=headers,
        )
        assert answer.status_code == 201
    coop = a
    from tracker.services import conversions

    conversions.update(db, coop=coop, values={"cherry": "0,33"}, user_id=None)
    db.commit()

    balances = payments.family_balances(db, coop, 2026)
    for family in families:
        lines = payments.delivery_lines(db, family, 2026)
        assert sum(x.rule_premium_minor for x in lines) == balances[family.id].rule_premium_minor
    report = reports.season_report(db, coop, 2026)
    total = sum(b.rule_premium_minor for b in balances.values())
    assert total == report.prices.rule_premium_minor > 0
    for line, result in zip(
        report.prices.rules, premiums.rule_premiums(db, coop, 2026), strict=True
    ):
        assert line.amount_minor == sum(amount for _g, amount in result.by_family.values())
    fixed = db.exec(select(func.sum(FixedPremium.amount_minor))).one()
    assert fixed and sum(r.fixed_minor for r in report.prices.rules) == fixed
    db.commit()

    api = client.get(f"/api/v1/families/{families[0].id}/balance", headers=headers).get_json()
    assert api["rule_premiums"] == f"{balances[families[0].id].rule_premium_minor / 100:.2f}"
    from tracker.documents.season_report import Fmt

    fmt = Fmt("es", "PEN")
    pdf = client.get("/api/v1/cooperatives/COOPA/reports/season.pdf?season=2026", headers=headers)
    text = _pdf_text(pdf.data)
    for line in report.prices.rules:
        assert fmt.money(line.amount_minor).replace("\u00a0", " ") in text, line.name
    assert fmt.money(report.prices.premiums_minor).replace("\u00a0", " ") in text
