"""What a person reads is in their language and written by the one formatting module
(found by helper-56 at stop 26): dates in messages and PDFs as on the pages, map grids in
the reader's numbers and hemispheres, translated geometry words and error messages, no
Spanish word in English, no soles on a dollar cooperative's form."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def pdftext(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def text_of(html: str) -> str:
    html = re.sub(r"(?s)<script.*?</script>|<style.*?</style>", " ", html)
    return re.sub(r"[ \t]+", " ", re.sub(r"<[^>]+>", " ", html))


def _lang(client, lang):
    client.get(f"/lang/{lang}")


def test_approved_producers_pdf_writes_dates_as_the_coverage_page(db, world, client, auth):
    """The ICS list page says "1 ene 2026"; its printed PDF said "2026-01-01" in the
    "Desde" column and "2026-11-23" in the footer."""
    cert = f.make_certificate(db, world.a)
    f.cover(db, cert, f.make_family(db, world.a))
    db.commit()
    auth.login("manager.a@example.org")
    _lang(client, "es")
    page = text_of(client.get(f"/certificates/{cert.id}/coverage").get_data(as_text=True))
    assert "1 ene 2026" in page
    pdf = pdftext(client.get(f"/certificates/{cert.id}/approved-producers.pdf").data)
    assert "2026-01-01" not in pdf and "2026-11-23" not in pdf, pdf
    assert "1 ene 2026" in pdf and "23 nov 2026" in pdf


def test_eudr_summary_pdf_names_the_geometry_in_spanish(db, world, client, auth):
    """The Spanish EUDR summary's plots table said "Polygon" / "Point" where the family
    page says "polígono" / "punto"."""
    pub = f.make_public_lot(db, world.a)
    ship = f.make_shipment(db, world.a, [pub.lot], shipped_on=date(2026, 8, 1))
    db.commit()
    auth.login("manager.a@example.org")
    _lang(client, "es")
    pdf = pdftext(client.get(f"/shipments/{ship.id}/eudr.pdf").data)
    assert "Point" not in pdf and "Polygon" not in pdf, pdf
    assert "punto" in pdf.lower() and "polígono" in pdf.lower()


def test_plot_maps_write_coordinates_in_the_readers_language(db, world, client):
    """The plots map on the Spanish public page and provenance sheet labels its lines
    "76.44°W", "7.56°S": an English decimal point and W (oeste is O) on a Spanish page."""
    pub = f.make_public_lot(db, world.a)
    db.commit()
    page = client.get(f"/l/{pub.lot.public_token}?lang=es").get_data(as_text=True)
    pdf = pdftext(client.get(f"/l/{pub.lot.public_token}/provenance.pdf?lang=es").data)
    for text in (page, pdf):
        assert not re.search(r"\d\.\d+°[WSEN]", text), re.findall(r"[\d.,]+°\w", text)
        assert re.search(r"76,4\d+°\s?O", text)


def test_certificate_status_flash_writes_its_day_out(db, world, client, auth):
    """After suspending a certificate the manager reads "Estado suspendido desde 2026-07-15
    registrado..." where every other date on the page reads "15 jul 2026"."""
    cert = f.make_certificate(db, world.a)
    db.commit()
    auth.login("manager.a@example.org")
    _lang(client, "es")
    answer = client.post(
        f"/certificates/{cert.id}/status",
        data={"status": "suspended", "from": "2026-07-15", "reason": "Auditoría"},
        follow_redirects=True,
    )
    html = text_of(answer.get_data(as_text=True))
    assert "15 jul 2026" in html and "2026-07-15" not in html, re.findall(r"Estado[^\n]*", html)


def test_shipment_date_refusal_writes_its_day_out(db, world, client, auth):
    """A shipment dated before its lot: "La fecha no puede ser anterior a la elaboración
    de sus lotes (2026-06-20)." in ISO, in a Spanish (or English) message."""
    lot = f.make_lot(db, world.a, on=date(2026, 6, 20))
    db.commit()
    auth.login("manager.a@example.org")
    for lang, want in (("es", "20 jun 2026"), ("en", "Jun 20, 2026")):
        _lang(client, lang)
        answer = client.post(
            "/c/COOPA/shipments/new",
            data={
                "buyer_name": "B",
                "buyer_country": "DE",
                "shipped_on": "2026-06-01",
                "lot": str(lot.id),
                "idempotency_key": f"k-{lang}",
            },
        )
        html = text_of(answer.get_data(as_text=True))
        assert answer.status_code == 422
        assert "2026-06-20" not in html and want in html, re.findall(r".{60}2026-06-20.{5}", html)


