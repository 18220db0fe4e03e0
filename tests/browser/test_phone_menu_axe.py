"""Phones (issue 15, point 4) in real Chromium: for each role, every page the cooperative
menu reaches has no serious or critical axe-core violation at 390 and at 1280 px; on a
phone the menu folds behind one button, and every wide table keeps its first column in
view with a visible cue that it scrolls. And the A6 receipt prints on one page."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
import time_machine

from tests.browser.conftest import SHOTS, login, screenshot
from tests.functional.test_reports_season import build_season

pytestmark = pytest.mark.browser
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ROLES = (
    "clerk.a@example.org",
    "manager.a@example.org",
    "auditor.a@example.org",
    "admin@example.org",
)
WIDTHS = (390, 1280)


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True  # the real forms, with their CSRF tokens
    return app_config


@pytest.fixture
def season(db, world):
    with time_machine.travel(NOW, tick=True):
        yield build_season(db, world)


def serious_violations(page) -> list[dict]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' '))}))"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


TABLES = """() => Array.from(document.querySelectorAll('main table')).map((table) => {
  const region = table.closest('.table-scroll');
  if (!region) return {bare: table.outerHTML.slice(0, 80)};
  const wide = region.scrollWidth > region.clientWidth + 1;
  region.scrollLeft = region.scrollWidth;  // to the far right
  const box = region.getBoundingClientRect();
  const firsts = Array.from(table.rows).map((row) => row.cells[0])
    .filter((cell) => cell && cell.colSpan === 1)
    .map((cell) => cell.getBoundingClientRect())
    .filter((r) => r.width > 0 && r.bottom > 0 && r.top < window.innerHeight * 50);
  const cue = wide ? getComputedStyle(region, '::before').content : '';
  const result = {
    wide, focusable: region.tabIndex === 0, role: region.getAttribute('role'),
    label: region.getAttribute('aria-label') || '', cue,
    firstInView: firsts.every((r) => r.left >= box.left - 1 && r.right <= box.right + 1),
    classes: region.className,
  };
  region.scrollLeft = 0;
  return result;
})"""


def crawl(page, base: str, email: str, width: int) -> list[str]:
    """Log in as `email`, open the cooperative, and check every page its menu links to."""
    page.set_viewport_size({"width": width, "height": 900})
    login(page, base, email)
    page.goto(f"{base}/c/COOPA/")
    links = page.eval_on_selector_all("nav.menu a", "(as) => as.map((a) => a.href)")
    assert links, f"{email}: no menu"
    problems = []
    for url in dict.fromkeys([page.url, *links]):
        page.goto(url)  # waits for the load event: no page fills itself in after it
        name = url.replace(base, "")
        bad = serious_violations(page)
        if bad:
            problems.append(f"{email} {width}px {name}: {json.dumps(bad, ensure_ascii=False)}")
        if width < 768:
            menu = page.locator("nav.menu")
            toggle = menu.locator("[data-menu-toggle]")
            if not toggle.is_visible() or menu.locator("ul").is_visible():
                problems.append(f"{email} {name}: the menu is not folded behind its button")
            if page.evaluate("document.documentElement.scrollWidth") > width:
                problems.append(f"{email} {name}: the page scrolls sideways")
            for table in page.evaluate(TABLES):
                if "bare" in table:
                    problems.append(f"{email} {name}: a table outside .table-scroll {table}")
                elif table["wide"] and not (
                    table["focusable"]
                    and table["role"] == "region"
                    and table["label"]
                    and "\u2192" in table["cue"]
                    and table["firstInView"]
                ):
                    problems.append(f"{email} {name}: a wide table without its cues {table}")
        slug = name.strip("/").replace("/", "-") or "home"
        if email.startswith("manager"):
            screenshot(page, f"phones-{slug}-{width}")
    return problems


# One test per role, marked slow so that xdist starts them first, side by side, rather
# than one long crawl finishing last, alone, on one core.
@pytest.mark.slow
@pytest.mark.parametrize("email", ROLES)
def test_every_menu_page_for_every_role_at_phone_and_desktop_widths(
    live_server, browser, season, email
):
    problems = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="es-PE")
        page = context.new_page()
        problems += crawl(page, live_server, email, width)
        context.close()
    assert not problems, "\n".join(problems)


def test_the_menu_opens_and_closes_with_its_button_on_a_phone(live_server, browser, season):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-PE")
    page = context.new_page()
    login(page, live_server, "manager.a@example.org")
    page.goto(f"{live_server}/c/COOPA/reports/season")
    menu = page.locator("nav.menu")
    toggle = menu.get_by_role("button", name="Menú")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert menu.bounding_box()["height"] < 80  # was four rows, about 330 px
    assert "Informe de campaña" in toggle.inner_text() or "Informe" in toggle.inner_text()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    links = menu.get_by_role("link")
    assert links.first.is_visible() and links.count() >= 10
    screenshot(page, "phones-menu-open-390")
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false" and not links.first.is_visible()
    # On a desktop the menu is a row of links and the button is not shown.
    page.set_viewport_size({"width": 1280, "height": 900})
    assert not toggle.is_visible() and links.first.is_visible()
    context.close()


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils missing")
def test_the_a6_receipt_prints_on_one_page_with_its_signatures(live_server, browser, season, db):
    from sqlmodel import select

    from tracker.models import Delivery

    delivery = db.exec(
        select(Delivery).where(Delivery.premium_minor > 0).order_by(Delivery.net_g.desc())
    ).first()
    delivery_id, receipt_number = delivery.id, delivery.receipt_number
    db.commit()  # end the test's transaction: the server writes when the manager logs in
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-PE")
    page = context.new_page()
    login(page, live_server, "manager.a@example.org")
    page.goto(f"{live_server}/deliveries/{delivery_id}/receipt?paper=a6")
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / "phones-receipt-a6.pdf"
    page.pdf(path=str(target), prefer_css_page_size=True, print_background=True)
    with pikepdf.open(io.BytesIO(target.read_bytes())) as document:
        assert len(document.pages) == 1
        width, height = (float(v) for v in document.pages[0].mediabox[2:])
    assert round(width / 72 * 25.4) == 105 and round(height / 72 * 25.4) == 148
    text = subprocess.run(
        ["pdftotext", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Socio" in text and "Acopiador" in text and receipt_number in text
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", str(target), str(SHOTS / "phones-receipt-a6")], check=True
    )
    context.close()


def test_a_lots_page_and_its_genealogy_pass_axe(live_server, browser, db, world):
    """Pages one step past the menu: the lot page (with the labels form) and the genealogy
    drawing, whose lot links sit inside a group, not an image (nested-interactive)."""
    from tests import factories as f

    built = f.make_public_lot(db, world.a)
    db.commit()
    problems = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="es-PE")
        page = context.new_page()
        login(page, live_server, "manager.a@example.org")
        for path in (f"/lots/{built.lot.id}", f"/lots/{built.lot.id}/genealogy"):
            page.goto(f"{live_server}{path}")
            page.wait_for_load_state("networkidle")
            bad = serious_violations(page)
            if bad:
                problems.append(f"{width}px {path}: {json.dumps(bad, ensure_ascii=False)}")
        page.goto(f"{live_server}/lots/{built.lot.id}")
        page.get_by_text("Etiquetas para sacos (PDF)").click()
        assert page.get_by_label("Sacos").input_value() == "6"
        assert page.get_by_label("kg por saco").input_value() == "69"
        screenshot(page, f"phones-lot-labels-form-{width}")
        context.close()
    assert not problems, "\n".join(problems)
