"""The deliveries list's headline and the dashboard's "Today" panel never add kilos of
different products (5 kg of coffee cherry make about 1 kg of dry parchment): a day of
200 kg of cherry and 55,2 kg of parchment read "255,2 kg" on both. With several
products each has its own figure; with one the page reads as before; the list's CSV
keeps its columns."""

from __future__ import annotations

import re

import pytest

from tests import factories as f
from tracker.documents.csv_export import DELIVERY_EXPORT, Dialect
from tracker.services import deliveries

ES = {"Accept-Language": "es"}
TAG = re.compile(r"<[^>]+>")


def text(html: str) -> str:
    """The page's words, tags left out and spaces (and &nbsp;) folded."""
    return " ".join(TAG.sub(" ", html.replace("&nbsp;", " ")).split())


def headline(html: str) -> str:
    """The list's totals line: the paragraph under "Entregas"."""
    start = html.index("<hgroup>")
    return text(html[start : html.index("</hgroup>", start)])


def panel(html: str) -> str:
    """The dashboard's panel for today at the centre."""
    start = html.index('class="panel intake-panel"')
    return text(html[start : html.index("</section>", start)])


@pytest.fixture
def two_products(db, world):
    """Today: 200 kg of coffee cherry (two deliveries) and 55,2 kg of dry parchment."""
    family = f.make_family(db, world.a, head_name="Rosa Quispe")
    plot = f.make_plot(db, family)
    today = deliveries.today()
    f.make_delivery(db, world.a, family, plot, kg=120, form="cherry", on=today, price=200)
    f.make_delivery(db, world.a, family, plot, kg=80, form="cherry", on=today, price=200)
    f.make_delivery(db, world.a, family, plot, kg=55.2, form="dry_parchment", on=today)
    db.commit()
    return today


def test_the_list_headline_gives_each_products_kilos(client, auth, two_products):
    auth.login("manager.a@example.org")
    day = two_products.isoformat()
    html = client.get(f"/c/COOPA/deliveries?from={day}&to={day}&centre=", headers=ES)
    said = headline(html.get_data(as_text=True))
    assert "200,0 kg de café cereza · 55,2 kg de café pergamino seco (1,0 qq)" in said, said
    assert "255,2" not in said
    assert "S/ 896,80" in said  # money adds up: 200 kg at 2,00 and 55,2 kg at 9,00
    # Filtered to one form, it reads as before.
    html = client.get(f"/c/COOPA/deliveries?from={day}&to={day}&centre=&form=cherry", headers=ES)
    said = headline(html.get_data(as_text=True))
    assert said.startswith("Entregas 200,0 kg · S/ 400,00"), said
    assert "café cereza" not in said


def test_the_csv_keeps_its_columns_and_rows(client, auth, two_products):
    auth.login("manager.a@example.org")
    day = two_products.isoformat()
    exported = client.get(f"/c/COOPA/deliveries.csv?from={day}&to={day}&centre=", headers=ES)
    lines = exported.get_data(as_text=True).splitlines()
    assert lines[0] == ",".join(Dialect(spanish=True).header("deliveries", DELIVERY_EXPORT))
    assert len(lines) == 4


@pytest.mark.parametrize("email", ["manager.a@example.org", "clerk.a@example.org"])
def test_todays_panel_gives_each_products_kilos(client, auth, two_products, email):
    auth.login(email)
    said = panel(client.get("/c/COOPA/", headers=ES).get_data(as_text=True))
    assert "3 entregas · 200,0 kg de café cereza · 55,2 kg de café pergamino seco" in said, said
    assert "255,2" not in said


def test_one_product_reads_as_before(client, auth, db, world):
    auth.login("manager.a@example.org")
    assert "0 entregas · 0,0 kg" in panel(
        client.get("/c/COOPA/", headers=ES).get_data(as_text=True)
    )
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    today = deliveries.today()
    f.make_delivery(db, world.a, family, plot, kg=55.2, form="dry_parchment", on=today)
    db.commit()
    assert "1 entrega · 55,2 kg" in panel(
        client.get("/c/COOPA/", headers=ES).get_data(as_text=True)
    )
    day = today.isoformat()
    html = client.get(f"/c/COOPA/deliveries?from={day}&to={day}&centre=", headers=ES)
    raw = html.get_data(as_text=True)
    assert "<p>55,2&nbsp;kg · " in raw and "pergamino seco" not in headline(raw)
