"""Certificates and claims in a real browser, on a 360 px phone and a desktop, in Spanish."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser

PDF = f.pdf_document()  # a real one-page PDF: uploads are opened by pikepdf


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True  # the real forms, with their CSRF tokens
    return app_config


@pytest.fixture
def season(db, world):
    coop = world.a
    eu = f.make_certificate(
        db,
        coop,
        number="CU-PE-2026-0871",
        valid_from=date(2026, 1, 15),
        valid_until=date(2027, 1, 14),
    )
    nop = f.make_certificate(
        db, coop, number="NOP-8821-2026", standard="USDA NOP", body="Control Union Certifications"
    )
    fair = f.make_certificate(
        db,
        coop,
        type="fairtrade",
        basis="mass_balance",
        number="FLO-3456-2024",
        standard="Fairtrade SPO",
        body="FLOCERT",
    )
    kosher = f.make_certificate(
        db, coop, type="kosher", forms="green,roasted", number="OU-K-55120", standard="Kosher"
    )
    f.cover_site(db, kosher, f.make_site(db, coop))
    village = f.make_community(db, coop, "Alto Sisa")
    inside, outside = [], []
    for n in range(4):
        family = f.make_family(db, coop, community=village)
        plot = f.make_plot(db, family)
        if n < 3:
            for cert in (eu, nop, fair):
                f.cover(db, cert, family)
        (inside if n < 3 else outside).append(
            f.make_delivery(db, coop, family, plot, kg=150 + n, on=date(2026, 6, 2 + n))
        )
    f.set_status(db, nop, "suspended", date(2026, 7, 15), reason="Acción correctiva pendiente")
    organic = f.make_lot(db, coop, inside[:2])
    mixed = f.make_lot(db, coop, [inside[2], *outside])
    db.commit()
    return {"eu": eu, "nop": nop, "fair": fair, "organic": organic, "mixed": mixed}


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 362


def test_manager_keeps_certificates_on_a_phone(live_server, phone, world, season, tmp_path):
    login(phone, live_server, "manager.a@example.org")
    phone.goto(f"{live_server}/c/COOPA/certificates")
    expect(phone.get_by_role("heading", name="Certificados", exact=True)).to_be_visible()
    expect(phone.get_by_text("suspendido desde").first).to_be_visible()
    _fits(phone)
    screenshot(phone, "certificates-list-phone-es")
    phone.get_by_role("link", name="NOP-8821-2026", exact=True).click()
    expect(phone.get_by_role("heading", name="orgánico · NOP-8821-2026 suspendido")).to_be_visible()
    _fits(phone)
    screenshot(phone, "certificate-nop-phone-es")
    phone.get_by_label("Estado en una fecha").fill("2026-07-14")
    phone.get_by_role("button", name="Mostrar").click()
    assert "activo" in phone.get_by_role("status").inner_text()
    # Upload the certificate's PDF: checked by its content, its hash shown.
    pdf = tmp_path / "certificado.pdf"
    pdf.write_bytes(PDF)
    phone.get_by_label("Subir una nueva versión").set_input_files(str(pdf))
    phone.get_by_role("button", name="Subir", exact=True).click()
    expect(phone.get_by_text("Documento subido.")).to_be_visible()
    expect(phone.get_by_text("SHA-256")).to_be_visible()
    screenshot(phone, "certificate-document-phone-es")


def test_manager_suspends_and_reads_why_a_lot_lost_its_claim(live_server, desktop, world, season):
    login(desktop, live_server, "manager.a@example.org")
    desktop.goto(f"{live_server}/certificates/{season['eu'].id}")
    desktop.get_by_text("Suspender, retirar o reactivar desde una fecha").click()
    desktop.get_by_label("Desde (este día incluido)").fill("2026-06-03")
    desktop.get_by_label("Motivo").fill("No conformidad mayor en la inspección")
    desktop.get_by_role("button", name="Registrar el estado").click()
    expect(desktop.get_by_text("las declaraciones se recalcularon")).to_be_visible()
    screenshot(desktop, "certificate-eu-suspended-desktop-es")
    desktop.goto(f"{live_server}/lots/{season['mixed'].id}/claims")
    expect(desktop.get_by_role("heading", name="Por qué no es orgánico")).to_be_visible()
    screenshot(desktop, "lot-mixed-why-not-desktop-es")
    desktop.goto(f"{live_server}/lots/{season['organic'].id}/claims")
    expect(desktop.get_by_text("orgánico", exact=True).first).to_be_visible()
    # Fair trade works by mass balance here: the manager spends credit on the lot.
    # 301 kg of dry parchment: 240.8 kg of green-coffee equivalent in the ledger.
    desktop.get_by_role("button", name="Asignar 240,8 kg de crédito a este lote").click()
    expect(desktop.get_by_text("ahora lleva la declaración por balance de masas")).to_be_visible()
    expect(desktop.get_by_text("comercio justo", exact=True).first).to_be_visible()
    screenshot(desktop, "lot-organic-mass-balance-desktop-es")
    desktop.goto(f"{live_server}/c/COOPA/")
    expect(desktop.get_by_role("heading", name="Certificados y declaraciones")).to_be_visible()
    screenshot(desktop, "dashboard-certificates-panel-desktop-es")


def test_clerk_reads_a_lot_report_on_a_phone_in_english(live_server, phone, world, season):
    login(phone, live_server, "clerk.a@example.org")
    phone.goto(f"{live_server}/lots/{season['mixed'].id}/claims")
    phone.get_by_role("link", name="English").click()
    expect(phone.get_by_role("heading", name="Why it is not organic")).to_be_visible()
    assert phone.get_by_role("button", name="Allocate").count() == 0, "clerks do not allocate"
    _fits(phone)
    screenshot(phone, "lot-mixed-why-not-phone-en")
    phone.goto(f"{live_server}/certificates/{season['nop'].id}")
    assert phone.get_by_text("Suspend, withdraw or reinstate").count() == 0
    _fits(phone)
    screenshot(phone, "certificate-nop-clerk-phone-en")
