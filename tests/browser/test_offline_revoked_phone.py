"""A phone revoked by a manager while it held deliveries printed offline and not synced,
in real Chromium with a persistent profile: when its clerk logs in on it again, the new
enrolment takes over the old one's receipt numbers and the deliveries are stored under
the numbers printed on the families' paper (before, they waited forever)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser import test_offline_intake as offline_intake
from tests.browser.conftest import login, screenshot
from tests.browser.test_offline_intake import (
    offline_entries,
    page_of,
    stored_numbers,
    wait_for,
)
from tests.factories import make_user
from tracker.models import Device, User
from tracker.services import devices, users

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
