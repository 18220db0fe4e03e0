"""The clerk at the scale, in Chromium on a 360 px phone: find the family, weigh, save,
print the receipt. And the intake pages at phone and desktop widths, to look at."""

import json
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import SHOTS, login, screenshot
from tests.factories import (
    cover,
    make_certificate,
    make_community,
    make_delivery,
    make_family,
    make_plot,
    square,
)
from tracker.models import Delivery
from tracker.services import deliveries, plots

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True  # the real forms, with their CSRF tokens
    return app_config


@pytest.fixture
def members(db, world):
    """A certified family with one plot, a neighbour with two, and the park nearby."""
    today = deliveries.today()
    polvora = make_community(db, world.a, "Pólvora")
    rosa = make_family(
        db,
        world.a,
        community=polvora,
        member_code="CAZ-1000",
        head_name="Rosa Quispe Tananta",
        woman_led=True,
    )
    make_plot(db, rosa, name="Parcela 1", lon=-76.452, lat=-7.551)
    juan = make_family(
        db, world.a, community=polvora, member_code="CAZ-1001", head_name="Juan Pérez Rengifo"
    )
    make_plot(db, juan, name="Parcela 1", lon=-76.47, lat=-7.56)
    plots.create(
        db,
        juan,
        {
            "name": "Parcela 2",
            "crop": "coffee",
            "area_m2": 60_000,
            "geometry": square(-76.46, -7.545, 245),
        },
    )
    cert = make_certificate(
        db, world.a, valid_from=today - timedelta(days=60), valid_until=today + timedelta(days=300)
    )
    cover(db, cert, rosa)
    cover(db, cert, juan)
    plots.set_protected_area(db, world.a, square(-76.40, -7.50, 8_000))
    inside = plots.create(
        db,
        juan,
        {
            "name": "Parcela 3",
            "crop": "coffee",
            "area_m2": 10_000,
            "geometry": {"type": "Point", "coordinates": [-76.40, -7.50]},
        },
    )
    for n, day in enumerate((today - timedelta(days=3), today - timedelta(days=1))):
        make_delivery(db, world.a, juan, inside, kg=40 + n, on=day, price=905)
    db.commit()
    return {"rosa": rosa, "juan": juan, "cert": cert}


