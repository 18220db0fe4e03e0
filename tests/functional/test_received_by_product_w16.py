"""Received kilos never add different products together (helper-90, stop 31).

The dashboard's "kg received this season" and the season report's "Received" (report page,
dashboard panel, PDF) summed every delivery's net weight: coffee cherry, dry parchment and
cacao beans added together, a figure that means nothing (about 5 kg of cherry make 1 kg of
dry parchment: SPEC.md, "Product forms"). Cooperative A, season 2026, seen on 23 Nov 2026:

  family  community  woman-led  deliveries
  F1      Pólvora    yes        D1 600 kg dry parchment
  F2      Tocache    no         D2 1,000 kg cherry, D3 100 kg dry parchment

The old figure: 1.700,0 kg received, of which woman-led 35,3 %. Now: 700,0 kg of dry
parchment and 1.000,0 kg of cherry, side by side; figures across the two (communities,
claims, the woman-led share, the charts) in kg of dry-parchment equivalent through the
cooperative's factors (1,000 kg of cherry x 0.36 x 0.555556 = 200,0 kg): Pólvora 600,0,
Tocache 300,0, 900,0 in all, woman-led 66,7 %.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
import time_machine

from tests import factories as f
from tracker.services import reports

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ES = {"Accept-Language": "es"}
pytestmark = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils missing: make sysdeps"
)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def two_products(db, world, frozen):
    """The cooperative of the module docstring, committed."""
    a = world.a
    polvora = f.make_community(db, a, "Pólvora")
    tocache = f.make_community(db, a, "Tocache")
    f1 = f.make_family(db, a, community=polvora, woman_led=True)
    f2 = f.make_family(db, a, community=tocache, woman_led=False)
    p1, p2 = f.make_plot(db, f1), f.make_plot(db, f2)
    f.make_delivery(db, a, f1, p1, kg=600, on=date(2026, 5, 4), form="dry_parchment")
    f.make_delivery(db, a, f2, p2, kg=1000, on=date(2026, 5, 12), form="cherry", price=200)
    f.make_delivery(db, a, f2, p2, kg=100, on=date(2026, 6, 2), form="dry_parchment")
    db.commit()
    return a


def _text(html: str) -> str:
    """A page's words as a person reads them (no scripts, charts or tags)."""
    html = re.sub(r"<script.*?</script>|<svg.*?</svg>|<head.*?</head>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ").split())


def _pdf_words(data: bytes) -> str:
    """The PDF's words in reading order (pdftotext without -layout: a box's lines follow
    each other, not the next box's)."""
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


MIXED = ("1.700,0", "1.700", "35,3")  # the cross-product sum, and the share computed on it


def test_the_report_keeps_each_products_kilos_and_counts_across_them_in_equivalent(
    two_products, db
):
    report = reports.season_report(db, two_products, 2026)
    assert not report.one_product
    assert {v.key: v.net_g for v in report.by_form} == {
        "coffee/dry_parchment": 700_000,
        "coffee/cherry": 1_000_000,
    }
    assert [(m.crop, m.form, m.converted) for m in report.measures] == [
        ("coffee", "dry_parchment", True)
    ]
    assert report.totals.equivalent == {"coffee": 900_000}
    assert {c.label: c.equivalent for c in report.by_community} == {
        "Pólvora": {"coffee": 600_000},
        "Tocache": {"coffee": 300_000},
    }
    assert report.unclaimed.equivalent == {"coffee": 900_000}
    women = report.women
    assert (women.woman_led_equivalent, women.equivalent) == (
        {"coffee": 600_000},
        {"coffee": 900_000},
    )
    assert round(women.volume_share, 4) == 0.6667  # not 600 / 1,700 = 0.3529
    assert [w.equivalent for w in report.by_week] == [
        {"coffee": 600_000},
        {"coffee": 200_000},
        {"coffee": 0},
        {"coffee": 0},
        {"coffee": 100_000},
    ]


def test_dashboard_report_page_and_pdf_give_kilos_by_product(two_products, client, auth):
    auth.login("manager.a@example.org")
    dashboard = client.get("/c/COOPA/", headers=ES).get_data(as_text=True)
    words = _text(dashboard)
    # The headline figures: one per product, none across them.
    assert re.search(
        r'data-received="coffee/dry_parchment">\s*<span class="figure">700,0<', dashboard
    )
    assert re.search(r'data-received="coffee/cherry">\s*<span class="figure">1.000,0<', dashboard)
    assert "700,0 kg de café pergamino seco recibidos en esta campaña" in words
    assert "1.000,0 kg de café cereza recibidos en esta campaña" in words
    # The season report's panel on the dashboard.
    assert "Recibido 1.000,0 kg de café cereza 700,0 kg de café pergamino seco" in words, words
    assert "data-total-kg" not in dashboard
    for mixed in MIXED:
        assert mixed not in words, mixed

    page = client.get("/c/COOPA/reports/season?season=2026", headers=ES).get_data(as_text=True)
    words = _text(page)
    assert "Recibido 1.000,0 kg de café cereza 700,0 kg de café pergamino seco" in words
    # By community, in kg of dry-parchment equivalent, adding up to their total.
    assert "Comunidad Familias que entregaron Entregas kg eq. Valor en balanza" in words
    assert re.search(r"Pólvora 1 1 600,0 S/", words) and re.search(r"Tocache 1 2 300,0 S/", words)
    assert re.search(r"Total 2 3 900,0 S/", words)
    # The community chart's bars say what kilos they are, as its table does.
    chart = page.split('id="chart-communities', 1)[1].split("</svg>", 1)[0]
    assert ">600,0 kg eq.</text>" in chart and ">300,0 kg eq.</text>" in chart, chart
    assert (
        "kg eq.: kg equivalentes de café pergamino seco, según los factores de conversión" in words
    )
    assert "66,7 % del volumen, en kg equivalentes de café pergamino seco" in words
    assert "data-total-kg" not in page
    for mixed in MIXED:
        assert mixed not in words, mixed

    data = client.get("/c/COOPA/reports/season.pdf?season=2026", headers=ES).data
    words = _pdf_words(data)
    # (a box's second line may come after the next box's first in reading order)
    assert "Recibido 1.000,0 kg de café cereza 700,0 kg de café pergamino" in words, words[:400]
    assert "900,0" in words and "66,7 % del volumen" in words
    for mixed in MIXED:
        assert mixed not in words, mixed


