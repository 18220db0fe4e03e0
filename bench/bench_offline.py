"""The clerk's flow on a slow link (issue 14), in Chromium throttled through CDP
(`Network.emulateNetworkConditions`, 400 kbit/s each way and 400 ms latency), on the full
demo served by gunicorn:

- the delivery form's first load (cold cache, logged in): bytes over the wire and seconds
  to the load event, against the targets of 150 KB and 4 s;
- what the first visit then fetches in the background (the device's enrolment, roster,
  receipt numbers, the service worker's precache): bytes, for information;
- a repeat load of the form: seconds, against the target of 1 s;
- the interactions from landing on the form to a printed receipt for a known family
  (the member's number and Enter, the gross weight, the tare, "Save and print"): against
  the target of 4.

Printed as ratios against the targets (a ratio at or under 1 meets the target).
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import Bench

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
SLOW = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}
PRINTS = "window.__printed = []; window.print = () => window.__printed.push(Date.now());"


class Wire:
    """Bytes the page's requests took over the (throttled) wire, as CDP counts them."""

    def __init__(self, context: Any, page: Any) -> None:
        self.bytes = 0
        self.requests = 0
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.emulateNetworkConditions", SLOW)
        self.cdp.on("Network.loadingFinished", self._finished)

    def _finished(self, event: dict[str, Any]) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))
        self.requests += 1

    def reset(self) -> None:
        self.bytes = 0
        self.requests = 0


def _credentials() -> tuple[str, str]:
    from tracker.services.demo.base import DEMO_PASSWORD, logins

    email = next(e for role, coop, e in logins() if role == "clerk" and coop == "CAZ")
    return email, DEMO_PASSWORD


def _log_in(page: Any, base: str) -> None:
    email, password = _credentials()
    page.goto(f"{base}/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/deliveries/new")


def _load(page: Any, url: str) -> float:
    started = time.perf_counter()
    page.goto(url, wait_until="load")
    return time.perf_counter() - started


def _member(base: str, page: Any) -> str:
    """The number (without prefix) of a demo family with one plot, as clerks say it."""
    return page.evaluate(
        """() => {
          const f = window.TrackerOffline.state.families.find((x) => x.plots.length === 1);
          return f.code.split('-').pop();
        }"""
    )


def _interactions(page: Any) -> int:
    """Landing on the form to a printed receipt, counted as the clerk acts."""
    count = 0
    page.wait_for_selector("#delivery-form[data-enhanced]", state="attached", timeout=60_000)
    code = _member("", page)
    page.locator("#member_code").press_sequentially(code)
    page.keyboard.press("Enter")
    count += 1  # the member's number, then Enter (a scanner does the same)
    page.locator("#gross_kg").wait_for()
    page.keyboard.type("41,3")  # focus is on the gross weight already
    count += 1
    page.locator("#tare_kg").fill("0,3")
    count += 1
    page.get_by_role("button", name="Guardar e imprimir recibo").click()
    count += 1
    page.wait_for_function("() => window.__printed.length === 1")
    return count


def run(bench: Bench) -> None:
    from playwright.sync_api import sync_playwright

    path = bench.copy_db(bench.demo_db(), "offline.db")
    # Development settings: the session cookie is not Secure-only, as on plain http here.
    with (
        bench.server(f"sqlite:///{path}", TRACKER_ENV="development") as base,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            setup = browser.new_context(viewport=PHONE, locale="es-PE", service_workers="block")
            page = setup.new_page()
            _log_in(page, base)
            form = page.url
            cookies = setup.cookies()
            setup.close()

            context = browser.new_context(viewport=PHONE, locale="es-PE")
            context.add_cookies(cookies)
            context.add_init_script(PRINTS)
            page = context.new_page()
            wire = Wire(context, page)
            first = _load(page, form)
            first_bytes, first_requests = wire.bytes, wire.requests
            page.wait_for_selector(
                "#delivery-form[data-enhanced]", state="attached", timeout=120_000
            )
            page.wait_for_load_state("networkidle", timeout=120_000)
            background = wire.bytes - first_bytes
            wire.reset()
            repeat = _load(page, form)
            repeat_bytes = wire.bytes
            interactions = _interactions(page)
            context.close()
        finally:
            browser.close()
    bench.report(
        f"form first load, bytes over the wire ({first_requests} requests)",
        first_bytes / 1000,
        "KB",
        floor=("target", 150.0),
        aim="<= 1",
    )
    bench.report(
        "form first load, seconds to load (400 kbit/s, 400 ms)",
        first,
        "s",
        floor=("target", 4.0),
        aim="<= 1",
    )
    bench.report(
        "first visit's background: enrolment, roster, numbers, precache", background / 1000, "KB"
    )
    bench.report(
        f"form repeat load, seconds ({repeat_bytes / 1000:.1f} KB)",
        repeat,
        "s",
        floor=("target", 1.0),
        aim="<= 1",
    )
    bench.report(
        "interactions, landing on the form to a printed receipt",
        interactions,
        "",
        floor=("target", 4.0),
        aim="<= 1",
    )
