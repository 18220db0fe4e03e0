"""What a clerk's phone shows and prints at the scale must be what the server stores and
prints for the same delivery. Defects found by helper-87 in tracker/static/js/intake.js
(the form's live net and its checks) and the offline receipt's footer:

1. The net shown on the form as the clerk types (online and offline alike) read the
   weights with parseFloat and wrote one decimal of a float: a big delivery typed the
   Spanish way, gross "1.234,5" and tare "0,2", showed "Neto: 1,0 kg" (parseFloat of
   "1.234.5" is 1.234) and 0,02 quintales, while the receipt and the server store
   1.234,3 kg (22,36 qq); 41,25 − 0,2 showed "41,0" (the float 41.0499...) where the
   receipt prints 41,05. Now the net is read as the server reads it, in grams, and written
   as the receipt writes it.
2. A number typed with more decimals than are kept was silently rounded on the phone,
   though the server refuses it ("Use como máximo 2 decimales."): a premium of S/ 0,725
   per kg printed "Prima por kg 0,73" and, on 1.000 kg, a premium of S/ 730,00 where the
   clerk agreed S/ 725,00; a gross of 41,3005 kg printed 41,301. Now the phone refuses it
   in the server's words and prints nothing.
3. A delivery dated another day than it was recorded (yesterday's paper book typed in on
   the phone this morning): the server's receipt for it says both days ("5/12/26 ·
   registrada el 6/12/26, 8:10"), the phone's receipt only the moment of recording, as
   if the beans were weighed today. Now the phone writes the server's footer.
4. A delivery the clerk discarded from the outbox (its number voided at the cooperative
   with the reason) printed again from the outbox as a valid receipt: same figures, no
   "ANULADA" stamp, nothing saying the number is void. Now the reprint is stamped and
   names the reason, as the server's receipt of a voided delivery does.
5. A delivery weighed "price to be defined" and stored, then priced by the manager
   (S/ 9,10 per kg on 41,1 kg: S/ 374,01), printed again from the phone's outbox still
   read "Precio por kg: por definir" and no total: the phone's old copy, not what the
   cooperative keeps. Now, with a network, "Print again" prints the server's receipt.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser import test_offline_intake as offline_intake
from tests.browser.conftest import login
from tests.browser.test_offline_intake import (
    page_of,
    ready_offline,
    stored_numbers,
    wait_for,
    world_today,
)
from tests.browser.test_offline_receipt_trust import ENTRIES, offline_form, save_and_print, weigh
from tracker.models import Delivery, Family
from tracker.services import prices

pytestmark = pytest.mark.browser

app_config = offline_intake.app_config
launch = offline_intake.launch
members = offline_intake.members


def flat(receipt: str) -> str:
    return receipt.replace("\t", "")


def test_the_net_on_the_form_is_the_net_the_receipt_prints(live_server, launch, db, world, members):
    """Defect 1: 1.234,5 − 0,2 kg showed 1,0 kg; 41,25 − 0,2 kg showed 41,0 kg."""
    page = offline_form(launch, live_server)
    weigh(page, "CAZ-1000", "1.234,5", "0,2")
    expect(page.locator("[data-net]")).to_have_text("1.234,3")
    expect(page.locator("[data-quintal]")).to_have_text("22,36 quintales")
    receipt = flat(save_and_print(page))
    assert "Neto1.234,3 kg" in receipt and "Quintales22,36 qq" in receipt, receipt
    weigh(page, "CAZ-1002", "41,25", "0,2")
    expect(page.locator("[data-net]")).to_have_text("41,05")
    assert "Neto41,05 kg" in flat(save_and_print(page))
    weigh(page, "CAZ-1003", "41,3", "0,2")
    expect(page.locator("[data-net]")).to_have_text("41,1")


def test_a_figure_with_more_decimals_than_kept_is_refused_not_rounded(
    live_server, launch, db, world, members
):
    """Defect 2: a premium of 0,725 per kg printed 0,73; a gross of 41,3005 printed
    41,301. The server refuses both; so does the phone now, and prints nothing."""
    page = offline_form(launch, live_server)
    before = page.evaluate("window.__printed.length")
    weigh(page, "CAZ-1000", "1000", "0")
    page.locator("#premium_per_kg").fill("0,725")
    page.get_by_role("button", name="Guardar e imprimir recibo").click()
    expect(page.get_by_text("Use como máximo 2 decimales.").first).to_be_visible()
    weigh(page, "CAZ-1000", "41,3005", "0,2")
    page.get_by_role("button", name="Guardar e imprimir recibo").click()
    expect(page.get_by_text("Use como máximo 3 decimales.").first).to_be_visible()
    assert page.evaluate("window.__printed.length") == before
    assert page.evaluate(ENTRIES.format("number")) == []


def test_a_backdated_delivery_prints_the_servers_footer_on_the_phone(
    live_server, launch, db, world, members
):
    """Defect 3: the phone's receipt of yesterday's delivery named only today's moment."""
    today = world_today()
    yesterday = today - timedelta(days=1)
    page = offline_form(launch, live_server)
    weigh(page, "CAZ-1000", "41,3", "0,2")
    page.locator("#delivered_on").fill(yesterday.isoformat())
    receipt = save_and_print(page)
    line = rf"{re.escape(format_date(yesterday, 'short', locale='es'))} · registrada el "
    line += rf"{re.escape(format_date(today, 'short', locale='es'))}, \d{{1,2}}:\d{{2}}"
    assert re.search(line, receipt), receipt
    # A delivery of today keeps the moment alone, as the server's receipt writes it.
    weigh(page, "CAZ-1002", "41,3", "0,2")
    receipt = save_and_print(page)
    assert "registrada" not in receipt, receipt


