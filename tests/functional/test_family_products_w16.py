"""A family's page and the season report's flags never add different products (helper-96).

The family page's season headline and its table's "Total", the season report's protected
plot "kg this season" and a premium rule's "kg delivered" summed every delivery's net
weight, cherry, dry parchment and green coffee together: a figure that means nothing
(about 5 kg of cherry make 1 kg of dry parchment: SPEC.md, "Product forms"), and the
family page is what a manager shows a family when settling its accounts. Cooperative A,
season 2026, seen on 23 Nov 2026; one woman-led family:

  plot            deliveries
  Alto            D1 41,125 kg dry parchment, D2 12,345 kg green coffee
  Quebrada        D3 200 kg cherry, D4 100 kg dry parchment (flagged: protected area)

and a premium on woman-led families' coffee, per kg of green coffee. The old figures:
353,5 kg for the family's season, 300,0 kg from the protected plot, 353,5 kg delivered
under the premium. Now each product has its own figure (141,1 kg of dry parchment,
12,3 kg of green coffee, 200,0 kg of cherry); the premium keeps its equivalent, which adds
up in one unit (41,125 x 0.8 + 12,345 + 200 x 0.16 + 100 x 0.8 = 157,2 kg of green coffee).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tracker.services import families, reports

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}
MIXED = ("353,5", "353.5", "300,0 kg", "300.0 kg")  # the sums across products


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def family(db, world, frozen):
    """The family of the module docstring, committed."""
    a = world.a
    family = f.make_family(db, a, woman_led=True)
    alto = f.make_plot(db, family, name="Alto")
    quebrada = f.make_plot(db, family, name="Quebrada")
    f.flag_plot(db, quebrada)
    f.make_delivery(db, a, family, alto, kg=41.125, on=date(2026, 6, 2), form="dry_parchment")
    f.make_delivery(db, a, family, alto, kg=12.345, on=date(2026, 6, 9), form="green")
    f.make_delivery(db, a, family, quebrada, kg=200, on=date(2026, 6, 16), form="cherry")
    f.make_delivery(db, a, family, quebrada, kg=100, on=date(2026, 6, 23), form="dry_parchment")
    f.make_premium_rule(
        db,
        a,
        name="Prima mujeres",
        claim_type=None,
        woman_led_only=True,
        crop="coffee",
        unit="kg_green",
        rate_minor=50,
    )
    db.commit()
    return family


def _text(html: str) -> str:
    """A page's words as a person reads them (no scripts, charts or tags)."""
    html = re.sub(r"<script.*?</script>|<svg.*?</svg>|<head.*?</head>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ").split())


def _season_section(html: str) -> str:
    return html.split('id="totals-h"', 1)[1].split("</section>", 1)[0]


def test_family_season_totals_are_kept_by_product(family, db):
    totals = families.season_totals(db, family, 2026)
    db.commit()
    assert {t.key: t.net_g for t in totals.by_form} == {
        "coffee/dry_parchment": 141_125,
        "coffee/green": 12_345,
        "coffee/cherry": 200_000,
    }
    assert not totals.one_product
    assert totals.net_g is None  # never the sum across products
    assert totals.deliveries == 4


