"""A live server and a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("TRACKER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
SHOTS = Path(
    os.environ.get(
        "TRACKER_SCREENSHOTS", Path(__file__).resolve().parents[2] / "instance" / "screenshots"
    )
)

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(app: Any, app_config: dict[str, Any]) -> Iterator[str]:
    """Serve the test app on a free local port in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


class _Browser:
    """Chromium, whose new contexts block service workers unless a test allows them.

    Every page loads offline.js, which registers the service worker; the worker then
    precaches the delivery form's files (about twenty requests to the test server, and
    Chromium's work to store them) in every context a test opens. Only the tests of the
    worker itself need it: they ask for `service_workers="allow"` (test_offline_intake),
    and the CSP test allows it through the `service_workers` fixture.
    """

    def __init__(self, instance: Any) -> None:
        self._instance = instance

    def new_context(self, **options: Any) -> Any:
        options.setdefault("service_workers", "block")
        return self._instance.new_context(**options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._instance, name)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make sysdeps`")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield _Browser(instance)
        instance.close()


@pytest.fixture
def service_workers() -> str:
    """Whether the `phone` and `desktop` pages run the service worker ("block" or "allow")."""
    return "block"


@pytest.fixture
def phone(browser: Any, service_workers: str) -> Iterator[Any]:
    context = browser.new_context(
        viewport=PHONE,
        locale="es-PE",
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        service_workers=service_workers,
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser: Any, service_workers: str) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, locale="es-PE", service_workers=service_workers)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under instance/screenshots/ to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Any, base: str, email: str, password: str = "correct horse battery") -> None:
    """Log in through the real form."""
    page.goto(f"{base}/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(password)
    # The page the form leads to (the next page, or the form again with its error),
    # loaded: not "networkidle", which waits out the service worker's precaching, half a
    # second or more per login (the offline tests wait for the worker themselves).
    with page.expect_navigation():
        page.get_by_role("button", name="Iniciar sesión").click()
