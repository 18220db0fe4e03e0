"""The season report against a small cooperative whose every figure is worked out by hand.

Cooperative A, season 2026 (1 Apr 2026 - 31 Mar 2027), seen on 23 Nov 2026:

  family  community  woman-led  plot            deliveries in the season (dry parchment unless said)
  F1      Pólvora    yes        1.0 ha x 800    D1 100.000 kg @ 9.00 (+0.40 premium), D2 50.500 kg @ 9.20
  F2      Pólvora    no         0.5 ha x 800    D3 300.000 kg @ 9.00, D4 300.000 kg @ 9.00 (over the 480 kg cap)
  F3      Tocache    no         (protected)     D5 200.000 kg cherry @ 2.00
  F4      Tocache    yes                        none (an advance of S/ 100.00 only)

plus a voided delivery of F1 and one of F2 in March 2026 (season 2025): both left out.
Organic covers F1 and F2; fair trade (mass balance, suspended from 1 Oct) covers F1.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime

import pikepdf
import pytest
import time_machine

from tests import factories as f
from tracker.models import MassBalanceDebit, PlotFlag, utcnow
from tracker.models.certificate import CertificateStatusChange
from tracker.services import deliveries, lots, reports

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def season(db, world, frozen):
    """The hand-built cooperative above, committed."""
    return build_season(db, world)


def build_season(db, world):
    """Build the cooperative of the module docstring in cooperative A (call with time frozen
    on or after the dates used) and commit it."""
    a = world.a
    polvora = f.make_community(db, a, "Pólvora")
    tocache = f.make_community(db, a, "Tocache")
    f1 = f.make_family(db, a, community=polvora, woman_led=True, head_name="Rosa Quispe Huamán")
    f2 = f.make_family(db, a, community=polvora, woman_led=False, head_name="Juan Tapia Ríos")
    f3 = f.make_family(db, a, community=tocache, woman_led=False, head_name="Luis Cárdenas")
    f4 = f.make_family(db, a, community=tocache, woman_led=True, head_name="Elena Vargas")
    p1 = f.make_plot(db, f1, area_ha=1.0, expected_yield_kg_ha=800)
    p2 = f.make_plot(db, f2, area_ha=0.5, expected_yield_kg_ha=800)
    p3 = f.make_plot(db, f3, area_ha=2.0, lon=-75.9, lat=-7.6)
    organic = f.make_certificate(db, a, type="organic", number="CU-PE-2026-0001")
    fairtrade = f.make_certificate(
        db,
        a,
        type="fairtrade",
        number="FLO-3456",
        basis="mass_balance",
        standard="Fairtrade SPO",
        body="FLOCERT",
        valid_until=date(2027, 6, 30),
    )
    f.cover(db, organic, f1)
    f.cover(db, organic, f2)
    f.cover(db, fairtrade, f1)
    db.add(
        CertificateStatusChange(
            cooperative_id=a.id,
            certificate_id=fairtrade.id,
            status="suspended",
            effective_from=date(2026, 10, 1),
            reason="Inspección anual pendiente",
        )
    )
    d1 = f.make_delivery(
        db, a, f1, p1, kg=100, on=date(2026, 5, 4), price=900, premium_per_kg_minor=40
    )
    d2 = f.make_delivery(db, a, f1, p1, kg=50.5, on=date(2026, 5, 6), price=920)
    d3 = f.make_delivery(db, a, f2, p2, kg=300, on=date(2026, 5, 11), price=900)
    d4 = f.make_delivery(db, a, f2, p2, kg=300, on=date(2026, 6, 1), price=900)
    d5 = f.make_delivery(db, a, f3, p3, kg=200, on=date(2026, 5, 12), price=200, form="cherry")
    voided = f.make_delivery(db, a, f1, p1, kg=999, on=date(2026, 5, 20), price=900)
    deliveries.void(db, delivery=voided, reason="Pesada duplicada", user_id=None)
    f.make_delivery(db, a, f2, p2, kg=10, on=date(2026, 3, 15), price=900)  # season 2025
    f.materialise_claims(
        db,
        [
            (d1, [organic, fairtrade]),
            (d2, [organic, fairtrade]),
            (d3, [organic]),
            (d4, []),
            (d5, []),
        ],
        over_cap=[(d4, "organic")],
    )
    db.add(PlotFlag(cooperative_id=a.id, plot_id=p3.id, kind="protected_area", detail="PNCAZ"))
    f.make_premium_rule(db, a, name="Prima Fairtrade", per_kg_minor=165, claim_type="fairtrade")
    f.make_premium_rule(
        db, a, name="Prima mujer cafetalera", per_kg_minor=20, claim_type=None, woman_led_only=True
    )
    f.make_payment(db, f1, kind="advance", amount_minor=50_000, paid_on=date(2026, 5, 5))
    f.make_payment(
        db,
        f2,
        kind="final",
        method="bank_transfer",
        amount_minor=540_000,
        paid_on=date(2026, 6, 10),
        allocations=[(d3, 270_000), (d4, 270_000)],
    )
    f.make_payment(
        db, f4, kind="advance", amount_minor=10_000, paid_on=date(2026, 5, 1), season=2026
    )
    wrong = f.make_payment(db, f1, kind="premium", method="mobile", amount_minor=20_000)
    from tracker.services import payments

    payments.void_payment(db, payment=wrong, reason="Monto equivocado", user_id=None)
    # A lot of D1 spends 60 kg of fair-trade mass-balance credit; a voided debit does not count.
    lot1 = f.make_lot(db, a, [d1], occurred_on=date(2026, 5, 30))
    db.add(
        MassBalanceDebit(
            cooperative_id=a.id, certificate_id=fairtrade.id, lot_id=lot1.id, grams=60_000
        )
    )
    db.add(
        MassBalanceDebit(
            cooperative_id=a.id,
            certificate_id=fairtrade.id,
            lot_id=lot1.id,
            grams=5_000,
            voided_at=utcnow(),
            void_reason="error",
        )
    )
    # Hulling F2's 300 kg into 200 kg of green coffee (66.7 %) was confirmed against the band.
    lot3 = f.make_lot(db, a, [d3], occurred_on=date(2026, 6, 12))
    lots.process_lot(
        db,
        lot=lot3,
        process="hulling",
        output_form="green",
        output_g=200_000,
        confirm_yield=True,
        occurred_on=date(2026, 6, 15),
    )
    # Hulling within the band (80 %) is not flagged.
    lot4 = f.make_lot(db, a, [d4], occurred_on=date(2026, 6, 12))
    lots.process_lot(
        db,
        lot=lot4,
        process="hulling",
        output_form="green",
        output_g=240_000,
        occurred_on=date(2026, 6, 16),
    )
    db.commit()
    return {
        "coop": a,
        "families": (f1, f2, f3, f4),
        "deliveries": (d1, d2, d3, d4, d5),
        "organic": organic,
        "fairtrade": fairtrade,
        "plot3": p3,
    }


def test_every_figure_matches_the_hand_worked_numbers(season, db):
    report = reports.season_report(db, season["coop"], 2026)
    _f1, f2, f3, _f4 = season["families"]
    assert (report.start, report.end, report.as_of) == (
        date(2026, 4, 1),
        date(2027, 3, 31),
        date(2026, 11, 23),
    )
    t = report.totals
    assert (t.deliveries, t.families, t.net_g, t.value_minor) == (5, 3, 950_500, 716_460)
    communities = {
        c.label: (c.deliveries, c.families, c.net_g, c.value_minor) for c in report.by_community
    }
    assert communities == {"Pólvora": (4, 2, 750_500, 676_460), "Tocache": (1, 1, 200_000, 40_000)}
    forms = {v.key: v for v in report.by_form}
    assert set(forms) == {"coffee/dry_parchment", "coffee/cherry"}
    dp = forms["coffee/dry_parchment"]
    assert (dp.deliveries, dp.net_g, dp.value_minor) == (4, 750_500, 676_460)
    assert dp.price_per_kg_minor == 901  # 6,764.60 / 750.5 kg = 9.0134
    assert dp.price_per_quintal_minor == 49_754  # x 55.2 kg
    assert round(dp.quintales, 3) == 13.596
    assert forms["coffee/cherry"].quintales is None
    claims = {v.key: (v.deliveries, v.families, v.net_g) for v in report.by_claim}
    assert claims == {"organic": (3, 2, 450_500), "fairtrade": (2, 1, 150_500)}
    u = report.unclaimed
    assert (u.deliveries, u.families, u.net_g) == (2, 2, 500_000)
    assert [(w.start, w.deliveries, w.net_g) for w in report.by_week] == [
        (date(2026, 5, 4), 2, 150_500),
        (date(2026, 5, 11), 2, 500_000),
        (date(2026, 5, 18), 0, 0),
        (date(2026, 5, 25), 0, 0),
        (date(2026, 6, 1), 1, 300_000),
    ]

    p = report.prices
    assert (p.value_minor, p.scale_premium_minor) == (716_460, 4_000)
    rules = {r.name: (r.grams, r.amount_minor, r.families) for r in p.rules}
    # 100 kg x 1.65 = 165.00 and 50.5 kg x 1.65 = 83.325 -> 83.33 (rounded per delivery)
    assert rules == {
        "Prima Fairtrade": (150_500, 24_833, 1),
        "Prima mujer cafetalera": (150_500, 3_010, 1),
    }
    assert p.earned_minor == 716_460 + 4_000 + 24_833 + 3_010
    assert p.paid_by_kind == {"advance": 60_000, "final": 540_000, "premium": 0}
    assert (p.payments, p.families_paid) == (3, 3)
    # Family by family: F4's advance (100.00, nothing delivered yet) offsets nobody's debt.
    assert p.outstanding_minor == (748_303 - 590_000) == p.owed_minor
    assert p.ahead_minor == 10_000
    assert p.median_family_earned_minor == 168_303  # F1: 1,364.60 + 40.00 + 278.43
    # F1 9.07 and F2 9.00 for dry parchment, F3 2.00 for cherry: a kilogram of cherry is
    # not one of parchment, so the season gives no price per kg across them, only per form.
    assert p.products == 2
    assert (p.price_per_kg_minor, p.median_family_price_per_kg_minor) == (None, None)
    assert p.scale_premium_per_kg_minor is None
    assert p.median_family_paid_minor == 50_000  # F1 500.00 (the voided one left out), F2, F4

    w = report.women
    assert (w.members, w.woman_led_members, w.delivering, w.woman_led_delivering) == (4, 2, 3, 1)
    assert (w.net_g, w.woman_led_net_g) == (950_500, 150_500)
    assert w.member_share == 0.5

    certs = {c.number: c for c in report.certificates}
    org, ft = certs["CU-PE-2026-0001"], certs["FLO-3456"]
    assert (org.status, org.certified_families, org.claimed_g, org.claimed_deliveries) == (
        "active",
        2,
        450_500,
        3,
    )
    assert (org.valid_until - report.as_of).days == 38
    assert (ft.status, ft.certified_families, ft.claimed_g) == ("suspended", 1, 150_500)
    assert [(c.status, c.effective_from) for c in ft.changes] == [("suspended", date(2026, 10, 1))]
    extra = _engine_debits(db, season, exclude=60_000)
    # The ledger counts green-coffee equivalent (150.5 kg of dry parchment x 0.8), as the
    # certificate's ledger does everywhere else (massbalance.ledgers).
    assert [(lg.label, lg.credit_g, lg.debit_g) for lg in report.ledger] == [
        ("FLO-3456", 120_400, 60_000 + extra)
    ]

    assert [
        (o.member_code, o.claim_type, o.deliveries, o.flagged_g, o.delivered_g, o.cap_g)
        for o in report.over_cap
    ] == [(f2.member_code, "organic", 1, 300_000, 600_000, 480_000)]
    assert [(pp.member_code, pp.deliveries, pp.net_g) for pp in report.protected_plots] == [
        (f3.member_code, 1, 200_000)
    ]
    assert [
        (y.lot_code, y.from_form, y.to_form, y.yield_permille, y.band) for y in report.yields
    ] == [(report.yields[0].lot_code, "dry_parchment", "green", 667, (760, 840))]
    assert report.flag_count == 3


def _engine_debits(db, season, exclude):
    """Debits the claims engine may have written itself for the lot (0 before it exists)."""
    from sqlmodel import func, select

    total = db.exec(
        select(func.coalesce(func.sum(MassBalanceDebit.grams), 0)).where(
            MassBalanceDebit.certificate_id == season["fairtrade"].id,
            MassBalanceDebit.voided_at.is_(None),
        )
    ).one()
    return int(total) - exclude


def keep(data: bytes, name: str) -> None:
    """Keep a rendered PDF beside the browser screenshots, to look at (pdftoppm -png -r 80)."""
    from tests.browser.conftest import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / name).write_bytes(data)


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return out.stdout.decode()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps")
def test_api_pdf_and_dashboard_agree_to_the_gram(season, client, api_token, auth):
    headers = api_token("manager.a@example.org")
    answer = client.get("/api/v1/cooperatives/COOPA/reports/season?season=2026", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    figures = answer.get_json()
    assert figures["totals"]["net_kg"] == 950.5
    assert figures["totals"]["value"] == "7164.60"
    assert figures["prices"]["earned"] == "7483.03"
    assert figures["prices"]["paid"] == "6000.00"
    assert figures["prices"]["outstanding"] == "1583.03"  # F4's advance offsets no one
    assert figures["prices"]["paid_ahead"] == "100.00"
    # parchment and cherry: no price per kg across the two, a price for each
    assert figures["prices"]["price_per_kg"] is None
    assert figures["prices"]["median_family_price_per_kg"] is None
    assert {c["name"]: c["net_kg"] for c in figures["by_community"]} == {
        "Pólvora": 750.5,
        "Tocache": 200.0,
    }
    assert figures["flags"]["over_cap"][0]["cap_kg"] == 480.0
    assert figures["women"]["member_share"] == 0.5
    assert figures["certificates"][0]["status_changes"] == [] or figures["certificates"]

    # The same figures, written the same way (one decimal, as every summary: issue 15) in
    # the PDF and on the dashboard: 750,5 kg of dry parchment and 200,0 kg of cherry, never
    # their sum as weighed, 950,5 kg (stop 31: kilos of different products are not added).
    kg, cherry, mixed = "750,5", "200,0", "950,5"
    pdf = client.get("/api/v1/cooperatives/COOPA/reports/season.pdf?season=2026", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    keep(pdf.data, "season-report-small.pdf")
    text = _pdf_text(pdf.data)
    assert "Recibido" in text and f"{kg} kg de café pergamino" in text, text[:600]
    assert f"{cherry} kg de café cereza" in text and mixed not in text
    assert "S/ 7.164,60" in text and "S/ 74.830,30" not in text
    assert "S/ 7.483,03" in text and "S/ 1.583,03" in text
    for name in ("Pólvora", "Tocache", "FLO-3456", "Suspendido", "Prima Fairtrade"):
        assert name in text, name
    assert "13,6" in text  # quintales of dry parchment
    flat = " ".join(text.split())
    assert "un precio por kg para cada producto" in flat and "por kg en promedio" not in flat
    document = pikepdf.open(io.BytesIO(pdf.data))
    with document.open_metadata() as meta:
        assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("3", "B")
    assert "/OutputIntents" in document.Root
    width, height = (float(x) for x in document.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4

    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(rf'data-product-kg="coffee/dry_parchment">\s*<span class="figure">{kg}<', html)
    assert re.search(rf'data-received="coffee/cherry">\s*<span class="figure">{cherry}<', html)
    assert "data-total-kg" not in html and mixed not in html
    assert "S/\u00a07.164,60" in html
    assert html.count("<svg") >= 2 and 'role="img"' in html
    assert "/c/COOPA/reports/season.pdf?season=2026" in html
    web_pdf = client.get("/c/COOPA/reports/season.pdf?season=2026")
    assert web_pdf.status_code == 200 and _pdf_text(web_pdf.data).count(kg) >= 2
    full = client.get("/c/COOPA/reports/season?season=2026").get_data(as_text=True)
    assert re.search(rf'data-product-kg="coffee/dry_parchment">\s*<span class="figure">{kg}<', full)
    assert "data-total-kg" not in full and mixed not in full and "FLO-3456" in full
    assert "Precio por quintal" in full and "Un quintal son 46 kg" in full
    assert "un precio por kg para cada producto, en Volúmenes" in full
    assert "Precio promedio por kg" not in full  # the median family's, across products


def test_a_cacao_cooperatives_report_speaks_of_no_quintal(db, world, frozen, client, auth):
    """Quintals are coffee's: a cacao cooperative's certifier read empty quintal columns
    and a note on coffee's quintals."""
    family = f.make_family(db, world.b)
    plot = f.make_plot(db, family, crop="cacao")
    f.make_delivery(db, world.b, family, plot, kg=300, form="dry_beans", price=1100)
    db.commit()
    auth.login("manager.b@example.org")
    page = client.get("/c/COOPB/reports/season?season=2026").get_data(as_text=True)
    assert "grano seco" in page
    assert "Precio por quintal" not in page and "Un quintal son" not in page
    text = _pdf_text(client.get("/c/COOPB/reports/season.pdf?season=2026").data)
    assert "grano seco" in text and "quintal" not in text.lower()


