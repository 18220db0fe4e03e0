"""The audit trail in Chromium at phone and desktop widths: readable, nothing private."""

from __future__ import annotations

import pytest

from tests import factories as f

pytestmark = pytest.mark.browser


def test_an_auditor_reads_the_trail_on_a_phone_and_a_desktop(
    browser, live_server, db, world, tmp_path
):
    family = f.make_family(db, world.a, head_name="Rosa Panduro", phone="987654321")
    db.commit()
    family.head_name = "Rosa Panduro Sangama"
    db.add(family)
    db.commit()
    for name, width, height in (("phone", 390, 844), ("desktop", 1280, 900)):
        page = browser.new_page(viewport={"width": width, "height": height}, locale="es-PE")
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", "auditor.a@example.org")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.goto(f"{live_server}/c/{world.a.code}/audit?verify=1")
        assert page.locator("h1").inner_text() == "Registro de auditoría"
        assert "La cadena está intacta" in page.content()
        page.locator("table details summary").first.click()
        assert "987654321" not in page.content()
        page.screenshot(path=str(tmp_path / f"audit-{name}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width + 1, f"{name}: the page scrolls sideways ({scroll}px)"
        page.close()
    print(tmp_path)
