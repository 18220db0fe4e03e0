"""Fixtures for the collection centre's device API, shared by the offline test modules
(registered in tests/conftest.py): a clerk's API token, a device enrolled by that clerk,
and a family with one plot on the device's roster."""

from __future__ import annotations

import pytest

from tests.factories import make_family, make_plot


@pytest.fixture
def clerk(world, api_token):
    return api_token("clerk.a@example.org")


@pytest.fixture
def device(client, clerk):
    response = client.post(
        "/api/v1/cooperatives/COOPA/devices", json={"name": "Tablet balanza"}, headers=clerk
    )
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.fixture
def family(db, world):
    found = make_family(db, world.a, member_code="CAZ-1042", head_name="Élver Ríos")
    make_plot(db, found, name="Parcela 1")
    db.commit()
    return found
