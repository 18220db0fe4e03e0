"""A kosher site period withdrawn through the real form, and an ICS file imported twice,
on a 390 px phone and a 1280 px desktop, in Spanish (helper-78's screenshots)."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True  # the real forms, with their CSRF tokens
    return app_config


@pytest.mark.parametrize("width", [390, 1280])
def test_withdraw_a_site_period_and_import_a_list_twice(
    browser, live_server, db, world, tmp_path, width
):
    coop = world.a
    kosher = f.make_certificate(
        db, coop, type="kosher", forms="green,roasted", number="OU-K-2062", standard="Kosher"
    )
    mill = f.make_site(db, coop)
    f.cover_site(db, kosher, mill)
    organic = f.make_certificate(db, coop, number="CU-PE-2026-0871")
    codes = [f.make_family(db, coop).member_code for _ in range(3)]
    kosher_id, organic_id = kosher.id, organic.id
    db.commit()
    csv = tmp_path / "ics.csv"
    csv.write_text(
        "codigo_socio;estado;desde\n" + "".join(f"{c};certificado;2026-02-01\n" for c in codes)
    )
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="es-PE")
    page = context.new_page()
    login(page, live_server, "manager.a@example.org")

    page.goto(f"{live_server}/certificates/{kosher_id}")
    page.get_by_text("Retirar este periodo").click()
    page.get_by_label("Por qué (p. ej., la fecha de inicio estaba mal escrita)").fill(
        "La fecha de inicio era 2026, no 2062"
    )
    page.get_by_role("button", name="Retirar", exact=True).click()
    page.wait_for_load_state()
    assert "Se retiró el periodo" in page.content()
    assert "La fecha de inicio era 2026, no 2062" in page.content()
    screenshot(page, f"w13-site-withdrawn-{width}")

    for shot in ("first", "again"):
        page.goto(f"{live_server}/certificates/{organic_id}")
        page.locator("#csv_file").set_input_files(str(csv))
        page.get_by_role("button", name="Importar").click()
        page.wait_for_load_state()
        if shot == "again":
            assert "No se agregó nada" in page.content()
            page.locator("#file-error").scroll_into_view_if_needed()
        screenshot(page, f"w13-import-{shot}-{width}")
    context.close()
