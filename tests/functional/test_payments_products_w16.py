"""The payments pages and the receipt never add different products (helper-97).

The payments index ("kg" per family), a family's payments page ("Entregas") and the
"kg still awaiting their price" notes (family page, payment page, receipt PDF) summed
every delivery's net weight, cherry, dry parchment and green coffee together: a figure
that means nothing (about 5 kg of cherry make 1 kg of dry parchment: SPEC.md, "Product
forms"). Cooperative A, season 2026, seen on 23 Nov 2026; one family:

  D1 200 kg cherry (S/ 1,80), D2 41,125 kg dry parchment (S/ 9,00),
  D3 10 kg dry parchment and D4 12,345 kg green coffee, both "price to be defined"

and a payment of S/ 100,00. The old figures: 263,5 kg delivered, 22,3 kg awaiting their
price. Now: 200,0 kg of cherry · 51,1 kg of dry parchment · 12,3 kg of green coffee, and
10,0 kg of dry parchment and 12,3 kg of green coffee awaiting their price. The API keeps
`delivered_kg` and `pending_kg` (programs read them); no per-kg price is given across
products. A family of one product reads exactly as before.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tracker.services import payments

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ES = {"Accept-Language": "es"}
MIXED = ("263,5", "263.5", "22,3 kg", "22.3 kg")  # the sums across products
PRODUCTS = "200,0 kg de café cereza 51,1 kg de café pergamino seco 12,3 kg de café verde"
PENDING = (
    "se omiten 12,3 kg de café verde y 10,0 kg de café pergamino seco que aún esperan su precio"
)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def family(db, world):
    """The family of the module docstring, paid once, committed."""
    a = world.a
    family = f.make_family(db, a, head_name="Rosa Quispe Huamán")
    plot = f.make_plot(db, family)
    f.make_delivery(db, a, family, plot, kg=200, on=date(2026, 6, 2), form="cherry", price=180)
    f.make_delivery(db, a, family, plot, kg=41.125, on=date(2026, 6, 9), price=900)
    pending = {"price": 0, "price_pending": True}
    f.make_delivery(db, a, family, plot, kg=10, on=date(2026, 6, 16), **pending)
    f.make_delivery(db, a, family, plot, kg=12.345, on=date(2026, 6, 23), form="green", **pending)
    payment = f.make_payment(db, family, amount_minor=10_000, paid_on=date(2026, 7, 1))
    db.commit()
    return family, payment


def _text(html: str) -> str:
    """A page's words as a person reads them (no scripts, charts or tags)."""
    html = re.sub(r"<script.*?</script>|<svg.*?</svg>|<head.*?</head>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ").split())


def _no_mixed_sum(text: str) -> None:
    for mixed in MIXED:
        assert mixed not in text, mixed


def test_the_balance_keeps_kilos_by_product(family, db):
    family, _payment = family
    balance = payments.balance(db, family, 2026)
    db.commit()
    assert balance.delivered_by_product == {
        "coffee/cherry": 200_000,
        "coffee/dry_parchment": 51_125,
        "coffee/green": 12_345,
    }
    assert balance.pending_by_product == {"coffee/dry_parchment": 10_000, "coffee/green": 12_345}
    assert balance.products[0] == ("coffee/cherry", 200_000)
    assert not balance.one_product
    assert balance.price_per_kg_minor is None  # never a price per kg across products
    # What programs read stays: the season's deliveries and grams as before.
    assert (balance.deliveries, balance.delivered_g, balance.pending_g) == (4, 263_470, 22_345)


def test_the_payments_index_gives_each_product_its_kilos(family, client, auth, world):
    family, _payment = family
    auth.login("manager.a@example.org")
    html = client.get(f"/c/{world.a.code}/payments?season=2026&q={family.member_code}", headers=ES)
    row = _text(
        html.get_data(as_text=True)
        .split(f"/families/{family.id}/payments?season=2026", 1)[1]
        .split("</tr>")[0]
    )
    assert f"Rosa Quispe Huamán {PRODUCTS} S/" in row, row
    assert PENDING in row, row
    _no_mixed_sum(row)


def test_the_family_payments_page_gives_each_product_its_kilos(family, client, auth):
    family, _payment = family
    auth.login("manager.a@example.org")
    html = client.get(f"/families/{family.id}/payments?season=2026", headers=ES)
    text = _text(html.get_data(as_text=True))
    assert f"Entregas {PRODUCTS} 4 entregas" in text, text
    assert PENDING in text
    # Each delivery of the season names its product.
    assert "C01-000001 café cereza 2/6/26 200,0" in text, text
    _no_mixed_sum(text)


def test_the_payment_page_and_receipt_name_each_product_awaiting_its_price(family, client, auth):
    _family, payment = family
    auth.login("manager.a@example.org")
    page = _text(client.get(f"/payments/{payment.id}", headers=ES).get_data(as_text=True))
    assert PENDING in page, page
    _no_mixed_sum(page)
    pdf = client.get(f"/payments/{payment.id}/receipt.pdf", headers=ES).data
    text = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    assert PENDING in text, text
    _no_mixed_sum(text)


def test_the_api_keeps_its_fields_and_gives_each_products_kilos(family, client, api_token):
    family, _payment = family
    manager = api_token("manager.a@example.org")
    got = client.get(f"/api/v1/families/{family.id}/balance?season=2026", headers=manager)
    body = got.get_json()
    assert (body["delivered_kg"], body["pending_kg"], body["deliveries"]) == (263.47, 22.345, 4)
    # A program reads each product's kilos too, the largest first, never added.
    assert body["delivered_by_product"] == [
        {"crop": "coffee", "form": "cherry", "net_kg": 200.0},
        {"crop": "coffee", "form": "dry_parchment", "net_kg": 51.125},
        {"crop": "coffee", "form": "green", "net_kg": 12.345},
    ]
    assert body["pending_by_product"] == [
        {"crop": "coffee", "form": "green", "net_kg": 12.345},
        {"crop": "coffee", "form": "dry_parchment", "net_kg": 10.0},
    ]


def test_a_family_of_one_product_reads_as_before(db, world, client, auth):
    family = f.make_family(db, world.a, head_name="Juan Pérez")
    plot = f.make_plot(db, family)
    f.make_delivery(db, world.a, family, plot, kg=100, on=date(2026, 5, 4))
    f.make_delivery(
        db, world.a, family, plot, kg=20, on=date(2026, 5, 6), price=0, price_pending=True
    )
    db.commit()
    auth.login("manager.a@example.org")
    page = _text(
        client.get(f"/families/{family.id}/payments?season=2026", headers=ES).data.decode()
    )
    assert "Entregas 120,0 kg 2 entregas" in page, page
    assert "se omiten 20,0 kg que aún esperan su precio" in page
    assert " de café" not in page.split("Entregas", 1)[1].split("Pagos de la campaña")[0]
    index = client.get(f"/c/{world.a.code}/payments?season=2026&q={family.member_code}", headers=ES)
    row = _text(
        index.get_data(as_text=True)
        .split(f"/families/{family.id}/payments?season=2026", 1)[1]
        .split("</tr>")[0]
    )
    assert "Juan Pérez 120,0 S/" in row, row
    balance = payments.balance(db, family, 2026)
    db.commit()
    assert balance.one_product and balance.price_per_kg_minor == 900