def test_family_page_gives_each_product_its_kilos_and_no_sum(family, client, auth):
    auth.login("manager.a@example.org")
    html = client.get(f"/families/{family.id}?season=2026", headers=ES).get_data(as_text=True)
    section = _season_section(html)
    season = _text(section)
    # The headline: one figure per product, the largest first, then the money.
    assert (
        "Campaña 2026 200,0 kg de café cereza · 141,1 kg de café pergamino seco · "
        "12,3 kg de café verde · S/ " in season
    ), season
    for mixed in MIXED:
        assert mixed not in season, mixed
    # The table: one row per product, each to its own 100 g (12,345 kg read 12,4 when the
    # rows were shared out to add up to the mixed total); the total adds deliveries and
    # money, not kilos.
    rows = [_text(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", section, re.S)]
    assert rows[1:] == [
        "cereza 1 200,0 1.800,00 0,00",
        "pergamino seco 2 141,1 2,6 1.270,13 0,00",
        "café verde 1 12,3 0,3 111,11 0,00",
        "Total 4 S/ 3.181,24 S/ 0,00",
    ], rows
    assert "Los kilos de productos distintos nunca se suman" in season

    english = _text(_season_section(client.get(f"/families/{family.id}", headers=EN).data.decode()))
    assert "141.1 kg of coffee dry parchment · 12.3 kg of green coffee" in english, english


def _report_json(client, api_token) -> dict:
    """The season report as a program reads it, through the API."""
    manager = api_token("manager.a@example.org")
    url = "/api/v1/cooperatives/COOPA/reports/season?season=2026"
    return client.get(url, headers=manager).get_json()


def test_protected_plot_gives_its_kilos_by_product(family, db, world, client, auth, api_token):
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/reports/season?season=2026", headers=ES).get_data(as_text=True)
    section = page.split('id="flags"', 1)[1].split("Rendimientos fuera", 1)[0]
    section = _text(section.split("<h3>", 2)[2])  # the protected plots
    assert "Quebrada" in section, section
    assert "200,0 kg de café cereza 100,0 kg de café pergamino seco (2 entregas)" in section
    for mixed in MIXED:
        assert mixed not in section, mixed
    report = reports.season_report(db, world.a, 2026)
    db.commit()
    [plot] = report.protected_plots
    assert plot.products == {"coffee/cherry": 200_000, "coffee/dry_parchment": 100_000}
    assert (plot.deliveries, plot.net_g) == (2, 300_000)  # net_g: the API's, as before
    # The API gives a program each product's kilos too.
    api = _report_json(client, api_token)
    [listed] = api["flags"]["protected_area"]
    assert listed["by_product"] == [
        {"crop": "coffee", "form": "cherry", "net_kg": 200.0},
        {"crop": "coffee", "form": "dry_parchment", "net_kg": 100.0},
    ]


def test_premium_rule_gives_the_kilos_it_was_paid_on_by_product(
    family, db, world, client, auth, api_token
):
    auth.login("manager.a@example.org")
    page = client.get("/c/COOPA/reports/season?season=2026", headers=ES).get_data(as_text=True)
    row = _text(re.search(r'<tr data-rule="[^"]+">(.*?)</tr>', page, re.S).group(1))
    assert (
        "Prima mujeres familias lideradas por mujeres (café): 200,0 kg de café cereza "
        "141,1 kg de café pergamino seco 12,3 kg de café verde "
        "equivalente en total: 157,2 kg de café verde"
    ) in row, row
    for mixed in MIXED:
        assert mixed not in row, mixed
    report = reports.season_report(db, world.a, 2026)
    db.commit()
    [rule] = report.prices.rules
    assert rule.products == {
        "coffee/cherry": 200_000,
        "coffee/dry_parchment": 141_125,
        "coffee/green": 12_345,
    }
    assert rule.grams == 157_245  # 32,9 + 12,345 + 32 + 80 kg of green coffee
    api = _report_json(client, api_token)
    [listed] = api["prices"]["rule_premiums"]
    assert listed["delivered_by_product"] == [
        {"crop": "coffee", "form": "cherry", "net_kg": 200.0},
        {"crop": "coffee", "form": "dry_parchment", "net_kg": 141.125},
        {"crop": "coffee", "form": "green", "net_kg": 12.345},
    ]


def test_one_product_reads_as_before(db, world, frozen, client, auth):
    """A family, a protected plot and a premium of one product keep their plain kilos."""
    a = world.a
    one = f.make_family(db, a, woman_led=True)
    plot = f.make_plot(db, one)
    f.flag_plot(db, plot)
    f.make_delivery(db, a, one, plot, kg=41.125, form="dry_parchment")
    f.make_delivery(db, a, one, plot, kg=12.345, form="dry_parchment")
    f.make_premium_rule(db, a, claim_type=None, woman_led_only=True, crop="coffee", unit="kg_green")
    db.commit()
    auth.login("manager.a@example.org")
    html = client.get(f"/families/{one.id}?season=2026", headers=ES).get_data(as_text=True)
    season = _text(_season_section(html))
    assert "Campaña 2026 53,5 kg · S/ " in season, season
    assert "Total 2 53,5 S/ " in season, season
    assert "nunca se suman" not in season
    page = _text(client.get("/c/COOPA/reports/season?season=2026", headers=ES).data.decode())
    assert "53,5 kg entregados, 42,8 kg de café verde" in page, page
    assert re.search(r"53,5 \(2 entregas\)", page), page
    totals = families.season_totals(db, one, 2026)
    db.commit()
    assert totals.one_product and totals.net_g == 53_470
