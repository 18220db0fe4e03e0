"""Forming a lot by claim in Chromium (issue 15.1): the running total of individual picks
(static JavaScript, no inline script under the CSP), "select all that match" across
pages with the server's totals, the claims preview, and the lot it makes. Screenshots at
390 and 1280 px go to instance/screenshots/."""

from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.factories import cover, make_certificate, make_delivery, make_family, make_plot

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


@pytest.fixture
def certified(db, world):
    """101 organic deliveries (two pages) of one covered family, 2 of a family without
    coverage: 1 kg, 2 kg, ... so every total is checkable."""
    cert = make_certificate(db, world.a, type="organic", number="ORG-7")
    covered = make_family(db, world.a, head_name="Marleni Saavedra Pinedo")
    cover(db, cert, covered)
    plot = make_plot(db, covered, area_ha=100)  # under the volume cap
    for n in range(101):
        make_delivery(db, world.a, covered, plot, kg=10 + n, on=date(2026, 5, 1 + n % 28))
    plain = make_family(db, world.a, head_name="Teodoro Fasabi Paredes")
    plain_plot = make_plot(db, plain)
    for kg in (33, 44):
        make_delivery(db, world.a, plain, plain_plot, kg=kg, on=date(2026, 4, 20))
    db.commit()


def _total(page):
    return page.locator("#total-text").inner_text()


def _in_view(page, selector):
    return page.evaluate(
        """(s) => { const r = document.querySelector(s).getBoundingClientRect();
                   return r.top >= 0 && r.bottom <= window.innerHeight; }""",
        selector,
    )


def test_running_total_select_all_and_preview_in_chromium(live_server, browser, certified):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-PE")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server, "manager.a@example.org")
    page.goto(f"{live_server}/c/COOPA/lots/new?crop=coffee&form=dry_parchment")
    assert _total(page) == "0 entregas · 0,0 kg · 0,0 qq · 0 familias"
    assert _in_view(page, "#lot-total")  # the total is on screen at the top of a long list
    rows = page.locator("input.pick-one")
    assert rows.count() == 100  # 103 match: a page of 100
    rows.nth(0).check()  # the oldest: Teodoro's 33 kg and 44 kg
    assert _total(page) == "1 entrega · 33,0 kg · 0,6 qq · 1 familia"
    rows.nth(1).check()
    rows.nth(2).check()
    assert _total(page) == "3 entregas · 87,0 kg · 1,6 qq · 2 familias"  # 33 + 44 + 10
    page.locator(f'input[name="kg_{rows.nth(1).get_attribute("value")}"]').fill("4,5")
    assert _total(page) == "3 entregas · 47,5 kg · 0,9 qq · 2 familias"
    page.mouse.wheel(0, 4000)
    assert _in_view(page, "#lot-total")  # and still on screen further down

    # Only organic: 101 deliveries over two pages; select all that match.
    page.goto(f"{live_server}/c/COOPA/lots/new?crop=coffee&form=dry_parchment&claim=organic")
    assert "Página 1 de 2" in page.content()
    page.get_by_label("Seleccionar las 101 entregas que coinciden (todas las páginas)").check()
    assert sum(range(10, 111)) == 6060  # kg of the 101 deliveries; 109,8 qq of 55,2 kg
    assert _total(page) == "101 entregas · 6.060,0 kg · 109,8 qq · 1 familia"
    assert page.locator("input.pick-one").first.is_disabled()
    screenshot(page, "lot-forming-select-all-1280")

    page.get_by_role("button", name="Ver qué certificaciones llevará el lote").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".preview-sentence").inner_text() == "Orgánico (segregado)"
    assert page.get_by_label(
        "Seleccionar las 101 entregas que coinciden (todas las páginas)"
    ).is_checked()
    screenshot(page, "lot-forming-preview-1280")
    page.get_by_role("button", name="Formar el lote").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("CAF-2026-0001")
    expect(page.get_by_text("Lote CAF-2026-0001 hecho: 6.060 kg.")).to_be_visible()
    assert not [e for e in errors if "Content Security Policy" in e]
    context.close()


def test_preview_of_a_mixed_lot_links_the_deliveries_that_lose_the_claim(
    live_server, browser, certified
):
    """At 390 px: the mixed list's preview names the claim lost and links its deliveries;
    the page fits the phone and its total bar stays on screen."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="es-PE", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    login(page, live_server, "manager.a@example.org")
    page.goto(f"{live_server}/c/COOPA/lots/new?crop=coffee&form=dry_parchment")
    assert _in_view(page, "#lot-total")
    screenshot(page, "lot-forming-390")
    page.get_by_label("Seleccionar las 103 entregas que coinciden (todas las páginas)").check()
    page.get_by_role("button", name="Ver qué certificaciones llevará el lote").click()
    page.wait_for_load_state("networkidle")
    sentence = page.locator(".preview-sentence").inner_text()
    assert sentence == "Sin certificación; pierde Orgánico por 2 entregas sin cobertura"
    links = page.locator(".lot-preview a")
    assert links.count() == 2
    links.first.click()
    page.wait_for_load_state("networkidle")
    assert "Teodoro Fasabi Paredes" in page.content()
    page.go_back()
    screenshot(page, "lot-forming-preview-390")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    context.close()
