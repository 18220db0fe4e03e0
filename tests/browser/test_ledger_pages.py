"""The ledger and premium pages in real Chromium: conversion factors, premium rules, the
season report's ledger and the dashboard panel, at 390 px and 1280 px, in Spanish and English."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import login, screenshot
from tests.browser.test_reports_dashboard import _no_sideways_scroll
from tracker.services.claims import massbalance

pytestmark = pytest.mark.browser
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True  # the real forms, with their CSRF tokens
    return app_config


@pytest.fixture
def cacao(db, world):
    """Cooperative B: a mass-balance Fairtrade ledger and a premium per tonne of dry beans."""
    with time_machine.travel(NOW, tick=True):
        b = world.b
        cert = f.make_certificate(
            db, b, type="fairtrade", crops="cacao", basis="mass_balance", number="FLO-7788"
        )
        family = f.make_family(db, b, head_name="Elena Vargas")
        plot = f.make_plot(db, family, crop="cacao", area_ha=4.0, expected_yield_kg_ha=900)
        f.cover(db, cert, family)
        f.make_delivery(db, b, family, plot, kg=1000, form="wet_beans", price=450)
        f.make_delivery(db, b, family, plot, kg=200, form="dry_beans", price=1100)
        lot = f.make_lot(db, b, kg=100, crop="cacao", form="dry_beans")
        massbalance.allocate(db, lot=lot, certificate=cert, user_id=None)
        f.make_premium_rule(
            db,
            b,
            name="Prima Fairtrade cacao (US$ 240/t de grano seco)",
            crop="cacao",
            unit="t_dry_beans",
            rate_minor=90_000,
            note="US$ 240 por tonelada de grano seco a S/ 3,75 por US$",
        )
        db.commit()
        yield {"cert": cert}


def test_a_manager_changes_a_factor_on_a_phone(live_server, phone, cacao):
    phone.set_viewport_size({"width": 390, "height": 800})
    login(phone, live_server, "manager.b@example.org")
    phone.goto(f"{live_server}/c/COOPB/conversion-factors")
    expect(phone.get_by_role("heading", name="Factores de conversión")).to_be_visible()
    field = phone.get_by_label("grano en baba → grano seco")
    assert field.input_value() == "0,375"
    field.fill("1,4")
    phone.get_by_role("button", name="Guardar los factores").click()
    phone.wait_for_load_state("networkidle")
    expect(phone.locator("#factor-wet_beans-error")).to_be_visible()
    screenshot(phone, "ledger-factors-error-phone-es")
    phone.get_by_label("grano en baba → grano seco").fill("0,38")
    phone.get_by_role("button", name="Guardar los factores").click()
    phone.wait_for_load_state("networkidle")
    expect(phone.get_by_text("1 factor de conversión cambiado")).to_be_visible()
    screenshot(phone, "ledger-factors-manager-phone-es")
    _no_sideways_scroll(phone)


def test_the_ledger_on_the_report_and_dashboard(live_server, desktop, phone, cacao):
    login(desktop, live_server, "manager.b@example.org")
    panel = desktop.locator("section.report-panel")
    assert panel.locator("[data-credit]").first.inner_text() == "575,000"
    expect(panel.get_by_text("kg equivalentes de grano seco").first).to_be_visible()
    screenshot(desktop, "ledger-dashboard-desktop-es")
    desktop.goto(f"{live_server}/c/COOPB/reports/season?season=2026")
    ledger = desktop.locator("table.ledger")
    assert ledger.locator("[data-balance]").first.inner_text() == "475,000"
    screenshot(desktop, "ledger-report-desktop-es")
    desktop.goto(f"{live_server}/lang/en")
    desktop.goto(f"{live_server}/c/COOPB/reports/season?season=2026")
    expect(desktop.get_by_text("kg of dry-bean equivalent").first).to_be_visible()
    expect(desktop.get_by_text("per tonne of dry beans").first).to_be_visible()
    screenshot(desktop, "ledger-report-desktop-en")
    phone.set_viewport_size({"width": 390, "height": 800})
    login(phone, live_server, "auditor.b@example.org")
    phone.goto(f"{live_server}/c/COOPB/reports/season?season=2026#ledger")
    screenshot(phone, "ledger-report-auditor-phone-es")
    _no_sideways_scroll(phone)
    phone.goto(f"{live_server}/c/COOPB/conversion-factors")
    assert phone.locator("input[name^=factor-]").count() == 0
    screenshot(phone, "ledger-factors-auditor-phone-es")
    _no_sideways_scroll(phone)


def test_premium_rules_on_the_payments_page(live_server, desktop, phone, cacao):
    phone.set_viewport_size({"width": 390, "height": 800})
    login(phone, live_server, "manager.b@example.org")
    phone.goto(f"{live_server}/c/COOPB/payments?season=2026")
    expect(phone.get_by_text("por tonelada de grano seco").first).to_be_visible()
    phone.get_by_text("Agregar una prima").click()
    phone.locator("#name").fill("Prima mujeres cacaoteras")
    phone.get_by_label("Solo familias lideradas por mujeres").check()
    phone.get_by_label("Cultivo").select_option("cacao")
    phone.get_by_label("Se paga por").select_option("kg_dry_beans")
    phone.get_by_label("Prima por unidad (S/)").fill("0,10")
    phone.get_by_role("button", name="Agregar la prima").click()
    phone.wait_for_load_state("networkidle")
    expect(phone.get_by_text("Prima mujeres cacaoteras").first).to_be_visible()
    expect(phone.get_by_text("por kg de grano seco").first).to_be_visible()
    screenshot(phone, "ledger-premiums-manager-phone-es")
    _no_sideways_scroll(phone)
    login(desktop, live_server, "manager.b@example.org")
    desktop.goto(f"{live_server}/lang/en")
    desktop.goto(f"{live_server}/c/COOPB/payments?season=2026")
    desktop.get_by_text("Add a premium").click()
    screenshot(desktop, "ledger-premiums-manager-desktop-en")
