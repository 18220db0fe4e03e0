"""Lots in Chromium, at 360 px and on a desktop: the real forms (with CSRF), the yield
confirmation, and the genealogy drawing. Screenshots go to instance/screenshots/."""

from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.factories import (
    make_delivery,
    make_family,
    make_lot,
    make_plot,
    make_shipment,
    make_site,
)
from tracker.services import lots

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


@pytest.fixture
def season(db, world):
    """Three families deliver; two lots merged, hulled at the mill, split, one part shipped."""
    coop = world.a
    lots.set_product(
        db, coop=coop, crop="coffee", form="green", name="Café verde", gtin="07750000000014"
    )
    names = ("Rosa Panduro Sangama", "Juan Tapullima Ríos", "Elsa Cachique Amasifuén")
    made = []
    for n, name in enumerate(names):
        family = make_family(db, coop, head_name=name)
        plot = make_plot(db, family, name=f"Parcela {n + 1}")
        made += [
            make_delivery(db, coop, family, plot, kg=kg, on=date(2026, 6, 2 + n + k))
            for k, kg in enumerate((46.5, 52, 38.25))
        ]
    first = make_lot(db, coop, made[:5], occurred_on=date(2026, 6, 10))
    second = make_lot(db, coop, made[5:], occurred_on=date(2026, 6, 12))
    merged = lots.merge_lots(
        db, coop=coop, lot_ids=[first.id, second.id], occurred_on=date(2026, 6, 14)
    )
    mill = make_site(db, coop, kind="dry_mill")
    green = lots.process_lot(
        db,
        lot=merged,
        process="hulling",
        output_form="green",
        output_g=merged.weight_g * 80 // 100,
        site_id=mill.id,
        occurred_on=date(2026, 6, 20),
    )
    half = green.weight_g // 2
    export, stock = lots.split_lot(
        db, lot=green, parts_g=[half, green.weight_g - half], occurred_on=date(2026, 6, 21)
    )
    shipment = make_shipment(db, coop, [export], shipped_on=date(2026, 7, 1))
    spare = make_lot(db, coop, kg=250, on=date(2026, 8, 3))
    db.commit()
    return {
        "first": first,
        "merged": merged,
        "green": green,
        "export": export,
        "stock": stock,
        "shipment": shipment,
        "spare": spare,
    }


def _fits(page, width=360):
    return page.evaluate("document.documentElement.scrollWidth") <= width


def test_genealogy_on_desktop_and_phone(live_server, desktop, phone, world, season):
    login(desktop, live_server, "manager.a@example.org")
    desktop.goto(f"{live_server}/lots/{season['merged'].id}/genealogy")
    expect(desktop.locator("svg.genealogy")).to_be_visible()
    for key in ("first", "merged", "green", "export", "stock"):
        assert desktop.locator("svg.genealogy text", has_text=season[key].code).count() == 1
    expect(desktop.get_by_text("Rosa Panduro Sangama")).to_be_visible()
    screenshot(desktop, "lots-genealogy-desktop-es")
    # A lot node in the drawing is a link to its page.
    desktop.locator("svg.genealogy a", has_text=season["export"].code).click()
    desktop.wait_for_load_state("networkidle")
    assert desktop.locator("h1").inner_text().startswith(season["export"].code)
    screenshot(desktop, "lots-page-desktop-es")

    login(phone, live_server, "auditor.a@example.org")
    phone.goto(f"{live_server}/lots/{season['export'].id}/genealogy")
    assert phone.locator("svg.genealogy").count() == 1
    assert _fits(phone), "the page scrolls sideways; only the drawing should"
    screenshot(phone, "lots-genealogy-phone-es")
    phone.goto(f"{live_server}/lots/{season['green'].id}")
    screenshot(phone, "lots-page-phone-es")
    assert _fits(phone)
    phone.goto(f"{live_server}/shipments/{season['shipment'].id}")
    expect(phone.get_by_text("Hanseatic Coffee Importers GmbH").first).to_be_visible()
    assert _fits(phone)
    screenshot(phone, "shipment-page-phone-es")


def test_manager_processes_with_a_yield_confirmation(live_server, desktop, world, season):
    login(desktop, live_server, "manager.a@example.org")
    desktop.goto(f"{live_server}/lots/{season['spare'].id}")
    desktop.locator("select[name=process]").select_option("hulling")
    desktop.locator("select[name=output_form]").select_option("green")
    desktop.locator("input[name=output_kg]").fill("150")
    desktop.get_by_role("button", name="Registrar el proceso").click()
    desktop.wait_for_load_state("networkidle")
    alert = desktop.locator("#confirm_yield-error")
    assert "60,0 % está fuera del rango habitual de 76–84 %" in alert.inner_text()
    screenshot(desktop, "lots-yield-warning-desktop-es")
    desktop.get_by_label("Los pesos son correctos: confirmar este rendimiento").check()
    desktop.get_by_role("button", name="Registrar el proceso").click()
    desktop.wait_for_load_state("networkidle")
    assert "CAF-2026-0008" in desktop.locator("h1").inner_text()
    expect(desktop.get_by_text("confirmado fuera del rango habitual")).to_be_visible()


def test_manager_gathers_a_lot_on_a_phone(live_server, phone, world, db):
    family = make_family(db, world.a, head_name="Marleni Saavedra Pinedo")
    plot = make_plot(db, family)
    for k in range(3):
        make_delivery(db, world.a, family, plot, kg=40 + k, on=date(2026, 8, 1 + k))
    db.commit()
    login(phone, live_server, "manager.a@example.org")
    phone.goto(f"{live_server}/c/COOPA/lots/new")
    expect(phone.get_by_text("Marleni Saavedra Pinedo").first).to_be_visible()
    screenshot(phone, "lots-new-phone-es")
    phone.get_by_label("Seleccionar las 3 entregas que coinciden (todas las páginas)").check()
    phone.get_by_role("button", name="Formar el lote").click()
    phone.wait_for_load_state("networkidle")
    assert phone.locator("h1").inner_text().startswith("CAF-2026-0001")
    expect(phone.get_by_text("Lote CAF-2026-0001 hecho: 123 kg.")).to_be_visible()
    assert _fits(phone)
    phone.goto(f"{live_server}/c/COOPA/lots")
    assert _fits(phone)
    screenshot(phone, "lots-list-phone-es")


def test_manager_publishes_a_lot_and_its_digital_link_opens(live_server, phone, desktop, season):
    """The stock lot (green coffee, a GTIN, never labelled): its Digital Link is the plain
    404 until the manager publishes it from its page."""
    stock = season["stock"]
    link = f"{live_server}/01/07750000000014/10/{stock.code}"
    assert desktop.request.get(link).status == 404
    login(phone, live_server, "manager.a@example.org")
    phone.goto(f"{live_server}/lots/{stock.id}")
    expect(phone.get_by_text("Aún no es público")).to_be_visible()
    assert _fits(phone)
    screenshot(phone, "lots-unpublished-phone-es")
    phone.get_by_role("button", name="Publicar: que el GS1 Digital Link lo abra").click()
    phone.wait_for_load_state("networkidle")
    expect(phone.get_by_text(f"El lote {stock.code} es público")).to_be_visible()
    expect(phone.get_by_text("Público desde")).to_be_visible()
    assert _fits(phone)
    screenshot(phone, "lots-published-phone-es")
    desktop.goto(link)
    assert desktop.locator("h1").inner_text() == "Café verde"
    assert stock.public_token not in desktop.content()
    screenshot(desktop, "public-lot-by-digital-link-desktop-es")
