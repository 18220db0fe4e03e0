"""The audit trail in Chromium at phone and desktop widths: readable, nothing private."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.browser.conftest import login, screenshot

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
        login(page, live_server, "auditor.a@example.org")
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


def test_an_auditor_verifies_the_records_and_keeps_a_checkpoint(browser, live_server, db, world):
    """The page at 390 and 1280 px: a record edited behind the app's back is named (its
    private value hidden), the checkpoint can be copied, and pasted back it proves that
    nothing logged since was removed."""
    from sqlalchemy import update

    from tracker.models import Delivery, Family

    family = f.make_family(db, world.a, head_name="Rosa Panduro", national_id="40001234")
    plot = f.make_plot(db, family)
    delivery = f.make_delivery(db, world.a, family, plot, kg=61.5, price=910)
    db.commit()
    for name, width, height in (("phone", 390, 844), ("desktop", 1280, 900)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="es-PE")
        page = context.new_page()
        login(page, live_server, "auditor.a@example.org")
        page.goto(f"{live_server}/c/{world.a.code}/audit")
        page.get_by_text("Punto de control: demuestre").click()
        kept = page.locator("#checkpoint-now").input_value()
        assert kept.startswith("tracker audit checkpoint 1")
        if name == "phone":
            db.exec(
                update(Delivery).where(Delivery.id == delivery.id).values(price_per_kg_minor=990)
            )
            db.exec(update(Family).where(Family.id == family.id).values(national_id="49999999"))
            db.commit()
        page.locator("#against").fill(kept)
        page.get_by_role("button", name="Verificar con este punto de control").click()
        alert = page.get_by_role("alert")
        assert "La verificación falló: 2 problemas." in alert.inner_text()
        said = alert.inner_text().replace("\xa0", " ")
        # In the trail's words (helper-67): the record by its key, the field by its name.
        assert "Precio por kg es S/ 9,90, el registro de auditoría dice S/ 9,10." in said
        assert "DNI es •••" in said
        assert "49999999" not in page.content() and "40001234" not in page.content()
        screenshot(page, f"audit-verify-{name}")
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width + 1, f"{name}: the page scrolls sideways ({scroll}px)"
        context.close()


def test_a_delivery_entry_reads_in_kg_money_and_written_dates(
    browser, live_server, db, world, tmp_path
):
    """Issue 15 point 5: an entry's values as people write them, at 390 and 1280 px."""
    family = f.make_family(db, world.a, head_name="Rosa Panduro", woman_led=True)
    plot = f.make_plot(db, family)
    f.make_delivery(db, world.a, family, plot, kg=41.125, price=971)
    db.commit()
    for name, width, height in (("phone", 390, 844), ("desktop", 1280, 900)):
        page = browser.new_page(viewport={"width": width, "height": height}, locale="es-PE")
        login(page, live_server, "auditor.a@example.org")
        page.goto(f"{live_server}/c/{world.a.code}/audit?entity=delivery")
        page.locator("table details summary").first.click()
        fold = page.locator("table details dl").first.inner_text()
        assert "41,125\u00a0kg" in fold and "S/\u00a09,71" in fold and "2 jun 2026" in fold, fold
        screenshot(page, f"audit-values-{name}")
        # The opened entry's field names are in view, none behind the sticky first column.
        hidden = page.evaluate(
            """() => {
              const row = document.querySelector('table.audit-trail details').closest('tr');
              const edge = row.cells[0].getBoundingClientRect().right;
              return Array.from(row.querySelectorAll('dt'))
                .filter((dt) => dt.getBoundingClientRect().left < edge - 1)
                .map((dt) => dt.textContent);
            }"""
        )
        assert not hidden, f"{name}: field names behind the first column: {hidden}"
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width + 1, f"{name}: the page scrolls sideways ({scroll}px)"
        page.close()
