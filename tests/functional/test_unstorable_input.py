"""Text no database can hold (NUL, lone surrogates) is refused naming the field, on
every backend, before a view tries to store it: never a 500, nothing stored."""

from __future__ import annotations

import json

from sqlmodel import func, select

from tracker.models import Family


def _families(db) -> int:
    count = db.exec(select(func.count()).select_from(Family)).one()
    db.commit()  # end the test's transaction so the request can write
    return count


def test_nul_in_a_json_field_is_a_422_naming_it(client, world, db, api_token):
    headers = api_token("clerk.a@example.org")
    before = _families(db)
    response = client.post(
        f"/api/v1/cooperatives/{world.a.code}/families",
        json={"head_name": "Rosa\x00Panduro", "community": "Alto"},
        headers=headers,
    )
    assert response.status_code == 422
    assert "head_name" in response.get_json()["errors"]
    assert _families(db) == before


def test_a_lone_surrogate_in_json_is_a_422(client, world, api_token):
    headers = {**api_token("clerk.a@example.org"), "Content-Type": "application/json"}
    body = json.dumps({"head_name": "x"})[:-1] + ', "notes": "\\ud800"}'
    response = client.post(
        f"/api/v1/cooperatives/{world.a.code}/families", data=body, headers=headers
    )
    assert response.status_code == 422
    assert "notes" in response.get_json()["errors"]


def test_nul_in_a_form_field_or_query_is_a_translated_422(client, world, auth):
    auth.login("clerk.a@example.org")
    response = client.post(
        f"/c/{world.a.code}/families/new", data={"head_name": "Ana\x00", "community": "Alto"}
    )
    assert response.status_code == 422
    assert "NUL" in response.get_data(as_text=True)
    assert "no puede contener" in response.get_data(as_text=True)
    response = client.get(f"/c/{world.a.code}/families?q=%00")
    assert response.status_code == 422
