"""Figures a clerk reads at the scale, on the server's pages (the phone's side is in
tests/browser/test_clerk_offline_figures_w15.py). Defect found by helper-87:

1. The delivery list's total value counted the premium of deliveries whose price is still
   to be defined (the premium is set at the scale and is the family's, as the payments
   pages count it), while their rows showed only "por definir". A day with one delivery
   of 41,1 kg at S/ 8,73 + 0,45 premium (S/ 358,80 + S/ 18,50 = S/ 377,30) and one of
   41,1 kg "precio por definir" with 0,40 premium (S/ 16,44) read "S/ 393,74" above rows
   adding up to S/ 377,30: a clerk closing the day's cash found S/ 16,44 nobody could
   point to. The waiting row now shows its premium, "S/ 16,44, precio por definir", as
   the family's page does, and the rows add up to the total.
"""

from __future__ import annotations

import re

from tests import factories as f
from tracker.services import deliveries, prices

ES = {"Accept-Language": "es"}
ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)
TAG = re.compile(r"<[^>]+>")


def rows_text(html: str) -> list[str]:
    return [" ".join(TAG.sub(" ", row).split()) for row in ROW.findall(html)]


def test_the_delivery_lists_total_is_what_its_rows_show(db, world, client, auth):
    family = f.make_family(db, world.a, member_code="CAZ-2001")
    plot = f.make_plot(db, family)
    today = deliveries.today()
    priced = f.make_delivery(
        db, world.a, family, plot, kg=41.1, on=today, price=873, premium_per_kg_minor=45
    )
    waiting = f.make_delivery(
        db,
        world.a,
        family,
        plot,
        kg=41.1,
        on=today,
        price=0,
        price_pending=True,
        premium_per_kg_minor=40,
    )
    db.commit()
    assert (priced.amount_minor, priced.premium_minor) == (35880, 1850)
    assert (waiting.amount_minor, waiting.premium_minor) == (0, 1644)
    auth.login("clerk.a@example.org")
    html = client.get("/c/COOPA/deliveries", headers=ES).get_data(as_text=True)
    rows = rows_text(html)
    assert any(priced.receipt_number in r and "377,30" in r for r in rows), rows
    assert any(
        waiting.receipt_number in r and "16,44" in r and "precio por definir" in r for r in rows
    ), rows
    head = html.split("</hgroup>")[0]
    assert "S/\xa0393,74" in head, head
    # Once its price is set, the delivery counts in full.
    prices.set_delivery_price(db, delivery=waiting, price_per_kg_minor=873)
    db.commit()
    html = client.get("/c/COOPA/deliveries", headers=ES).get_data(as_text=True)
    assert "S/\xa0752,54" in html.split("</hgroup>")[0]  # 2 × 358,80 + 18,50 + 16,44
