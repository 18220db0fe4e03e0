"""Quintales beside kilograms where clerks count them (issue 15 point 3): the family's
deliveries and season totals, the cooperative's delivery list and the receipt show
quintales for the forms priced that way (46 kg green, 55.2 kg dry parchment), written by
`formatting.quintales`, and nothing for the others (cherry). The CSV export keeps its
columns (an API contract)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests import factories as f
from tracker.documents.csv_export import DELIVERY_EXPORT, Dialect

ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)
TAG = re.compile(r"<[^>]+>")
ES = {"Accept-Language": "es"}


def row_of(html: str, key: str) -> list[str]:
    """The cells' text of the table row that holds `key`."""
    for row in ROW.findall(html):
        cells = [" ".join(TAG.sub(" ", c).split()) for c in CELL.findall(row)]
        if key in cells:
            return cells
    raise AssertionError(f"no row holds {key}")


@pytest.fixture
def weighed(db, world):
    """One family's parchment (55.2 kg: 1 qq), green (92 kg: 2 qq) and cherry deliveries."""
    family = f.make_family(db, world.a, head_name="Rosa Quispe")
    plot = f.make_plot(db, family)
    made = {
        form: f.make_delivery(db, world.a, family, plot, kg=kg, form=form, on=date(2026, 6, 2))
        for form, kg in (("dry_parchment", 55.2), ("green", 92), ("cherry", 30))
    }
    db.commit()
    return family, made


def test_the_family_page_shows_quintales_beside_kg(client, auth, weighed):
    family, made = weighed
    auth.login("clerk.a@example.org")
    html = client.get(f"/families/{family.id}?season=2026", headers=ES).get_data(as_text=True)
    assert 'abbr title="quintales">qq</abbr>' in html
    parchment = row_of(html, made["dry_parchment"].receipt_number)
    assert parchment[2:4] == ["55,2", "1,00"]  # net kg, then qq (a weighing: hundredths)
    assert row_of(html, made["green"].receipt_number)[2:4] == ["92,0", "2,00"]
    assert row_of(html, made["cherry"].receipt_number)[2:4] == ["30,0", ""]  # no quintal
    # The season's totals by form: a summary, one decimal.
    assert row_of(html, "pergamino seco")[1:4] == ["1", "55,2", "1,0"]
    assert row_of(html, "cereza")[1:4] == ["1", "30,0", ""]


def test_the_delivery_list_shows_quintales_and_the_export_keeps_its_columns(client, auth, weighed):
    _family, made = weighed
    auth.login("manager.a@example.org")
    window = "from=2026-06-01&to=2026-06-30&centre="
    html = client.get(f"/c/COOPA/deliveries?{window}", headers=ES).get_data(as_text=True)
    assert row_of(html, made["dry_parchment"].receipt_number)[1:3] == ["55,2", "1,00"]
    assert row_of(html, made["green"].receipt_number)[1:3] == ["92,0", "2,00"]
    assert row_of(html, made["cherry"].receipt_number)[1:3] == ["30,0", ""]
    # Filtered to one form priced in quintales, the total says them too.
    green = client.get(f"/c/COOPA/deliveries?{window}&form=green", headers=ES)
    assert "92,0&nbsp;kg (2,0&nbsp;qq)" in green.get_data(as_text=True)
    cherry = client.get(f"/c/COOPA/deliveries?{window}&form=cherry", headers=ES)
    assert "30,0&nbsp;kg ·" in cherry.get_data(as_text=True)
    exported = client.get(f"/c/COOPA/deliveries.csv?{window}", headers=ES)
    header = exported.get_data(as_text=True).splitlines()[0]
    assert header == ",".join(Dialect(spanish=True).header("deliveries", DELIVERY_EXPORT))


def test_the_receipt_shows_quintales_only_for_forms_priced_that_way(client, auth, weighed):
    _family, made = weighed
    auth.login("clerk.a@example.org")
    for path in ("receipt?paper=a6", "receipt", ""):
        url = f"/deliveries/{made['dry_parchment'].id}/{path}".rstrip("/")
        html = client.get(url, headers=ES).get_data(as_text=True)
        assert row_of(html, "Quintales") == ["Quintales", "1,00 qq"], url
    green = client.get(f"/deliveries/{made['green'].id}/receipt", headers=ES)
    assert row_of(green.get_data(as_text=True), "Quintales") == ["Quintales", "2,00 qq"]
    cherry = client.get(f"/deliveries/{made['cherry'].id}/receipt", headers=ES)
    assert "Quintales" not in cherry.get_data(as_text=True)


def test_summaries_write_one_decimal_and_a_weighing_every_gram(client, auth, db, world):
    """The delivery list's total and the family's season read "1.391.450,136 kg" and
    "4.446,907 kg" with a weighing's three decimals: a summary has one (issue 15 point 3),
    while each delivery's row keeps the scale's grams."""
    family = f.make_family(db, world.a, head_name="Rosa Quispe")
    plot = f.make_plot(db, family)
    first = f.make_delivery(db, world.a, family, plot, kg=41.125, on=date(2026, 6, 2))
    f.make_delivery(db, world.a, family, plot, kg=20.2, on=date(2026, 6, 3))
    db.commit()
    auth.login("manager.a@example.org")
    window = "from=2026-06-01&to=2026-06-30&centre="
    listed = client.get(f"/c/COOPA/deliveries?{window}", headers=ES).get_data(as_text=True)
    assert "<p>61,3&nbsp;kg" in listed and "61,325" not in listed
    assert row_of(listed, first.receipt_number)[1] == "41,125"
    page = client.get(f"/families/{family.id}?season=2026", headers=ES).get_data(as_text=True)
    assert "<strong>61,3&nbsp;kg</strong>" in page and "61,325" not in page
    assert row_of(page, first.receipt_number)[2] == "41,125"