def test_clerk_records_a_delivery_on_a_phone_and_prints_the_receipt(
    live_server, phone, world, members, tmp_path, db
):
    # window.print opens no dialog here: it records the receipt it would print.
    phone.context.add_init_script(
        "window.__printed = []; window.print = () => window.__printed.push("
        "(document.querySelector('#print-area .receipt') || document.body).innerText);"
    )
    login(phone, live_server, "clerk.a@example.org")
    assert phone.url.endswith("/c/COOPA/deliveries/new")  # a clerk lands on the form
    phone.wait_for_selector("#delivery-form[data-enhanced]", state="attached")
    finder = phone.get_by_label("Familia: código de socio o nombre")
    assert finder.evaluate("el => el === document.activeElement")
    screenshot(phone, "intake-delivery-form-phone-empty")
    finder.press_sequentially("rosa", delay=30)
    choice = phone.get_by_role("option", name="CAZ-1000")
    choice.wait_for()
    screenshot(phone, "intake-delivery-typeahead-phone")
    choice.click()  # the family is chosen
    gross = phone.get_by_label("Peso bruto (kg)")
    gross.wait_for()
    expect(gross).to_be_focused()
    # Everything else is proposed: the only plot, coffee, dry parchment, today.
    assert phone.locator("input[name=plot_id]").get_attribute("value")
    assert phone.locator("#crop").input_value() == "coffee"
    assert phone.locator("#form").input_value() == "dry_parchment"
    assert phone.locator("#delivered_on").input_value() == deliveries.today().isoformat()
    # The common case: at most four interactions once the family is chosen.
    interactions = 0
    phone.keyboard.type("41,3")
    interactions += 1
    phone.get_by_label("Tara (kg)").fill("0,2")
    interactions += 1
    phone.get_by_label("Humedad (%)").fill("11,5")
    interactions += 1
    phone.locator("#price_per_kg").fill("9,05")
    assert phone.locator("output[data-net]").inner_text() == "41,1"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(phone, "intake-delivery-form-phone-filled")
    phone.get_by_role("button", name="Guardar e imprimir recibo").click()
    interactions += 1
    assert interactions <= 4 + 1  # the price: this centre has no price set for today
    # "Save and print" prints the receipt at once, from the phone.
    phone.wait_for_function("() => window.__printed.length === 1")
    printed = phone.evaluate("window.__printed[0]")
    assert "C01-000003" in printed
    assert "Rosa Quispe Tananta" in printed and "41,1 kg" in printed and "371,96" in printed
    # It is stored under that number; the cooperative's receipt shows its claims.
    stored = None
    for _ in range(60):
        stored = db.exec(select(Delivery).where(Delivery.receipt_number == "C01-000003")).first()
        db.commit()
        if stored is not None:
            break
        phone.wait_for_timeout(250)
    assert stored is not None and stored.amount_minor == 37196
    phone.goto(f"{live_server}/deliveries/{stored.id}/receipt?fresh=1")
    assert phone.evaluate("window.__printed.length") == 1  # the page opened the print dialog
    receipt = phone.locator("section.receipt")
    assert "C01-000003" in receipt.inner_text()
    text = receipt.inner_text()
    assert "Rosa Quispe Tananta" in text and "41,1 kg" in text and "orgánico" in text.lower()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(phone, "intake-receipt-phone")
    # Print it: Chromium's print of the page, on 80 mm paper as the @page rule asks.
    phone.emulate_media(media="print")
    pdf_path = SHOTS / "intake-receipt-80mm.pdf"
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.pdf(path=str(pdf_path), prefer_css_page_size=True, print_background=True)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    if shutil.which("pdfinfo"):
        info = subprocess.run(
            ["pdfinfo", str(pdf_path)], capture_output=True, text=True, check=True
        ).stdout
        width_pt = float(info.split("Page size:")[1].split("x")[0])
        assert abs(width_pt - 80 / 25.4 * 72) < 2  # 80 mm wide
        assert re.search(r"Pages:\s+1\n", info)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", str(pdf_path), str(SHOTS / "intake-receipt-80mm")],
            check=True,
        )
    # And on A6, for an office printer.
    phone.goto(phone.url.replace("fresh=1", "paper=a6"))
    a6_path = SHOTS / "intake-receipt-a6.pdf"
    phone.pdf(path=str(a6_path), prefer_css_page_size=True, print_background=True)
    if shutil.which("pdfinfo"):
        info = subprocess.run(
            ["pdfinfo", str(a6_path)], capture_output=True, text=True, check=True
        ).stdout
        assert re.search(r"Page size:\s+298\.\d+ x 420", info)  # 105 x 148 mm
        assert re.search(r"Pages:\s+1\n", info)
    if shutil.which("pdftotext"):
        printed = subprocess.run(
            ["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "C01-000003" in printed and "Imprimir recibo" not in printed


def test_intake_pages_at_phone_and_desktop_widths(live_server, phone, desktop, world, members):
    rosa, juan = members["rosa"], members["juan"]
    login(desktop, live_server, "manager.a@example.org")
    for path, name in (
        (f"/families/{juan.id}", "intake-family-desktop"),
        ("/c/COOPA/families", "intake-families-desktop"),
        ("/c/COOPA/protected-area", "intake-protected-area-desktop"),
        ("/c/COOPA/deliveries?from=2026-01-01&to=2026-12-31", "intake-deliveries-desktop"),
        ("/c/COOPA/deliveries/import", "intake-import-desktop"),
        ("/c/COOPA/", "intake-dashboard-desktop"),
    ):
        desktop.goto(live_server + path)
        desktop.wait_for_load_state("networkidle")
        screenshot(desktop, name)
    desktop.goto(f"{live_server}/families/{juan.id}")
    assert desktop.locator("svg.plot-map").count() == 1
    # A bad import lists its lines.
    desktop.goto(f"{live_server}/c/COOPA/deliveries/import")
    bad = "codigo_socio;parcela;cultivo;forma;fecha;peso_bruto_kg;tara_kg\r\nCAZ-1000;Parcela 1;café;pergamino seco;02/06/2026;-41,3;0,2\r\nCAZ-9;Parcela 1;café;pergamino seco;99/06/2026;41,3;0,2\r\n"
    desktop.set_input_files(
        "#file", files=[{"name": "entregas.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    desktop.get_by_role("button", name="Importar").click()
    desktop.wait_for_load_state("networkidle")
    expect(desktop.get_by_role("heading", name="No se importó nada")).to_be_visible()
    screenshot(desktop, "intake-import-errors-desktop")

    login(phone, live_server, "clerk.a@example.org")
    for path, name in (
        (f"/families/{juan.id}", "intake-family-phone"),
        (f"/families/{rosa.id}/plots/new", "intake-plot-form-phone"),
        ("/c/COOPA/families", "intake-families-phone"),
        ("/c/COOPA/deliveries?from=2026-01-01&to=2026-12-31", "intake-deliveries-phone"),
    ):
        phone.goto(live_server + path)
        phone.wait_for_load_state("networkidle")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, path
        screenshot(phone, name)
    # The void-and-correct form, opened on the last delivery.
    phone.goto(f"{live_server}/c/COOPA/deliveries?from=2026-01-01&to=2026-12-31")
    phone.locator("table.deliveries a").first.click()
    phone.get_by_role("button", name="Anular o corregir").click()
    phone.get_by_label("Registrar ahora la entrega corregida").check()
    expect(phone.locator("#correction")).to_be_visible()
    screenshot(phone, "intake-void-phone")
    assert json.loads(json.dumps(phone.evaluate("document.documentElement.scrollWidth"))) <= 360
