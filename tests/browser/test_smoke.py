"""Smoke: log in through the real form in Chromium, at phone and desktop widths."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True  # the real form, with its CSRF token
    return app_config


def test_clerk_logs_in_on_a_phone_and_sees_the_dashboard_in_spanish(live_server, phone, world):
    login(phone, live_server, "clerk.a@example.org")
    # A clerk lands on the delivery form (issue 14); the dashboard is in the menu, which a
    # phone folds behind one button (issue 15).
    assert phone.url.endswith("/c/COOPA/deliveries/new")
    phone.get_by_role("button", name="Menú").click()
    phone.get_by_role("link", name="Panel").click()
    assert phone.url.endswith("/c/COOPA/")
    assert phone.locator("h1").inner_text() == "Cooperativa A"
    expect(phone.get_by_text("entregas en esta campaña")).to_be_visible()
    # Nothing overflows the 360 px screen sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(phone, "dashboard-clerk-phone-es")
    phone.get_by_role("link", name="English").click()
    expect(phone.get_by_text("deliveries this season")).to_be_visible()
    screenshot(phone, "dashboard-clerk-phone-en")


def test_manager_on_desktop_and_wrong_password(live_server, desktop, world):
    login(desktop, live_server, "manager.a@example.org", password="wrong password")
    assert desktop.get_by_role("alert").inner_text() == "Correo o contraseña incorrectos."
    login(desktop, live_server, "manager.a@example.org")
    assert desktop.url.endswith("/c/COOPA/")
    screenshot(desktop, "dashboard-manager-desktop-es")


def test_admin_sees_administration(live_server, desktop, world):
    login(desktop, live_server, "admin@example.org")
    desktop.goto(f"{live_server}/admin/")
    expect(desktop.get_by_role("heading", name="Administración")).to_be_visible()
    expect(desktop.get_by_text("clerk.b@example.org")).to_be_visible()
    screenshot(desktop, "admin-desktop-es")
