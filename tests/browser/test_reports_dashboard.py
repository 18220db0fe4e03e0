"""The manager's season figures, charts and payments in real Chromium, at 360 px and desktop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.functional.test_reports_season import build_season

pytestmark = pytest.mark.browser
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True  # the real forms, with their CSRF tokens
    return app_config


@pytest.fixture
def season(db, world):
    with time_machine.travel(NOW, tick=True):
        built = build_season(db, world)
        yield built


WIDER = """(width) => Array.from(document.querySelectorAll('body *'))
  .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.closest('.table-scroll'))
  .slice(0, 8).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + e.textContent.trim().slice(0, 40))"""


def _no_sideways_scroll(page) -> None:
    """Nothing but a scrollable table is wider than the screen."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(
        WIDER, width
    )


def test_the_dashboard_panel_on_a_phone(live_server, phone, season):
    login(phone, live_server, "manager.a@example.org")
    assert phone.url.endswith("/c/COOPA/")
    panel = phone.locator("section.report-panel")
    expect(panel.get_by_role("heading", name="La campaña 2026 en cifras")).to_be_visible()
    # Dry parchment and cherry, each its own figure (stop 31): never their sum, 950,5.
    parchment = panel.locator('[data-product-kg="coffee/dry_parchment"] .figure')
    assert parchment.inner_text() == "750,5"
    assert panel.locator("[data-total-kg]").count() == 0
    charts = panel.get_by_role("img")
    assert charts.count() == 2
    assert charts.first.get_attribute("aria-labelledby")
    box = charts.first.bounding_box()
    assert box["width"] <= 360 and box["width"] >= 300  # the chart uses the phone's width
    screenshot(phone, "reports-dashboard-manager-phone-es")
    _no_sideways_scroll(phone)
    with phone.expect_download() as download:
        panel.get_by_role("button", name="Descargar el informe de campaña (PDF)").click()
    assert download.value.suggested_filename == "COOPA-season-2026.pdf"


def test_the_full_report_on_a_desktop_and_a_phone(live_server, desktop, phone, season):
    login(desktop, live_server, "auditor.a@example.org")
    assert desktop.url.endswith("/c/COOPA/")
    assert desktop.locator("section.report-panel").get_by_role("img").count() == 2
    screenshot(desktop, "reports-dashboard-auditor-desktop-es")
    desktop.goto(f"{live_server}/c/COOPA/reports/season?season=2026")
    expect(desktop.get_by_role("heading", name="Informe de campaña 2026")).to_be_visible()
    expect(desktop.get_by_role("heading", name="Alertas para la gerencia")).to_be_visible()
    expect(desktop.get_by_text("FLO-3456").first).to_be_visible()
    # Side by side on a desktop.
    first, second = (desktop.get_by_role("img").nth(i).bounding_box() for i in (0, 1))
    assert abs(first["y"] - second["y"]) < 5 and second["x"] > first["x"]
    screenshot(desktop, "reports-season-auditor-desktop-es")
    login(phone, live_server, "manager.a@example.org")
    phone.goto(f"{live_server}/c/COOPA/reports/season?season=2026")
    screenshot(phone, "reports-season-manager-phone-es")
    _no_sideways_scroll(phone)


def test_a_manager_pays_a_family_from_a_phone(live_server, phone, season):
    family = season["families"][0]
    login(phone, live_server, "manager.a@example.org")
    phone.goto(f"{live_server}/families/{family.id}/payments?season=2026")
    screenshot(phone, "payments-family-phone-es")
    _no_sideways_scroll(phone)
    phone.get_by_label("Tipo").select_option("final")
    phone.get_by_label("Medio de pago").select_option("mobile")
    phone.get_by_label("Monto (S/)").fill("300,50")
    phone.get_by_role("button", name="Registrar el pago").click()
    phone.wait_for_load_state("networkidle")
    assert "/payments/" in phone.url
    assert phone.get_by_role("heading", name="Pago P-").is_visible() or phone.locator(
        "h1"
    ).inner_text().startswith("Pago P-")
    expect(phone.get_by_text("S/\u00a0300,50").first).to_be_visible()
    screenshot(phone, "payment-recorded-phone-es")
    _no_sideways_scroll(phone)