def test_a_discarded_delivery_prints_again_as_void(live_server, launch, db, world, members):
    """Defect 4: the reprint of a discarded delivery looked like a valid receipt."""
    page = offline_form(launch, live_server)
    weigh(page, "CAZ-1003", "41,3", "0,2")
    number = re.search(r"Recibo\s+(C01-\d{6})", save_and_print(page)).group(1)
    family = db.get(Family, members["CAZ-1003"].id)
    family.active = False  # the office ends the membership meanwhile: refused
    db.add(family)
    db.commit()
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("[data-outbox-count]")).to_have_text("1 rechazada", timeout=20_000)
    page.goto(f"{live_server}/c/COOPA/outbox")
    refused = page.locator('[data-outbox-list="refused"] li.outbox-item')
    refused.get_by_placeholder("¿Por qué? p. ej. pesada dos veces").fill("Pesada dos veces")
    refused.get_by_role("button", name="Descartar").click()
    discarded = page.locator('[data-outbox-list="discarded"] li.outbox-item')
    expect(discarded).to_have_count(1)
    discarded.get_by_role("button", name="Imprimir de nuevo").click()
    page.wait_for_function("() => window.__printed.length > 0")
    receipt = page.evaluate("window.__printed[window.__printed.length - 1]")
    assert number in receipt and "ANULADA" in receipt, receipt
    assert "Anulado: Pesada dos veces" in receipt, receipt


def test_a_stored_delivery_prints_again_as_the_cooperative_keeps_it(
    live_server, launch, db, world, members
):
    """Defect 5: a reprint after the manager set the price still read "por definir"."""
    context = launch()
    page = page_of(context)
    login(page, live_server, "clerk.a@example.org")
    ready_offline(page)
    weigh(page, "CAZ-1000", "41,3", "0,2")
    page.locator("#price_pending").check()
    number = re.search(r"Recibo\s+(C01-\d{6})", save_and_print(page)).group(1)
    wait_for(lambda: number in stored_numbers(db), page)
    delivery = db.exec(select(Delivery).where(Delivery.receipt_number == number)).one()
    prices.set_delivery_price(db, delivery=delivery, price_per_kg_minor=910)
    db.commit()
    page.goto(f"{live_server}/c/COOPA/outbox")
    stored = page.locator('[data-outbox-list="stored"] li.outbox-item')
    expect(stored).to_have_count(1)
    with page.expect_navigation(timeout=10_000):
        stored.get_by_role("button", name="Imprimir de nuevo").click()
    page.wait_for_function("() => window.__printed.length > 0")
    receipt = flat(page.evaluate("window.__printed[window.__printed.length - 1]"))
    assert number in receipt and "Importe374,01" in receipt, receipt
    assert "por definir" not in receipt, receipt
