"""Issue 11.3: one mass-balance ledger, in one named unit, on every surface.

Cooperative B (cacao) holds a Fairtrade certificate that works by mass balance. One
certified family delivers 1,000 kg of wet beans and 200 kg of dry beans; with SPEC's
0.375 kg of dry beans per kg of wet beans that is 375 + 200 = 575 kg of dry-bean
equivalent in the ledger (not the 1,200 raw kilos the season report used to add up).
A lot of 100 kg of dry beans from another family is given the mass-balance claim: 100 kg
out, 475 kg left. The API's ledger, the season report (JSON, page, PDF in Spanish and in
English), the dashboard, the lot page and the certificate page all show these figures
and name the unit; a change of conversion factors moves them all at once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
import time_machine
from sqlmodel import select

from tests import factories as f
from tracker.models import AuditEntry, ConversionFactor
from tracker.services.claims import massbalance

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def cacao(db, world, frozen):
    """The cacao cooperative of the module docstring, committed."""
    b = world.b
    cert = f.make_certificate(
        db,
        b,
        type="fairtrade",
        crops="cacao",
        basis="mass_balance",
        number="FLO-7788",
        standard="Fairtrade SPO",
        body="FLOCERT",
    )
    family = f.make_family(db, b)
    plot = f.make_plot(db, family, crop="cacao", area_ha=4.0, expected_yield_kg_ha=900)
    f.cover(db, cert, family)
    wet = f.make_delivery(db, b, family, plot, kg=1000, form="wet_beans", price=450)
    dry = f.make_delivery(db, b, family, plot, kg=200, form="dry_beans", price=1100)
    f.materialise_claims(db, [(wet, [cert]), (dry, [cert])])
    lot = f.make_lot(db, b, kg=100, crop="cacao", form="dry_beans")
    other = f.make_lot(db, b, kg=40, crop="cacao", form="dry_beans")
    massbalance.allocate(db, lot=lot, certificate=cert, user_id=None)
    db.commit()
    return {"cert": cert, "lot": lot, "other": other}


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return out.stdout.decode()


def _ledger_api(client, headers, cert) -> dict:
    answer = client.get(f"/api/v1/certificates/{cert.id}/ledger", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_the_ledger_counts_dry_bean_equivalent_everywhere(cacao, client, api_token):
    headers = {**api_token("manager.b@example.org"), "Accept-Language": "es"}
    api = _ledger_api(client, headers, cacao["cert"])
    assert (api["credit_kg"], api["debit_kg"], api["balance_kg"]) == (575.0, 100.0, 475.0)
    assert (api["reference_form"], api["unit"]) == ("dry_beans", "kg equivalentes de grano seco")

    report = client.get("/api/v1/cooperatives/COOPB/reports/season?season=2026", headers=headers)
    assert report.status_code == 200, report.get_json()
    [line] = report.get_json()["ledger"]
    assert (line["credit_kg"], line["debit_kg"], line["balance_kg"]) == (
        api["credit_kg"],
        api["debit_kg"],
        api["balance_kg"],
    )
    assert (line["reference_form"], line["unit"]) == ("dry_beans", "kg equivalentes de grano seco")
    english = client.get(
        "/api/v1/cooperatives/COOPB/reports/season?season=2026",
        headers={**headers, "Accept-Language": "en"},
    ).get_json()["ledger"][0]
    assert english["unit"] == "kg of dry-bean equivalent"


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps")
@pytest.mark.parametrize(
    ("language", "numbers", "unit"),
    [
        ("es", ("575,000", "100,000", "475,000"), "kg equivalentes de grano seco"),
        ("en", ("575.000", "100.000", "475.000"), "kg of dry-bean equivalent"),
    ],
)
def test_the_report_pdf_reads_back_the_apis_figures(
    cacao, client, api_token, language, numbers, unit
):
    headers = {**api_token("manager.b@example.org"), "Accept-Language": language}
    api = _ledger_api(client, headers, cacao["cert"])
    assert api["unit"] == unit
    pdf = client.get("/api/v1/cooperatives/COOPB/reports/season.pdf?season=2026", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    from tests.functional.test_reports_season import keep

    keep(pdf.data, f"season-report-ledger-{language}.pdf")
    text = _pdf_text(pdf.data)
    # The ledger's row: the certificate number and its three figures, as the API gives them.
    [row] = [ln for ln in text.splitlines() if "FLO-7788" in ln and numbers[0] in ln]
    found = re.findall(r"-?\d[\d.,]*\d{3}", row)
    assert found[-3:] == list(numbers), row
    flat = " ".join(text.split())
    assert unit in flat
    raw = "1.200,000" if language == "es" else "1,200.000"
    assert raw not in row  # the raw kilos of wet and dry beans are not the credit


def test_the_dashboard_lot_and_certificate_pages_name_the_same_ledger(cacao, client, auth):
    auth.login("manager.b@example.org")
    dashboard = client.get("/c/COOPB/").get_data(as_text=True)
    assert re.search(r"data-credit>575,000<", dashboard)
    assert re.search(r"data-balance>475,000<", dashboard)
    assert "kg equivalentes de grano seco" in dashboard
    report = client.get("/c/COOPB/reports/season?season=2026").get_data(as_text=True)
    assert re.search(r"data-credit>575,000<", report) and re.search(r"data-debit>100,000", report)
    lot_page = client.get(f"/lots/{cacao['other'].id}/claims").get_data(as_text=True)
    assert "Saldo del libro: 475 kg equivalentes de grano seco; este lote necesita 40." in lot_page
    cert_page = client.get(f"/certificates/{cacao['cert'].id}").get_data(as_text=True)
    assert "En kg equivalentes de grano seco" in cert_page
    client.get("/lang/en")
    english = client.get("/c/COOPB/").get_data(as_text=True)
    assert "kg of dry-bean equivalent" in english and "data-credit>575.000<" in english


def test_a_change_of_factors_moves_every_ledger_at_once(cacao, client, auth, api_token, db):
    headers = {**api_token("manager.b@example.org"), "Accept-Language": "es"}
    report_url = "/api/v1/cooperatives/COOPB/reports/season?season=2026"
    assert client.get(report_url, headers=headers).get_json()["ledger"][0]["credit_kg"] == 575.0
    auth.login("manager.b@example.org")
    saved = client.post("/c/COOPB/conversion-factors", data={"factor-wet_beans": "0,4"})
    assert saved.status_code == 303
    api = _ledger_api(client, headers, cacao["cert"])
    assert (api["credit_kg"], api["balance_kg"]) == (600.0, 500.0)  # 400 + 200 kg, 100 out
    [line] = client.get(report_url, headers=headers).get_json()["ledger"]
    assert (line["credit_kg"], line["balance_kg"]) == (600.0, 500.0)
    row = db.exec(
        select(ConversionFactor).where(
            ConversionFactor.cooperative_id == cacao["cert"].cooperative_id,
            ConversionFactor.from_form == "wet_beans",
        )
    ).one()
    assert row.ppm == 400_000
    trail = db.exec(
        select(AuditEntry).where(
            AuditEntry.entity == "conversion_factor", AuditEntry.action == "update"
        )
    ).all()
    assert len(trail) == 1 and '"ppm":400000' in (trail[0].after or "")
    db.commit()


def test_mass_balance_allocation_errors_name_the_unit(cacao, client, api_token, db, world):
    big = f.make_lot(db, world.b, kg=2000, crop="cacao", form="wet_beans")
    db.commit()
    headers = {**api_token("manager.b@example.org"), "Accept-Language": "es"}
    answer = client.post(
        f"/api/v1/lots/{big.id}/mass-balance",
        json={"certificate_id": str(cacao["cert"].id)},
        headers=headers,
    )
    assert answer.status_code == 409
    text = answer.get_json()["message"]
    # 2,000 kg of wet beans need 750 kg of dry-bean equivalent; 475 are left.
    assert "475 kg equivalentes de grano seco" in text and "750" in text, text


def test_season_report_before_the_certificate_period_still_reads_the_ledger(
    cacao, client, api_token
):
    """A ledger covers its certificate's validity, not a season: the same figures."""
    headers = api_token("auditor.b@example.org")
    body = client.get("/api/v1/cooperatives/COOPB/reports/season?season=2025", headers=headers)
    assert body.status_code == 200
    ledgers = body.get_json()["ledger"]
    assert [(x["credit_kg"], x["debit_kg"]) for x in ledgers] == [(575.0, 100.0)]


