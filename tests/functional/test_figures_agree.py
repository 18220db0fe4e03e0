"""One figure, one value wherever it is shown (found by helper-63 at stop 27): the same
count, weight or area on a page, its PDF, its CSV and the API, written by the same
rules."""

from __future__ import annotations

import html as htmllib
import re
import subprocess
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tests.functional.test_family_money import EN, ES, NOW


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _pdf(data: bytes) -> str:
    run = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True)
    return run.stdout.decode()


def _csv(client, url: str, headers: dict[str, str]) -> str:
    """A streamed CSV read whole (before the next request)."""
    answer = client.get(url, headers=headers)
    text = answer.get_data(as_text=True)
    answer.close()
    return text


def _text(page: str) -> str:
    page = re.sub(r"<script.*?</script>|<svg.*?</svg>|<head.*?</head>", "", page, flags=re.S)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_certificate_page_counts_the_producers_its_approved_list_names(db, world, client, auth):
    """A family certified under a certificate left the cooperative in July: the approved
    producers' list (PDF and CSV) of today leaves it out ("1 productor. Certificados: 1"),
    while the certificate page beside its links says "Hoy: 2 certificadas", and the
    coverage list and its CSV list the family as certified today."""
    from tracker.services import families

    cert = f.make_certificate(db, world.a)
    stays, gone = f.make_family(db, world.a), f.make_family(db, world.a)
    for family in (stays, gone):
        f.make_plot(db, family)
        f.cover(db, cert, family)
    with time_machine.travel(datetime(2026, 7, 1, 15, tzinfo=UTC), tick=False):
        families.update(db, gone, {"active": False})
    db.commit()
    auth.login("manager.a@example.org")
    approved = _csv(client, f"/certificates/{cert.id}/approved-producers.csv", ES)
    approved_rows = [line for line in approved.splitlines()[1:] if line]
    assert len(approved_rows) == 1
    page = _text(client.get(f"/certificates/{cert.id}", headers=ES).get_data(as_text=True))
    covered = _csv(client, f"/certificates/{cert.id}/coverage.csv", ES)
    covered_rows = [line for line in covered.splitlines()[1:] if line]
    assert "Hoy: 1 certificadas" in page or "Hoy: 1 certificada" in page, page[page.find("Hoy:") :][
        :80
    ]
    assert len(covered_rows) == len(approved_rows), covered_rows


def test_split_help_names_the_lots_real_weight(db, world, client, auth):
    """The lot page's split form said the parts "must add up exactly to 41,1 kg" for a
    lot of 41,125 kg, and parts that add up to 41,1 were then refused."""
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    d = f.make_delivery(db, world.a, family, plot, kg=41.125, on=date(2026, 6, 2))
    lot = f.make_lot(db, world.a, [d])
    db.commit()
    auth.login("manager.a@example.org")
    page = client.get(f"/lots/{lot.id}", headers=ES).get_data(as_text=True)
    help_text = re.search(r'<small id="parts-help">(.*?)</small>', page, re.S).group(1)
    # Following the instruction ("20" and "21,1") is refused: 41,1 is not 41,125.
    answer = client.post(
        f"/lots/{lot.id}/split",
        data={"parts": "20\n21,1", "idempotency_key": "split-1"},
        headers=ES,
    )
    assert answer.status_code == 422
    assert "el lote tiene 41,125 kg" in _text(answer.get_data(as_text=True))
    assert "41,125" in help_text, help_text  # shows "Deben sumar exactamente 41,1 kg."


def test_certificate_ledger_is_written_as_the_season_report_writes_it(db, world, client, auth):
    """The season report (page, PDF, dashboard panel) writes a mass-balance ledger to the
    gram and says it shows "the same figures as the certificate's ledger"; the
    certificate page wrote the same credit and balance to 100 g ("1.000 kg"), and a 40 g
    overdraft would have read "-0 kg"."""
    cert = f.make_mass_balance_credit(db, world.a, kg=1000.04)
    auth.login("manager.a@example.org")
    report = client.get("/c/COOPA/reports/season?season=2026", headers=ES).get_data(as_text=True)
    credit = re.search(r"data-credit>([^<]+)<", report).group(1)
    assert credit == "1.000,040"
    page = _text(client.get(f"/certificates/{cert.id}", headers=ES).get_data(as_text=True))
    ledger = page[page.index("Libro de balance de masas") :]
    assert f"{credit} kg certificados recibidos" in ledger, ledger[:300]


def test_coverage_csv_writes_a_small_plots_hectares_as_its_page_does(db, world, client, auth):
    """A covered family's only plot is 315 m²: the certificate's coverage page and the
    approved producers' PDF write 0,0315 ha; the coverage CSV (both dialects) and the
    approved producers' CSV wrote 0,03 / 0.03, a fifth less land for the certifier."""
    cert = f.make_certificate(db, world.a)
    family = f.make_family(db, world.a, member_code="SMALL-1")
    f.make_plot(db, family, area_ha=0.0315)
    f.cover(db, cert, family)
    db.commit()
    auth.login("manager.a@example.org")
    page = _text(client.get(f"/certificates/{cert.id}/coverage", headers=ES).get_data(as_text=True))
    assert "SMALL-1" in page and " 0,0315 " in page
    excel = _csv(client, f"/certificates/{cert.id}/coverage.csv?excel=1", ES)
    program = _csv(client, f"/certificates/{cert.id}/coverage.csv", EN)
    excel_row, program_row = excel.splitlines()[1].split(";"), program.splitlines()[1].split(",")
    assert (excel_row[7], program_row[7]) == ("0,0315", "0.0315"), (excel_row, program_row)
    approved = _csv(client, f"/certificates/{cert.id}/approved-producers.csv", EN)
    assert approved.splitlines()[1].split(",")[7] == "0.0315"


