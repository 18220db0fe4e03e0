"""A family's page names each money figure once (issue 15 point 3, "figures named alike
are the same figure"): its season table's value at the day's price is the receipt's
"Importe", beside the premium at the scale; "Pagado" is what the receipt calls "Total
pagado" (both together), in the deliveries table, and the season's summary is their sum."""

from __future__ import annotations

import re
from decimal import Decimal

from tests import factories as f
from tests.functional.test_quintales_lists import CELL, ES, ROW, TAG

TABLE = re.compile(r"<table[^>]*>(.*?)</table>", re.S)


def cells(row: str) -> list[str]:
    return [" ".join(TAG.sub(" ", c).split()) for c in CELL.findall(row)]


def money(text: str) -> Decimal:
    return Decimal(
        text.replace("S/", "").replace("\xa0", "").strip().replace(".", "").replace(",", ".")
    )


def test_the_family_page_names_each_money_figure_once(client, auth, db, world):
    family, _made = f.make_weighed_family(db, world.a)
    db.commit()
    auth.login("clerk.a@example.org")
    html = client.get(f"/families/{family.id}?season=2026", headers=ES).get_data(as_text=True)
    summary = re.search(r'class="season-figures">.*?·\s*(S/[^·]+?)\s*·', html, re.S)
    assert summary, html
    total = money(TAG.sub("", summary.group(1)))
    season, _plots, listed = TABLE.findall(html)[:3]
    head, *_rows, foot = ROW.findall(season)
    assert cells(head)[4:6] == ["Importe", "Prima en balanza"]
    amount, premium = (money(c) for c in cells(foot)[4:6])
    assert premium > 0 and amount + premium == total
    head, *rows = ROW.findall(listed)
    assert cells(head)[4] == "Valor"
    assert sum(money(cells(r)[4]) for r in rows) == total


def test_a_deliverys_value_is_not_called_paid_before_a_payment(client, auth, db, world):
    _family, made = f.make_weighed_family(db, world.a)
    db.commit()
    auth.login("manager.a@example.org")
    report = client.get(f"/c/{world.a.code}/reports/season?season=2026", headers=ES)
    assert report.status_code == 200
    text = report.get_data(as_text=True)
    assert "Valor en balanza" in text and "Pagado en balanza" not in text
    receipt = client.get(f"/deliveries/{made['green'].id}/receipt", headers=ES)
    assert receipt.status_code == 200
    text = receipt.get_data(as_text=True)
    assert "Valor total" in text and "Total pagado" not in text