def test_a_certificate_of_both_crops_shows_a_ledger_per_crop(
    db, world, frozen, client, auth, api_token
):
    """Cacao credit is not coffee credit: the API, the certificate page and the season
    report keep them apart, each in its own unit."""
    b = world.b
    cert = f.make_certificate(
        db, b, type="fairtrade", crops="coffee,cacao", basis="mass_balance", number="FLO-2C"
    )
    family = f.make_family(db, b)
    plot = f.make_plot(db, family, crop="cacao", area_ha=4.0, expected_yield_kg_ha=900)
    f.cover(db, cert, family)
    dry = f.make_delivery(db, b, family, plot, kg=200, form="dry_beans", price=1100)
    f.materialise_claims(db, [(dry, [cert])])
    db.commit()
    headers = {**api_token("manager.b@example.org"), "Accept-Language": "es"}
    url = f"/api/v1/certificates/{cert.id}/ledger"
    first = client.get(url, headers=headers).get_json()
    assert (first["crop"], first["crops"], first["credit_kg"]) == ("coffee", ["coffee", "cacao"], 0)
    assert first["unit"] == "kg equivalentes de café verde"
    cacao = client.get(f"{url}?crop=cacao", headers=headers).get_json()
    assert (cacao["crop"], cacao["credit_kg"], cacao["unit"]) == (
        "cacao",
        200.0,
        "kg equivalentes de grano seco",
    )
    wrong = client.get(f"{url}?crop=tea", headers=headers)
    assert wrong.status_code == 422 and "crop" in wrong.get_json()["errors"]
    lines = client.get(
        "/api/v1/cooperatives/COOPB/reports/season?season=2026", headers=headers
    ).get_json()["ledger"]
    assert sorted((x["crop"], x["credit_kg"]) for x in lines) == [("cacao", 200.0), ("coffee", 0)]
    auth.login("manager.b@example.org")
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert 'id="ledger-coffee"' in page and 'id="ledger-cacao"' in page
    assert "En kg equivalentes de café verde" in page and "En kg equivalentes de grano seco" in page


