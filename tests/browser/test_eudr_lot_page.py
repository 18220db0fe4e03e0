"""The lot page's EUDR download for a manager, in real Chromium on a 390 px phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import login, screenshot
from tests.functional.test_eudr_package import check_eudr_file

pytestmark = pytest.mark.browser


@pytest.fixture
def lot(db, world):
    built = f.make_public_lot(db, world.a, families=3)
    db.commit()
    return built.lot


def test_a_manager_downloads_the_lots_geolocation(live_server, browser, lot):
    context = browser.new_context(viewport={"width": 390, "height": 900}, locale="es-PE")
    page = context.new_page()
    try:
        login(page, live_server, "manager.a@example.org")
        page.goto(f"{live_server}/lots/{lot.id}")
        link = page.get_by_role("button", name="Geolocalización EUDR (GeoJSON)")
        expect(link).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "eudr-lot-page-390-es")
        with page.expect_download() as download:
            link.click()
        document = check_eudr_file(Path(download.value.path()).read_bytes())
        assert len(document["features"]) == 3
        assert download.value.suggested_filename.startswith("eudr-COOPA-lot-")
    finally:
        context.close()


def test_the_shipments_package_page_counts_its_plots_and_producers(live_server, browser, db, world):
    """The package page says how many plots of how many producers, in agreement, on a phone
    and on a desktop."""
    built = f.make_public_lot(db, world.a, families=3)
    shipment = f.make_shipment(db, world.a, [built.lot])
    db.commit()
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="es-PE")
        page = context.new_page()
        try:
            login(page, live_server, "manager.a@example.org")
            page.goto(f"{live_server}/shipments/{shipment.id}/eudr")
            sentence = page.get_by_text("3 parcelas de 3 productores;")
            expect(sentence).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            screenshot(page, f"eudr-shipment-page-{width}-es")
        finally:
            context.close()