def test_the_api_keeps_its_fields_and_adds_the_products(two_products, client, api_token):
    body = client.get(
        "/api/v1/cooperatives/COOPA/reports/season?season=2026",
        headers=api_token("manager.a@example.org"),
    ).get_json()
    assert body["totals"] == {"deliveries": 3, "families": 2, "net_kg": 1700.0, "value": "8300.00"}
    assert body["measures"] == [
        {"crop": "coffee", "form": "dry_parchment", "converted": True, "kg": 900.0}
    ]
    polvora, tocache = body["by_community"]
    assert polvora["name"] == "Pólvora" and polvora["equivalent_kg"] == {"coffee": 600.0}
    assert tocache["by_product"] == [
        {"crop": "coffee", "form": "cherry", "net_kg": 1000.0},
        {"crop": "coffee", "form": "dry_parchment", "net_kg": 100.0},
    ]
    women = body["women"]
    assert (women["net_kg"], women["woman_led_net_kg"]) == (1700.0, 600.0)  # as weighed
    assert women["volume_share"] == 0.6667 and women["volume_shares"] == {"coffee": 0.6667}
    assert body["unclaimed"]["equivalent_kg"] == {"coffee": 900.0}


def test_two_crops_are_never_added_even_as_equivalents(db, world, frozen, client, api_token):
    """Coffee in two forms and cacao: the coffee in dry-parchment equivalent, the cacao as
    weighed (one form), side by side; no share of the volume across the two crops."""
    a = world.a
    family = f.make_family(db, a, woman_led=True)
    other = f.make_family(db, a, woman_led=False)
    coffee, cacao = f.make_plot(db, family), f.make_plot(db, other, crop="cacao")
    f.make_delivery(db, a, family, coffee, kg=200, form="dry_parchment")
    f.make_delivery(db, a, family, coffee, kg=500, form="cherry", price=200)
    f.make_delivery(db, a, other, cacao, kg=300, form="dry_beans", price=1100)
    db.commit()
    report = reports.season_report(db, a, 2026)
    assert [(m.crop, m.form, m.converted) for m in report.measures] == [
        ("coffee", "dry_parchment", True),
        ("cacao", "dry_beans", False),
    ]
    assert report.totals.equivalent == {"coffee": 300_000, "cacao": 300_000}
    assert report.women.volume_share is None
    assert report.women.volume_shares == {"coffee": 1.0, "cacao": 0.0}
    db.commit()
    body = client.get(
        "/api/v1/cooperatives/COOPA/reports/season?season=2026",
        headers=api_token("manager.a@example.org"),
    ).get_json()
    assert body["women"]["volume_share"] is None
    assert body["women"]["volume_shares"] == {"coffee": 1.0, "cacao": 0.0}
    data = client.get(
        "/api/v1/cooperatives/COOPA/reports/season.pdf?season=2026",
        headers={**api_token("manager.a@example.org"), **ES},
    ).data
    words = _pdf_words(data)
    assert "kg eq. café" in words and "kg cacao grano seco" in words
    assert "1.000,0" not in words  # 200 + 500 + 300 kg, as weighed, added


def test_a_season_of_one_product_keeps_its_single_figure(db, world, frozen, client, auth):
    family = f.make_family(db, world.a)
    plot = f.make_plot(db, family)
    f.make_delivery(db, world.a, family, plot, kg=950.5, form="dry_parchment")
    db.commit()
    auth.login("manager.a@example.org")
    dashboard = client.get("/c/COOPA/", headers=ES).get_data(as_text=True)
    assert "950,5 kg recibidos en esta campaña" in _text(dashboard)
    assert re.search(r"data-total-kg>950,5<", dashboard) and "data-received" not in dashboard
    page = client.get("/c/COOPA/reports/season?season=2026", headers=ES).get_data(as_text=True)
    assert len(re.findall(r"data-total-kg>950,5<", page)) == 2  # the headline and the total
    assert "kg eq." not in page and "data-product-kg" not in page
