"""The collection centre offline, for people (issue 14): the installable app (manifest,
service worker), enrolling a device from the form, managers' pages for devices, receipt
numbers and prices, prices set later from the payments page; and a lighter flow:
fingerprinted static files cached for a year, compressed answers, the clerk's landing
page, and a finder that understands "1042"."""

from __future__ import annotations

import re

import brotli
import pytest
from sqlmodel import select

from tests.factories import make_delivery, make_family, make_plot
from tracker.models import Delivery, Device


@pytest.fixture
def clerk(client, auth, world):
    auth.login("clerk.a@example.org")
    return client


@pytest.fixture
def manager(app, world):
    other = app.test_client()
    other.post(
        "/login", data={"email": "manager.a@example.org", "password": "correct horse battery"}
    )
    return other


# -- the installable app ---------------------------------------------------------------


def test_the_manifest_and_the_service_worker_are_served_from_the_root(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    data = manifest.get_json(force=True)
    assert data["start_url"] == "/intake" and data["display"] == "standalone"
    assert {i["sizes"] for i in data["icons"]} >= {"192x192", "512x512"}
    for icon in data["icons"]:
        with client.get(icon["src"]) as found:
            assert found.status_code == 200
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"
    body = worker.get_data(as_text=True)
    # Workbox from the package itself, never a CDN; what the form needs, fingerprinted.
    assert (
        "storage.googleapis.com" not in body
        and 'importScripts("/static/vendor/workbox/workbox-sw.js?v=' in body
    )
    for path in re.findall(r'"(/static/[^"]+)"', body):
        with client.get(path) as found:
            assert found.status_code == 200, path
    assert re.search(r'"/static/js/offline\.js\?v=[0-9a-f]{12}"', body)
    assert "/offline" in body
    offline = client.get("/offline")
    assert "Sin conexión" in offline.get_data(as_text=True) and "No connection" in offline.get_data(
        as_text=True
    )


def test_the_service_worker_keeps_only_the_intake_pages(client):
    """Pages kept for offline use: the delivery form and the outbox, nothing else."""
    body = client.get("/sw.js").get_data(as_text=True)
    assert r"OFFLINE_PAGE = /^\/c\/[^/]+\/(deliveries\/new|outbox)$/" in body


def test_the_form_enrols_the_device_once_with_a_token(clerk, db, world):
    page = clerk.get("/c/COOPA/deliveries/new").get_data(as_text=True)
    assert 'data-enrol-url="/c/COOPA/devices/enrol"' in page
    response = clerk.post("/c/COOPA/devices/enrol", json={"name": "Chrome · Android"})
    assert response.status_code == 201
    first = response.get_json()
    assert first["token"].startswith("dev_")
    # Enrolling again with the device's id renews its token (same device, same blocks).
    again = clerk.post("/c/COOPA/devices/enrol", json={"device_id": first["device_id"]})
    assert again.status_code == 201 and again.get_json()["device_id"] == first["device_id"]
    assert again.get_json()["token"] != first["token"]
    assert len(db.exec(select(Device)).all()) == 1
    db.commit()


def test_a_clerk_lands_on_the_delivery_form(client, world):
    response = client.post(
        "/login", data={"email": "clerk.a@example.org", "password": "correct horse battery"}
    )
    assert client.get(response.headers["Location"]).headers["Location"] == "/c/COOPA/deliveries/new"
    assert client.get("/intake").headers["Location"] == "/c/COOPA/deliveries/new"


def test_the_outbox_page_and_the_count_on_every_page(clerk):
    page = clerk.get("/c/COOPA/outbox").get_data(as_text=True)
    assert "data-outbox" in page and "Enviar ahora" in page
    home = clerk.get("/c/COOPA/families").get_data(as_text=True)
    assert "data-outbox-count" in home and 'id="offline-text"' in home


# -- managers' pages -------------------------------------------------------------------------


def test_managers_set_prices_and_clerks_see_them(clerk, manager, db, world):
    assert clerk.post("/c/COOPA/prices", data={}).status_code == 403
    bad = manager.post(
        "/c/COOPA/prices", data={"centre": "C01", "form": "dry_parchment", "price_per_kg": "gratis"}
    )
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    done = manager.post(
        "/c/COOPA/prices",
        data={
            "centre": "C01",
            "form": "dry_parchment",
            "price_per_kg": "9,35",
            "premium_per_kg": "0,40",
        },
    )
    assert done.status_code == 303
    page = clerk.get("/c/COOPA/prices").get_data(as_text=True)
    assert "9,35" in page and "0,40" in page
    family = make_family(db, world.a)
    make_plot(db, family)
    db.commit()
    fields = clerk.get(f"/c/COOPA/deliveries/family?family_id={family.id}").get_data(as_text=True)
    assert 'value="9,35"' in fields and 'value="0,40"' in fields


def test_the_first_delivery_of_the_day_is_never_priced_at_zero(clerk, db, world):
    family = make_family(db, world.a)
    make_plot(db, family)
    db.commit()
    fields = clerk.get(f"/c/COOPA/deliveries/family?family_id={family.id}").get_data(as_text=True)
    assert 'id="price_per_kg" name="price_per_kg" type="text" value=""' in fields
    form = {
        "family_id": str(family.id),
        "crop": "coffee",
        "form": "dry_parchment",
        "gross_kg": "41,3",
        "delivered_on": "",
        "idempotency_key": "k1",
    }
    refused = clerk.post("/c/COOPA/deliveries/new", data=form)
    assert refused.status_code == 422
    assert "márquelo «precio por definir»" in refused.get_data(as_text=True)
    assert db.exec(select(Delivery)).first() is None
    db.commit()
    pending = clerk.post(
        "/c/COOPA/deliveries/new", data={**form, "price_pending": "on", "idempotency_key": "k2"}
    )
    assert pending.status_code == 303
    stored = db.exec(select(Delivery)).one()
    db.commit()
    assert stored.price_pending and stored.amount_minor == 0


def test_the_payments_page_lists_deliveries_waiting_for_their_price(clerk, manager, db, world):
    family = make_family(db, world.a, head_name="Rosa Pendiente")
    plot = make_plot(db, family)
    waiting = make_delivery(db, world.a, family, plot, price=0, price_pending=True)
    db.commit()
    page = manager.get("/c/COOPA/payments").get_data(as_text=True)
    assert "Entregas que esperan su precio" in page and waiting.receipt_number in page
    assert (
        clerk.post(f"/deliveries/{waiting.id}/price", data={"price_per_kg": "9"}).status_code == 403
    )
    bad = manager.post(f"/deliveries/{waiting.id}/price", data={"price_per_kg": "cero"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    done = manager.post(f"/deliveries/{waiting.id}/price", data={"price_per_kg": "9,10"})
    assert done.status_code == 303
    fixed = db.get(Delivery, waiting.id)
    db.refresh(fixed)
    db.commit()
    assert (fixed.price_per_kg_minor, fixed.amount_minor, fixed.price_pending) == (
        910,
        45_500,
        False,
    )
    assert "Entregas que esperan su precio" not in manager.get("/c/COOPA/payments").get_data(
        as_text=True
    )


def test_devices_and_receipt_numbers_pages(clerk, manager, app, world, db):
    device = clerk.post("/c/COOPA/devices/enrol", json={"name": "Tablet balanza"}).get_json()
    headers = {"Authorization": f"Bearer {device['token']}"}
    block = clerk.post("/api/v1/device/blocks", json={"size": 5}, headers=headers).get_json()
    assert clerk.get("/c/COOPA/devices").status_code == 403
    page = manager.get("/c/COOPA/devices").get_data(as_text=True)
    assert "Tablet balanza" in page and ">5<" in page
    auditor = app.test_client()
    auditor.post(
        "/login", data={"email": "auditor.a@example.org", "password": "correct horse battery"}
    )
    numbers = auditor.get("/c/COOPA/receipt-numbers").get_data(as_text=True)
    assert f"{block['first_number']} – {block['last_number']}" in numbers and "cuadra" in numbers
    refused = manager.post(f"/receipt-blocks/{block['id']}/void", data={"reason": " "})
    assert refused.status_code == 422
    voided = manager.post(f"/receipt-blocks/{block['id']}/void", data={"reason": "Tablet perdida"})
    assert voided.status_code == 303
    assert "Tablet perdida" in auditor.get("/c/COOPA/receipt-numbers").get_data(as_text=True)
    revoked = manager.post(
        f"/devices/{device['device_id']}/revoke", data={"reason": "Tablet perdida"}
    )
    assert revoked.status_code == 303
    assert clerk.get("/api/v1/device", headers=headers).status_code == 401


# -- the finder ---------------------------------------------------------------------------------


def test_the_finder_finds_a_member_by_its_number_alone(clerk, db, world):
    family = make_family(db, world.a, member_code="CAZ-1042")
    make_plot(db, family)
    make_family(db, world.a, member_code="CAZ-2104")
    db.commit()
    choices = clerk.get("/c/COOPA/families/search?member_code=1042").get_data(as_text=True)
    assert "CAZ-1042" in choices and 'data-q="1042"' in choices
    part = clerk.get("/c/COOPA/deliveries/family?member_code=1042").get_data(as_text=True)
    assert f'name="family_id" value="{family.id}"' in part


def test_the_plot_used_last_is_proposed(clerk, db, world):
    family = make_family(db, world.a)
    make_plot(db, family, name="Parcela 1")
    second = make_plot(db, family, name="Parcela 2")
    make_delivery(db, world.a, family, second)
    db.commit()
    part = clerk.get(f"/c/COOPA/deliveries/family?family_id={family.id}").get_data(as_text=True)
    assert re.search(rf'<option value="{second.id}"[^>]*selected', part)
    assert "data-choose" not in part


# -- a lighter flow -----------------------------------------------------------------------------


def test_static_files_are_fingerprinted_and_cached_for_a_year(clerk):
    page = clerk.get("/c/COOPA/deliveries/new").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert urls and all(re.search(r"\?v=[0-9a-f]{12}$", u) for u in urls), urls
    with clerk.get(urls[0]) as response:
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with clerk.get(urls[0].split("?")[0] + "?v=000000000000") as stale:
        assert "immutable" not in stale.headers["Cache-Control"]
        assert "no-cache" in stale.headers["Cache-Control"]
    # The scanner's script is not loaded with the form: only when the clerk scans.
    assert "html5-qrcode" not in re.sub(r'data-scanner-src="[^"]+"', "", page)


def test_pages_json_and_assets_are_compressed(clerk):
    page = clerk.get("/c/COOPA/deliveries/new", headers={"Accept-Encoding": "br, gzip"})
    assert page.headers["Content-Encoding"] == "br"
    assert "Nueva entrega" in brotli.decompress(page.get_data()).decode()
    script = re.search(
        r'src="(/static/vendor/htmx/[^"]+)"', brotli.decompress(page.get_data()).decode()
    )
    with clerk.get(script.group(1), headers={"Accept-Encoding": "gzip, deflate, br"}) as asset:
        assert asset.headers["Content-Encoding"] == "br"
        assert b"htmx" in brotli.decompress(asset.get_data())
    openapi = clerk.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert openapi.headers["Content-Encoding"] == "gzip"