def test_the_credit_adds_up_the_deliveries_own_equivalents(cacao, db, world):
    """Each delivery's dry-bean equivalent is rounded to the gram on its own (its premium
    and a lot's debit count it so); the ledger converted each form's sum once, so the
    season report printed the same certified kilos twice, 0.6 kg apart in the demo's
    ledger and its Fairtrade premium. Three wet deliveries of 100.1 kg are 37,537.5 g
    each: 3 x 37,538 g, not 112,613 g."""
    from tracker.services import conversions, premiums
    from tracker.services.claims import ledger

    b, cert = world.b, cacao["cert"]
    family = f.make_family(db, b)
    plot = f.make_plot(db, family, crop="cacao", area_ha=4.0, expected_yield_kg_ha=900)
    f.cover(db, cert, family)
    wet = [
        f.make_delivery(db, b, family, plot, kg=100.1, form="wet_beans", price=450)
        for _ in range(3)
    ]
    f.materialise_claims(db, [(d, [cert]) for d in wet])
    f.make_premium_rule(
        db, b, name="Prima por t", crop="cacao", rate_minor=90_000, unit="t_dry_beans"
    )
    db.commit()
    factors = conversions.load(db, b.id)
    own = [factors.to_ledger("wet_beans", d.net_g) for d in wet]
    assert own == [37_538] * 3
    [credit] = ledger.ledgers(db, [cert.id]).values()
    assert credit.credit_g == 575_000 + sum(own) == 687_614
    [rule] = premiums.rule_premiums(db, b, 2026)
    assert rule.equivalent_g == credit.credit_g