def test_price_flash_date_is_the_readers(db, world, client, auth):
    """Setting a day price flashes "Price of dry parchment set from 03/11/2026." on the
    English page (strftime %d/%m/%Y: March 11 to an English reader); the list below says
    "Nov 3, 2026"."""
    auth.login("manager.a@example.org")
    _lang(client, "en")
    answer = client.post(
        "/c/COOPA/prices",
        data={
            "form": "dry_parchment",
            "day": "2026-11-03",
            "price_per_kg": "9.10",
            "premium_per_kg": "0",
            "idempotency_key": "p1",
        },
        follow_redirects=True,
    )
    html = text_of(answer.get_data(as_text=True))
    assert "set from" in html, html[:3000]
    assert "03/11/2026" not in html and "set from Nov 3, 2026" in html, re.findall(
        r"Price of.{50}", html
    )


def test_payment_receipt_pdf_dates_as_its_page(db, world, client, auth):
    """The payment page says "Fecha de pago 15 jun 2026"; its printed receipt says
    "15 de junio de 2026" (and "al 23 de noviembre de 2026" against the page's
    "al 23 nov 2026")."""
    fam = f.make_family(db, world.a)
    plot = f.make_plot(db, fam)
    f.make_delivery(db, world.a, fam, plot)
    pay = f.make_payment(db, fam)
    db.commit()
    auth.login("manager.a@example.org")
    _lang(client, "es")
    page = text_of(client.get(f"/payments/{pay.id}").get_data(as_text=True))
    pdf = pdftext(client.get(f"/payments/{pay.id}/receipt.pdf").data)
    assert "15 jun 2026" in page
    assert "15 jun 2026" in pdf and "de junio de" not in pdf, pdf


def test_api_refuses_a_broken_json_body_in_the_readers_language(db, world, client, api_token):
    """A body that is not JSON: {"errors": {"_schema": ["Invalid JSON body."]},
    "message": "Solicitud incorrecta"}: the refusal itself is left in English."""
    headers = {
        **api_token("manager.a@example.org"),
        "Accept-Language": "es",
        "Content-Type": "application/json",
    }
    answer = client.post("/api/v1/cooperatives/COOPA/families", data="{bad", headers=headers)
    assert answer.status_code == 400
    said = answer.get_json()["errors"]["_schema"][0]
    assert said == "El cuerpo no es JSON válido.", answer.get_json()


def test_public_not_found_json_is_in_the_readers_language(db, world, client):
    """/l/<unknown>?lang=es with Accept: application/json answers "message": "Not found."
    (the 410 beside it is Spanish: "Cooperativa A retiró el lote ...")."""
    answer = client.get("/l/nope?lang=es", headers={"Accept": "application/json"})
    assert answer.status_code == 404
    assert answer.get_json()["message"] == "No encontrado.", answer.get_json()


def test_english_season_report_has_no_spanish_word(db, world, client, auth):
    """The English season report (page and PDF) ends its premiums note with "rounded to
    the céntimo per delivery": a Spanish word, and a sol's word for a USD cooperative."""
    f.make_public_lot(db, world.a)
    f.make_premium_rule(db, world.a)
    db.commit()
    auth.login("manager.a@example.org")
    _lang(client, "en")
    page = text_of(client.get("/c/COOPA/reports/season?season=2026").get_data(as_text=True))
    pdf = pdftext(client.get("/c/COOPA/reports/season.pdf?season=2026").data)
    assert "céntimo" not in page and "céntimo" not in pdf


def test_premium_rule_help_is_in_the_cooperatives_currency(db, world, client, auth):
    """A USD cooperative's premium form explains the rate "for US$ 0.20/lb at S/ 3.75 per
    dollar, 0.75 per lb.": soles, which it does not use."""
    usd = f.make_cooperative(db, "COOPU", name="Cooperativa Dólar", currency="USD")
    f.make_user(db, role="manager", coop=usd, email="manager.u@example.org")
    db.commit()
    auth.login("manager.u@example.org")
    _lang(client, "en")
    html = text_of(client.get("/c/COOPU/payments").get_data(as_text=True))
    assert "Premium per unit (USD)" in html
    assert "S/" not in html, re.findall(r".{40}S/.{40}", html)
