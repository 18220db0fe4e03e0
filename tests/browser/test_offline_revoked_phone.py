"""A phone revoked by a manager while it held deliveries printed offline and not synced,
in real Chromium with a persistent profile: when its clerk logs in on it again, the new
enrolment takes over the old one's receipt numbers and the deliveries are stored under
the numbers printed on the families' paper (before, they waited forever)."""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser import test_offline_intake as offline_intake
from tests.browser.conftest import login, screenshot
from tests.browser.test_offline_intake import (
    offline_entries,
    page_of,
    record,
    stored_numbers,
    wait_for,
)
from tests.factories import make_user
from tracker.models import BlockTakeover, Device, ReceiptBlock, UnusedReceipt, User
from tracker.services import devices, receipt_blocks, users

pytestmark = pytest.mark.browser

# The offline form's fixtures: CSRF on, a persistent Chromium profile, twelve members.
app_config = offline_intake.app_config
launch = offline_intake.launch
members = offline_intake.members


def revoke_every_device(db, world, reason="Teléfono reportado perdido"):
    for device in db.exec(select(Device).where(Device.revoked_at.is_(None))).all():  # type: ignore[union-attr]
        devices.revoke(db, device=device, user_id=world.staff["manager_a"].id, reason=reason)
    db.commit()


def open_form_as(page, live_server, email, world):
    """Log in on the phone as this person and open the form, online: its device works."""
    page.context.clear_cookies()
    login(page, live_server, email)
    page.goto(f"{live_server}/c/COOPA/deliveries/new")
    page.wait_for_function(
        "(user) => window.TrackerOffline.state.device"
        " && !window.TrackerOffline.state.device.revoked"
        " && !window.TrackerOffline.state.device.needs_login"
        " && (!user || window.TrackerOffline.state.device.user_id === user)",
        arg=str(world.staff["clerk_a"].id) if world else None,
        timeout=20_000,
    )


def test_a_revoked_phones_printed_deliveries_are_stored_when_its_clerk_logs_in_again(
    live_server, launch, db, world, members
):
    context = launch()
    page = page_of(context)
    login(page, live_server, "clerk.a@example.org")
    printed = offline_entries(page, live_server, ["1000", "1002"])
    # While the phone is offline, a manager revokes it (reported lost, say).
    revoke_every_device(db, world)
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    # Its token is refused: the deliveries wait on the phone.
    page.wait_for_function(
        "async () => (await window.TrackerOffline.entries()).length === 2"
        " && window.TrackerOffline.state.device && window.TrackerOffline.state.device.needs_login"
        " || false",
        timeout=20_000,
    )
    assert not set(printed) & set(stored_numbers(db))
    # Another clerk logs in on the phone: they may not send the first one's deliveries,
    # and the outbox says why they still wait.
    make_user(db, role="clerk", coop=world.a, email="clerk.two@example.org")
    db.commit()
    open_form_as(page, live_server, "clerk.two@example.org", world=None)
    page.goto(f"{live_server}/c/COOPA/outbox")
    expect(page.locator('[data-outbox-list="pending"] [data-waiting-because]')).to_have_count(2)
    expect(page.locator('[data-outbox-list="pending"] [data-waiting-because]').first).to_have_text(
        "Solo la persona que registró ese equipo, o un gerente, puede asumir sus números de recibo."
    )
    screenshot(page, "outbox_waiting_for_takeover")
    assert not set(printed) & set(stored_numbers(db))
    # The clerk opens the form again, online and logged in: the phone is enrolled again,
    # takes over the revoked enrolment's numbers and sends what it printed.
    open_form_as(page, live_server, "clerk.a@example.org", world=world)
    wait_for(lambda: set(printed) <= set(stored_numbers(db)), page)
    numbers = stored_numbers(db)
    assert len(numbers) == len(set(numbers)) == 1 + 2  # the online one and the two, once
    statuses = page.evaluate(
        "async () => (await window.TrackerOffline.entries()).map((e) => e.status)"
    )
    assert statuses == ["stored", "stored"], statuses
    # What the revoked enrolment never printed is given back: every number accounted for.
    wait_for(lambda: taken_over_blocks_closed(db), page)


