"""An edit a buyer could see reaches the cached public page and sheet at once (found by
helpers 53 and 54 at stop 26): a family's name consent withdrawn, a plot resurveyed, a
price set later, a protected-area boundary loaded."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest
import time_machine

from tests import factories as f

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def public(db, world):
    with time_machine.travel(NOW, tick=False):
        built = f.make_public_lot(db, world.a)
        db.commit()
        yield built


def _json(client, token):
    answer = client.get(f"/l/{token}", headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def test_a_withdrawn_name_consent_leaves_the_cached_page_and_sheet(client, public, api_token):
    token = public.lot.public_token
    name = public.families[0].head_name
    # Read once: the page, its JSON and the sheet are cached under the public version.
    assert name in json.dumps(_json(client, token), ensure_ascii=False)
    assert name in _pdf_text(client.get(f"/l/{token}/provenance.pdf").data)
    assert name in client.get(f"/l/{token}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    answer = client.patch(
        f"/api/v1/families/{public.families[0].id}",
        json={"public_name_consent": False},
        headers=api_token("manager.a@example.org"),
    )
    assert answer.status_code == 200, answer.get_json()
    after = {
        "json": name in json.dumps(_json(client, token), ensure_ascii=False),
        "html": name
        in client.get(f"/l/{token}", headers={"Accept-Language": "en"}).get_data(as_text=True),
        "sheet": name in _pdf_text(client.get(f"/l/{token}/provenance.pdf").data),
    }
    assert after == {"json": False, "html": False, "sheet": False}


def test_a_resurveyed_plot_shows_on_the_cached_page(client, public, api_token):
    token = public.lot.public_token
    assert _json(client, token)["origin"]["altitude_m"] == {"min": 1100, "max": 1400}
    answer = client.patch(
        f"/api/v1/plots/{public.plots[3].id}",
        json={"altitude_m": 1600},
        headers=api_token("manager.a@example.org"),
    )
    assert answer.status_code == 200, answer.get_json()
    assert _json(client, token)["origin"]["altitude_m"] == {"min": 1100, "max": 1600}


def test_a_price_set_later_reaches_the_cached_public_page(client, db, world, api_token):
    """A delivery weighed 'price to be defined' is in no average; once the manager sets
    its price, the lot page's average must count it. The cached page keeps the old one."""
    coop = world.a
    with time_machine.travel(NOW, tick=False):
        picked = []
        for price in (900, 1000, 1100):
            family = f.make_family(db, coop)
            picked.append(
                f.make_delivery(db, coop, family, f.make_plot(db, family), kg=100, price=price)
            )
        waiting = f.make_family(db, coop)
        pending = f.make_delivery(
            db, coop, waiting, f.make_plot(db, waiting), kg=100, price=0, price_pending=True
        )
        lot = f.make_lot(db, coop, [*picked, pending])
        db.commit()
        token, pending_id = lot.public_token, pending.id
        before = _json(client, token)["prices"]["per_kg"]
        assert [p["price_per_kg"] for p in before] == ["10.00"]
        answer = client.post(
            f"/api/v1/deliveries/{pending_id}/price",
            json={"price_per_kg": "20.00"},
            headers=api_token("manager.a@example.org"),
        )
        assert answer.status_code == 200, answer.get_json()
        # (900 + 1000 + 1100 + 2000) / 4 = 12.50 per kg over 400 kg: a page not yet cached
        # (English, by ?lang=) says so
        fresh = client.get(f"/l/{token}?lang=en").get_data(as_text=True)
        assert "12.50" in fresh
        after = _json(client, token)["prices"]["per_kg"]
        assert [(p["price_per_kg"], p["kg"]) for p in after] == [("12.50", 400.0)]


def test_a_protected_area_loaded_reaches_the_cached_map(client, db, world, public, api_token):
    """The lot page's map draws the protected area's boundary. Loading one that flags no
    plot of the cooperative leaves the cached page without it (no bump)."""
    token = public.lot.public_token
    with time_machine.travel(NOW, tick=False):
        html = client.get(f"/l/{token}", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Protected area (boundary)" not in html
        # A park 2 km east of the plots: no plot inside, so no flag raised.
        lon, lat = -76.40, -7.56
        ring = [
            [lon, lat - 0.01],
            [lon + 0.02, lat - 0.01],
            [lon + 0.02, lat + 0.01],
            [lon, lat + 0.01],
        ]
        body = json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})
        answer = client.put(
            "/api/v1/cooperatives/COOPA/protected-area",
            data=body,
            headers=api_token("manager.a@example.org") | {"Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.get_json()
        fresh = client.get(f"/l/{token}?lang=es").get_data(as_text=True)  # not cached yet
        assert "Área protegida (límite)" in fresh
        cached = client.get(f"/l/{token}", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Protected area (boundary)" in cached
