"""The long staff lists in Chromium at 390 and 1280 px: the count shows, a page holds at
most 100 rows, the pages and the export links carry the filters, a row's link opens its
record, and the page never scrolls sideways (the tables scroll inside their frame)."""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


def test_the_lists_on_a_phone_and_a_desktop(browser, live_server, db, world):
    coop = world.a
    community = f.make_community(db, coop, "Alto Sangani")
    people = [f.make_family(db, coop, community=community) for _ in range(104)]
    people.append(f.make_family(db, coop, community=community, head_name="Lidia Tapullima"))
    plot = f.make_plot(db, people[-1])
    for n in range(3):
        f.make_delivery(db, coop, people[-1], plot, on=date(2026, 6, 2 + n))
    f.make_payment(db, people[-1], allocations=[])
    cert = f.make_certificate(db, coop)
    for fam in people[:30]:
        f.cover(db, cert, fam)
    db.commit()
    lists = {
        "families": (f"/c/{coop.code}/families", "105 familias"),
        "families-search": (f"/c/{coop.code}/families?q=tapullima", "1 familia"),
        "deliveries": (
            f"/c/{coop.code}/deliveries?from=01/06/2026&to=30/06/2026&centre=",
            "3 entregas",
        ),
        "payments": (f"/c/{coop.code}/payments/all", "1 pago"),
        "coverage": (f"/certificates/{cert.id}/coverage?on=2026-06-01", "30 familias"),
        "lapsed": (f"/c/{coop.code}/coverage-lapsed", "0 coberturas vencidas"),
        "audit": (f"/c/{coop.code}/audit?entity=family", "105 entradas"),
    }
    for name, width, height in (("phone", 390, 844), ("desktop", 1280, 900)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="es-PE")
        page = context.new_page()
        login(page, live_server, "manager.a@example.org")
        for key, (url, count) in lists.items():
            page.goto(live_server + url)
            assert page.locator(".list-count").inner_text().startswith(count), (key, name)
            assert page.locator("td.key").count() <= 100
            export = page.locator(".list-export a").first.get_attribute("href")
            assert export and ".csv" in export, key
            for part in url.split("?")[1:]:
                assert part.split("=")[0] in export, (key, export)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width + 1, f"{key} at {width}px scrolls sideways ({scroll}px)"
            screenshot(page, f"lists-{key}-{width}")
        # the first page of 105 families holds 100; "Siguiente" shows the other 5
        page.goto(f"{live_server}/c/{coop.code}/families")
        assert page.locator("td.key").count() == 100
        page.get_by_role("link", name="Siguiente →").click()
        assert page.locator("td.key").count() == 5
        assert "se muestran 101–105" in page.locator(".list-count").inner_text()
        # a row links to its record
        page.locator("td.key a").first.click()
        assert page.url.startswith(f"{live_server}/families/")
        context.close()
