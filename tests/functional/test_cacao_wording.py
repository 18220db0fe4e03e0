"""A cacao cooperative's pages and documents name no coffee unit (found by helper-55 at
stop 26): no quintal column, no green-coffee equivalent in the season report's ledger note
or the EUDR summary. Its figures were checked against every surface and agreed."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return out.stdout.decode()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def coopc(db, world, frozen):
    """A cacao cooperative whose season is the calendar year (COOPC), committed."""
    from tracker.services import lots, publication
    from tracker.services.claims import massbalance

    c = f.make_cooperative(db, "COOPC", name="Cooperativa Cacao", season_start_month=1)
    f.make_user(db, role="manager", coop=c, email="manager.c@example.org")
    f.make_user(db, role="clerk", coop=c, email="clerk.c@example.org")
    organic = f.make_certificate(
        db, c, type="organic", crops="cacao", number="CU-CACAO-1", body="Control Union"
    )
    ft = f.make_certificate(
        db,
        c,
        type="fairtrade",
        crops="cacao",
        basis="mass_balance",
        number="FLO-C-9",
        body="FLOCERT",
        standard="Fairtrade SPO",
    )
    place = f.make_community(db, c, name="Bambú")
    fam = f.make_family(db, c, community=place, head_name="Ana Cacao", woman_led=True)
    plot = f.make_plot(
        db, fam, crop="cacao", area_ha=3.0, expected_yield_kg_ha=900, name="Cacaotal 1"
    )
    f.cover(db, organic, fam)
    f.cover(db, ft, fam)
    other = f.make_family(db, c, community=place, head_name="Luis Baba", woman_led=False)
    oplot = f.make_plot(
        db,
        other,
        crop="cacao",
        area_ha=2.0,
        expected_yield_kg_ha=700,
        name="Cacaotal 2",
        lon=-76.40,
        lat=-7.50,
    )
    wet1 = f.make_delivery(
        db, c, fam, plot, kg=1000, form="wet_beans", price=450, on=date(2026, 2, 10)
    )
    wet2 = f.make_delivery(
        db, c, fam, plot, kg=600, form="wet_beans", price=450, on=date(2026, 3, 3)
    )
    dry = f.make_delivery(
        db, c, fam, plot, kg=200, form="dry_beans", price=1100, on=date(2026, 3, 5)
    )
    owet = f.make_delivery(
        db, c, other, oplot, kg=400, form="wet_beans", price=400, on=date(2026, 2, 12)
    )
    f.materialise_claims(db, [(wet1, [organic, ft]), (wet2, [organic, ft]), (dry, [organic, ft])])
    rule = f.make_premium_rule(
        db,
        c,
        name="Prima FT cacao",
        crop="cacao",
        rate_minor=90_000,
        unit="t_dry_beans",
        forms=["wet_beans", "dry_beans"],
    )
    shed = f.make_site(db, c, kind="fermentation_shed")
    wetlot = f.make_lot(db, c, [wet1, wet2], occurred_on=date(2026, 3, 4))
    drylot = lots.process_lot(
        db,
        lot=wetlot,
        process="fermentation",
        output_form="dry_beans",
        output_g=600_000,
        site_id=shed.id,
        occurred_on=date(2026, 3, 10),
    )
    olot = f.make_lot(db, c, [owet], occurred_on=date(2026, 2, 12))
    odry = lots.process_lot(
        db,
        lot=olot,
        process="drying",
        output_form="dry_beans",
        output_g=150_000,
        occurred_on=date(2026, 2, 20),
    )
    massbalance.allocate(db, lot=odry, certificate=ft, user_id=None)
    publication.publish(db, lot=drylot, via=publication.Via.LABELS)
    publication.publish(db, lot=odry, via=publication.Via.LABELS)
    ship = f.make_shipment(
        db,
        c,
        [drylot],
        shipped_on=date(2026, 4, 2),
        buyer_name="Chocolatier SA",
        buyer_country="FR",
    )
    pay = f.make_payment(db, fam, amount_minor=500_000, kind="advance", paid_on=date(2026, 3, 20))
    db.commit()
    return dict(
        coop=c,
        organic=organic,
        ft=ft,
        fam=fam,
        other=other,
        plot=plot,
        wet1=wet1,
        wet2=wet2,
        dry=dry,
        owet=owet,
        rule=rule,
        wetlot=wetlot,
        drylot=drylot,
        odry=odry,
        ship=ship,
        pay=pay,
    )


QQ_HEADING = '<abbr title="quintales">'


def test_cacao_family_page_has_no_quintal_column(coopc, client, auth):
    """A cacao family's page (season totals and delivery history) heads a column "qq"
    (quintales: a coffee-only unit) whose cells are all empty."""
    auth.login("manager.c@example.org")
    page = client.get(f"/families/{coopc['fam'].id}").get_data(as_text=True)
    assert "grano en baba" in page
    assert QQ_HEADING not in page


def test_cacao_delivery_list_has_no_quintal_column(coopc, client, auth):
    """The cooperative's delivery list, filtered on wet cacao beans, still heads a
    "qq" column."""
    auth.login("manager.c@example.org")
    page = client.get(
        "/c/COOPC/deliveries?from=2026-01-01&to=2026-12-31&form=wet_beans&centre="
    ).get_data(as_text=True)
    assert "C01-000001" in page
    assert QQ_HEADING not in page


def test_cacao_season_report_names_no_coffee_unit(coopc, client, auth):
    """The cacao cooperative's season report (PDF and page) and dashboard explain their
    only ledger, in dry-bean equivalent, with a note naming green-coffee equivalent."""
    auth.login("manager.c@example.org")
    text = " ".join(_pdf_text(client.get("/c/COOPC/reports/season.pdf?season=2026").data).split())
    assert "kg equivalentes de grano seco" in text
    assert "café verde" not in text
    for url in ("/c/COOPC/reports/season?season=2026", "/c/COOPC/"):
        page = client.get(url).get_data(as_text=True)
        body = page.split("<main", 1)[1]
        assert "café verde" not in body, url


def test_cacao_eudr_summary_names_no_coffee_unit(coopc, client, auth):
    """The EUDR due-diligence summary of a shipment of cacao says its plots' kilos are
    "counted in green-coffee or dry-bean equivalent"."""
    auth.login("manager.c@example.org")
    answer = client.get(f"/shipments/{coopc['ship'].id}/eudr.pdf")
    assert answer.status_code == 200
    text = " ".join(_pdf_text(answer.data).split())
    assert "cacao (1801)" in text
    assert "café verde" not in text
    client.get("/lang/en")
    english = " ".join(
        _pdf_text(client.get(f"/shipments/{coopc['ship'].id}/eudr.pdf").data).split()
    )
    assert "green-coffee" not in english


def test_checked_cacao_figures_agree_across_page_pdf_json(coopc, client, auth, api_token):
    """Ledger 800 in / 150 out / 650 left (kg of dry-bean equivalent); the per-tonne
    premium 0,800 t x S/ 900 = S/ 720 (1.600 kg wet x 0,375 + 200 kg dry); calendar-year
    season; no quintal in the report's product table."""
    h = {**api_token("manager.c@example.org"), "Accept-Language": "es"}
    api = client.get("/api/v1/cooperatives/COOPC/reports/season?season=2026", headers=h).get_json()
    assert (api["season_start"], api["season_end"]) == ("2026-01-01", "2026-12-31")
    [line] = api["ledger"]
    assert (line["credit_kg"], line["debit_kg"], line["balance_kg"]) == (800.0, 150.0, 650.0)
    assert line["unit"] == "kg equivalentes de grano seco"
    [rule] = api["prices"]["rule_premiums"]
    assert (rule["equivalent_kg"], rule["amount"], rule["fixed"]) == (800.0, "720.00", "540.00")
    assert all(row["quintales"] is None for row in api["by_form"])
    auth.login("manager.c@example.org")
    text = _pdf_text(client.get("/c/COOPC/reports/season.pdf?season=2026").data)
    flat = " ".join(text.split())
    assert "800,000 150,000 (1 lote) 650,000" in flat
    assert "S/ 720,00" in flat and "0,800" in flat
    assert "qq" not in flat
    page = client.get("/c/COOPC/reports/season?season=2026").get_data(as_text=True)
    assert re.search(r"data-credit>800,000<", page) and re.search(r"data-balance>650,000<", page)
    public = client.get(
        f"/l/{coopc['drylot'].public_token}", headers={"Accept": "application/json"}
    ).get_json()
    assert public["lot"]["weight_kg"] == 600.0 and public["lot"]["form"] == "dry_beans"
    events = client.get(f"/lots/{coopc['drylot'].id}/epcis.jsonld").get_json()
    process = [
        e
        for e in events["epcisBody"]["eventList"]
        if e.get("ilmd", {}).get("tracker:process") == "fermentation"
    ]
    assert process[0]["inputQuantityList"][0]["quantity"] == 1600.0
    assert process[0]["outputQuantityList"][0]["quantity"] == 600.0
