"""Figures a buyer reads on the lot page and the provenance sheet, in the cases a demo
hides: a share of woman-led families that is neither none nor all, and deliveries whose
price is still to be set (helper-80)."""

from __future__ import annotations

import subprocess
from datetime import date

from tests import factories as f
from tracker.services import lots
from tracker.services.provenance_types import Origin


def _lot(db, coop, deliveries):
    return lots.create_lot(
        db,
        coop=coop,
        crop="coffee",
        form="dry_parchment",
        picks=[lots.Pick(d.id) for d in deliveries],
        occurred_on=date(2026, 6, 10),
    )


def _page(client, lot, lang="en"):
    return client.get(f"/l/{lot.public_token}", headers={"Accept-Language": lang}).get_data(
        as_text=True
    )


def _sheet(client, lot, lang="en"):
    sheet = client.get(f"/l/{lot.public_token}/provenance.pdf?lang={lang}")
    assert sheet.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=sheet.data, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(text.split()).replace("\u00a0", " ")


def _origin(families: int, woman_led: int) -> Origin:
    return Origin([], [], None, None, families, woman_led, [], 0, 0)


def test_the_woman_led_share_never_reads_none_or_all_when_it_is_neither():
    """One woman-led family in 300 read "0 % of them led by women", 299 in 300 read
    "100 %": a buyer selling women's coffee would print a false claim."""
    assert _origin(300, 1).woman_led_pct == 1
    assert _origin(300, 299).woman_led_pct == 99
    assert _origin(300, 0).woman_led_pct == 0
    assert _origin(300, 300).woman_led_pct == 100
    assert _origin(0, 0).woman_led_pct == 0
    assert _origin(4, 2).woman_led_pct == 50


def test_the_woman_led_share_rounds_half_up_on_the_page_and_sheet(db, world, client):
    """One woman-led family of eight is 12.5 %: the page read "12 %" (Python's round, half
    to even), where the season report reads 12.5 %; 13 % it is."""
    coop = world.a
    deliveries = []
    for i in range(8):
        family = f.make_family(db, coop, woman_led=i == 0)
        plot = f.make_plot(db, family)
        deliveries.append(f.make_delivery(db, coop, family, plot, kg=50))
    lot = _lot(db, coop, deliveries)
    db.commit()
    html = _page(client, lot)
    assert "Grown by 8 families, 13 % of them led by women." in html
    assert "Grown by 8 families, 13 % of them led by women" in _sheet(client, lot)


def test_deliveries_awaiting_their_price_are_said_not_a_too_small_lot(db, world, client):
    """Three families, one of whose deliveries (40 kg) still awaits its price: the page
    said "Shown for lots of at least 3 families" under "Grown by 3 families", and with a
    fourth family the average of 3 families gave no sign that 40 kg were left out."""
    coop = world.a
    families = [f.make_family(db, coop) for _ in range(4)]
    plots = [f.make_plot(db, family) for family in families]
    priced = [
        f.make_delivery(db, coop, families[i], plots[i], kg=50, price=900 + 100 * i)
        for i in range(2)
    ]
    waiting = f.make_delivery(db, coop, families[2], plots[2], kg=40, price=0, price_pending=True)
    small = _lot(db, coop, [*priced, waiting])
    db.commit()
    html = _page(client, small)
    assert "Grown by 3 families" in html
    assert "Shown for lots of at least 3 families" not in html
    assert "40.0 kg of this lot's deliveries still await their price" in html
    assert "40,0 kg de las entregas de este lote aún esperan su precio" in _page(
        client, small, "es"
    )
    sheet = _sheet(client, small)
    assert "Shown for lots of at least 3 families" not in sheet
    assert "40.0 kg of this lot's deliveries still await their price" in sheet

    # Three priced families and the one waiting: (50x9 + 50x10 + 30x11) / 130 = S/ 9.85.
    more = [
        f.make_delivery(db, coop, families[i], plots[i], kg=kg, price=price)
        for i, kg, price in ((0, 50, 900), (1, 50, 1000), (3, 30, 1100))
    ]
    waits = f.make_delivery(db, coop, families[2], plots[2], kg=40, price=0, price_pending=True)
    big = _lot(db, coop, [*more, waits])
    db.commit()
    html = _page(client, big)
    assert "9.85</span> per kg of dry parchment" in html and "(130.0 kg in all)" in html
    assert "40.0 kg of this lot's deliveries still await their price" in html
    # The JSON says it too, beside the average it is not in.
    data = client.get(f"/l/{big.public_token}", headers={"Accept": "application/json"})
    prices = data.get_json()["prices"]
    assert (prices["shown"], prices["pending_kg"]) == (True, 40.0), prices


def test_a_lot_of_enough_families_each_form_too_few_says_why(db, world, client):
    """Four families, two forms of two families each: no average can be shown, and the
    page said "Shown for lots of at least 3 families" under "Grown by 4 families"."""
    coop = world.a
    picks = []
    for i, form in enumerate(("dry_parchment", "dry_parchment", "green", "green")):
        family = f.make_family(db, coop)
        plot = f.make_plot(db, family)
        picks.append(f.make_delivery(db, coop, family, plot, kg=50, form=form))
    lot = lots.merge_lots(
        db,
        coop=coop,
        lot_ids=[
            lots.process_lot(
                db,
                lot=_lot(db, coop, picks[:2]),
                process="hulling",
                output_form="green",
                output_g=80_000,
            ).id,
            lots.create_lot(
                db,
                coop=coop,
                crop="coffee",
                form="green",
                picks=[lots.Pick(d.id) for d in picks[2:]],
                occurred_on=date(2026, 6, 10),
            ).id,
        ],
    )
    db.commit()
    html = _page(client, lot)
    assert "Grown by 4 families" in html
    assert "Shown for lots of at least 3 families" not in html
    assert "2 delivered forms are left out" in html
