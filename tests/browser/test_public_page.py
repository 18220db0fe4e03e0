"""The buyer's page in a real Chromium: a 360 px phone first, then a desktop."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def public(db, world):
    built = f.make_public_lot(db, world.a, families=6)
    db.commit()
    return built


def watch_console(page):
    """Collect console errors and CSP violations the page causes."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_a_shopper_scans_the_qr_on_a_phone(live_server, phone, public):
    problems = watch_console(phone)
    code = public.lot.code
    # What the QR code carries: the GS1 Digital Link, resolved by this server.
    phone.goto(f"{live_server}/01/07750000000014/10/{code}")
    assert phone.locator("h1").inner_text() == "Café verde Pólvora"
    expect(phone.get_by_text("Dónde se cultivó")).to_be_visible()
    badges = phone.get_by_role("list", name="Declaraciones")
    expect(badges.get_by_text("✓ Orgánico")).to_be_visible()
    expect(badges.get_by_text("✓ Comercio justo")).to_be_visible()
    expect(badges.get_by_text("✓ Libre de deforestación")).to_be_visible()
    expect(phone.locator("svg.plot-map")).to_be_visible()
    # Nothing overflows the 360 px screen sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    box = phone.locator("svg.plot-map").bounding_box()
    assert box is not None and box["width"] <= 340
    screenshot(phone, "public-lot-phone-es")
    phone.get_by_role("link", name="English").click()
    phone.wait_for_load_state()
    expect(phone.get_by_role("heading", name="Where it was grown")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(phone, "public-lot-phone-en")
    # The certificate behind the organic claim, one tap away.
    phone.get_by_role("link", name="Certificate details").first.click()
    phone.wait_for_load_state()
    expect(phone.get_by_text("Fairtrade Small-scale Producer Organizations")).to_be_visible()
    screenshot(phone, "public-certificate-phone-en")
    phone.go_back()
    sheet = phone.get_by_role("link", name="Download the provenance sheet (PDF)")
    response = phone.request.get(live_server + sheet.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    events = phone.get_by_role("link", name="The lot's events for traceability systems")
    response = phone.request.get(live_server + events.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/ld+json"
    # Reached by its Digital Link, the page never shows the lot's token.
    assert public.lot.public_token not in phone.content()
    assert problems == []


def test_the_page_on_a_desktop_and_an_unknown_code(live_server, desktop, public):
    problems = watch_console(desktop)
    desktop.goto(f"{live_server}/l/{public.lot.public_token}")
    expect(desktop.get_by_text("Precio pagado a las familias")).to_be_visible()
    assert desktop.evaluate("document.documentElement.scrollWidth") <= 1280
    screenshot(desktop, "public-lot-desktop-es")
    desktop.goto(f"{live_server}/l/AAAAAAAAAAAAAAAAAAAAAAAA")
    assert desktop.locator("h1").inner_text() == "No encontrado"
    screenshot(desktop, "public-not-found-desktop-es")
    assert problems == [] or all("404" in p for p in problems)
