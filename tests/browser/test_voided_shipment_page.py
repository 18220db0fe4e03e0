"""A voided shipment's page offers its EPCIS error declaration instead of the export, and
the document it downloads declares the shipping event did not occur, in real Chromium on a
phone and on a desktop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import login, screenshot
from tracker.services import shipments

pytestmark = pytest.mark.browser


def test_a_voided_shipments_page_offers_its_error_declaration(live_server, browser, db, world):
    built = f.make_public_lot(db, world.a, families=2)
    shipment = f.make_shipment(db, world.a, [built.lot])
    db.commit()
    shipments.void_shipment(db, shipment=shipment, reason="Registrado por error", user_id=None)
    db.commit()
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="es-PE")
        page = context.new_page()
        try:
            login(page, live_server, "manager.a@example.org")
            page.goto(f"{live_server}/shipments/{shipment.id}")
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            expect(page.get_by_role("button", name="Exportación EPCIS 2.0")).to_have_count(0)
            link = page.get_by_role("button", name="EPCIS 2.0: declaración de error")
            expect(link).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            screenshot(page, f"voided-shipment-page-{width}-es")
            with page.expect_download() as download:
                link.click()
            document = json.loads(Path(download.value.path()).read_text())
            [event] = [e for e in document["epcisBody"]["eventList"] if e.get("errorDeclaration")]
            assert event["errorDeclaration"]["reason"] == "did_not_occur"
            assert event["bizStep"].endswith("shipping")
        finally:
            context.close()
