"""Quintales beside kg on the staff delivery pages, in Chromium at 390 and 1280 px: the
family page, the cooperative's delivery list and the receipt. On a phone the delivery
tables keep their first column in sight with the "scroll sideways" cue; no kg or qq
figure breaks across lines; the page never scrolls sideways; and the A6 receipt, quintales
row included, still prints on one page with its signature lines."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SHOTS, login, screenshot

pytestmark = pytest.mark.browser

# Each figure cell of the delivery tables: its text and how many lines it takes.
FIGURES = """(selector) => Array.from(document.querySelectorAll(selector)).map((el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0)
    .map((r) => Math.round(r.top)));
  return {text: el.textContent.trim(), lines: tops.size};
}).filter((f) => f.text)"""
# Where the first cell of a table's first body row is, after its frame scrolled to the end.
FIRST_CELL_AFTER_SCROLL = """(table) => {
  const frame = table.closest('.table-scroll');
  frame.scrollLeft = frame.scrollWidth;
  const cell = table.querySelector('tbody tr td');
  return {scrolled: frame.scrollLeft, frame: Math.round(frame.getBoundingClientRect().left),
          cell: Math.round(cell.getBoundingClientRect().left),
          position: getComputedStyle(cell).position};
}"""


@pytest.fixture
def weighed(db, world):
    """A certified family with parchment, green and cherry deliveries: the receipt's
    longest case (community, claim, premium, moisture, grade, paper receipt)."""
    community = f.make_community(db, world.a, "Alto Sangani del Huallaga")
    family, made = f.make_weighed_family(
        db,
        world.a,
        family_kw={"community": community, "head_name": "María Esther Tapullima Sangama"},
        certified=True,
        moisture_dpct=115,
        grade="A",
        paper_receipt="T-004512",
    )
    db.commit()
    return family, made


def _check_tables(page, width: int, key: str) -> None:
    """The figures stay whole; on a phone the first column stays, with the cue."""
    figures = page.evaluate(FIGURES, "table.deliveries td.right")
    assert figures, key
    assert [x for x in figures if x["lines"] != 1] == [], (key, width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, (key, width)
    table = page.locator("table.deliveries")
    frame = page.locator(".table-scroll:has(table.deliveries)")
    if width < 768:
        expect(frame).to_have_class(re.compile(r"\bis-scrollable\b"))
        assert frame.get_attribute("data-scroll-hint"), key  # the cue's words
        where = table.evaluate(FIRST_CELL_AFTER_SCROLL)
        assert where["scrolled"] > 0 and where["position"] == "sticky", (key, where)
        assert abs(where["cell"] - where["frame"]) <= 1, (key, where)  # still in sight


def test_quintales_on_the_delivery_pages_at_390_and_1280(browser, live_server, weighed):
    family, made = weighed
    parchment = made["dry_parchment"]
    pages = {
        "family": f"/families/{family.id}?season=2026",
        "deliveries": "/c/COOPA/deliveries?from=01/06/2026&to=30/06/2026&centre=",
    }
    for width, height in ((390, 844), (1280, 900)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="es-PE")
        page = context.new_page()
        login(page, live_server, "clerk.a@example.org")
        for key, url in pages.items():
            page.goto(live_server + url)
            row = page.locator("table.deliveries tr", has_text=parchment.receipt_number)
            expect(row).to_contain_text("1.104,375")
            expect(row).to_contain_text("20,01")  # 1.104,375 kg / 55,2 kg
            expect(page.locator("table.deliveries th", has_text="qq")).to_be_visible()
            _check_tables(page, width, key)
            screenshot(page, f"quintales-{key}-{width}")
        page.goto(f"{live_server}/deliveries/{parchment.id}/receipt?paper=a6")
        receipt = page.locator("section.receipt")
        expect(receipt.locator("tr", has_text="Quintales")).to_contain_text("20,01 qq")
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        screenshot(page, f"quintales-receipt-{width}")
        context.close()


def test_the_a6_receipt_with_quintales_prints_on_one_page(browser, live_server, weighed):
    _family, made = weighed
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="es-PE")
    page = context.new_page()
    login(page, live_server, "clerk.a@example.org")
    page.goto(f"{live_server}/deliveries/{made['dry_parchment'].id}/receipt?paper=a6")
    page.emulate_media(media="print")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = SHOTS / "quintales-receipt-a6.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    context.close()
    if not shutil.which("pdfinfo") or not shutil.which("pdftotext"):
        pytest.skip("poppler-utils: run make sysdeps")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Page size:\s+298\.\d+ x 420", info.stdout)  # 105 x 148 mm
    assert re.search(r"Pages:\s+1\n", info.stdout)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "20,01 qq" in text and "Socio" in text and "Acopiador" in text
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "100", str(pdf), str(SHOTS / "quintales-receipt-a6")],
            check=True,
        )