def test_auditors_read_reports_clerks_do_not(season, client, api_token, auth):
    url = "/api/v1/cooperatives/COOPA/reports/season?season=2026"
    assert client.get(url, headers=api_token("auditor.a@example.org")).status_code == 200
    refused = client.get(url, headers=api_token("clerk.a@example.org"))
    assert refused.status_code == 403
    assert client.get(url, headers=api_token("manager.b@example.org")).status_code == 404
    auth.login("clerk.a@example.org")
    assert client.get("/c/COOPA/reports/season").status_code == 403
    assert "reports/season.pdf" not in client.get("/c/COOPA/").get_data(as_text=True)


@pytest.mark.parametrize("bad", ["abc", "1999", "2029", "2026.5", ""])
def test_a_bad_season_is_a_clear_translated_error(world, frozen, client, api_token, bad):
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    answer = client.get(f"/api/v1/cooperatives/COOPA/reports/season?season={bad}", headers=headers)
    if bad == "":
        assert answer.status_code == 200  # left out: the current season
        assert answer.get_json()["season"] == 2026
        return
    assert answer.status_code == 422
    assert "season" in answer.get_json()["errors"]
    pdf = client.get(f"/api/v1/cooperatives/COOPA/reports/season.pdf?season={bad}", headers=headers)
    assert pdf.status_code == 422