def test_the_approved_producers_csv_is_written_as_the_coverage_csv(db, world, client, auth):
    """The approved-producers CSV in Spanish carried Excel's byte-order mark, Spanish
    headers and words, but a program's commas, points and ISO days, so a Spanish Excel
    opened it as one column, while the coverage CSV of the same families writes either
    dialect whole. It is written as the coverage CSV is, with ?excel=1 as there."""
    cert = f.make_certificate(db, world.a)
    family = f.make_family(db, world.a, member_code="AP-1")
    f.make_plot(db, family, area_ha=1.5)
    f.cover(db, cert, family)
    db.commit()
    auth.login("manager.a@example.org")
    for query in ("", "?excel=1"):
        covered = _csv(client, f"/certificates/{cert.id}/coverage.csv{query}", ES)
        approved = _csv(client, f"/certificates/{cert.id}/approved-producers.csv{query}", ES)
        assert approved.splitlines()[:2] == covered.splitlines()[:2], (approved, covered)
        assert approved.startswith("\ufeff") == bool(query)
    assert ";01/01/2026;1;1,50;0;activo" in approved


def test_public_area_is_written_as_staff_pages_write_hectares(db, world, client, auth):
    """A lot from one plot of 0,0315 ha: the buyer's page and sheet said "1 parcela, 0,0 ha
    en total", its JSON said origin area_ha 0.0 beside the plot's own area_ha 0.03, and the
    family page writes 0,0315 (tracker/formatting.py's `hectares`)."""
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family, area_ha=0.0315)
    d = f.make_delivery(db, world.a, family, plot, kg=40, on=date(2026, 6, 2))
    lot = f.make_lot(db, world.a, [d])
    db.commit()
    token = lot.public_token
    facts = client.get(f"/l/{token}", headers={"Accept": "application/json"}).get_json()
    page = _text(client.get(f"/l/{token}", headers=ES).get_data(as_text=True))
    sheet = " ".join(_pdf(client.get(f"/l/{token}/provenance.pdf", headers=ES).data).split())
    plots_total = sum(p["properties"]["area_ha"] for p in facts["plots"]["features"])
    assert facts["origin"]["area_ha"] == plots_total, (facts["origin"]["area_ha"], plots_total)
    assert "0,0315 ha" in page, page[page.find("parcela") - 20 :][:80]
    assert "0,0315 ha" in sheet


def test_dashboard_counts_member_families_as_the_season_report_does(db, world, client, auth):
    """The dashboard's "families" counted a family that left the cooperative; the season
    report (on the same dashboard, and its page and PDF) counts member families only."""
    from tracker.services import families

    stays = f.make_family(db, world.a)
    gone = f.make_family(db, world.a)
    families.update(db, gone, {"active": False})
    db.commit()
    auth.login("manager.a@example.org")
    dash = _text(client.get("/c/COOPA/", headers=ES).get_data(as_text=True))
    report = _text(
        client.get("/c/COOPA/reports/season?season=2026", headers=ES).get_data(as_text=True)
    )
    members = re.search(r"Familias socias (\d+) (\d+)", report)
    assert members and members.group(2) == "1", report
    shown = re.search(r"(\d+) familias? socias?", dash).group(0)
    assert shown == "1 familia socia", shown  # it read "2 familias"
    assert stays.active


def test_family_season_table_gives_each_product_its_own_kilos(db, world, client, auth):
    """The family page's season table showed 41,1 kg of parchment and 12,3 kg of green
    coffee over a "Total" of 53,5 kg (each row and the total rounded apart); then its rows
    were shared to add up to that total (12,345 kg read 12,4). But kilos of different
    products are never added (helper-96): each row is its product's own kilos, to one
    decimal (issue 15), and neither the total row nor the headline adds them."""
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    f.make_delivery(db, world.a, family, plot, kg=41.125, form="dry_parchment")
    f.make_delivery(db, world.a, family, plot, kg=12.345, form="green")
    db.commit()
    auth.login("manager.a@example.org")
    html = client.get(f"/families/{family.id}?season=2026", headers=ES).get_data(as_text=True)
    table = re.findall(r"<table[^>]*>(.*?)</table>", html, re.S)[0]
    rows = [_text(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]
    assert rows[1].startswith("pergamino seco 1 41,1 "), rows
    assert rows[2].startswith("café verde 1 12,3 "), rows
    assert re.fullmatch(r"Total 2 S/ [\d.,]+ S/ [\d.,]+", rows[-1]), rows  # no kilos
    assert "41,1&nbsp;kg de café pergamino seco" in html
    assert "12,3&nbsp;kg de café verde" in html
    assert "53,5" not in html  # the sum across products
