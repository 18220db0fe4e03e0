"""A delivery weighed offline and synced hours later: the server's receipt names the moment
the phone printed on the family's paper, not the moment the outbox reached the server
(helper-91). Real Chromium, a persistent profile, the phone's clock hours behind the
server's (the hours it spent without network)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser import test_offline_intake as offline_intake
from tests.browser.conftest import login, screenshot
from tests.browser.test_offline_intake import page_of, ready_offline, stored_numbers, wait_for
from tests.browser.test_offline_receipt_trust import save_and_print, weigh
from tracker.models import Delivery

pytestmark = pytest.mark.browser

app_config = offline_intake.app_config
launch = offline_intake.launch
members = offline_intake.members

# How long the centre was without network: the phone weighed this long before it synced.
OFFLINE = timedelta(hours=4, minutes=25)
FOOT = re.compile(r"Pesado por: [^·\n]+· (?P<moment>[^\n]+)")


def test_the_servers_receipt_names_the_moment_the_phone_printed(
    live_server, launch, db, world, members
):
    context = launch()
    page = page_of(context)
    # The phone's clock: OFFLINE ago, running; the server's is now.
    page.clock.install(time=datetime.now(UTC) - OFFLINE)
    login(page, live_server, "clerk.a@example.org")
    ready_offline(page)
    before = stored_numbers(db)
    context.set_offline(True)
    weigh(page, "CAZ-1000", "41,3", "0,3")
    page.locator("#price_per_kg").fill("9,10")  # the day's price, whichever day it is
    paper = save_and_print(page)
    printed = FOOT.search(paper).group("moment").strip()
    number = re.search(r"Recibo\s+(C01-\d{6})", paper).group(1)
    assert "registrada" not in printed, paper
    page.emulate_media(media="print")
    screenshot(page, "w16-phone-receipt-printed-offline")
    page.emulate_media(media="screen")
    # The network is back hours later: the outbox goes out.
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_for(lambda: number in set(stored_numbers(db)) - set(before), page)
    delivery = db.exec(select(Delivery).where(Delivery.receipt_number == number)).one()
    db.commit()
    # The server's receipt, as the outbox's "See the delivery" and every reprint open it.
    page.goto(f"{live_server}/deliveries/{delivery.id}/receipt")
    assert page.viewport_size["width"] == 390
    screenshot(page, "w16-server-receipt-390")
    foot = page.locator(".receipt-foot")
    expect(foot).to_contain_text(f"· {printed}")
    expect(foot).not_to_contain_text("registrada")
    expect(foot.locator("[data-sent]")).to_contain_text("enviada el")
    page.goto(f"{live_server}/deliveries/{delivery.id}")
    expect(page.locator(".receipt-foot")).to_contain_text(f"· {printed}")
    screenshot(page, "w16-delivery-page-390")
    assert delivery.created_at - delivery.weighed_at > OFFLINE - timedelta(minutes=5)


def test_a_refused_delivery_fixed_later_keeps_the_moment_on_its_paper(
    live_server, launch, db, world, members
):
    """The family left with the paper printed at the scale; the delivery was refused at
    sync (the family's membership ended meanwhile) and fixed on the form an hour later:
    the fix keeps the moment of the paper, not the moment of the fix."""

    context = launch()
    page = page_of(context)
    page.clock.install(time=datetime.now(UTC) - OFFLINE)
    login(page, live_server, "clerk.a@example.org")
    ready_offline(page)
    context.set_offline(True)
    weigh(page, "CAZ-1003", "41,3", "0,3")
    page.locator("#price_per_kg").fill("9,10")
    number = re.search(r"Recibo\s+(C01-\d{6})", save_and_print(page)).group(1)
    (weighed,) = page.evaluate(
        "async () => (await window.TrackerOffline.entries()).map((e) => e.payload.weighed_at)"
    )
    offline_intake.refuse_on_sync(context, page, db, members["CAZ-1003"].id, "1 rechazada")
    page.clock.fast_forward("01:00:00")
    page.goto(f"{live_server}/c/COOPA/outbox")
    page.locator('[data-outbox-list="refused"] li.outbox-item').get_by_role(
        "button", name="Corregir"
    ).click()
    page.wait_for_selector("#delivery-form[data-enhanced]", state="attached")
    page.locator("#member_code").fill("")
    page.locator("#member_code").press_sequentially("1004")
    page.keyboard.press("Enter")
    page.locator("#gross_kg").fill("42,0")
    page.locator("#price_per_kg").fill("9,10")
    page.get_by_role("button", name="Guardar e imprimir recibo").click()
    wait_for(lambda: number in stored_numbers(db), page)
    fixed = db.exec(select(Delivery).where(Delivery.receipt_number == number)).one()
    db.commit()
    assert fixed.weighed_at == datetime.fromisoformat(weighed), (fixed.weighed_at, weighed)
