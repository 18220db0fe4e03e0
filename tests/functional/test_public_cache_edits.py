"""An edit a buyer could see reaches the cached public page and sheet at once (found by
helper-53 at stop 26): a family's name consent withdrawn, a plot resurveyed."""

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