def taken_over_blocks_closed(db):
    found = db.exec(
        select(ReceiptBlock).join(BlockTakeover, BlockTakeover.block_id == ReceiptBlock.id)
    ).all()
    db.commit()
    return bool(found) and all(b.closed_at is not None for b in found)


def test_a_manager_sends_what_the_phone_of_a_clerk_who_left_printed(
    live_server, launch, db, world, members
):
    context = launch()
    page = page_of(context)
    login(page, live_server, "clerk.a@example.org")
    printed = offline_entries(page, live_server, ["1000", "1003"])
    # The clerk leaves the cooperative while the phone is offline: deactivated, not the
    # phone revoked. The phone's token stops working with them.
    clerk = db.get(User, world.staff["clerk_a"].id)
    users.set_active(db, clerk, active=False)
    db.commit()
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function(
        "() => window.TrackerOffline.state.device && window.TrackerOffline.state.device.needs_login",
        timeout=20_000,
    )
    # The manager logs in on the phone and opens the form: the phone is enrolled for them
    # and sends what the clerk printed, under the printed numbers.
    context.clear_cookies()
    login(page, live_server, "manager.a@example.org")
    page.goto(f"{live_server}/c/COOPA/deliveries/new")
    page.wait_for_function(
        "() => window.TrackerOffline.state.device && !window.TrackerOffline.state.device.needs_login"
        f" && window.TrackerOffline.state.device.user_id === '{world.staff['manager_a'].id}'",
        timeout=20_000,
    )
    wait_for(lambda: set(printed) <= set(stored_numbers(db)), page)
    assert len(stored_numbers(db)) == 1 + 2


def test_after_a_takeover_the_phone_does_not_print_numbers_a_manager_voided(
    live_server, launch, db, world, members
):
    """Revoked and its block voided while it held two printed deliveries: after the
    takeover the phone sends them, but never prints a new receipt from the voided block
    (the server would store it, undoing the manager's void)."""
    context = launch()
    page = page_of(context)
    login(page, live_server, "clerk.a@example.org")
    printed = offline_entries(page, live_server, ["1000", "1002"])
    # Offline, the phone is reported lost: revoked, and its block voided by the manager.
    revoke_every_device(db, world)
    for found in db.exec(select(ReceiptBlock).where(ReceiptBlock.closed_at.is_(None))).all():  # type: ignore[union-attr]
        receipt_blocks.void_block(
            db,
            block=found,
            reason="Teléfono reportado perdido",
            user_id=world.staff["manager_a"].id,
        )
    db.commit()
    voided = {
        u.seq for u in db.exec(select(UnusedReceipt).where(UnusedReceipt.kind == "voided")).all()
    }
    db.commit()
    assert voided
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function(
        "() => window.TrackerOffline.state.device && window.TrackerOffline.state.device.needs_login",
        timeout=20_000,
    )
    # The clerk logs in again on the phone. While the outbox is being sent (a slow link:
    # the first delivery's answer takes a while), the next family is weighed.
    held = []
    holding = [True]

    def hold(route):
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    context.route("**/api/v1/device/deliveries", hold)
    open_form_as(page, live_server, "clerk.a@example.org", world=world)
    waited = 0
    while not held and waited < 20_000:
        page.evaluate("() => { window.TrackerOffline.sync(); }")
        page.wait_for_timeout(250)
        waited += 250
    assert held, "the takeover and the first send did not happen"
    next_number = record(page, "1003", gross="44,0")
    seq = int(re.search(r"-(\d+)$", next_number).group(1))
    holding[0] = False
    for route in list(held):
        with contextlib.suppress(Exception):
            route.continue_()
    context.unroute("**/api/v1/device/deliveries")
    page.evaluate("() => { window.TrackerOffline.sync(); }")
    wait_for(lambda: set(printed) <= set(stored_numbers(db)), page)
    # ...and the server stores it: the manager's void is "reclaimed" by a delivery weighed
    # after the phone was told its block was closed.
    wait_for(lambda: next_number in stored_numbers(db), page)
    # The number printed after the takeover is not one the manager voided.
    assert seq not in voided, (next_number, sorted(voided))
