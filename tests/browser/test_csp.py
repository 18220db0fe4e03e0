"""No page needs inline styles or scripts: the CSP allows neither (style-src 'self'), and
every page, its charts, maps, scanner, receipt and the API docs, render without a single
CSP violation in Chromium."""

from __future__ import annotations

import json

import pytest

from tests import factories as f
from tests.browser.conftest import login, screenshot
from tracker.models import Cooperative

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


@pytest.fixture
def service_workers():
    """The service worker registers on every page: its registration and its scripts are
    under the same policy."""
    return "allow"


@pytest.fixture
def pages(db, world):
    public = f.make_public_lot(db, world.a)
    coop = db.get(Cooperative, world.a.id)
    coop.protected_area_geojson = json.dumps(f.square(-76.45, -7.55, 3000))
    db.add(coop)
    db.commit()
    family, delivery, cert = public.families[0], public.deliveries[0], public.certificates[0]
    return {
        "dashboard": "/c/COOPA/",
        "families": "/c/COOPA/families",
        "family": f"/families/{family.id}",
        "new-delivery": "/c/COOPA/deliveries/new",
        "receipt": f"/deliveries/{delivery.id}/receipt",
        "certificate": f"/certificates/{cert.id}",
        "protected-area": "/c/COOPA/protected-area",
        "reports": "/c/COOPA/reports/season",
        "lot": f"/lots/{public.lot.id}",
        "api-docs": "/api/v1/docs",
        "public-lot": f"/l/{public.lot.public_token}",
    }


def _violations(page):
    found = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_pages_render_without_inline_styles(live_server, request, pages, viewport):
    page = request.getfixturevalue(viewport)
    found = _violations(page)
    login(page, live_server, "manager.a@example.org")
    for name, path in pages.items():
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, (name, response.status)
        page.wait_for_load_state("networkidle")
        csp = response.headers["content-security-policy"]
        assert "style-src 'self';" in csp and "unsafe-inline" not in csp
        if name in {"family", "reports", "receipt", "public-lot", "api-docs"}:
            screenshot(page, f"csp-{name}-{viewport}")
    assert found == [], found
