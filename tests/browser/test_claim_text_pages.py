"""A claim whose certificate was suspended after the harvest, as a buyer reads it in real
Chromium (390 and 1280 px, Spanish and English) and on the sheet rasterised by pdftoppm."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
import time_machine
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SHOTS, screenshot

pytestmark = pytest.mark.browser
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SENTENCES = {
    "es": "Válido en las fechas de cosecha; suspendido desde el 15 jul 2026",
    "en": "Valid on the harvest dates; suspended since Jul 15, 2026",
}


@pytest.fixture
def suspended(db, world):
    with time_machine.travel(NOW, tick=True):
        built = f.make_public_lot(db, world.a, families=6)
        organic = built.certificates[0]
        organic.standard = "USDA NOP"
        db.add(organic)
        f.set_status(db, organic, "suspended", date(2026, 7, 15), reason="Auditoría")
        db.commit()
        yield built


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("locale", ["es", "en"])
def test_the_public_page_says_what_was_true_when(live_server, browser, suspended, width, locale):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="es-PE")
    page = context.new_page()
    try:
        page.goto(f"{live_server}/l/{suspended.lot.public_token}?lang={locale}")
        sentence = page.get_by_text(SENTENCES[locale], exact=True)
        assert sentence.count() == 2  # under the ✓ at the top, and under the certificate
        expect(sentence.first).to_be_visible()
        assert "warn" in (sentence.last.get_attribute("class") or "")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"claim-text-public-{width}-{locale}")
        # certificationInfo's target: the certificate's own page, with its dated status.
        organic = suspended.certificates[0]
        page.goto(f"{live_server}/cert/{organic.id}?lang={locale}")
        since = {"es": "Suspendido desde el 15 jul 2026", "en": "Suspended since Jul 15, 2026"}
        expect(page.get_by_text(since[locale], exact=True)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"claim-text-certificate-{width}-{locale}")
    finally:
        context.close()


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils missing: make sysdeps")
@pytest.mark.parametrize("locale", ["es", "en"])
def test_the_sheet_says_what_was_true_when(client, suspended, locale):
    answer = client.get(
        f"/l/{suspended.lot.public_token}/provenance.pdf", headers={"Accept-Language": locale}
    )
    assert answer.status_code == 200
    SHOTS.mkdir(parents=True, exist_ok=True)
    stem = SHOTS / f"claim-text-sheet-{locale}"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-", str(stem)],
        input=answer.data,
        check=True,
    )
    assert list(SHOTS.glob(f"claim-text-sheet-{locale}*.png"))
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=answer.data, capture_output=True, check=True
    ).stdout.decode()
    assert SENTENCES[locale] in " ".join(text.split())
