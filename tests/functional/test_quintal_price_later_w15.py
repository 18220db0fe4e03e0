"""A delivery weighed "price to be defined" can be given its price per quintal (found by
helper-87, stop 30).

Coffee is agreed per quintal in Peru, and at the scale a quintal price fixes the exact
amount (41,1 kg of dry parchment at S/ 480 the quintal of 55,2 kg: S/ 357,39). Setting the
price later took only a price per kg, so the manager typed the rounded S/ 8,70 and the
family was owed S/ 357,57: 18 céntimos that no receipt at the scale would have shown. The
payments page, the price form and the API now take the quintal price, for the forms sold
by the quintal, and work the amount out from it as the scale does."""

from __future__ import annotations

import pytest

from tests.factories import make_delivery, make_family, make_plot
from tracker.models import Delivery


@pytest.fixture
def manager(client, auth, world):
    auth.login("manager.a@example.org")
    return client


def _waiting(db, world, form="dry_parchment", kg=41.1):
    family = make_family(db, world.a)
    plot = make_plot(db, family)
    waiting = make_delivery(
        db, world.a, family, plot, kg=kg, form=form, price=0, price_pending=True
    )
    db.commit()
    return waiting


def test_the_payments_page_sets_a_price_per_quintal(manager, db, world):
    waiting = _waiting(db, world)
    page = manager.get("/c/COOPA/payments").get_data(as_text=True)
    assert f'id="quintal-{waiting.id}"' in page and "o por quintal" in page
    done = manager.post(f"/deliveries/{waiting.id}/price", data={"price_per_quintal": "480,00"})
    assert done.status_code == 303
    fixed = db.get(Delivery, waiting.id)
    db.refresh(fixed)
    assert fixed.net_g == 41_100 and not fixed.price_pending
    assert fixed.amount_minor == 35_739  # 41,1 / 55,2 × 480,00, not 41,1 × 8,70 = 357,57
    assert (fixed.price_per_quintal_minor, fixed.price_per_kg_minor) == (48_000, 870)


def test_a_price_per_kg_still_works_and_both_at_once_are_refused(manager, db, world):
    waiting = _waiting(db, world)
    url = f"/deliveries/{waiting.id}/price"
    db.commit()
    both = manager.post(
        url,
        data={"price_per_kg": "8,70", "price_per_quintal": "480,00"},
        headers={"Accept-Language": "es"},
    )
    assert both.status_code == 422
    assert "Indique el precio por kg o por quintal, no ambos." in both.get_data(as_text=True)
    db.refresh(waiting)
    assert waiting.price_pending and waiting.amount_minor == 0
    db.commit()  # the read ends, so the app may write
    none = manager.post(url, data={})
    assert none.status_code == 422 and 'aria-invalid="true"' in none.get_data(as_text=True)
    done = manager.post(url, data={"price_per_kg": "8,70"})
    assert done.status_code == 303
    db.refresh(waiting)
    assert waiting.amount_minor == 35_757 and waiting.price_per_quintal_minor is None


def test_cherry_is_not_priced_per_quintal(manager, db, world):
    waiting = _waiting(db, world, form="cherry", kg=200)
    page = manager.get("/c/COOPA/payments").get_data(as_text=True)
    assert f'id="price-{waiting.id}"' in page and f'id="quintal-{waiting.id}"' not in page
    refused = manager.post(
        f"/deliveries/{waiting.id}/price",
        data={"price_per_quintal": "100,00"},
        headers={"Accept-Language": "es"},
    )
    assert refused.status_code == 422
    assert "Los precios por quintal" in refused.get_data(as_text=True)
    db.refresh(waiting)
    assert waiting.price_pending and waiting.price_per_quintal_minor is None


def test_the_api_sets_a_price_per_quintal(client, db, world, api_token):
    waiting = _waiting(db, world)
    manager = api_token("manager.a@example.org")
    answer = client.post(
        f"/api/v1/deliveries/{waiting.id}/price",
        json={"price_per_quintal": "480.00"},
        headers=manager,
    )
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert (data["amount"], data["price_per_kg"], data["price_pending"]) == (
        "357.39",
        "8.70",
        False,
    )
    other = _waiting(db, world, form="cherry", kg=200)
    refused = client.post(
        f"/api/v1/deliveries/{other.id}/price",
        json={"price_per_quintal": "100.00"},
        headers=manager,
    )
    assert refused.status_code == 422
    assert "price_per_quintal" in str(refused.get_json())