def test_an_empty_season_still_reports(db, world, client, api_token, frozen):
    answer = client.get(
        "/api/v1/cooperatives/COOPB/reports/season?season=2024",
        headers=api_token("manager.b@example.org"),
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["totals"] == {"deliveries": 0, "families": 0, "net_kg": 0.0, "value": "0.00"}
    assert body["prices"]["median_family_earned"] is None
    pdf = client.get(
        "/api/v1/cooperatives/COOPB/reports/season.pdf?season=2024",
        headers=api_token("manager.b@example.org"),
    )
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_figures_follow_every_change_at_once(season, client, api_token):
    """Reports are remembered between requests, never past a change to the cooperative."""
    headers = api_token("manager.a@example.org")
    url = "/api/v1/cooperatives/COOPA/reports/season?season=2026"
    assert client.get(url, headers=headers).get_json()["prices"]["paid"] == "6000.00"
    f1 = season["families"][0]
    paid = client.post(
        f"/api/v1/families/{f1.id}/payments",
        json={"kind": "final", "method": "cash", "paid_on": "2026-07-01", "amount": "100"},
        headers=headers,
    )
    assert paid.status_code == 201
    assert client.get(url, headers=headers).get_json()["prices"]["paid"] == "6100.00"
    client.post(
        f"/api/v1/payments/{paid.get_json()['id']}/void", json={"reason": "x"}, headers=headers
    )
    assert client.get(url, headers=headers).get_json()["prices"]["paid"] == "6000.00"


def test_the_over_cap_table_gives_the_engines_figures(db, world, frozen, client, api_token):
    """A family with 1 ha of coffee and 2 ha of cacao delivers 3,000 kg of cherry (600 kg
    of parchment) and then 500 kg of dry parchment, both under organic. The engine's
    coffee cap is 1 ha x 800 x 1.2 = 960 kg of dry parchment: the parchment goes over
    it. The table used to read cap 2,880 kg (cacao and flagged plots counted) and 3,500 kg
    delivered (cherry added to parchment); it now reads the engine's 960, 600 and 500."""
    a = world.a
    organic = f.make_certificate(db, a, type="organic", crops="coffee,cacao")
    family = f.make_family(db, a)
    coffee = f.make_plot(db, family, area_ha=1.0, expected_yield_kg_ha=800)
    f.make_plot(db, family, crop="cacao", area_ha=2.0, expected_yield_kg_ha=800)
    f.cover(db, organic, family)
    f.make_delivery(db, a, family, coffee, kg=3000, form="cherry", on=date(2026, 5, 4))
    over = f.make_delivery(db, a, family, coffee, kg=500, on=date(2026, 6, 4))
    db.commit()
    report = reports.season_report(db, a, 2026)
    assert [
        (o.member_code, o.claim_type, o.crop, o.cap_g, o.claimed_g, o.flagged_g, o.deliveries)
        for o in report.over_cap
    ] == [(family.member_code, "organic", "coffee", 960_000, 600_000, 500_000, 1)]
    # The explanation of the delivery (the engine's own words) gives the same figures.
    from tracker.services import claims

    text = " ".join(r.text for r in claims.explain_delivery(db, over).missing)
    assert "960" in text and "600" in text and "500" in text, text
    db.commit()
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    body = client.get(f"/api/v1/cooperatives/{a.code}/reports/season?season=2026", headers=headers)
    [line] = body.get_json()["flags"]["over_cap"]
    assert (line["crop"], line["reference_form"]) == ("coffee", "dry_parchment")
    assert (line["cap_kg"], line["claimed_kg"], line["flagged_kg"], line["delivered_kg"]) == (
        960.0,
        600.0,
        500.0,
        1100.0,
    )


def test_kilos_awaiting_their_price_are_in_no_average_price(
    db, world, frozen, client, api_token, auth
):
    """100 kg of parchment at S/ 9.00 and 100 kg weighed before their price was set: the
    averages read S/ 4.50 (the waiting kilos as paid at 0), on the report's total and
    per-form prices, the quintal price and the family's own. They read S/ 9.00, with the
    waiting kilos named, until the price is set; then S/ 9.50 with both at their price."""
    from tracker.services import prices

    a = world.a
    family = f.make_family(db, a)
    plot = f.make_plot(db, family)
    f.make_delivery(db, a, family, plot, kg=100, price=900, on=date(2026, 5, 4))
    waiting = f.make_delivery(
        db, a, family, plot, kg=100, price=0, price_pending=True, on=date(2026, 5, 6)
    )
    db.commit()
    report = reports.season_report(db, a, 2026)
    [form] = report.by_form
    assert (report.prices.price_per_kg_minor, form.price_per_kg_minor) == (900, 900)
    assert form.price_per_quintal_minor == 900 * 55_200 // 1000  # S/ 496.80 per quintal
    assert report.prices.median_family_price_per_kg_minor == 900
    assert report.prices.pending_g == 100_000 and report.prices.net_g == 200_000
    db.commit()
    headers = {**api_token("manager.a@example.org"), "Accept-Language": "es"}
    body = client.get(f"/api/v1/cooperatives/{a.code}/reports/season?season=2026", headers=headers)
    figures = body.get_json()["prices"]
    assert (figures["price_per_kg"], figures["pending_price_kg"]) == ("9.00", 100.0)
    auth.login("manager.a@example.org")
    page = client.get(f"/c/{a.code}/reports/season?season=2026").get_data(as_text=True)
    assert "se omiten 100,0 kg que aún esperan su precio" in page
    prices.set_delivery_price(db, delivery=waiting, price_per_kg_minor=1000)
    db.commit()
    report = reports.season_report(db, a, 2026)
    assert (report.prices.price_per_kg_minor, report.prices.pending_g) == (950, 0)


def test_a_certificate_on_its_last_day_is_valid_today(db, world, frozen, client, auth):
    """The report's certificate table said "vence en 0 días" of a certificate on its last
    valid day, which reads as already expired."""
    today = date(2026, 11, 23)  # NOW, 10:00 in Peru
    f.make_certificate(db, world.a, number="CU-LAST-DAY", valid_until=today)
    db.commit()
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/reports/season?season=2026")
    html = page.get_data(as_text=True)
    assert "CU-LAST-DAY" in html and "vigente hoy, su último día" in html
    assert "vence en 0 días" not in html
