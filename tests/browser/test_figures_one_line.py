"""Summary figures never break across lines (issue 15): the dashboard, the season report
page and a family's payments page, in real Chromium at widths from 320 to 1920 px.

Each figure's text is measured with a DOM Range: one line box means one distinct top.
The boxes wrap to fit the screen; the figure itself stays whole and inside its box. The
figures are the season's real ones, then the longest a cooperative of 5,000 families
writes ("S/ 74.830.300,00", "7.828.766,3"), put in their place, so the CSS is what holds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.browser.conftest import login, screenshot
from tests.functional.test_reports_season import build_season

pytestmark = pytest.mark.browser
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
WIDTHS = (320, 360, 390, 768, 1024, 1280, 1920)
LONGEST = {"kg": "7.828.766,3", "money": "S/\u00a074.830.300,00", "count": "35.000"}

# For every figure: its text, its number of lines, and whether it sticks out of its box.
MEASURE = """() => Array.from(document.querySelectorAll('.figure')).map((el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const tops = new Set(Array.from(range.getClientRects()).filter((r) => r.width > 0)
    .map((r) => Math.round(r.top)));
  const box = el.closest('article, .report-figures > div') || el.parentElement;
  const text = range.getBoundingClientRect(), outer = box.getBoundingClientRect();
  return {text: el.textContent.trim(), lines: tops.size, size: getComputedStyle(el).fontSize, right: Math.round(text.right), boxRight: Math.round(outer.right), box: box.tagName + "." + box.className,
          outside: text.right > outer.right + 1 || text.left < outer.left - 1};
})"""
LONGER = """(longest) => document.querySelectorAll('.figure').forEach((el) => {
  const t = el.textContent;
  el.textContent = t.includes('S/') ? longest.money : (t.includes(',') ? longest.kg : longest.count);
})"""


@pytest.fixture
def season(db, world):
    with time_machine.travel(NOW, tick=True):
        yield build_season(db, world)


def _check(page, url: str, name: str) -> int:
    """Every figure on one line and inside its box, at every width; how many were seen."""
    seen = 0
    for longest in (False, True):
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url)
            if longest:
                page.evaluate(LONGER, LONGEST)
            figures = page.evaluate(MEASURE)
            assert figures, f"no summary figure on {url}"
            broken = [f for f in figures if f["lines"] != 1 or f["outside"]]
            assert not broken, (url, width, longest, broken)
            seen += len(figures)
            if width in (390, 1280) and not longest:
                screenshot(page, f"figures-{name}-{width}")
    return seen


def test_summary_figures_stay_on_one_line_from_320_to_1920_px(live_server, desktop, season):
    login(desktop, live_server, "manager.a@example.org")
    family = season["families"][0]
    pages = {
        "dashboard": f"{live_server}/c/COOPA/",
        "season-report": f"{live_server}/c/COOPA/reports/season?season=2026",
        "family-payments": f"{live_server}/families/{family.id}/payments?season=2026",
    }
    for name, url in pages.items():
        assert _check(desktop, url, name) >= len(WIDTHS) * 2 * 2, name
